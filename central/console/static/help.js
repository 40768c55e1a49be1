// The help banner: a kiosk's « Besoin d'aide ? » shown at once, on every page of the console.
//
// The server renders the banner with each page, so it works without this script. With it, the page
// asks /console/help.json every few seconds and updates the banner in place, inside its
// aria-live="assertive" region: a new request, or one whose state changed (taken, kiosk unreachable),
// is inserted as a new node, which screen readers announce; an unchanged request only has its
// durations refreshed, and those are aria-hidden (the clock time beside them is what is read), so
// nothing is said twice. Focus is never moved by polling, except off a node that is being replaced.
// « J'arrive » posts by fetch and updates in place; if that fails, the plain form is submitted.
(function () {
  "use strict";
  var live = document.getElementById("aide");
  if (!live || !window.fetch || !window.URLSearchParams) { return; }
  var url = live.getAttribute("data-help-url");
  var here = live.getAttribute("data-help-here") || "/console/";
  var every = parseInt(live.getAttribute("data-help-poll-ms"), 10) || 5000;

  function element(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    return holder.content.firstElementChild;
  }

  function items(list) {
    var byId = {};
    Array.prototype.forEach.call(list.children, function (li) { byId[li.getAttribute("data-id")] = li; });
    return byId;
  }

  function keepFocusOff(node) {
    // A node about to leave the page holds the focus: put it somewhere that stays.
    if (node.contains(document.activeElement)) {
      document.getElementById("contenu").focus();
    }
  }

  function render(data) {
    var requests = data.requests || [];
    var list = live.querySelector("ul.help-list");
    if (!requests.length) {
      keepFocusOff(live);
      live.textContent = "";
      return;
    }
    if (!list) {
      live.textContent = "";
      live.appendChild(element(data.banner));
      return;
    }
    var old = items(list);
    var previous = null;
    requests.forEach(function (r) {
      var li = old[r.id];
      delete old[r.id];
      if (li && li.getAttribute("data-key") === r.key) {
        li.querySelectorAll("[data-since]").forEach(function (span) {
          var text = r.since[span.getAttribute("data-since")];
          if (text && span.textContent !== text) { span.textContent = text; }
        });
      } else {
        var fresh = element(r.html);
        if (li) {
          var hadFocus = li.contains(document.activeElement);
          li.replaceWith(fresh);
          if (hadFocus) { fresh.focus(); }
        }
        li = fresh;
      }
      var wanted = previous ? previous.nextElementSibling : list.firstElementChild;
      if (wanted !== li) { list.insertBefore(li, wanted); }
      previous = li;
    });
    Object.keys(old).forEach(function (id) {
      keepFocusOff(old[id]);
      old[id].remove();
    });
  }

  function ask(target, options) {
    options.credentials = "same-origin";
    options.headers = {"Accept": "application/json"};
    return fetch(target, options).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    });
  }

  function poll() {
    ask(url + "?next=" + encodeURIComponent(here), {method: "GET"}).then(function (data) {
      render(data);
      window.setTimeout(poll, every);
    }, function (error) {
      // 401 or 403: the session is over (or this account sees no banner); stop until the next page.
      if (error.message !== "401" && error.message !== "403") { window.setTimeout(poll, every); }
    });
  }

  live.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-help-ack]");
    if (!form) { return; }
    event.preventDefault();
    var li = form.closest("li");
    var id = li.getAttribute("data-id");
    var button = form.querySelector("button");
    var hadFocus = li.contains(document.activeElement);
    button.disabled = true;
    ask(form.action, {method: "POST", body: new URLSearchParams(new FormData(form))}).then(function (data) {
      render(data);
      var now = document.getElementById("aide-" + id);
      if (hadFocus && now) { now.focus(); }
    }, function () {
      form.submit();
    });
  });

  window.setTimeout(poll, every);
}());
