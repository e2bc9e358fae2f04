// Paydesk's own browser code. Loaded as a file (the CSP forbids inline
// scripts); it only adds behaviour that htmx does not provide.
(function () {
  "use strict";

  // Plain (non-htmx) forms ask before destructive actions.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var msg = form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
    }
  });

  // An htmx request that fails at the network level gets a visible message
  // instead of silence.
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("alerts");
    if (box) {
      box.innerHTML = "";
      var div = document.createElement("div");
      div.className = "alert error";
      div.textContent = "Paydesk could not be reached. Check your connection and try again.";
      box.appendChild(div);
    }
  });
})();
