/* The dossier page, for an agent with JavaScript: verdicts saved without reloading the page, the focus
   moved to the next document, what happened said in a live region, a draft of what is not saved yet
   kept in this tab (sessionStorage) and offered again after logging in, one-key shortcuts (which can be
   turned off: WCAG 2.1.4), and a half-minute "still open" so colleagues see who is working on it.

   Without this script every form still works: it posts and the page comes back. With it, a form posts
   with the header X-Console-Fetch and the service answers the page's changing parts, drawn again
   (central/console/dossiers.py); each is swapped in by its id. */
(function () {
  "use strict";
  var body = document.body;
  var dossier = body.getAttribute("data-dossier");
  if (!dossier || !window.fetch || !window.URLSearchParams) { return; }
  var DRAFT = "brouillon:" + dossier;
  var SHORTCUTS = "console-raccourcis";
  var announcer = document.getElementById("annonce");

  function all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function say(text) { window.consoleSay(announcer, text); }

  function activity() { document.dispatchEvent(new CustomEvent("console:activity")); }

  // -- the draft ----------------------------------------------------------------------------------

  function store() { try { return window.sessionStorage; } catch (e) { return null; } }

  function readDraft() {
    var s = store();
    try { return s ? JSON.parse(s.getItem(DRAFT) || "null") : null; } catch (e) { return null; }
  }

  function collect() {
    var draft = { version: body.getAttribute("data-version"), items: {}, reasons: [], note: "" };
    var count = 0;
    all("form.verdict").forEach(function (form) {
      var chosen = form.querySelector("input[name=verdict]:checked");
      var comment = form.elements.comment;
      if ((chosen && !chosen.defaultChecked) || comment.value !== comment.defaultValue) {
        draft.items[form.getAttribute("data-requirement")] = { verdict: chosen ? chosen.value : "", comment: comment.value };
        count += 1;
      }
    });
    var back = document.querySelector("form.return");
    if (back) {
      draft.reasons = all("input[name=reason]:checked", back).map(function (box) { return box.value; });
      draft.note = back.elements.note.value;
      count += draft.reasons.length + (draft.note ? 1 : 0);
    }
    return count ? draft : null;
  }

  function saveDraft() {
    var s = store();
    if (!s) { return; }
    var draft = collect();
    try {
      if (draft) { s.setItem(DRAFT, JSON.stringify(draft)); } else { s.removeItem(DRAFT); }
    } catch (e) { /* a full or refused storage: the page still works, without a draft */ }
  }

  function restore(draft) {
    var restored = 0;
    Object.keys(draft.items || {}).forEach(function (requirement) {
      var form = document.querySelector('form.verdict[data-requirement="' + CSS.escape(requirement) + '"]');
      if (!form) { return; }
      var item = draft.items[requirement];
      var radio = form.querySelector('input[name=verdict][value="' + CSS.escape(item.verdict || "") + '"]');
      if (radio) { radio.checked = true; }
      form.elements.comment.value = item.comment || "";
      restored += 1;
    });
    var back = document.querySelector("form.return");
    if (back) {
      (draft.reasons || []).forEach(function (code) {
        var box = back.querySelector('input[name=reason][value="' + CSS.escape(code) + '"]');
        if (box) { box.checked = true; restored += 1; }
      });
      if (draft.note) { back.elements.note.value = draft.note; restored += 1; }
    }
    return restored;
  }

  function notice(text, kind, within) {
    var p = document.createElement("p");
    p.className = kind || "notice";
    p.setAttribute("role", kind === "error" ? "alert" : "status");
    p.setAttribute("tabindex", "-1");
    p.textContent = text;
    if (within) {
      within.insertAdjacentElement("afterbegin", p); // at the top of the part it is about
    } else {
      var main = document.getElementById("contenu");
      (main.querySelector(".dossier-head") || main.firstChild).insertAdjacentElement("afterend", p);
    }
    return p;
  }

  // -- saving in place ---------------------------------------------------------------------------

  function swap(parts, keepTyping) {
    Object.keys(parts).forEach(function (id) {
      var here = document.getElementById(id);
      if (!here) { return; }
      var holder = document.createElement("template");
      holder.innerHTML = parts[id].trim();
      var fresh = holder.content.firstElementChild;
      if (keepTyping && id.indexOf("judge-") === 0 && here.getAttribute("data-rev") === fresh.getAttribute("data-rev")) {
        return; // unchanged on the service: keep what the agent may be typing there
      }
      here.replaceWith(fresh);
    });
  }

  function moveOn(version) {
    body.setAttribute("data-version", String(version));
    all("input[name=version]").forEach(function (input) { input.value = String(version); });
  }

  function labelOf(piece) { var h = piece && piece.querySelector("h3"); return h ? h.textContent.trim() : ""; }

  function nextPiece(piece) {
    var pieces = all("article.piece");
    var at = pieces.indexOf(piece);
    var waiting = pieces.filter(function (p, i) { return i > at && p.querySelector(".current.none"); });
    if (waiting.length) { return waiting[0]; }
    var before = pieces.filter(function (p) { return p.querySelector(".current.none"); });
    return before.length ? before[0] : null;
  }

  function send(form) {
    var button = form.querySelector("button[type=submit]");
    var piece = form.closest("article.piece");
    if (button) { button.disabled = true; }
    saveDraft();
    fetch(form.action, { method: "POST", credentials: "same-origin", body: new URLSearchParams(new FormData(form)),
                         headers: { "X-Console-Fetch": "1" } })
      .then(function (response) {
        return response.json().then(function (answer) { return { status: response.status, answer: answer }; });
      })
      .then(function (result) {
        var answer = result.answer;
        if (result.status === 401) {
          say(answer.detail);
          window.location.assign(answer.login);
          return;
        }
        if (!answer.parts) { throw new Error("no parts"); }
        var draft = readDraft();
        swap(answer.parts, true);
        moveOn(answer.version);
        activity();
        if (result.status !== 200) {
          if (draft) { restore(draft); }
          var where = piece ? piece.querySelector(".judge") : document.getElementById("decision");
          notice(answer.message, "error", where).focus();
          return;
        }
        saveDraft();
        var next = piece ? nextPiece(piece) : null;
        var said = answer.message;
        if (piece && next) {
          said += " Pièce suivante : " + labelOf(next) + ".";
          next.focus();
        } else {
          var approve = document.getElementById("approve");
          said += approve && !approve.disabled ? " Toutes les pièces ont un avis : vous pouvez valider." : "";
          (approve && !approve.disabled ? approve : document.getElementById("decide-title")).focus();
        }
        say(said);
      })
      .catch(function () {
        if (button) { button.disabled = false; }
        notice("Le service n'a pas répondu : rien n'a été enregistré. Vérifiez la connexion, puis réessayez "
               + "(votre saisie est gardée).", "error", piece ? piece.querySelector(".judge") : null).focus();
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form.verdict, #bulk form")) { return; }
    event.preventDefault();
    send(form);
  });

  // A comment belongs to its verdict: choosing another verdict clears it, coming back brings it back.
  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (radio.name === "verdict" && radio.form && radio.form.matches("form.verdict")) {
      var comment = radio.form.elements.comment;
      if (comment.defaultValue && (comment.value === comment.defaultValue || radio.defaultChecked)) {
        comment.value = radio.defaultChecked ? comment.defaultValue : "";
      }
    }
    saveDraft();
  });
  document.addEventListener("input", saveDraft);
  // A decision posts and the page comes back decided: nothing is left to keep.
  all("form.approve, form.return").forEach(function (form) {
    form.addEventListener("submit", function () { var s = store(); if (s) { s.removeItem(DRAFT); } });
  });

  // -- shortcuts ----------------------------------------------------------------------------------

  var toggle = document.getElementById("shortcuts-on");
  function shortcutsOn() { try { return window.localStorage.getItem(SHORTCUTS) !== "off"; } catch (e) { return true; } }
  if (toggle) {
    toggle.closest("[hidden]") && toggle.closest("[hidden]").removeAttribute("hidden");
    toggle.checked = shortcutsOn();
    toggle.addEventListener("change", function () {
      try { window.localStorage.setItem(SHORTCUTS, toggle.checked ? "on" : "off"); } catch (e) { /* kept for this page */ }
      say(toggle.checked ? "Raccourcis activés." : "Raccourcis désactivés.");
    });
  }

  function currentPiece() {
    var inside = document.activeElement && document.activeElement.closest && document.activeElement.closest("article.piece");
    if (inside) { return inside; }
    var waiting = all("article.piece").filter(function (p) { return p.querySelector(".current.none"); });
    return waiting[0] || all("article.piece")[0] || null;
  }

  document.addEventListener("keydown", function (event) {
    if ((toggle && !toggle.checked) || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) { return; }
    var target = event.target;
    if (target.closest && target.closest("textarea, select, dialog[open], input:not([type=radio]):not([type=checkbox])")) { return; }
    var key = (event.key || "").toLowerCase();
    var piece = currentPiece();
    var form = piece && piece.querySelector("form.verdict");
    if ((key === "c" || key === "n") && form) {
      var radio = form.querySelector('input[name=verdict][value="' + (key === "c" ? "conforme" : "non_conforme") + '"]');
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
      if (key === "c") { send(form); } else { form.elements.comment.focus(); say("Non conforme : écrivez le commentaire, puis Entrée."); }
    } else if (key === "o" && piece) {
      var pieces = all("article.piece");
      var next = pieces[(pieces.indexOf(piece) + 1) % pieces.length];
      next.focus();
      say(labelOf(next));
    } else if (key === "v") {
      var approve = document.getElementById("approve");
      if (!approve) { return; }
      approve.focus();
      say(approve.disabled ? document.getElementById("approve-why").textContent.trim()
                           : "Valider et transmettre : appuyez sur Entrée pour confirmer.");
    } else {
      return;
    }
    event.preventDefault();
  });

  // -- still open ----------------------------------------------------------------------------------

  var csrf = document.querySelector("meta[name=csrf]");
  var told = false;
  function stillOpen() {
    if (document.visibilityState !== "visible" || !csrf || !document.getElementById("approve")) { return; }
    fetch("/console/dossiers/" + encodeURIComponent(dossier) + "/presence", {
      method: "POST", credentials: "same-origin", headers: { "X-Console-Fetch": "1" },
      body: new URLSearchParams({ csrf: csrf.getAttribute("content") })
    }).then(function (response) { return response.ok ? response.json() : null; }).then(function (answer) {
      if (!answer || told) { return; }
      if (answer.version !== Number(body.getAttribute("data-version")) || answer.held_by) {
        told = true;
        var text = answer.held_by ? answer.held_by + " a pris la main sur ce dossier : vos avis ne seront pas enregistrés."
                                  : "Ce dossier a été modifié depuis l'affichage de cette page.";
        var p = notice(text + " ", "warn");
        var link = document.createElement("a");
        link.href = window.location.pathname;
        link.textContent = "Recharger le dossier";
        p.appendChild(link);
        say(text);
      }
    }).catch(function () { /* the next beat will tell */ });
  }
  window.setInterval(stillOpen, 30000);

  // -- on arrival -----------------------------------------------------------------------------------

  var draft = readDraft();
  if (draft && document.querySelector("form.verdict, form.return")) {
    var restored = restore(draft);
    if (restored) {
      var changed = String(draft.version) !== body.getAttribute("data-version");
      notice("Brouillon restauré : " + restored + " saisie" + (restored > 1 ? "s" : "") + " non enregistrée"
             + (restored > 1 ? "s" : "") + " remise" + (restored > 1 ? "s" : "") + " en place."
             + (changed ? " Le dossier a changé depuis : vérifiez avant d'enregistrer." : " Vérifiez, puis enregistrez."),
             changed ? "warn" : "notice").focus();
    }
  } else if (draft) {
    var s = store();
    if (s) { s.removeItem(DRAFT); } // the dossier has been decided meanwhile
  }
})();
