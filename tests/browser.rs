//! End to end in a real browser: the demo sign-up page of
//! `examples/server` (its `demo.rs`, included here) on `qcaptcha::axum`,
//! served in process, and headless Chromium driven through Debian's
//! chromedriver.
//!
//! Needs the Debian packages `chromium` and `chromium-driver`; it runs
//! with the `e2e` feature (`scripts/test` installs them and turns it on)
//! and fails, not skips, without them.
//!
//! The test holds the service, so it opens challenges itself and learns
//! the right answer the way only the server could.
//!
//! The widget screenshot is written to `$TMPDIR/qcaptcha-widget.png`, and
//! also to `docs/widget.png` with `QCAPTCHA_UPDATE_SCREENSHOT=1`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use fantoccini::{Client, ClientBuilder, Locator};
use qcaptcha::axum::{router, serve, RouterConfig, ServeConfig};
use qcaptcha::picture::DEFAULT_HEIGHT;
use qcaptcha::picture::DEFAULT_WIDTH;
use qcaptcha::pow::{PowLevel, PowPolicy};
use qcaptcha::widget::WidgetDelivery;
use qcaptcha::{Answer, CaptchaService, Credentials, KeyRing};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The longest wait for something on the page (a picture, a message):
/// waits end as soon as it is there, so this only bounds a broken page,
/// with room for a machine loaded by other builds.
const WAIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- processes

/// A child process killed (with its whole process group) when dropped,
/// also when the test panics.
struct ProcessGuard {
    name: &'static str,
    child: Child,
    log: Option<PathBuf>,
}

impl ProcessGuard {
    fn kill_group(&self) {
        // Each child leads its own process group (see `spawn`), so this
        // also reaches chromium processes started by chromedriver.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        self.kill_group();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            if let Some(log) = &self.log {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                eprintln!(
                    "---- last lines of the {} log ({}):",
                    self.name,
                    log.display()
                );
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

fn spawn(name: &'static str, mut cmd: Command, log: PathBuf) -> ProcessGuard {
    use std::os::unix::process::CommandExt;
    let log_file = std::fs::File::create(&log).expect("create log file");
    cmd.stdin(Stdio::null()).stderr(log_file).process_group(0);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
    ProcessGuard {
        name,
        child,
        log: Some(log),
    }
}

/// A scratch directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("qcaptcha-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn require_browser() {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "the browser test needs {missing:?}: install the Debian packages with \
         `apt-get install -y chromium chromium-driver`"
    );
}

/// axe-core's browser bundle, installed from npm by `scripts/test` (or
/// named by `QCAPTCHA_AXE`).
fn axe_source() -> String {
    let path = std::env::var_os("QCAPTCHA_AXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/axe/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the browser test needs axe-core at {} ({e}): run scripts/test, which installs it \
             with npm",
            path.display()
        )
    })
}

/// Runs axe-core (WCAG 2.0-2.2 A and AA rules and best practices) on the
/// page as it is now: the violations, each with its rule and the nodes it
/// found.
async fn axe_violations(client: &Client, axe: &str) -> Vec<Value> {
    client
        .execute(axe, vec![])
        .await
        .expect("load axe-core into the page");
    let result = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { resultTypes: ["violations"] })
                 .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact,
                     help: v.help, nodes: v.nodes.map(n => n.html) }))))
                 .catch(e => done([{ id: "axe-error", help: String(e) }]));"#,
            vec![],
        )
        .await
        .expect("run axe-core");
    result.as_array().cloned().unwrap_or_default()
}

#[path = "../examples/server/demo.rs"]
mod demo;

