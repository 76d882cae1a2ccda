//! A bot simulator: plays the demo sign-up page of `examples/server/`
//! from many loopback addresses at once, for a fixed time, and reports what
//! the bots got and what a human-like client saw meanwhile.
//!
//! ```text
//! cargo run --release --features axum --example server -- --key HEX64 2>/dev/null &
//! cargo run --release --example botsim -- --server 127.0.0.1:8080 --key HEX64 \
//!     [--addresses K] [--p 0.95] [--secs 60] [--no-human] [--flood]
//! ```
//!
//! - `--addresses K` bots (default 1), each bound to its own source address
//!   `127.1.x.y` (Linux routes all of `127.0.0.0/8` to loopback; with
//!   `--spread`, `127.N.M.1`: each bot in its own /24), each one
//!   request at a time: `GET /` (the page runs CaptchaQuery for the
//!   visitor), `GET /captcha/image`, `POST /captcha/verify` with the right
//!   answer with probability `--p` (learnt by opening the challenge with
//!   the server's `--key`, standing in for a solver that reads every
//!   picture), else a wrong one; a ticket is spent on `POST /signup`.
//!   `--flood` makes them answer as fast as they can and never wait after
//!   a 429 (default: they honour `Retry-After`, as a careful bot would).
//!   `--pace S` makes each bot open at most one page every S seconds (to
//!   stay under the per-address limits); `--pages-only` makes them only
//!   load pages (the floods of CaptchaQuery); `--garbage-proofs` and
//!   `--pictures-only` make each send its first picture's answer with a
//!   garbage proof, or load its picture, once per `--pace` until the end
//!   (to weigh what each costs the server).
//! - one human-like client at `127.2.0.1` (unless `--no-human`): a try
//!   every 5 to 7 s, right 93 % of the time, a new page after a ticket.
//!   Its proofs are solved natively too; their derivation counts, times
//!   the widget's measured cost per derivation in Chromium
//!   (`--chromium-us`, default 265 µs for 1,500 iterations, from the
//!   README's calibration), give the time the widget would take.
//!   `--human-pages N` stops it after N pages ended (then, with
//!   `--addresses 0`, the run ends too: the "after the flood" runs).
//! - `--solver-threads N` (default 1): the attacker's cores for proofs.
//!   Paced bots play at most N pages at once (fetching only the work they
//!   can do); flooding bots take pages freely and queue their proofs for
//!   N threads. On a shared loopback test the rest of the machine is left
//!   to the server and the human, whose proofs have their own thread.
//! - `--warmup S` (default 60): tickets and CPU are also reported for the
//!   run after its first S seconds: the bots' CPU (this process's, less
//!   the human's solving), per ticket, with a 95 % interval from the
//!   tickets' own costs (each ticket's solving CPU, measured on its
//!   solving thread, plus an equal share of the rest); `--samples FILE`
//!   appends those per-ticket costs to FILE, one a line, to pool runs,
//!   and the human's proof times in Chromium to `FILE.person`.
//! - it stops after `--secs` (default 60) seconds or `--max-requests`
//!   (default 2,000,000) requests, whichever comes first.
//!
//! It prints tickets per minute per address, how often it met code 4400
//! and HTTP 429, the CPU seconds this process spent per ticket, and the
//! human's success rate and latency. Nothing but the given server is
//! contacted.
//!
//! The pieces are separate so others can be swapped in: [`http`] (a
//! minimal HTTP/1.1 client over a bound `TcpStream`), [`Solver`] (how a
//! bot answers, and the proof of work it pays with the native solver when
//! a challenge asks for one), [`Stats`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use qcaptcha::picture::ALPHABET;
use qcaptcha::pow::{self, Puzzle};
use qcaptcha::{generate, KeyRing};
use rand::{Rng, SeedableRng};

const USAGE: &str = "usage: botsim --server HOST:PORT --key HEX64 [--addresses K] [--p P] \
[--secs S] [--max-requests N] [--no-human] [--flood] [--spread] [--pace S] \
[--pages-only | --garbage-proofs | --pictures-only] \
[--warmup S] [--samples FILE] [--chromium-us US] [--solver-threads N] [--human-pages N]";

/// What one run does.
#[derive(Clone)]
struct Config {
    server: SocketAddr,
    key: [u8; 32],
    addresses: usize,
    p: f64,
    secs: u64,
    max_requests: u64,
    human: bool,
    flood: bool,
    spread: bool,
    pace: Option<Duration>,
    mode: Mode,
    warmup: u64,
    samples: Option<String>,
    chromium_us: f64,
    solver_threads: usize,
    /// The human stops after this many pages ended.
    human_pages: u64,
}

fn parse_key(hex: &str) -> Result<[u8; 32], String> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("--key must be 64 hex digits".into());
    }
    let mut key = [0u8; 32];
    for (i, k) in key.iter_mut().enumerate() {
        *k = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(key)
}

