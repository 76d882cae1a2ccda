(function (c) {
  "use strict";
  var w = window;
  w.qcaptchaConfig = c;
  if (typeof w.qcaptchaConfigure === "function") {
    w.qcaptchaConfigure(c);
    return;
  }
  var q = w.qcaptchaPending = w.qcaptchaPending || [];
  w.capInit = function (e, o) { q.push([e, o]); };
  w.capGetTicket = function () { return { ret: 1, ticket: "" }; };
  w.capRefresh = w.capDestroy = function () {};
  if (w.qcaptchaLoading) { return; }
  w.qcaptchaLoading = true;
  var s = document.createElement("script");
  s.src = __QCAPTCHA_SRC__;
  (document.head || document.documentElement).appendChild(s);
})(__QCAPTCHA_CONFIG__);
