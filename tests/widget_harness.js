// Minimal fake DOM + fetch to exercise the widget script under node.
// Usage: node widget_harness.js <widget.js> [flow|verify-offline|refresh-offline]
// Prints one JSON object describing what the widget did.
const fs = require("fs");
const script = fs.readFileSync(process.argv[2], "utf8");
const mode = process.argv[3] || "flow";
function el(tag) {
  return {
    tag, children: [], attrs: {}, style: {}, listeners: {}, textContent: "", value: "", disabled: false,
    parentNode: null,
    appendChild(c) { c.parentNode = this; this.children.push(c); return c; },
    removeChild(c) { this.children = this.children.filter(x => x !== c); c.parentNode = null; },
    setAttribute(k, v) { this.attrs[k] = String(v); },
    removeAttribute(k) { delete this.attrs[k]; },
    addEventListener(t, f) { this.listeners[t] = f; },
    removeEventListener(t, f) { if (this.listeners[t] === f) delete this.listeners[t]; },
    focus() {},
  };
}
const host = el("div");
global.document = { createElement: el, createTextNode: t => ({ textContent: t }), getElementById: id => id === "cap" ? host : null };
global.window = global;
// Each fetch takes the next reply: a JSON body, or OFFLINE to make fetch
// reject as a browser does when the server cannot be reached.
const OFFLINE = { offline: true };
const requests = [];
let replies = [];
global.fetch = (url, opts) => {
  requests.push({ url, body: opts.body });
  if (!replies.length) { throw new Error("unexpected fetch: " + url); }
  const r = replies.shift();
  if (r === OFFLINE) { return Promise.reject(new TypeError("Failed to fetch")); }
  return Promise.resolve({ json: () => Promise.resolve(r) });
};
eval(script);
const log = [];
capInit("cap", { callback: r => log.push(r) });
const root = host.children[0], form = root.children[0];
const find = tag => form.children.filter(c => c.tag === tag);
const byClass = name => form.children.find(c => c.className === name);
const img = find("img")[0], input = find("input")[0], msg = byClass("qcaptcha-msg");
const submitBtn = byClass("qcaptcha-submit");
const refreshBtn = byClass("qcaptcha-refresh");
const tick = () => new Promise(r => setTimeout(r, 10));
const submit = answer => { input.value = answer; form.listeners.submit({ preventDefault() {} }); };
// What the user sees: message line (text, colour), which controls are
// disabled, the picture, and the ticket so far.
const view = () => ({
  msg: msg.textContent, msgColor: msg.style.color || "",
  inputDisabled: input.disabled, submitDisabled: submitBtn.disabled, refreshDisabled: refreshBtn.disabled,
  src: img.src, ticket: capGetTicket(), log: log.slice(),
});
const out = { mode, initialSrc: img.src };

// The request `start` sends cannot reach the server; a submit after it
// can, and gets `ticket`. Records the view in flight, after the failure
// and after the retry.
async function offlineThenRetry(start, ticket) {
  replies = [OFFLINE];
  start();
  out.whilePending = view();
  await tick();
  out.afterOffline = view();
  replies = [{ code: 0, message: "No Error", ticket: ticket }];
  submit("abcd");
  await tick();
  out.afterRetry = view();
}

const scenarios = {
  // Wrong answer (new picture), then the right one: ticket to the callback.
  async flow() {
    replies = [{ code: 5100, message: "wrong answer", challenge: "NEXT", ttl: 300 }, { code: 0, message: "No Error", ticket: "TICKET1" }];
    submit("abcd");
    await tick();
    out.afterWrong = img.src; out.msg1 = msg.textContent;
    submit("right");
    await tick();
  },
  // The verify request cannot reach the server; the next submit can.
  "verify-offline": () => offlineThenRetry(() => submit("abcd"), "TICKET2"),
  // The refresh button's request cannot reach the server; the widget still
  // answers with the picture it has.
  "refresh-offline": () => offlineThenRetry(() => refreshBtn.listeners.click(), "TICKET3"),
  // A challenge with a proof of work (WebCrypto of Node): submitted at
  // once, the widget shows its progress, then posts the counter it found.
  async pow() {
    replies = [{ code: 0, message: "No Error", ticket: "TICKETP" }];
    submit("abcd");
    out.progress = msg.textContent;
    out.whileSolving = view();
    // Until the proof is found (WebCrypto in Node's thread pool): a minute
    // at most, for a loaded machine.
    const until = Date.now() + 60000;
    while (!requests.length && Date.now() < until) { await tick(); }
    await tick();
  },
  // Refresh while solving: the new challenge (level 0) cancels the old
  // proof; the submit goes out at once, without a counter.
  async "pow-refresh"() {
    replies = [{ code: 0, message: "No Error", challenge: "CALM", ttl: 300, pow: null },
               { code: 0, message: "No Error", ticket: "TICKETR" }];
    refreshBtn.listeners.click();
    await tick();
    submit("abcd");
    await tick();
    await tick();
  },
};

(async () => {
  if (!scenarios[mode]) { throw new Error("unknown mode: " + mode); }
  await scenarios[mode]();
  out.requests = requests; out.log = log; out.ticket = capGetTicket();
  capDestroy(); out.destroyed = host.children.length;
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