fn parse_args() -> Result<Config, String> {
    let mut cfg = Config {
        server: "127.0.0.1:8080".parse().map_err(|_| "bad default")?,
        key: [0; 32],
        addresses: 1,
        p: 0.95,
        secs: 60,
        max_requests: 2_000_000,
        human: true,
        flood: false,
        spread: false,
        pace: None,
        mode: Mode::Answer,
        warmup: 60,
        samples: None,
        chromium_us: 265.0,
        solver_threads: 1,
        human_pages: u64::MAX,
    };
    let mut key = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match a.as_str() {
            "--server" => {
                cfg.server = value("--server")?
                    .parse()
                    .map_err(|e| format!("--server: {e}"))?
            }
            "--key" => key = Some(parse_key(&value("--key")?)?),
            "--addresses" => {
                cfg.addresses = value("--addresses")?
                    .parse()
                    .map_err(|e| format!("--addresses: {e}"))?
            }
            "--p" => cfg.p = value("--p")?.parse().map_err(|e| format!("--p: {e}"))?,
            "--secs" => {
                cfg.secs = value("--secs")?
                    .parse()
                    .map_err(|e| format!("--secs: {e}"))?
            }
            "--max-requests" => {
                cfg.max_requests = value("--max-requests")?
                    .parse()
                    .map_err(|e| format!("--max-requests: {e}"))?
            }
            "--no-human" => cfg.human = false,
            "--flood" => cfg.flood = true,
            "--spread" => cfg.spread = true,
            "--pages-only" => cfg.mode = Mode::Pages,
            "--garbage-proofs" => cfg.mode = Mode::GarbageProofs,
            "--pictures-only" => cfg.mode = Mode::Pictures,
            "--pace" => {
                let secs: f64 = value("--pace")?
                    .parse()
                    .map_err(|e| format!("--pace: {e}"))?;
                cfg.pace = Some(Duration::from_secs_f64(secs.clamp(0.0, 3600.0)));
            }
            "--warmup" => {
                cfg.warmup = value("--warmup")?
                    .parse()
                    .map_err(|e| format!("--warmup: {e}"))?
            }
            "--samples" => cfg.samples = Some(value("--samples")?),
            "--solver-threads" => {
                cfg.solver_threads = value("--solver-threads")?
                    .parse::<usize>()
                    .map_err(|e| format!("--solver-threads: {e}"))?
                    .clamp(1, 256)
            }
            "--human-pages" => {
                cfg.human_pages = value("--human-pages")?
                    .parse()
                    .map_err(|e| format!("--human-pages: {e}"))?
            }
            "--chromium-us" => {
                cfg.chromium_us = value("--chromium-us")?
                    .parse()
                    .map_err(|e| format!("--chromium-us: {e}"))?
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    cfg.key = key.ok_or(format!("--key is required\n{USAGE}"))?;
    if !(0.0..=1.0).contains(&cfg.p) {
        return Err("--p must be within 0..=1".into());
    }
    if cfg.addresses > 60_000 || cfg.secs == 0 || cfg.secs > 3600 {
        return Err("--addresses at most 60000, --secs 1..=3600".into());
    }
    Ok(cfg)
}

/// The source address of bot `i`: `127.1.x.y`, never `127.0.0.1`.
fn bot_ip(i: usize, spread: bool) -> IpAddr {
    if spread {
        return IpAddr::V4(Ipv4Addr::new(127, 10 + (i / 256) as u8, (i % 256) as u8, 1));
    }
    IpAddr::V4(Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250) as u8 + 1))
}

/// The human's source address.
const HUMAN_IP: Ipv4Addr = Ipv4Addr::new(127, 2, 0, 1);

// ---------------------------------------------------------------- http