/// Serves the API, the widget routes and the demo page on a free port
/// until `stop` fires; returns the base URL and the server's task.
async fn start_server(
    service: Arc<CaptchaService>,
    credentials: Credentials,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let page = demo::routes(Arc::new(demo::Demo {
        service: service.clone(),
        credentials: Some(credentials),
        captcha_type: 5,
        api_path: "/v2/index.php".into(),
    }));
    let app = router(service, RouterConfig::default()).merge(page);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen on a free port");
    let addr = listener.local_addr().expect("local address");
    let server = tokio::spawn(serve(listener, app, ServeConfig::default(), async move {
        let _ = stop.await;
    }));
    (format!("http://{addr}"), server)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// ChromeDriver and a fresh Chromium profile in `scratch`: the driver
/// (killed when dropped), its URL and the profile directory.
fn start_browser(scratch: &TempDir) -> (ProcessGuard, String, PathBuf) {
    let (driver, webdriver) = start_chromedriver(&scratch.0);
    let profile = scratch.0.join("chromium-profile");
    std::fs::create_dir_all(&profile).expect("profile dir");
    (driver, webdriver, profile)
}

/// The runtime the tests drive the browser and the server on.
fn one_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn start_chromedriver(dir: &Path) -> (ProcessGuard, String) {
    let port = free_port();
    let mut cmd = Command::new(CHROMEDRIVER);
    cmd.arg(format!("--port={port}")).stdout(Stdio::null());
    let guard = spawn("chromedriver", cmd, dir.join("chromedriver.log"));
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on port {port} within {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (guard, format!("http://127.0.0.1:{port}"))
}

// ---------------------------------------------------------------- browser helpers

async fn connect(webdriver: &str, profile: &Path) -> Client {
    let args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        "--window-size=800,700".into(),
        "--force-device-scale-factor=2".into(),
        "--disable-crash-reporter".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
    });
    let caps = caps.as_object().cloned().expect("object");
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(webdriver)
        .await
        .unwrap_or_else(|e| panic!("cannot open a Chromium session via chromedriver: {e}"))
}

/// Polls `script` until it returns something other than `null`.
async fn wait_js(client: &Client, what: &str, script: &str, args: Vec<Value>) -> Value {
    wait_js_for(client, what, script, args, WAIT).await
}

/// [`wait_js`] with its own time limit.
async fn wait_js_for(
    client: &Client,
    what: &str,
    script: &str,
    args: Vec<Value>,
    limit: Duration,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let v = client
            .execute(script, args.clone())
            .await
            .unwrap_or_else(|e| panic!("script for {what} failed: {e}"));
        if !v.is_null() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The loaded widget picture, once its `src` differs from `not_src`:
/// `{src, w, h, data}` where `data` is the picture redrawn as a data URL.
async fn loaded_picture(client: &Client, not_src: &str) -> Value {
    wait_js(
        client,
        "the captcha picture",
        r##"const i = document.querySelector("#captcha img");
           if (!i || i.src === arguments[0] || !i.complete || i.naturalWidth === 0) return null;
           const c = document.createElement("canvas");
           c.width = i.naturalWidth; c.height = i.naturalHeight;
           c.getContext("2d").drawImage(i, 0, 0);
           return { src: i.src, w: i.naturalWidth, h: i.naturalHeight, shownW: i.clientWidth,
                    dpr: window.devicePixelRatio, data: c.toDataURL() };"##,
        vec![json!(not_src)],
    )
    .await
}

/// The picture is shown at twice the base size (260 CSS pixels wide) and
/// drawn for the screen: on this 2x screen, at 3x the base bitmap (the
/// most the server draws), so it is never a stretched thumbnail.
fn assert_size(pic: &Value) {
    assert_eq!(pic["dpr"].as_f64(), Some(2.0), "the test's screen density");
    assert_eq!(
        pic["shownW"].as_u64(),
        Some(2 * DEFAULT_WIDTH as u64),
        "shown width"
    );
    assert_eq!(
        (pic["w"].as_u64(), pic["h"].as_u64()),
        (
            Some(3 * DEFAULT_WIDTH as u64),
            Some(3 * DEFAULT_HEIGHT as u64)
        ),
        "natural size of the picture: {}",
        pic["src"]
    );
}

/// The challenge token in a picture URL (`...?c=TOKEN`).
/// The answer of the picture `pic` (from [`loaded_picture`]), learnt the
/// way only the server can.
fn answer_of(oracle: &CaptchaService, pic: &Value) -> Answer {
    oracle
        .answer_for_challenge(&token_of(pic["src"].as_str().unwrap()))
        .expect("open the challenge")
}

fn token_of(src: &str) -> String {
    let query = src.split_once('?').expect("query in picture URL").1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "c")
        .map(|(_, v)| v.into_owned())
        .expect("c= in picture URL")
}

