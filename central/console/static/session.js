/* The session's idle time, for an agent with JavaScript: working in the page (typing a return reason,
   choosing verdicts) keeps the session open, a warning comes two minutes before it would end, and once
   it has ended the page says so and offers to log in again, back to the same page (the dossier page
   keeps its draft: static/dossier.js). Without this script the session still ends after the same idle
   time, and the login page says why. */
(function () {
  "use strict";
  var body = document.body;
  var idle = Number(body.getAttribute("data-idle-seconds"));
  var csrf = document.querySelector("meta[name=csrf]");
  if (!idle || !csrf || !window.fetch) { return; }
  var WARN_BEFORE = 120;
  var PING_EVERY = 60;
  var last = Date.now();   // when the service last heard from this page
  var pinged = Date.now();
  var timer = null;
  var box = null;
  var back = null;

  function left() { return idle - (Date.now() - last) / 1000; }

  function loginUrl() {
    return "/console/login?ok=expired&next=" + encodeURIComponent(window.location.pathname + window.location.search);
  }

  function close() {
    if (box) { box.remove(); box = null; }
    if (back && document.contains(back)) { back.focus(); }
    back = null;
  }

  function show(expired) {
    close();
    back = document.activeElement;
    box = document.createElement("div");
    box.className = "session-box";
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-labelledby", "session-title");
    box.setAttribute("aria-describedby", "session-text");
    var title = document.createElement("h2");
    title.id = "session-title";
    var text = document.createElement("p");
    text.id = "session-text";
    var action;
    if (expired) {
      title.textContent = "Session expirée";
      text.textContent = "Votre session a pris fin faute d'activité. Ce que vous n'avez pas enregistré est gardé : "
                         + "reconnectez-vous pour le retrouver.";
      action = document.createElement("a");
      action.href = loginUrl();
      action.className = "button-link";
      action.textContent = "Se reconnecter";
    } else {
      title.textContent = "Votre session va expirer";
      text.textContent = "Sans activité, votre session se termine dans 2 minutes.";
      action = document.createElement("button");
      action.type = "button";
      action.textContent = "Rester connecté(e)";
      action.addEventListener("click", function () { ping(true); });
    }
    box.appendChild(title);
    box.appendChild(text);
    box.appendChild(action);
    document.body.appendChild(box);
    action.focus();
  }

  function schedule() {
    window.clearTimeout(timer);
    var wait = left() - WARN_BEFORE;
    if (wait > 0) {
      timer = window.setTimeout(schedule, wait * 1000);
    } else if (left() > 0) {
      if (!box) { show(false); }
      timer = window.setTimeout(schedule, left() * 1000 + 500);
    } else {
      show(true);
    }
  }

  function heard() {
    last = Date.now();
    if (box && box.querySelector("button")) { close(); }
    schedule();
  }

  function ping(force) {
    if (!force && (Date.now() - pinged) / 1000 < PING_EVERY) { return; }
    if (left() <= 0) { return; } // too late: only logging in again opens a session
    pinged = Date.now();
    fetch("/console/session", { method: "POST", credentials: "same-origin", headers: { "X-Console-Fetch": "1" },
                                body: new URLSearchParams({ csrf: csrf.getAttribute("content") }) })
      .then(function (response) {
        if (response.ok) { heard(); } else if (response.status === 401) { last = 0; show(true); }
      })
      .catch(function () { /* no network: the warning will come, and the draft is kept */ });
  }

  document.addEventListener("console:activity", heard);
  ["keydown", "pointerdown"].forEach(function (kind) {
    document.addEventListener(kind, function (event) {
      if (box && box.contains(event.target)) { return; }
      ping(false);
    }, { passive: true });
  });
  schedule();
})();
