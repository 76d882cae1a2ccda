// Minimal fake DOM + fetch to exercise the widget script under node.
const fs = require("fs");
const script = fs.readFileSync(process.argv[2], "utf8");
function el(tag) {
  return {
    tag, children: [], attrs: {}, style: {}, listeners: {}, textContent: "", value: "", disabled: false,
    parentNode: null,
    appendChild(c) { c.parentNode = this; this.children.push(c); return c; },
    removeChild(c) { this.children = this.children.filter(x => x !== c); c.parentNode = null; },
    setAttribute(k, v) { this.attrs[k] = String(v); },
    addEventListener(t, f) { this.listeners[t] = f; },
    removeEventListener(t, f) { if (this.listeners[t] === f) delete this.listeners[t]; },
    focus() {},
  };
}
const host = el("div");
global.document = { createElement: el, createTextNode: t => ({ textContent: t }), getElementById: id => id === "cap" ? host : null };
global.window = global;
const requests = [];
let replies = [];
global.fetch = (url, opts) => { requests.push({ url, body: opts.body }); const r = replies.shift(); return Promise.resolve({ json: () => Promise.resolve(r) }); };
eval(script);
const log = [];
capInit("cap", { callback: r => log.push(r) });
const root = host.children[0], form = root.children[0];
const find = tag => form.children.filter(c => c.tag === tag);
const img = find("img")[0], input = find("input")[0];
const out = { initialSrc: img.src };
replies = [{ code: 5100, message: "wrong answer", challenge: "NEXT", ttl: 300 }, { code: 0, message: "No Error", ticket: "TICKET1" }];
input.value = "abcd";
form.listeners.submit({ preventDefault() {} });
setTimeout(() => {
  out.afterWrong = img.src; out.msg1 = find("div")[1].textContent;
  input.value = "right";
  form.listeners.submit({ preventDefault() {} });
  setTimeout(() => {
    out.requests = requests; out.log = log; out.ticket = capGetTicket();
    capDestroy(); out.destroyed = host.children.length;
    console.log(JSON.stringify(out));
  }, 10);
}, 10);
