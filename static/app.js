// Paydesk's own browser code. Loaded as a file (the CSP forbids inline
// scripts); it only adds behaviour that htmx does not provide.
(function () {
  "use strict";

  // Plain (non-htmx) forms ask before destructive actions.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var msg = form.getAttribute("data-confirm");
    if (msg && !form.hasAttribute("hx-post") && !window.confirm(msg)) {
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

  // A search box inside a form (the payout form's contact picker) searches
  // on Enter instead of submitting the form.
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (ev.key !== "Enter" || !t || !t.hasAttribute || !t.hasAttribute("data-no-submit")) return;
    ev.preventDefault();
    if (window.htmx) window.htmx.trigger(t, "search");
  });

  // "Select this page" ticks every row's box.
  document.addEventListener("change", function (ev) {
    var box = ev.target;
    if (box.getAttribute && box.getAttribute("data-select-all") === "queue") {
      document.querySelectorAll("#queue-rows input[type=checkbox][form=bulk]").forEach(function (c) {
        c.checked = box.checked;
      });
    }
  });

  // Queue keys: j/k move, x selects, a approves, r opens the reject reason.
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("table[data-queue] tr[data-row]"));
  }
  function current() {
    return document.querySelector("table[data-queue] tr.current");
  }
  function move(step) {
    var all = rows();
    if (all.length === 0) return;
    var cur = current();
    var i = cur ? all.indexOf(cur) + step : 0;
    i = Math.max(0, Math.min(all.length - 1, i));
    if (cur) cur.classList.remove("current");
    all[i].classList.add("current");
    all[i].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    if (!document.querySelector("table[data-queue]")) return;
    var cur = current();
    switch (ev.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "x":
        if (cur) { var c = cur.querySelector("input[type=checkbox]"); if (c) c.checked = !c.checked; }
        break;
      case "a":
        if (cur) { var b = cur.querySelector("button[data-approve]"); if (b) b.click(); }
        break;
      case "r":
        if (cur) {
          var d = cur.querySelector("details.reject");
          if (d) { d.open = true; var input = d.querySelector("input[name=reason]"); if (input) input.focus(); }
        }
        break;
      default: return;
    }
    ev.preventDefault();
  });

  // A row replaced by htmx keeps the keyboard cursor.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var el = ev.detail.target;
    if (el && el.classList && el.classList.contains("current")) {
      document.body.setAttribute("data-current-row", el.id);
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    var id = document.body.getAttribute("data-current-row");
    if (id) {
      var row = document.getElementById(id);
      if (row) row.classList.add("current");
      document.body.removeAttribute("data-current-row");
    }
  });
  // "Copy" buttons copy the named field (the payer's link or order).
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-copy]");
    if (!btn) return;
    var field = document.getElementById(btn.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    var done = function () { btn.textContent = "Copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
})();
