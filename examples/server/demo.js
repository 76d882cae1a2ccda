(function () {
  "use strict";
  var button = document.getElementById("signup-submit");
  var ticket = document.getElementById("ticket");
  var hint = document.getElementById("hint");
  window.capInit("captcha", {
    callback: function (r) {
      if (r && r.ret === 0) {
        ticket.value = r.ticket;
        button.disabled = false;
        hint.textContent = "Captcha solved. You can create your account now.";
      }
    },
    onError: function () {
      hint.textContent = "The captcha has expired. Please reload the page.";
    }
  });
})();