/// A minimal HTTP/1.1 client: one keep-alive connection from a fixed
/// source address, one request at a time, `Content-Length` bodies only
/// (all the demo server sends).
mod http {
    use std::net::{IpAddr, SocketAddr};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpSocket, TcpStream};

    /// A response: status, `Retry-After` if any, body.
    pub struct Response {
        pub status: u16,
        pub retry_after: Option<u64>,
        pub body: Vec<u8>,
    }

    impl Response {
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }
    }

    /// A connection that reconnects when the server closed it.
    pub struct Client {
        source: IpAddr,
        server: SocketAddr,
        stream: Option<TcpStream>,
    }

    const TIMEOUT: Duration = Duration::from_secs(15);

    impl Client {
        pub fn new(source: IpAddr, server: SocketAddr) -> Client {
            Client {
                source,
                server,
                stream: None,
            }
        }

        async fn connect(&self) -> std::io::Result<TcpStream> {
            let socket = match self.source {
                IpAddr::V4(_) => TcpSocket::new_v4()?,
                IpAddr::V6(_) => TcpSocket::new_v6()?,
            };
            socket.bind(SocketAddr::new(self.source, 0))?;
            socket.connect(self.server).await
        }

        /// Sends one request; retries once on a fresh connection if a
        /// kept-alive one turned out closed.
        pub async fn request(
            &mut self,
            method: &str,
            path: &str,
            form: Option<&str>,
        ) -> std::io::Result<Response> {
            let mut head = format!(
                "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: botsim\r\n",
                self.server
            );
            if let Some(body) = form {
                head.push_str(&format!(
                    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                    body.len()
                ));
            }
            head.push_str("\r\n");
            head.push_str(form.unwrap_or(""));
            for attempt in 0..2 {
                let reused = self.stream.is_some();
                let mut stream = match self.stream.take() {
                    Some(s) => s,
                    None => tokio::time::timeout(TIMEOUT, self.connect())
                        .await
                        .map_err(|_| std::io::ErrorKind::TimedOut)??,
                };
                let result = tokio::time::timeout(TIMEOUT, exchange(&mut stream, head.as_bytes()))
                    .await
                    .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))
                    .and_then(|r| r);
                match result {
                    Ok((resp, keep)) => {
                        if keep {
                            self.stream = Some(stream);
                        }
                        return Ok(resp);
                    }
                    Err(e) if reused && attempt == 0 => {
                        let _ = e;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(std::io::ErrorKind::ConnectionReset.into())
        }
    }

    async fn exchange(stream: &mut TcpStream, request: &[u8]) -> std::io::Result<(Response, bool)> {
        stream.write_all(request).await?;
        let mut buf = Vec::with_capacity(4096);
        let header_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i;
            }
            if buf.len() > 64 * 1024 {
                return Err(std::io::ErrorKind::InvalidData.into());
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        let (mut length, mut retry_after, mut keep) = (None, None, true);
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "retry-after" => retry_after = value.parse().ok(),
                "connection" => keep = !value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let mut body = buf[header_end + 4..].to_vec();
        match length {
            Some(len) => {
                while body.len() < len {
                    let mut chunk = vec![0u8; (len - body.len()).min(64 * 1024)];
                    let n = stream.read(&mut chunk).await?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
                body.truncate(len);
            }
            None => {
                stream.read_to_end(&mut body).await?;
                keep = false;
            }
        }
        Ok((
            Response {
                status,
                retry_after,
                body,
            },
            keep,
        ))
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }
}

// ---------------------------------------------------------------- solving

/// How a client answers a challenge. The simulator's solver knows the
/// server key, so it can answer right exactly as often as it is told.
struct Solver {
    keys: KeyRing,
    p: f64,
    /// Proofs solved at once (the attacker's cores for proofs).
    threads: tokio::sync::Semaphore,
}

impl Solver {
    /// The right answer of `challenge` (as a perfect OCR would read it).
    fn right_answer(&self, challenge: &str) -> Option<String> {
        let c = self.keys.open_challenge(challenge).ok()?;
        let captcha = generate(c.binding.captcha_type, c.seed).ok()?;
        Some(captcha.answer().as_str().to_owned())
    }

    /// The proof of work `challenge` asks for (`None`: none). A real bot
    /// reads it from the widget's config or the verify answer; the
    /// simulator opens the challenge, which says the same.
    fn puzzle(&self, challenge: &str) -> Option<Puzzle> {
        let c = self.keys.open_challenge(challenge).ok()?;
        (!c.puzzle.is_none()).then_some(c.puzzle)
    }

    /// An answer: right with probability `p`, otherwise a wrong word of the
    /// same length (blind guessing when `p` is 0).
    fn answer(&self, challenge: &str, rng: &mut impl Rng) -> (String, bool) {
        let right = self.right_answer(challenge).unwrap_or_default();
        if rng.random_bool(self.p) && !right.is_empty() {
            return (right, true);
        }
        let len = if right.is_empty() { 4 } else { right.len() };
        loop {
            let guess: String = (0..len)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect();
            if !guess.eq_ignore_ascii_case(&right) {
                return (guess, false);
            }
        }
    }
}

// ---------------------------------------------------------------- stats

/// Counters of one client.
#[derive(Default, Clone)]
struct ClientStats {
    requests: u64,
    tickets: u64,
    sessions: u64,
    /// Pages that ended without a ticket (refused, or the session over).
    refused_pages: u64,
    /// Pages that came back without a widget (4400, 429, 503, ...).
    pages_refused: u64,
    code_4400: u64,
    http_429: u64,
    code_6000: u64,
    http_503: u64,
    other_errors: u64,
    right_answers: u64,
    answers: u64,
    latencies_ms: Vec<f64>,
}

/// Everything the run counted.
#[derive(Default)]
struct Stats {
    bots: Mutex<Vec<ClientStats>>,
    human: Mutex<ClientStats>,
    requests: AtomicU64,
    /// Tickets of all bots so far.
    bot_tickets: AtomicU64,
    /// Challenges met, by proof-of-work bits: the bots', the human's.
    bot_levels: Mutex<std::collections::BTreeMap<u8, u64>>,
    /// The bots' challenges met after the warm-up.
    bot_levels_warm: Mutex<std::collections::BTreeMap<u8, u64>>,
    human_levels: Mutex<std::collections::BTreeMap<u8, u64>>,
    /// The human's proofs: (iterations, derivations tried, native wall s).
    human_proofs: Mutex<Vec<(u32, u64, f64)>>,
    /// Bot tickets, process CPU and the human's solving CPU at the end
    /// of the warm-up.
    warm: Mutex<Option<(u64, Option<f64>, f64)>>,
    /// CPU seconds of the human's solving (not the bots' cost).
    human_cpu: Mutex<f64>,
    /// The solving CPU of each bot page that ended in a ticket after the
    /// warm-up.
    ticket_cpu: Mutex<Vec<PageCost>>,
}

/// What a bot's page cost in solving.
#[derive(Default, Clone, Copy)]
struct PageCost {
    /// CPU seconds, measured on the solving thread.
    cpu: f64,
    /// PBKDF2 iterations made (derivations tried times iterations each).
    iterations: f64,
    /// PBKDF2 iterations expected at the levels met (2^bits times
    /// iterations per challenge): what the page costs on average.
    expected: f64,
}

/// The `"challenge":"..."` token in a page, a widget script or a JSON body.
fn challenge_in(text: &str) -> Option<String> {
    let start = text.find("\"challenge\":\"")? + 13;
    let len = text[start..].find('"')?;
    Some(text[start..start + len].to_owned())
}

fn json(resp: &http::Response) -> serde_json::Value {
    serde_json::from_slice(&resp.body).unwrap_or_default()
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Notes what a response says about limits and errors.
fn tally(stats: &mut ClientStats, resp: &http::Response) {
    stats.requests += 1;
    let code = json(resp)["code"].as_u64();
    if resp.status == 429 {
        stats.http_429 += 1;
    }
    if resp.status == 503 {
        stats.http_503 += 1;
    }
    match code {
        Some(4400) => stats.code_4400 += 1,
        Some(6000) => stats.code_6000 += 1,
        _ => {}
    }
}

/// What happened to one page (one widget session).
enum Outcome {
    Ticket,
    /// A page loaded and left (`--pages-only`).
    Page,
    Refused,
    Stopped,
}

/// One client: pages, pictures, answers, sign-ups, until the deadline.
struct Player {
    http: http::Client,
    solver: Arc<Solver>,
    stats: ClientStats,
    rng: rand_chacha::ChaCha8Rng,
    deadline: Instant,
    shared: Arc<Stats>,
    max_requests: u64,
    /// Pause before each answer (the human thinks; a bot does not).
    think: Option<(Duration, Duration)>,
    honour_retry_after: bool,
    human: bool,
    pace: Option<Duration>,
    mode: Mode,
    /// Stop after this many pages ended (with or without a ticket).
    max_pages: u64,
    /// What solving the current page has cost.
    page: PageCost,
}

/// What the bots do with a page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Answer its pictures (right with probability `--p`), paying proofs.
    Answer,
    /// Nothing: load the next page (`--pages-only`).
    Pages,
    /// Send its first picture's right answer with a garbage proof, again
    /// and again (`--garbage-proofs`).
    GarbageProofs,
    /// Load its first picture again and again (`--pictures-only`).
    Pictures,
}

impl Player {
    fn over(&self) -> bool {
        Instant::now() >= self.deadline
            || self.shared.requests.load(Ordering::Relaxed) >= self.max_requests
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        form: Option<&str>,
    ) -> Option<http::Response> {
        if self.over() {
            return None;
        }
        self.shared.requests.fetch_add(1, Ordering::Relaxed);
        let t = Instant::now();
        match self.http.request(method, path, form).await {
            Ok(resp) => {
                self.stats
                    .latencies_ms
                    .push(t.elapsed().as_secs_f64() * 1e3);
                tally(&mut self.stats, &resp);
                if resp.status == 429 && self.honour_retry_after {
                    let wait = Duration::from_secs(resp.retry_after.unwrap_or(1).clamp(1, 60));
                    self.sleep(wait).await;
                }
                Some(resp)
            }
            Err(_) => {
                self.stats.requests += 1;
                self.stats.other_errors += 1;
                self.sleep(Duration::from_millis(50)).await;
                None
            }
        }
    }

    async fn sleep(&self, d: Duration) {
        let until = (Instant::now() + d).min(self.deadline);
        tokio::time::sleep_until(until.into()).await;
    }

    /// Plays one page: open it, answer pictures until a ticket or a refusal.
    async fn play_page(&mut self) -> Outcome {
        // A paced bot with N cores plays N pages at a time (fetching only
        // the work it can do, so its challenges do not expire queued); a
        // flood takes pages freely and queues its proofs.
        let solver = Arc::clone(&self.solver);
        let _core = match self.pace.is_some() && self.mode == Mode::Answer {
            true => Some(solver.threads.acquire().await),
            false => None,
        };
        let Some(page) = self.send("GET", "/", None).await else {
            return Outcome::Stopped;
        };
        let Some(mut challenge) = challenge_in(&page.text()).filter(|_| page.status == 200) else {
            self.stats.pages_refused += 1;
            return Outcome::Refused;
        };
        self.stats.sessions += 1;
        self.page = PageCost::default();
        match self.mode {
            Mode::Answer => {}
            Mode::Pages => return Outcome::Page,
            Mode::GarbageProofs | Mode::Pictures => return self.hammer(&challenge).await,
        }
        loop {
            let image = format!("/captcha/image?c={}", urlencode(&challenge));
            if self.send("GET", &image, None).await.is_none() {
                return Outcome::Stopped;
            }
            if let Some((lo, hi)) = self.think {
                let ms = self.rng.random_range(lo.as_millis()..=hi.as_millis()) as u64;
                self.sleep(Duration::from_millis(ms)).await;
            }
            let (answer, right) = self.solver.answer(&challenge, &mut self.rng);
            let mut form = format!("c={}&answer={}", urlencode(&challenge), urlencode(&answer));
            // The proof of work the challenge asks for, if any, paid with
            // the native solver off the async thread (its CPU counts).
            let puzzle = self.solver.puzzle(&challenge);
            self.met(puzzle.map_or(0, |p| p.bits));
            if let Some(puzzle) = puzzle {
                let token = challenge.clone();
                // Queued flooding bots wait for a core only until the end
                // of the run: a proof started after it would be dropped
                // anyway, and hundreds of them would starve this process.
                let _solving = match self.pace.is_some() {
                    true => None,
                    false => {
                        let core = solver.threads.acquire();
                        match tokio::time::timeout_at(self.deadline.into(), core).await {
                            Ok(permit) if !self.over() => Some(permit),
                            _ => return Outcome::Stopped,
                        }
                    }
                };
                let started = Instant::now();
                let solving = tokio::task::spawn_blocking(move || {
                    let cpu0 = thread_cpu_seconds();
                    let solved = pow::solve_from(&token, &puzzle, 0, 1);
                    let cpu = thread_cpu_seconds().zip(cpu0).map_or(0.0, |(b, a)| b - a);
                    (solved, cpu)
                });
                let (solved, cpu) =
                    match tokio::time::timeout_at(self.deadline.into(), solving).await {
                        Ok(Ok(done)) => done,
                        Ok(Err(_)) => return Outcome::Refused,
                        Err(_) => return Outcome::Stopped, // the run is over
                    };
                self.count_solving(cpu);
                match solved {
                    Ok((counter, tries)) => {
                        form.push_str(&format!("&pow={counter}"));
                        let iterations = f64::from(puzzle.iterations);
                        self.page.iterations += tries as f64 * iterations;
                        self.page.expected += puzzle.level().expected_iterations();
                        if self.human {
                            let wall = started.elapsed().as_secs_f64();
                            if let Ok(mut p) = self.shared.human_proofs.lock() {
                                p.push((puzzle.iterations, tries, wall));
                            }
                        }
                    }
                    Err(_) => return Outcome::Refused,
                }
            }
            let Some(resp) = self.send("POST", "/captcha/verify", Some(&form)).await else {
                return Outcome::Stopped;
            };
            self.stats.answers += 1;
            if right {
                self.stats.right_answers += 1;
            }
            let body = json(&resp);
            if let Some(ticket) = body["ticket"].as_str().filter(|_| body["code"] == 0) {
                let form = format!("username=bot&ticket={}", urlencode(ticket));
                let Some(done) = self.send("POST", "/signup", Some(&form)).await else {
                    return Outcome::Stopped;
                };
                if done.status == 200 && done.text().contains("Welcome") {
                    self.stats.tickets += 1;
                    if !self.human {
                        self.count_bot_ticket();
                    }
                    return Outcome::Ticket;
                }
                return Outcome::Refused;
            }
            if resp.status == 429 {
                continue; // same picture, not burnt by a refused request
            }
            match body["challenge"].as_str() {
                Some(next) => challenge = next.to_owned(),
                None => return Outcome::Refused,
            }
        }
    }

    /// Sends the same request about `challenge` until the run ends, one
    /// per `--pace`: a garbage proof with the right answer (which the
    /// server checks with one derivation and stores nothing for), or a
    /// picture.
    async fn hammer(&mut self, challenge: &str) -> Outcome {
        let c = urlencode(challenge);
        let answer = self.solver.right_answer(challenge).unwrap_or_default();
        let garbage = format!("c={c}&answer={}&pow=1", urlencode(&answer));
        let image = format!("/captcha/image?c={c}");
        loop {
            let started = Instant::now();
            let sent = match self.mode {
                Mode::Pictures => self.send("GET", &image, None).await,
                _ => self.send("POST", "/captcha/verify", Some(&garbage)).await,
            };
            if sent.is_none() {
                return Outcome::Stopped;
            }
            let pace = self.pace.unwrap_or(Duration::from_millis(100));
            self.sleep(pace.saturating_sub(started.elapsed())).await;
        }
    }

    /// Counts `cpu` seconds of solving: the human's apart (not the bots'
    /// cost), a bot's on its page.
    fn count_solving(&mut self, cpu: f64) {
        if !self.human {
            self.page.cpu += cpu;
        } else if let Ok(mut h) = self.shared.human_cpu.lock() {
            *h += cpu;
        }
    }

    /// Counts a bot ticket, and after the warm-up its page's solving CPU.
    fn count_bot_ticket(&self) {
        self.shared.bot_tickets.fetch_add(1, Ordering::Relaxed);
        let warm = self.shared.warm.lock().is_ok_and(|w| w.is_some());
        if let (true, Ok(mut t)) = (warm, self.shared.ticket_cpu.lock()) {
            t.push(self.page);
        }
    }

    /// Counts a challenge met at `bits`.
    fn met(&self, bits: u8) {
        let warm = self.shared.warm.lock().is_ok_and(|w| w.is_some());
        let levels = match (self.human, warm) {
            (true, _) => vec![&self.shared.human_levels],
            (false, false) => vec![&self.shared.bot_levels],
            (false, true) => vec![&self.shared.bot_levels, &self.shared.bot_levels_warm],
        };
        for l in levels {
            if let Ok(mut l) = l.lock() {
                *l.entry(bits).or_default() += 1;
            }
        }
    }

    async fn run(mut self) -> ClientStats {
        while !self.over() {
            let started = Instant::now();
            match self.play_page().await {
                Outcome::Stopped => break,
                Outcome::Refused => self.stats.refused_pages += 1,
                Outcome::Ticket | Outcome::Page => {}
            }
            if self.stats.tickets + self.stats.refused_pages >= self.max_pages {
                break;
            }
            if let Some((lo, _)) = self.think {
                self.sleep(lo).await;
            }
            if let Some(pace) = self.pace {
                self.sleep(pace.saturating_sub(started.elapsed())).await;
            }
        }
        self.stats
    }
}

/// CPU seconds (user + system) this process has used, from
/// `/proc/self/stat` (Linux; `None` elsewhere).
fn cpu_seconds() -> Option<f64> {
    stat_cpu_seconds("/proc/self/stat")
}

/// CPU seconds the calling thread has run: from
/// `/proc/thread-self/schedstat` (nanoseconds), else its `stat` (10 ms
/// ticks); `None` off Linux.
fn thread_cpu_seconds() -> Option<f64> {
    let ns = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split(' ').next()?.parse::<f64>().ok());
    ns.map(|ns| ns / 1e9)
        .or_else(|| stat_cpu_seconds("/proc/thread-self/stat"))
}

