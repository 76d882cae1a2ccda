//! The request path as deployed: signed CaptchaQuery and CaptchaCheck
//! (HmacSHA256, each Nonce recorded), the default [`Limits`], the default
//! proof-of-work policy and its pressure tracker, and a replay store.
//!
//! Two things keep one benchmarking thread from being throttled the way a
//! flood from one address would be, while every limit and the tracker
//! still do their full work on every request:
//! - each solved captcha comes from its own address and network (userIp
//!   and the widget's client address alike, each in its own /24), as a
//!   population of users does;
//! - the service's clock is simulated at [`SOLVES_PER_SECOND`] solved
//!   captchas a second, a calm site: the proof-of-work policy stays at
//!   level 0 (no puzzle; asserted) and the business limit of 6,000 sessions
//!   a minute is not reached. The business's learnt normal is that rate
//!   (its surge floor is set to it), as after hours of the same traffic.
//!
//! Only the service's calls are timed: signing the API calls (the business
//! server's work), reading the challenge and ticket out of the answers and
//! learning the answer (the test oracle) are not.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use qcaptcha::pow::{PowPolicy, Surge};
use qcaptcha::sign::{sign_request, RequestLine, SignatureMethod};
use qcaptcha::testing::ManualClock;
use qcaptcha::{
    ApiRequest, CaptchaService, Credentials, KeyRing, Limits, MemoryStore, ReplayStore,
};

/// The simulated traffic: solved captchas per second of the service's
/// clock (the default policy's first overall threshold is 50 challenges a
/// second).
pub const SOLVES_PER_SECOND: u64 = 20;

/// How long a signed call's Nonce is kept (the Timestamp window, 2 hours)
/// and a little more: after that much simulated traffic every record the
/// path leaves expires as fast as new ones come, as on a server that has
/// run for hours.
const STEADY_AFTER_SECS: u64 = 2 * 60 * 60 + 10 * 60;

/// The simulated clock's start, Unix seconds.
const START: u64 = 1_700_000_000;

/// Where the signed API calls go.
const LINE: RequestLine<'static> = RequestLine {
    method: "GET",
    host: "captcha.example",
    path: "/v2/index.php",
};

/// A deployed service and its simulated population of users.
pub struct Deployed {
    service: CaptchaService,
    credentials: Credentials,
    clock: Arc<ManualClock>,
    /// Users served so far: the next one's address and Nonce.
    users: AtomicU64,
    /// The picture scale the widget asks for (`s`).
    scale: u32,
}

/// The scale the widget asks for on a screen of ordinary density: it shows
/// the 130x53 picture at twice its size (`SHOWN` in `widget.js`), so it
/// requests `s=2` (and `s=3` on denser screens), never `s=1`.
pub const WIDGET_SCALE: u32 = 2;

/// One user's identity.
struct User {
    ip: IpAddr,
    ip_text: String,
    nonce: u64,
}

impl Deployed {
    /// The service as shipped but for its store, which the host picks.
    /// A store with its own clock (Redis's server) sees no record expire
    /// while the simulated time runs ahead of it.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub fn new(store: Arc<dyn ReplayStore>) -> Deployed {
        Deployed::with_clock(store, Arc::new(ManualClock::new(START)))
    }

    /// The service with a `MemoryStore` of `capacity` whose expiry
    /// follows the simulated clock on both of its clocks, so that after
    /// [`Deployed::warm_up`] its tables hold what a server's hold after
    /// hours at this rate (with its monotonic clock the OS's, nothing
    /// would expire in a bench's minutes and the tables would grow for the
    /// whole run).
    pub fn with_memory_store(capacity: usize) -> Deployed {
        let clock = Arc::new(ManualClock::new(START));
        let store = Arc::new(MemoryStore::with_manual_clock(capacity, clock.clone()));
        Deployed::with_clock(store, clock)
    }

    /// The same path with pictures asked for at scale `s` (1-3) instead
    /// of the widget's [`WIDGET_SCALE`].
    pub fn at_scale(self, s: u32) -> Deployed {
        Deployed { scale: s, ..self }
    }

    fn with_clock(store: Arc<dyn ReplayStore>, clock: Arc<ManualClock>) -> Deployed {
        let credentials = Credentials::new("AKIDbench", "bench-secret-key-0123456789abcdef");
        let normal = Surge::default().normal_bounds(SOLVES_PER_SECOND as f64 * 60.0, 3_000.0);
        let service = CaptchaService::builder("/captcha")
            .keys(KeyRing::new(1, [0x42; 32]))
            .store(store)
            .credentials(credentials.clone())
            .pow(PowPolicy::default().surge(normal))
            .limits(Limits::default())
            .clock(clock.clone())
            .build()
            .expect("service");
        Deployed {
            service,
            credentials,
            clock,
            users: AtomicU64::new(0),
            scale: WIDGET_SCALE,
        }
    }

    /// The next user: a fresh address and Nonce; the simulated clock moves
    /// one second every [`SOLVES_PER_SECOND`] users.
    fn next_user(&self) -> User {
        let n = self.users.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(SOLVES_PER_SECOND) {
            self.clock.advance(1);
        }
        let [_, _, b, c] = (n as u32).to_be_bytes();
        let ip = IpAddr::V4(Ipv4Addr::new(10, b, c, 1));
        User {
            ip,
            ip_text: ip.to_string(),
            nonce: n,
        }
    }

    /// A signed call with the user's fields and `extra` parameters.
    fn signed(&self, user: &User, action: &str, extra: &[(&str, &str)]) -> String {
        let mut params = vec![
            ("Action", action),
            ("userIp", user.ip_text.as_str()),
            ("businessId", "1"),
            ("captchaType", "5"),
            ("registerTime", "1400000000"),
        ];
        params.extend_from_slice(extra);
        sign_request(
            &self.credentials,
            LINE,
            SignatureMethod::HmacSha256,
            &params,
            qcaptcha::Clock::now(self.clock.as_ref()),
            user.nonce,
        )
    }

    /// One signed CaptchaQuery (`script=0`) of a new user, measured by
    /// `meter`; returns the user and the challenge it issued.
    fn query(&self, meter: &mut impl Meter) -> (User, String) {
        let user = self.next_user();
        let params = self.signed(&user, "CaptchaQuery", &[("script", "0")]);
        let resp = meter.measure(Step::Query, || self.service.handle_query(api(&params)));
        let challenge = challenge_of(&resp.body);
        (user, challenge)
    }

    /// One CaptchaQuery as deployed, measured by `meter`.
    pub fn query_only(&self, meter: &mut impl Meter) {
        self.query(meter);
    }

    /// Solves captchas, untimed, until the store holds what a server that
    /// has run for hours holds: its tables at their steady size (no longer
    /// growing and rehashing), records expiring as fast as they come.
    pub fn warm_up(&self) {
        let start = qcaptcha::Clock::now(self.clock.as_ref());
        while qcaptcha::Clock::now(self.clock.as_ref()) < start + STEADY_AFTER_SECS {
            self.solve(&mut Untimed);
        }
    }

    /// One solved captcha as deployed: signed CaptchaQuery, the picture,
    /// the right answer, signed CaptchaCheck; only the service's calls are
    /// measured by `meter`.
    pub fn solve(&self, meter: &mut impl Meter) {
        let (user, challenge) = self.query(meter);
        let image_query = encode(&[("c", &challenge), ("s", &self.scale.to_string())]);
        let image = meter.measure(Step::Picture, || {
            self.service.handle_image(&image_query, user.ip)
        });
        assert_eq!(image.status, 200, "{:?}", image.error);

        let answer = self
            .service
            .answer_for_challenge(&challenge)
            .expect("answer");
        let form = encode(&[("c", &challenge), ("answer", answer.as_str())]);
        let verify = meter.measure(Step::Verify, || self.service.handle_verify(&form, user.ip));
        let ticket = ticket_of(&verify.body);

        let check_user = User {
            nonce: user.nonce + (1 << 40),
            ..user
        };
        let params = self.signed(&check_user, "CaptchaCheck", &[("ticket", &ticket)]);
        let check = meter.measure(Step::Check, || self.service.handle_check(api(&params)));
        assert!(check.error.is_none(), "{:?}", check.error);
    }
}

