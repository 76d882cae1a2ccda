(function () {
  "use strict";
  // The service's routes, then this challenge's configuration: in the
  // script itself, or (the cached widget.js) from the small per-challenge
  // script CaptchaQuery returned, before or after this one loaded.
  var ROUTES = __QCAPTCHA_ROUTES__;
  var CFG = __QCAPTCHA_CONFIG__;
  var TEXT = {
    en: {
      prompt: "Type the {n} letters in the picture",
      alt: "Captcha picture: type its letters in the box below, or press Listen to hear them.",
      listen: "Listen",
      noAudio: "The sound could not be played. Please try again.",
      refresh: "New picture",
      submit: "Verify",
      wrong: "Wrong answer. Please try this new picture.",
      expired: "The picture expired. Here is a new one.",
      ended: "This captcha has expired. Please reload the page.",
      limit: "Too many tries with this captcha. Please reload the page.",
      slow: "Too many tries from your network. Please wait {s} seconds and try again.",
      network: "Could not reach the server. Please try again.",
      working: "Checking this device\u2026 ",
      nocrypto: "This browser cannot run the check on this page (it needs HTTPS).",
      ok: "Verified."
    },
    zh: {
      prompt: "\u8bf7\u8f93\u5165\u56fe\u4e2d\u7684 {n} \u4e2a\u5b57\u6bcd",
      alt: "\u9a8c\u8bc1\u7801\u56fe\u7247\uff1a\u8bf7\u5728\u4e0b\u65b9\u8f93\u5165\u6846\u4e2d\u8f93\u5165\u56fe\u4e2d\u7684\u5b57\u6bcd\uff0c\u6216\u6309\u201c\u6536\u542c\u201d\u542c\u53d6\u3002",
      listen: "\u6536\u542c",
      noAudio: "\u65e0\u6cd5\u64ad\u653e\u58f0\u97f3\uff0c\u8bf7\u91cd\u8bd5\u3002",
      refresh: "\u6362\u4e00\u5f20",
      submit: "\u9a8c\u8bc1",
      wrong: "\u7b54\u6848\u9519\u8bef\uff0c\u8bf7\u8f93\u5165\u65b0\u56fe\u7247\u4e2d\u7684\u5b57\u6bcd\u3002",
      expired: "\u56fe\u7247\u5df2\u8fc7\u671f\uff0c\u5df2\u6362\u4e00\u5f20\u3002",
      ended: "\u9a8c\u8bc1\u7801\u5df2\u8fc7\u671f\uff0c\u8bf7\u5237\u65b0\u9875\u9762\u3002",
      limit: "\u5c1d\u8bd5\u6b21\u6570\u8fc7\u591a\uff0c\u8bf7\u5237\u65b0\u9875\u9762\u3002",
      slow: "\u60a8\u6240\u5728\u7f51\u7edc\u7684\u5c1d\u8bd5\u6b21\u6570\u8fc7\u591a\uff0c\u8bf7\u7b49\u5f85 {s} \u79d2\u540e\u518d\u8bd5\u3002",
      network: "\u65e0\u6cd5\u8fde\u63a5\u670d\u52a1\u5668\uff0c\u8bf7\u91cd\u8bd5\u3002",
      working: "\u6b63\u5728\u68c0\u67e5\u672c\u8bbe\u5907\u2026\u2026 ",
      nocrypto: "\u6b64\u6d4f\u89c8\u5668\u65e0\u6cd5\u5728\u672c\u9875\u9762\u5b8c\u6210\u68c0\u67e5\uff08\u9700\u8981 HTTPS\uff09\u3002",
      ok: "\u9a8c\u8bc1\u6210\u529f\u3002"
    }
  };
  var token = "";
  var letters = 0;
  var serial = 0;
  var deadline = 0;
  function configure(c) {
    CFG = c;
    token = c.challenge;
    letters = c.letters;
    deadline = Date.now() + c.ttl * 1000;
  }
  if (CFG) { configure(CFG); }
  var state = null;
  var CANCELLED = {};
  var UNSUPPORTED = {};
  // The proof of work of the current challenge: {gen, puzzle, tries,
  // started, counter, result (a promise)}; a new challenge or capDestroy
  // bumps gen, which stops the old one.
  var gen = 0;
  var job = null;

  function hexBytes(h) {
    var a = new Uint8Array(h.length >> 1);
    for (var i = 0; i < a.length; i++) { a[i] = parseInt(h.substr(i * 2, 2), 16); }
    return a;
  }
  function zeroBits(buf, bits) {
    var b = new Uint8Array(buf);
    var i = 0;
    for (; bits >= 8; bits -= 8) { if (b[i++] !== 0) { return false; } }
    return bits === 0 || (b[i] >> (8 - bits)) === 0;
  }
  // Derives PBKDF2-HMAC-SHA-256(token || counter, salt, iterations) for
  // counters 0, 1, 2, ... with a few calls in flight, until a key starts
  // with `bits` zero bits.
  function startProof(t, p) {
    gen += 1;
    var me = { gen: gen, puzzle: p, tries: 0, started: Date.now(), counter: null };
    job = me;
    if (state) {
      // For tests and diagnostics: set once this challenge's proof is found.
      state.root.removeAttribute("data-pow-ms");
      state.root.removeAttribute("data-pow-tries");
    }
    if (!p || !p.bits) {
      me.result = Promise.resolve(null);
      return;
    }
    var subtle = window.crypto && window.crypto.subtle;
    if (!subtle || typeof TextEncoder !== "function") {
      me.result = Promise.reject(UNSUPPORTED);
      me.result.catch(function () {});
      return;
    }
    var head = new TextEncoder().encode(t);
    var salt = hexBytes(p.salt);
    var cores = (window.navigator && window.navigator.hardwareConcurrency) || 2;
    var lanes = Math.max(2, Math.min(8, cores));
    var next = 0;
    me.result = new Promise(function (resolve, reject) {
      var over = false;
      function fail(e) { if (!over) { over = true; reject(e); } }
      function lane() {
        if (over) { return; }
        if (me.gen !== gen) { fail(CANCELLED); return; }
        if (next > 0xffffffff) { fail(UNSUPPORTED); return; }
        var c = next;
        next += 1;
        var pw = new Uint8Array(head.length + 4);
        pw.set(head);
        new DataView(pw.buffer).setUint32(head.length, c, false);
        subtle.importKey("raw", pw, "PBKDF2", false, ["deriveBits"]).then(function (key) {
          return subtle.deriveBits(
            { name: "PBKDF2", hash: "SHA-256", salt: salt, iterations: p.iterations }, key, 256);
        }).then(function (bits) {
          me.tries += 1;
          if (over) { return; }
          if (zeroBits(bits, p.bits)) {
            over = true;
            me.counter = c;
            if (state && me.gen === gen) {
              state.root.setAttribute("data-pow-ms", String(Date.now() - me.started));
              state.root.setAttribute("data-pow-tries", String(me.tries));
            }
            resolve(c);
          } else {
            lane();
          }
        }, function () { fail(UNSUPPORTED); });
      }
      for (var i = 0; i < lanes; i++) { lane(); }
    });
    me.result.catch(function () {});
  }
  function cancelProof() {
    gen += 1;
    job = null;
  }

  function make(tag, text) {
    var e = document.createElement(tag);
    if (text) { e.textContent = text; }
    return e;
  }
  // The picture is shown at twice its 130x53 size, so that it reads
  // comfortably, and drawn for the screen's pixel density (up to 3x the
  // base bitmap) so that it stays sharp instead of being stretched.
  var SHOWN = 2;
  function scale() {
    var dpr = window.devicePixelRatio || 1;
    return Math.max(1, Math.min(3, Math.ceil(SHOWN * dpr)));
  }
  function routeUrl(route, t) {
    return route + (route.indexOf("?") < 0 ? "?" : "&") + "c=" + encodeURIComponent(t);
  }
  function imageUrl(t) {
    return routeUrl(ROUTES.image, t) + "&s=" + scale();
  }
  // The same challenge spoken: its letters one by one. The audio element
  // has no controls (the Listen button is the control), so it is made on
  // first use and kept out of sight.
  function listen() {
    if (!state || state.done) { return; }
    var a = state.audio;
    if (!a) {
      a = state.audio = make("audio");
      a.preload = "none";
      state.root.appendChild(a);
    }
    var url = routeUrl(ROUTES.audio, token);
    var mine = job;
    function play(src) {
      if (!state || mine !== job) { return; }
      if (a.getAttribute("src") !== src) { a.setAttribute("src", src); }
      try { a.currentTime = 0; } catch (e) { /* not loaded yet */ }
      var playing = a.play();
      if (playing && typeof playing.catch === "function") {
        playing.catch(function () { say(state && state.text.noAudio, true); });
      }
    }
    // Under pressure the clip asks for the challenge's proof of work too.
    if (mine && mine.puzzle && mine.puzzle.bits) {
      mine.result.then(function (c) { play(url + "&pow=" + c); },
        function () { say(state && state.text.noAudio, true); });
    } else {
      play(url);
    }
  }
  function say(text, bad) {
    if (!state) { return; }
    state.msg.textContent = text || "";
    state.msg.style.color = bad ? "#b00020" : "#1b5e20";
  }
  function busy(on) {
    if (!state) { return; }
    state.busy = on;
    state.submit.disabled = on || state.done;
    state.refresh.disabled = on || state.done;
    state.listen.disabled = on || state.done;
    state.input.disabled = on || state.done;
  }
  // The prompt names the letter count, and the box takes no more.
  function showCount() {
    state.label.textContent = state.text.prompt.replace("{n}", String(letters));
    state.input.maxLength = letters;
  }
  function setChallenge(t, ttl, p, n) {
    token = t;
    deadline = Date.now() + ttl * 1000;
    letters = n || letters;
    startProof(t, p);
    if (!state) { return; }
    if (state.audio) { state.audio.pause(); }
    state.img.src = imageUrl(t);
    state.input.value = "";
    showCount();
  }
  function post(url, fields) {
    var body = new URLSearchParams(fields).toString();
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
      cache: "no-store",
      credentials: "same-origin"
    }).then(function (r) { return r.json(); });
  }
  function end(r) {
    if (!state) { return; }
    state.done = true;
    busy(false);
    say(r && r.code === 4400 ? state.text.limit : state.text.ended, true);
    if (typeof state.onError === "function") {
      state.onError({ code: r && r.code ? r.code : 4200, message: r && r.message ? r.message : "expired" });
    }
  }
  function slow(r) {
    if (!state) { return; }
    busy(false);
    say(state.text.slow.replace("{s}", String(r.retryAfter)), true);
  }
  function offline() {
    if (!state) { return; }
    busy(false);
    say(state.text.network, true);
  }
  function refresh(message) {
    if (!state || state.busy || state.done) { return; }
    busy(true);
    post(ROUTES.refresh, { c: token }).then(function (r) {
      if (!state) { return; }
      busy(false);
      if (r && r.code === 0 && r.challenge) {
        setChallenge(r.challenge, r.ttl, r.pow, r.letters);
        say(message || "", !!message);
        state.input.focus();
      } else if (r && r.retryAfter) {
        slow(r);
      } else {
        end(r);
      }
    }, offline);
  }
  function submit(ev) {
    ev.preventDefault();
    if (!state || state.busy || state.done) { return; }
    var answer = state.input.value.trim();
    if (!answer) { state.input.focus(); return; }
    if (Date.now() >= deadline) { refresh(state.text.expired); return; }
    busy(true);
    var mine = job;
    var timer = null;
    if (mine && mine.puzzle && mine.counter === null) {
      // Still solving: show how far (attempts against the expected
      // 2^bits), in steps of 10 so that a screen reader is not flooded.
      var shown = -1;
      var show = function () {
        var pct = Math.min(90, 10 * Math.floor(10 * mine.tries / Math.pow(2, mine.puzzle.bits)));
        if (pct !== shown) {
          shown = pct;
          say(state.text.working + pct + "%", false);
        }
      };
      show();
      timer = setInterval(function () { if (state && mine.gen === gen) { show(); } }, 250);
    }
    var stop = function () { if (timer !== null) { clearInterval(timer); timer = null; } };
    (mine ? mine.result : Promise.resolve(null)).then(function (counter) {
      stop();
      if (!state || !mine || mine.gen !== gen) {
        if (state) { busy(false); }
        return null;
      }
      say("", false);
      var fields = { c: token, answer: answer };
      if (counter !== null) { fields.pow = String(counter); }
      return post(ROUTES.verify, fields);
    }, function (e) {
      stop();
      if (!state) { return null; }
      busy(false);
      if (e === UNSUPPORTED) { say(state.text.nocrypto, true); }
      return null;
    }).then(function (r) {
      if (!state || r === null) { return; }
      busy(false);
      if (r && r.code === 0 && r.ticket) {
        state.ticket = r.ticket;
        state.done = true;
        busy(false); // recomputed now that it is done: the controls lock
        say(state.text.ok, false);
        if (typeof state.callback === "function") {
          state.callback({ ret: 0, ticket: r.ticket });
        }
      } else if (r && r.retryAfter) {
        slow(r);
      } else if (r && r.challenge) {
        setChallenge(r.challenge, r.ttl, r.pow, r.letters);
        say(r.code === 5100 ? state.text.wrong : state.text.expired, true);
        state.input.focus();
      } else {
        end(r);
      }
    }, offline);
  }

  function capDestroy() {
    cancelProof();
    if (state) {
      state.refresh.removeEventListener("click", state.onRefresh);
      state.listen.removeEventListener("click", listen);
      if (state.audio) { state.audio.pause(); }
      state.form.removeEventListener("submit", submit);
      if (state.root.parentNode) { state.root.parentNode.removeChild(state.root); }
    }
    state = null;
  }
  function capInit(element, opts) {
    opts = opts || {};
    if (!CFG) {
      throw new Error("capInit: no challenge yet (run the CaptchaQuery script first)");
    }
    var host = typeof element === "string" ? document.getElementById(element) : element;
    if (!host || typeof host.appendChild !== "function") {
      throw new Error("capInit: no such element");
    }
    capDestroy();
    var text = TEXT[opts.lang] || TEXT.en;
    var id = "qcaptcha-" + (++serial);
    // Sizes in em, so the widget grows with the page's zoom and font size;
    // no colour carries meaning on its own (messages are words), so it
    // reads the same in forced-colours (Windows high-contrast) mode.
    var root = make("div");
    root.className = "qcaptcha";
    root.setAttribute("role", "group");
    root.setAttribute("aria-labelledby", id + "-label");
    root.style.display = "inline-block";
    root.style.maxWidth = "100%";
    root.style.fontFamily = "system-ui, sans-serif";
    var form = make("form");
    form.setAttribute("novalidate", "");
    var label = make("label");
    label.id = id + "-label";
    label.htmlFor = id + "-input";
    label.style.display = "block";
    var img = make("img");
    img.alt = text.alt;
    img.width = 130 * SHOWN;
    img.height = 53 * SHOWN;
    img.style.display = "block";
    img.style.maxWidth = "100%";
    img.style.height = "auto";
    img.style.margin = "0.25em 0";
    img.style.border = "1px solid";
    var refreshBtn = make("button", text.refresh);
    refreshBtn.type = "button";
    refreshBtn.className = "qcaptcha-refresh";
    var listenBtn = make("button", text.listen);
    listenBtn.type = "button";
    listenBtn.className = "qcaptcha-listen";
    listenBtn.style.display = "block";
    listenBtn.style.marginBottom = "0.25em";
    var input = make("input");
    input.type = "text";
    input.id = id + "-input";
    input.name = "qcaptcha-answer";
    input.autocomplete = "off";
    input.setAttribute("autocomplete", "off");
    input.setAttribute("autocapitalize", "characters");
    input.setAttribute("spellcheck", "false");
    input.setAttribute("aria-describedby", id + "-msg");
    input.size = 8;
    input.style.fontSize = "1.25em";
    var submitBtn = make("button", text.submit);
    submitBtn.type = "submit";
    submitBtn.className = "qcaptcha-submit";
    var msg = make("div");
    msg.id = id + "-msg";
    msg.className = "qcaptcha-msg";
    msg.setAttribute("role", "status");
    msg.setAttribute("aria-live", "polite");
    msg.style.minHeight = "1.2em";
    form.appendChild(label);
    form.appendChild(img);
    form.appendChild(listenBtn);
    form.appendChild(input);
    form.appendChild(document.createTextNode(" "));
    form.appendChild(submitBtn);
    form.appendChild(document.createTextNode(" "));
    form.appendChild(refreshBtn);
    form.appendChild(msg);
    root.appendChild(form);
    state = {
      root: root, form: form, label: label, img: img, input: input, msg: msg,
      submit: submitBtn, refresh: refreshBtn, listen: listenBtn, audio: null, text: text,
      callback: opts.callback, onError: opts.onError,
      busy: false, done: false, ticket: "",
      onRefresh: function () { refresh(""); }
    };
    showCount();
    refreshBtn.addEventListener("click", state.onRefresh);
    listenBtn.addEventListener("click", listen);
    form.addEventListener("submit", submit);
    host.appendChild(root);
    if (Date.now() >= deadline) {
      refresh(text.expired);
    } else {
      img.src = imageUrl(token);
      startProof(token, CFG.pow);
    }
  }
  window.capInit = capInit;
  window.capRefresh = function () { refresh(""); };
  window.capGetTicket = function () {
    return state && state.ticket ? { ret: 0, ticket: state.ticket } : { ret: 1, ticket: "" };
  };
  window.capDestroy = capDestroy;
  // The cached widget: a later CaptchaQuery script hands over its
  // challenge here, and capInit calls made before this script loaded run
  // now.
  window.qcaptchaConfigure = function (c) {
    capDestroy();
    configure(c);
  };
  var pending = window.qcaptchaPending;
  window.qcaptchaPending = null;
  if (pending && CFG) {
    for (var i = 0; i < pending.length; i++) { capInit(pending[i][0], pending[i][1]); }
  }
})();