/// User + system CPU seconds from a `stat` file of `/proc`.
fn stat_cpu_seconds(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0) // USER_HZ is 100 on Linux
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Bot tickets and CPU after the warm-up: what a bot pays once the
/// service has had time to price it. The bots' CPU is this process's
/// less the human's solving; each ticket's cost is its page's solving
/// CPU plus an equal share of the rest (HTTP, answers, pages without a
/// ticket), so the costs average to CPU / tickets and their spread gives
/// the 95 % interval (normal approximation). Beside it, the expected
/// cost at the levels the bots met: each page's expected iterations at
/// the CPU per iteration measured in the run, plus the same share of the
/// rest; it leaves out the luck of the geometric draws, so its interval
/// is narrow.
fn report_after_warmup(cfg: &Config, stats: &Stats, elapsed: Duration, cpu_end: Option<f64>) {
    let Some((_, cpu0, human0)) = stats.warm.lock().ok().and_then(|w| *w) else {
        return;
    };
    if cfg.addresses == 0 {
        return;
    }
    let solving = stats
        .ticket_cpu
        .lock()
        .map(|t| t.clone())
        .unwrap_or_default();
    let tickets = solving.len();
    let minutes = (elapsed.as_secs_f64() - cfg.warmup as f64).max(1e-9) / 60.0;
    let human = stats.human_cpu.lock().map_or(0.0, |h| *h) - human0;
    let Some(cpu) = cpu0.zip(cpu_end).map(|(a, b)| b - a - human) else {
        println!("  after the first {} s: {tickets} bot tickets", cfg.warmup);
        return;
    };
    let sum = |f: fn(&PageCost) -> f64| solving.iter().map(f).sum::<f64>();
    let rest = (cpu - sum(|p| p.cpu)) / tickets.max(1) as f64;
    let costs: Vec<f64> = solving.iter().map(|p| p.cpu + rest).collect();
    let (mean, half) = mean_and_interval(&costs);
    let per_iteration = sum(|p| p.cpu) / sum(|p| p.iterations);
    let expected: Vec<f64> = solving
        .iter()
        .map(|p| p.expected * per_iteration + rest)
        .collect();
    let (e_mean, e_half) = mean_and_interval(&expected);
    println!(
        "  after the first {} s: {tickets} bot tickets ({:.1}/min), bot CPU {cpu:.1} s \
         (the human's solving, {human:.1} s, not counted), {mean:.2} CPU-s per ticket, \
         95 % interval {:.2}-{:.2} (n = {tickets})",
        cfg.warmup,
        tickets as f64 / minutes,
        mean - half,
        mean + half
    );
    println!(
        "  at the levels met, expected: {e_mean:.2} CPU-s per ticket, 95 % interval {:.2}-{:.2} \
         ({:.0} µs of CPU a derivation of 1,500 iterations)",
        e_mean - e_half,
        e_mean + e_half,
        per_iteration * 1_500.0 * 1e6
    );
    if let Some(path) = &cfg.samples {
        append_samples(path, &costs);
        append_samples(&format!("{path}.expected"), &expected);
    }
}