/// The service's four calls of a solved captcha.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// CaptchaQuery (signed).
    Query,
    /// The picture.
    Picture,
    /// The answer (`verify`).
    Verify,
    /// CaptchaCheck (signed).
    Check,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 4] = [Step::Query, Step::Picture, Step::Verify, Step::Check];

    /// Its name in the bench's output.
    pub fn name(self) -> &'static str {
        match self {
            Step::Query => "captcha_query",
            Step::Picture => "picture",
            Step::Verify => "verify",
            Step::Check => "captcha_check",
        }
    }
}

/// What is measured of the service's calls: their time (the bench), their
/// allocations (the allocation test).
pub trait Meter {
    /// Runs `call`, the service's `step`, and adds what it cost.
    fn measure<T>(&mut self, step: Step, call: impl FnOnce() -> T) -> T;
}

/// Measures nothing.
struct Untimed;

impl Meter for Untimed {
    fn measure<T>(&mut self, _: Step, call: impl FnOnce() -> T) -> T {
        call()
    }
}

/// The time spent in the measured calls: all of them, or one step's.
#[derive(Debug, Default)]
pub struct Stopwatch {
    /// The step timed (`None`: every step).
    pub only: Option<Step>,
    /// The time so far.
    pub spent: Duration,
}

impl Meter for Stopwatch {
    fn measure<T>(&mut self, step: Step, call: impl FnOnce() -> T) -> T {
        if self.only.is_some_and(|only| only != step) {
            return call();
        }
        let t = Instant::now();
        let out = call();
        self.spent += t.elapsed();
        out
    }
}

/// `iters` runs of `run`, timing `only` that step (or all): for
/// criterion's `iter_custom`.
pub fn timed(iters: u64, only: Option<Step>, run: impl Fn(&mut Stopwatch)) -> Duration {
    let mut watch = Stopwatch {
        only,
        spent: Duration::ZERO,
    };
    (0..iters).for_each(|_| run(&mut watch));
    watch.spent
}

fn api(params: &str) -> ApiRequest<'_> {
    ApiRequest {
        method: LINE.method,
        host: LINE.host,
        path: LINE.path,
        ..ApiRequest::from_params(params)
    }
}

/// Form-encodes pairs.
pub fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The challenge of a `script=0` CaptchaQuery answer, which must ask for
/// no proof of work (the policy's calm level, or no policy). Read straight
/// from the JSON text (the script is a JSON string, its quotes escaped),
/// not by parsing the 16 KB answer: the oracle is not timed, and this
/// keeps it from crowding the caches between the timed calls.
pub fn challenge_of(body: &[u8]) -> String {
    let text = std::str::from_utf8(body).expect("UTF-8");
    assert!(text.starts_with(r#"{"code":0,"#), "{text}");
    assert!(text.contains(r#"\"pow\":null"#), "not at the calm level");
    let key = r#"\"challenge\":\""#;
    let start = text.find(key).expect("challenge") + key.len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(
        text[start + token.len()..].starts_with('\\'),
        "end of challenge"
    );
    token
}

fn ticket_of(body: &[u8]) -> String {
    let json: serde_json::Value = serde_json::from_slice(body).expect("JSON");
    json["ticket"].as_str().expect("ticket").to_owned()
}