async fn widget_message(client: &Client) -> String {
    client
        .find(Locator::Css("#captcha [role=status]"))
        .await
        .expect("widget message line")
        .text()
        .await
        .expect("message text")
}

async fn answer(client: &Client, text: &str) {
    let input = client
        .find(Locator::Css("#captcha input[type=text]"))
        .await
        .expect("widget input");
    input.clear().await.expect("clear input");
    input.send_keys(text).await.expect("type answer");
}

/// Types `text` into the widget, submits it and waits for the ticket the
/// page's form receives.
async fn submit_answer(client: &Client, text: &str) -> String {
    answer(client, text).await;
    click(client, "#captcha button[type=submit]").await;
    let ticket = wait_js(
        client,
        "the ticket",
        r#"const t = document.getElementById("ticket").value;
           return t ? t : null;"#,
        vec![],
    )
    .await;
    ticket.as_str().expect("ticket string").to_owned()
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn heading(client: &Client) -> String {
    let v = wait_js(
        client,
        "the result page",
        r#"const h = document.querySelector("h1");
           return h && document.readyState === "complete" && location.pathname === "/signup"
             ? h.textContent : null;"#,
        vec![],
    )
    .await;
    v.as_str().unwrap_or_default().to_owned()
}

// ---------------------------------------------------------------- keyboard

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// The class (or id) of the focused element.
async fn focused(client: &Client) -> String {
    let v = client
        .execute(
            "const e = document.activeElement; return e ? (e.className || e.id || e.tagName) : '';",
            vec![],
        )
        .await
        .expect("focused element");
    v.as_str().unwrap_or_default().to_owned()
}

/// Presses `keys` on whatever has the focus.
async fn press(client: &Client, keys: &str) {
    client
        .active_element()
        .await
        .expect("an element has the focus")
        .send_keys(keys)
        .await
        .expect("press keys");
}

async fn keyboard_only_flow(client: &Client, base: &str, oracle: &CaptchaService) {
    client
        .goto(&format!("{base}/"))
        .await
        .expect("open the page");
    let picture = loaded_picture(client, "").await;
    // Tab from the top of the page to the Listen button.
    let mut tabs = 0;
    while focused(client).await != "qcaptcha-listen" {
        tabs += 1;
        assert!(
            tabs <= 8,
            "Listen not reached by Tab; focus on {}",
            focused(client).await
        );
        press(client, TAB).await;
    }
    // Its focus is visible: the browser draws an outline around it.
    let outline = client
        .execute(
            "const s = getComputedStyle(document.activeElement); \
             return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;",
            vec![],
        )
        .await
        .expect("focus style");
    assert_eq!(outline, json!(true), "no visible focus on Listen");
    press(client, ENTER).await;
    let clip = wait_js(
        client,
        "the clip to load and play",
        r##"const a = document.querySelector("#captcha audio");
           if (!a || !(a.duration > 1) || !(a.currentTime > 0)) return null;
           return { src: a.currentSrc, duration: a.duration, at: a.currentTime,
                    paused: a.paused };"##,
        vec![],
    )
    .await;
    assert!(
        clip["src"]
            .as_str()
            .unwrap_or("")
            .contains("/captcha/audio?c="),
        "{clip}"
    );
    assert!(clip["duration"].as_f64() < Some(8.0), "{clip}");
    // It plays: its time runs.
    assert!(
        clip["at"].as_f64() > Some(0.0),
        "the clip did not play: {clip}"
    );
    // On to the answer box, type what was heard, and Enter.
    press(client, TAB).await;
    let answer_box = focused(client).await;
    assert!(
        answer_box.ends_with("-input"),
        "Tab after Listen went to {answer_box}"
    );
    let heard = answer_of(oracle, &picture);
    press(client, heard.as_str()).await;
    press(client, ENTER).await;
    let ticket = wait_js(
        client,
        "the ticket after a keyboard-only answer",
        r#"const t = document.getElementById("ticket").value; return t ? t : null;"#,
        vec![],
    )
    .await;
    assert!(ticket.as_str().is_some_and(|t| t.len() > 20), "{ticket}");
}

// ---------------------------------------------------------------- the test

#[test]
fn signup_in_headless_chromium() {
    require_browser();
    let axe = axe_source();
    let scratch = TempDir::new("browser");
    // The signed-only API (the page signs its own calls) and a replay
    // store: the service as examples/server runs it.
    let credentials = Credentials::new("AKIDbrowser", "browser-secret");
    let service = Arc::new(
        CaptchaService::builder("/captcha")
            .keys(KeyRing::generate(1).expect("OS random key"))
            .credentials(credentials.clone())
            .build()
            .expect("service"),
    );
    let oracle = service.clone();
    let (_driver, webdriver, profile) = start_browser(&scratch);
    let screenshot_out = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/widget.png");

    let runtime = one_thread_runtime();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let (base, server) = runtime.block_on(start_server(service, credentials, stopped));
    let shot = runtime.block_on(async {
        let client = connect(&webdriver, &profile).await;

        // 1. The page loads and the picture has the configured size.
        client
            .goto(&format!("{base}/"))
            .await
            .expect("open the page");
        let first = loaded_picture(&client, "").await;
        assert_size(&first);
        let violations = axe_violations(&client, &axe).await;
        assert!(
            violations.is_empty(),
            "axe-core on the demo page: {violations:#?}"
        );
        // axe-core does see a violation when there is one: a picture with
        // no alt text, added and removed again.
        client
            .execute(
                r##"const i = document.createElement("img"); i.id = "no-alt";
                   i.src = document.querySelector("#captcha img").src;
                   document.querySelector("main").appendChild(i);"##,
                vec![],
            )
            .await
            .expect("add a picture without alt");
        let seen = axe_violations(&client, &axe).await;
        assert!(seen.iter().any(|v| v["id"] == "image-alt"), "{seen:#?}");
        client
            .execute(r#"document.getElementById("no-alt").remove();"#, vec![])
            .await
            .expect("remove it");
        // At 200 % zoom every control of the widget is still on screen,
        // whole, and nothing needs horizontal scrolling.
        let zoomed = client
            .execute(
                r##"document.body.style.zoom = "2";
                   const w = document.documentElement.clientWidth;
                   const parts = Array.from(document.querySelectorAll(
                     "#captcha img, #captcha input, #captcha button, #captcha label"));
                   const off = parts.filter(e => { const r = e.getBoundingClientRect();
                     return r.width === 0 || r.left < 0 || r.right > w + 1; })
                     .map(e => e.outerHTML.slice(0, 60));
                   const scroll = document.documentElement.scrollWidth > w + 1;
                   document.body.style.zoom = "";
                   return { off, scroll, parts: parts.length };"##,
                vec![],
            )
            .await
            .expect("zoom the page");
        assert_eq!(zoomed["off"], json!([]), "cut off at 200 %: {zoomed}");
        assert_eq!(
            zoomed["scroll"],
            json!(false),
            "horizontal scrolling at 200 %"
        );
        assert!(zoomed["parts"].as_u64() >= Some(5), "{zoomed}");
        let submit_disabled = client
            .execute(
                r#"return document.getElementById("signup-submit").disabled;"#,
                vec![],
            )
            .await
            .expect("button state");
        assert_eq!(
            submit_disabled,
            json!(true),
            "sign-up enabled before solving"
        );

        // 2. Refresh shows a different picture.
        click(&client, "#captcha .qcaptcha-refresh").await;
        let second = loaded_picture(&client, first["src"].as_str().unwrap()).await;
        assert_size(&second);
        assert_ne!(
            first["data"], second["data"],
            "refresh kept the same picture"
        );

        // The screenshot for the docs: a fresh picture, its answer typed.
        let right = answer_of(&oracle, &second);
        answer(&client, right.as_str()).await;
        let shot = client
            .find(Locator::Css("#captcha"))
            .await
            .expect("widget")
            .screenshot()
            .await
            .expect("widget screenshot");

        // 3. A wrong answer shows an error and a fresh picture.
        let wrong = if right.as_str().eq_ignore_ascii_case("ZZZZ") {
            "YYYY"
        } else {
            "ZZZZ"
        };
        answer(&client, wrong).await;
        click(&client, "#captcha button[type=submit]").await;
        let third = loaded_picture(&client, second["src"].as_str().unwrap()).await;
        assert_size(&third);
        assert_ne!(
            second["data"], third["data"],
            "no fresh picture after a wrong answer"
        );
        let msg = widget_message(&client).await;
        assert!(
            msg.contains("Wrong answer"),
            "message after a wrong answer: {msg:?}"
        );

        // 4. The right answer yields a ticket.
        let right = answer_of(&oracle, &third);
        // The prompt names this picture's letter count, and the box takes
        // no more.
        let prompt = client
            .execute(
                r##"const l = document.querySelector("#captcha label");
                   const i = document.querySelector("#captcha input[type=text]");
                   return [l.textContent, i.maxLength];"##,
                vec![],
            )
            .await
            .expect("read the prompt");
        assert_eq!(
            prompt,
            json!([
                format!("Type the {} letters in the picture", right.len()),
                right.len()
            ])
        );
        let ticket = submit_answer(&client, right.as_str()).await;
        let api = client
            .execute("return window.capGetTicket();", vec![])
            .await
            .expect("capGetTicket");
        assert_eq!(api, json!({ "ret": 0, "ticket": ticket }));
        let msg = widget_message(&client).await;
        assert!(
            msg.contains("Verified"),
            "message after the right answer: {msg:?}"
        );

        // 5. Submitting the form succeeds.
        let username = client
            .find(Locator::Css("#username"))
            .await
            .expect("user name field");
        username.send_keys("alice").await.expect("type user name");
        click(&client, "#signup-submit").await;
        let h1 = heading(&client).await;
        assert_eq!(h1, "Welcome, alice!");

        // 6. The same ticket again fails.
        client
            .goto(&format!("{base}/"))
            .await
            .expect("reopen the page");
        loaded_picture(&client, "").await;
        client
            .execute(
                r#"document.getElementById("ticket").value = arguments[0];
                   document.getElementById("username").value = "mallory";
                   document.getElementById("signup-submit").disabled = false;"#,
                vec![json!(ticket)],
            )
            .await
            .expect("replay the ticket");
        click(&client, "#signup-submit").await;
        let h1 = heading(&client).await;
        assert_eq!(h1, "Sign-up refused", "a replayed ticket was accepted");

        // 7. With the keyboard alone: tab to Listen, play the clip, tab
        //    on to the answer box, type what was heard, Enter: a ticket.
        keyboard_only_flow(&client, &base, &oracle).await;

        client.close().await.expect("close the browser session");
        shot
    });

    // The widget screenshot: always in the temp dir, and under docs/ when
    // asked.
    assert!(shot.starts_with(b"\x89PNG"), "screenshot is not a PNG");
    let target_copy = std::env::temp_dir().join("qcaptcha-widget.png");
    std::fs::write(&target_copy, &shot).expect("write screenshot");
    if std::env::var_os("QCAPTCHA_UPDATE_SCREENSHOT").is_some() {
        std::fs::write(&screenshot_out, &shot).expect("write docs/widget.png");
    }

    // The server stops when told, cleanly.
    let _ = stop.send(());
    let stopped = runtime.block_on(server).expect("server task");
    assert!(stopped.is_ok(), "server: {stopped:?}");
}

// ---------------------------------------------------------------- cached widget

/// The cached delivery on the demo page: CaptchaQuery's small script
/// loads the static widget from `{base}/widget.js?v=...` (under the page's
/// strict Content-Security-Policy), the page's `capInit` call made before
/// it arrived runs once it has, and the captcha is solved as usual; the
/// widget script is served cacheable.
#[test]
fn cached_widget_in_headless_chromium() {
    require_browser();
    let scratch = TempDir::new("browser-cached");
    let credentials = Credentials::new("AKIDbrowser", "browser-secret");
    let service = Arc::new(
        CaptchaService::builder("/captcha")
            .keys(KeyRing::generate(1).expect("OS random key"))
            .credentials(credentials.clone())
            .widget_delivery(WidgetDelivery::Cached)
            .build()
            .expect("service"),
    );
    let oracle = service.clone();
    let (_driver, webdriver, profile) = start_browser(&scratch);
    let runtime = one_thread_runtime();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let (base, server) = runtime.block_on(start_server(service, credentials, stopped));
    runtime.block_on(async {
        let client = connect(&webdriver, &profile).await;
        client
            .goto(&format!("{base}/"))
            .await
            .expect("open the page");
        let picture = loaded_picture(&client, "").await;
        assert_size(&picture);
        // The page got the small script and the widget came by its URL.
        let loaded = client
            .execute(
                r#"return Array.from(document.scripts).map(s => s.src || s.text.length);"#,
                vec![],
            )
            .await
            .expect("list the scripts");
        let scripts = loaded.as_array().expect("array");
        assert!(
            scripts.iter().any(|s| s.as_u64().is_some_and(|n| n < 1024)),
            "no small inline script: {loaded}"
        );
        let src = scripts
            .iter()
            .filter_map(Value::as_str)
            .find(|s| s.contains("/captcha/widget.js?v="))
            .unwrap_or_else(|| panic!("widget.js not loaded: {loaded}"))
            .to_owned();
        let right = answer_of(&oracle, &picture);
        assert!(!submit_answer(&client, right.as_str()).await.is_empty());
        let username = client
            .find(Locator::Css("#username"))
            .await
            .expect("user name field");
        username.send_keys("carol").await.expect("type user name");
        click(&client, "#signup-submit").await;
        assert_eq!(heading(&client).await, "Welcome, carol!");
        client.close().await.expect("close the browser session");
        // The widget script's URL is cacheable for a year.
        let path = src.split_once("/captcha/").map(|(_, p)| p).unwrap_or("");
        let query = path.split_once('?').map_or("", |(_, q)| q);
        let resp = oracle.handle_widget_js(query);
        assert!(resp.cache_control.contains("immutable"), "{resp:?}");
        assert!(resp.text().contains("window.capInit"));
    });
    let _ = stop.send(());
    let stopped = runtime.block_on(server).expect("server task");
    assert!(stopped.is_ok(), "server: {stopped:?}");
}

// ---------------------------------------------------------------- proof of work

/// Longest wait for one proof in the browser (the top default level
/// averages a few seconds; this leaves room for a very unlucky one on a
/// loaded machine).
const POW_WAIT: Duration = Duration::from_secs(120);

fn median_ms(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Waits for the widget's proof of the current challenge:
/// `(milliseconds, derivations)`.
async fn proof_time(client: &Client) -> (f64, f64) {
    let v = wait_js_for(
        client,
        "the proof of work",
        r##"const r = document.querySelector("#captcha .qcaptcha");
           const ms = r && r.getAttribute("data-pow-ms");
           return ms === null || ms === undefined ? null
             : [Number(ms), Number(r.getAttribute("data-pow-tries"))];"##,
        vec![],
        POW_WAIT,
    )
    .await;
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

async fn start_pow_server(
    level: PowLevel,
) -> (
    String,
    Arc<CaptchaService>,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let credentials = Credentials::new("AKIDbrowser", "browser-secret");
    let service = Arc::new(
        CaptchaService::builder("/captcha")
            .keys(KeyRing::generate(1).expect("OS random key"))
            .credentials(credentials.clone())
            .pow(PowPolicy::fixed(level))
            .build()
            .expect("service"),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let (base, server) = start_server(service.clone(), credentials, stopped).await;
    (base, service, stop, server)
}

/// The widget at each default proof-of-work level, under the demo page's
/// strict CSP: the right answer typed and submitted at once yields a
/// ticket (the widget pays the proof first, the server checks it), and
/// the time the widget takes to solve is measured. With
/// `QCAPTCHA_POW_SAMPLES=N` (default 3) it solves N challenges per level
/// and prints the calibration table of the README. Then, at a level that
/// cannot finish during the test, a submit shows the progress.
#[test]
fn proof_of_work_in_headless_chromium() {
    require_browser();
    let samples: usize = std::env::var("QCAPTCHA_POW_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let scratch = TempDir::new("browser-pow");
    let (_driver, webdriver, profile) = start_browser(&scratch);
    let runtime = one_thread_runtime();
    let levels = PowPolicy::default().levels;
    let rows = runtime.block_on(async {
        let client = connect(&webdriver, &profile).await;
        let mut rows = Vec::new();
        for (i, level) in levels.iter().enumerate() {
            let (base, oracle, stop, server) = start_pow_server(*level).await;
            client
                .goto(&format!("{base}/"))
                .await
                .expect("open the page");
            let pic = loaded_picture(&client, "").await;
            // End to end: answer at once; the ticket comes once the proof
            // is found and checked.
            let right = answer_of(&oracle, &pic);
            answer(&client, right.as_str()).await;
            let t0 = Instant::now();
            click(&client, "#captcha button[type=submit]").await;
            let ticket = wait_js_for(
                &client,
                "the ticket",
                r#"const t = document.getElementById("ticket").value;
                   return t ? t : null;"#,
                vec![],
                POW_WAIT,
            )
            .await;
            let e2e_ms = t0.elapsed().as_secs_f64() * 1000.0;
            assert!(ticket.as_str().is_some_and(|t| !t.is_empty()));
            let msg = widget_message(&client).await;
            assert!(msg.contains("Verified"), "level {i}: {msg:?}");
            // The solve time, challenge after challenge (refresh starts a
            // new proof and cancels the old one).
            let (mut ms, mut tries) = (Vec::new(), 0.0);
            if !level.is_none() {
                client.goto(&format!("{base}/")).await.expect("reopen");
                let mut src = loaded_picture(&client, "").await["src"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                for n in 0..samples {
                    let (t, d) = proof_time(&client).await;
                    ms.push(t);
                    tries += d;
                    if n + 1 < samples {
                        // A session allows `session_pictures` (10)
                        // pictures: a new page every 9 solves.
                        if (n + 1) % 9 == 0 {
                            client.goto(&format!("{base}/")).await.expect("reopen");
                        } else {
                            click(&client, "#captcha .qcaptcha-refresh").await;
                        }
                        src = loaded_picture(&client, &src).await["src"]
                            .as_str()
                            .unwrap()
                            .to_owned();
                    }
                }
            }
            let n = ms.len().max(1) as f64;
            let mean = ms.iter().fold(0.0, |a, b| a + b) / n;
            rows.push(format!(
                "| {i} | {} | {} | {} | {:.0} ms | {:.0} ms | {:.0} | {:.0} µs | {:.0} ms |",
                level.bits,
                level.iterations,
                ms.len(),
                median_ms(&mut ms),
                mean,
                tries / n,
                if tries > 0.0 {
                    mean * n * 1000.0 / tries
                } else {
                    0.0
                },
                e2e_ms,
            ));
            let _ = stop.send(());
            let _ = server.await;
        }

        // Progress: 2^22 derivations cannot finish during the test.
        let (base, oracle, stop, server) = start_pow_server(PowLevel::new(22, 1_000)).await;
        client
            .goto(&format!("{base}/"))
            .await
            .expect("open the page");
        let pic = loaded_picture(&client, "").await;
        let right = answer_of(&oracle, &pic);
        answer(&client, right.as_str()).await;
        click(&client, "#captcha button[type=submit]").await;
        let progress = wait_js(
            &client,
            "the progress message",
            r##"const m = document.querySelector("#captcha [role=status]").textContent;
               return /Checking this device.* \d+%$/.test(m) ? m : null;"##,
            vec![],
        )
        .await;
        assert!(progress.as_str().is_some());
        client.close().await.expect("close the browser session");
        let _ = stop.send(());
        let _ = server.await;
        rows
    });
    eprintln!(
        "| level | bits | iterations | solves | median solve | mean solve | mean derivations | per derivation | answer at once -> ticket |"
    );
    eprintln!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        eprintln!("{r}");
    }
}