/// Appends `xs` to the file at `path`, one a line (to pool runs).
fn append_samples(path: &str, xs: &[f64]) {
    let lines: String = xs.iter().map(|x| format!("{x:.4}\n")).collect();
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, lines.as_bytes()));
    if let Err(e) = written {
        eprintln!("botsim: cannot write {path}: {e}");
    }
}

/// The mean of `xs` and the half-width of its 95 % interval (1.96
/// standard errors; NaN for fewer than two).
fn mean_and_interval(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, 1.96 * (var / n).sqrt())
}

/// The proof-of-work levels met (by bits), and the human's proofs with
/// the time the widget would take in Chromium.
fn report_levels_and_proofs(cfg: &Config, stats: &Stats) {
    let show = |m: &Mutex<std::collections::BTreeMap<u8, u64>>| {
        m.lock()
            .map(|l| {
                l.iter()
                    .map(|(bits, n)| format!("{bits} bits: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    println!("  challenges met by the bots: {}", show(&stats.bot_levels));
    println!(
        "  challenges met by the bots after the first {} s: {}",
        cfg.warmup,
        show(&stats.bot_levels_warm)
    );
    if !cfg.human {
        return;
    }
    println!(
        "  challenges met by the human: {}",
        show(&stats.human_levels)
    );
    let proofs = stats
        .human_proofs
        .lock()
        .map(|p| p.clone())
        .unwrap_or_default();
    let chromium = |(iterations, tries, _): &(u32, u64, f64)| {
        *tries as f64 * cfg.chromium_us * f64::from(*iterations) / 1_500.0 / 1e6
    };
    let mut est: Vec<f64> = proofs.iter().map(chromium).collect();
    est.sort_by(f64::total_cmp);
    if let Some(path) = &cfg.samples {
        append_samples(&format!("{path}.person"), &est);
    }
    let mut native: Vec<f64> = proofs.iter().map(|p| p.2).collect();
    native.sort_by(f64::total_cmp);
    println!(
        "  human proofs: {} of {} challenges; in Chromium (at {} µs a derivation) median {:.2} s, max {:.2} s; native wall here median {:.2} s",
        proofs.len(),
        stats.human_levels.lock().map(|l| l.values().sum::<u64>()).unwrap_or(0),
        cfg.chromium_us,
        percentile(&est, 0.5),
        est.last().copied().unwrap_or(0.0),
        percentile(&native, 0.5)
    );
}

fn report(cfg: &Config, stats: &Stats, elapsed: Duration, cpu: Option<f64>) {
    let minutes = elapsed.as_secs_f64() / 60.0;
    let bots = stats.bots.lock().map(|b| b.clone()).unwrap_or_default();
    let mut per_min: Vec<f64> = bots.iter().map(|b| b.tickets as f64 / minutes).collect();
    per_min.sort_by(f64::total_cmp);
    let sum = |f: fn(&ClientStats) -> u64| bots.iter().map(f).sum::<u64>();
    let tickets = sum(|b| b.tickets);
    println!(
        "botsim: {} bot address(es), p = {}, {:.1} s{}",
        cfg.addresses,
        cfg.p,
        elapsed.as_secs_f64(),
        if cfg.flood { ", flood" } else { "" }
    );
    println!(
        "  bots: {} requests, {} pages served ({} refused), {} answers ({} right), {} tickets",
        sum(|b| b.requests),
        sum(|b| b.sessions),
        sum(|b| b.pages_refused),
        sum(|b| b.answers),
        sum(|b| b.right_answers),
        tickets
    );
    if !per_min.is_empty() {
        println!(
            "  tickets/min per address: min {:.1}, median {:.1}, max {:.1}; all addresses {:.1}",
            per_min[0],
            percentile(&per_min, 0.5),
            per_min[per_min.len() - 1],
            tickets as f64 / minutes
        );
    }
    if bots.len() <= 8 {
        for (i, b) in bots.iter().enumerate() {
            println!(
                "    {}: {:.1} tickets/min",
                bot_ip(i, cfg.spread),
                b.tickets as f64 / minutes
            );
        }
    }
    println!(
        "  bots met: code 4400 {} times, HTTP 429 {} times, code 6000 {}, HTTP 503 {}, failed requests {}",
        sum(|b| b.code_4400),
        sum(|b| b.http_429),
        sum(|b| b.code_6000),
        sum(|b| b.http_503),
        sum(|b| b.other_errors)
    );
    match cpu {
        Some(cpu) if tickets > 0 => println!(
            "  CPU: {cpu:.2} s in this process, {:.4} s per ticket",
            cpu / tickets as f64
        ),
        Some(cpu) => println!("  CPU: {cpu:.2} s in this process, no ticket"),
        None => println!("  CPU: not measured on this OS"),
    }
    if cfg.human {
        let h = stats.human.lock().map(|h| h.clone()).unwrap_or_default();
        let mut lat = h.latencies_ms.clone();
        lat.sort_by(f64::total_cmp);
        let ended = h.tickets + h.refused_pages;
        println!(
            "  human: {} pages, {} ended, {} with a ticket ({:.0} % success), {} answers ({} right); \
             4400 {}, 429 {}, 6000 {}, 503 {}, failed {}",
            h.sessions,
            ended,
            h.tickets,
            if ended > 0 {
                100.0 * h.tickets as f64 / ended as f64
            } else {
                f64::NAN
            },
            h.answers,
            h.right_answers,
            h.code_4400,
            h.http_429,
            h.code_6000,
            h.http_503,
            h.other_errors
        );
        println!(
            "  human latency per request: median {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} requests)",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat.last().copied().unwrap_or(f64::NAN),
            lat.len()
        );
    }
}

async fn run(cfg: Config) {
    let solver = Arc::new(Solver {
        keys: KeyRing::new(1, cfg.key),
        p: cfg.p,
        threads: tokio::sync::Semaphore::new(cfg.solver_threads),
    });
    let stats = Arc::new(Stats::default());
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    let deadline = start + Duration::from_secs(cfg.secs);
    let mut tasks = Vec::new();
    for i in 0..cfg.addresses {
        let player = Player {
            http: http::Client::new(bot_ip(i, cfg.spread), cfg.server),
            solver: solver.clone(),
            stats: ClientStats::default(),
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(i as u64),
            deadline,
            shared: stats.clone(),
            max_requests: cfg.max_requests,
            think: None,
            honour_retry_after: !cfg.flood,
            human: false,
            pace: cfg.pace,
            mode: cfg.mode,
            max_pages: u64::MAX,
            page: PageCost::default(),
        };
        tasks.push(tokio::spawn(player.run()));
    }
    let human = cfg.human.then(|| {
        let player = Player {
            http: http::Client::new(IpAddr::V4(HUMAN_IP), cfg.server),
            solver: Arc::new(Solver {
                keys: KeyRing::new(1, cfg.key),
                p: 0.93,
                threads: tokio::sync::Semaphore::new(1),
            }),
            stats: ClientStats::default(),
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(u64::MAX),
            deadline,
            shared: stats.clone(),
            max_requests: u64::MAX,
            think: Some((Duration::from_secs(5), Duration::from_secs(7))),
            honour_retry_after: true,
            human: true,
            pace: None,
            mode: Mode::Answer,
            max_pages: cfg.human_pages,
            page: PageCost::default(),
        };
        tokio::spawn(player.run())
    });
    let warm = stats.clone();
    let warmup = Duration::from_secs(cfg.warmup.min(cfg.secs));
    tokio::spawn(async move {
        tokio::time::sleep(warmup).await;
        let tickets = warm.bot_tickets.load(Ordering::Relaxed);
        let human = warm.human_cpu.lock().map_or(0.0, |h| *h);
        if let Ok(mut w) = warm.warm.lock() {
            *w = Some((tickets, cpu_seconds(), human));
        }
    });
    for t in tasks {
        if let Ok(s) = t.await {
            if let Ok(mut bots) = stats.bots.lock() {
                bots.push(s);
            }
        }
    }
    if let Some(h) = human {
        if let Ok(s) = h.await {
            if let Ok(mut human) = stats.human.lock() {
                *human = s;
            }
        }
    }
    let cpu_end = cpu_seconds();
    let cpu = cpu0.zip(cpu_end).map(|(a, b)| b - a);
    report(&cfg, &stats, start.elapsed(), cpu);
    report_after_warmup(&cfg, &stats, start.elapsed(), cpu_end);
    report_levels_and_proofs(&cfg, &stats);
}

fn main() -> ExitCode {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The run ends by itself at its deadline; this is a second guard.
    let limit = Duration::from_secs(cfg.secs + 30);
    runtime.block_on(async {
        if tokio::time::timeout(limit, run(cfg)).await.is_err() {
            eprintln!("botsim: did not finish in time");
        }
    });
    // Proofs of work still being solved when the run ended are dropped.
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::SUCCESS
}
