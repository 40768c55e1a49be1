// The image viewer: zoom, fit, real size, rotation and panning for one image of a dossier.
//
// Without this script the viewer page (templates/viewer.html) shows the image fitted to the window
// and a document's link on the dossier page opens that page. With it:
//
// * every <figure data-viewer> of the page gets the controls: buttons (Zoom +, Zoom −, Ajuster,
//   Taille réelle, Pivoter à gauche / à droite), keys while the image or a button has the focus
//   (+ and − zoom, 0 fits, 1 real size, R and L rotate: never on the rest of the page, WCAG 2.1.4),
//   Ctrl + wheel zooms around the pointer, and dragging the image pans it once it overflows;
//   each change is said in a polite live region ("Zoom 200 %", "Rotation 90°"), through announce.js,
//   so that the same words twice in a row are said twice;
// * window.consoleViewer.open(src, title, backFocusElement[, pageUrl]) shows an image with the same
//   controls in a modal <dialog> that keeps the focus inside, closes on Escape or « Fermer » and gives
//   the focus back to backFocusElement (by default, what had it);
// * on any page that loads this script, a click on a link a.shot[data-viewer-title] opens its image
//   (the one its <img> shows, which the browser has already, else its href) in that dialog, titled by
//   data-viewer-title; a click with a modifier key, or no script at all, follows the href.
//
// The Content-Security-Policy refuses inline scripts and style attributes: sizes and the rotation are
// set through the element's style object, which it allows.
(function () {
  "use strict";

  var ZOOMS = [0.1, 0.25, 0.33, 0.5, 0.67, 0.75, 1, 1.25, 1.5, 2, 3, 4, 6, 8];
  var MIN = ZOOMS[0];
  var MAX = ZOOMS[ZOOMS.length - 1];
  var ACTIONS = [["zoom-in", "Zoom +"], ["zoom-out", "Zoom −"], ["fit", "Ajuster"], ["actual", "Taille réelle"],
                 ["rotate-left", "Pivoter à gauche"], ["rotate-right", "Pivoter à droite"]];
  var KEYS = {"+": "zoom-in", "=": "zoom-in", "-": "zoom-out", "_": "zoom-out", "0": "fit", "1": "actual",
              "r": "rotate-right", "R": "rotate-left", "l": "rotate-left", "L": "rotate-left"};
  var HINT = "Touches (image ou bouton sélectionné) : + et − zoom, 0 ajuster, 1 taille réelle, R et L pivoter. " +
             "Faites glisser l'image agrandie pour la déplacer.";
  var made = 0;

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text) { node.textContent = text; }
    return node;
  }

  function percent(scale) {
    return Math.round(scale * 100) + "\u00a0%";
  }

  // The controls around a <figure> holding <div class="viewer-stage"><img></div>. Keys are heard
  // on keyRoot (the figure, or the dialog holding it). Returns what the dialog needs to reuse it.
  function enhance(figure, keyRoot) {
    var stage = figure.querySelector(".viewer-stage");
    var img = stage.querySelector("img");
    var canvas = element("div", {"class": "viewer-canvas"});
    var tools = element("div", {"class": "viewer-tools", role: "group", "aria-label": "Affichage de l'image"});
    var hint = element("p", {"class": "viewer-hint hint", id: "viewer-hint-" + (++made)}, HINT);
    var status = element("p", {"class": "visually-hidden", role: "status", "aria-live": "polite"});
    var state = {scale: 1, rotation: 0, fit: true};
    var drag = null;
    var saying = null;

    ACTIONS.forEach(function (action) {
      tools.appendChild(element("button", {type: "button", "class": "secondary", "data-viewer-action": action[0]},
                                action[1]));
    });
    stage.insertBefore(canvas, img);
    canvas.appendChild(img);
    figure.insertBefore(tools, stage);
    figure.appendChild(hint);
    figure.appendChild(status);
    stage.tabIndex = 0;
    stage.setAttribute("role", "group");
    stage.setAttribute("aria-describedby", hint.id);
    figure.classList.add("enhanced");

    function label(text) {
      stage.setAttribute("aria-label", "Image : " + text);
    }

    function say(text) {
      // A short delay: a burst of wheel steps is said once, at the zoom it ends on.
      clearTimeout(saying);
      saying = setTimeout(function () { window.consoleSay(status, text); }, 250);
    }

    function turned() {
      return state.rotation % 180 !== 0;
    }

    function fitScale() {
      var w = turned() ? img.naturalHeight : img.naturalWidth;
      var h = turned() ? img.naturalWidth : img.naturalHeight;
      if (!w || !h || stage.clientWidth < 10 || stage.clientHeight < 10) { return state.scale; }
      // Never enlarged, as without the script: « Taille réelle » and Zoom + are there for that.
      return Math.min(1, (stage.clientWidth - 4) / w, (stage.clientHeight - 4) / h);
    }

    function draw() {
      if (!img.naturalWidth) { return; }
      if (state.fit) { state.scale = fitScale(); }
      var w = img.naturalWidth * state.scale;
      var h = img.naturalHeight * state.scale;
      var boxW = turned() ? h : w;
      var boxH = turned() ? w : h;
      canvas.style.width = boxW + "px";
      canvas.style.height = boxH + "px";
      img.style.width = w + "px";
      img.style.height = h + "px";
      img.style.left = (boxW - w) / 2 + "px";
      img.style.top = (boxH - h) / 2 + "px";
      img.style.transform = "rotate(" + state.rotation + "deg)";
      stage.classList.toggle("pannable", stage.scrollWidth > stage.clientWidth + 1 ||
                                         stage.scrollHeight > stage.clientHeight + 1);
    }

    // Zoom to scale keeping the image's point under (x, y) of the stage (its centre by default) in place.
    function zoomTo(scale, x, y) {
      scale = Math.max(MIN, Math.min(MAX, scale));
      if (x === undefined) { x = stage.clientWidth / 2; y = stage.clientHeight / 2; }
      var fx = (stage.scrollLeft + x - canvas.offsetLeft) / Math.max(1, canvas.offsetWidth);
      var fy = (stage.scrollTop + y - canvas.offsetTop) / Math.max(1, canvas.offsetHeight);
      state.fit = false;
      state.scale = scale;
      draw();
      stage.scrollLeft = fx * canvas.offsetWidth + canvas.offsetLeft - x;
      stage.scrollTop = fy * canvas.offsetHeight + canvas.offsetTop - y;
    }

    function step(up) {
      var now = state.scale;
      var next = up ? ZOOMS.filter(function (z) { return z > now * 1.01; })[0]
                    : ZOOMS.filter(function (z) { return z < now / 1.01; }).pop();
      zoomTo(next === undefined ? now : next);
      say("Zoom " + percent(state.scale));
    }

    function rotate(by) {
      state.rotation = (state.rotation + by + 360) % 360;
      draw();
      stage.scrollLeft = (stage.scrollWidth - stage.clientWidth) / 2;
      stage.scrollTop = (stage.scrollHeight - stage.clientHeight) / 2;
      say("Rotation " + state.rotation + "°");
    }

    var actions = {
      "zoom-in": function () { step(true); },
      "zoom-out": function () { step(false); },
      "fit": function () { state.fit = true; draw(); say("Ajusté à la fenêtre : zoom " + percent(state.scale)); },
      "actual": function () { zoomTo(1); say("Taille réelle : zoom " + percent(1)); },
      "rotate-left": function () { rotate(-90); },
      "rotate-right": function () { rotate(90); }
    };

    tools.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-viewer-action]");
      if (button) { actions[button.getAttribute("data-viewer-action")](); }
    });
    keyRoot.addEventListener("keydown", function (event) {
      var action = KEYS[event.key];
      if (!action || event.ctrlKey || event.metaKey || event.altKey) { return; }
      event.preventDefault();
      actions[action]();
    });
    stage.addEventListener("wheel", function (event) {
      if (!event.ctrlKey) { return; }  // a plain wheel scrolls, as anywhere else
      event.preventDefault();
      var box = stage.getBoundingClientRect();
      zoomTo(state.scale * Math.exp(-event.deltaY / 300), event.clientX - box.left, event.clientY - box.top);
      say("Zoom " + percent(state.scale));
    }, {passive: false});
    // A mouse drags; touch and pen scroll the stage natively.
    stage.addEventListener("pointerdown", function (event) {
      if (event.pointerType !== "mouse" || event.button !== 0) { return; }
      stage.focus({preventScroll: true});
      if (!stage.classList.contains("pannable")) { return; }
      event.preventDefault();
      drag = {x: event.clientX, y: event.clientY, left: stage.scrollLeft, top: stage.scrollTop};
      stage.setPointerCapture(event.pointerId);
      stage.classList.add("dragging");
    });
    stage.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      stage.scrollLeft = drag.left - (event.clientX - drag.x);
      stage.scrollTop = drag.top - (event.clientY - drag.y);
    });
    function endDrag() {
      drag = null;
      stage.classList.remove("dragging");
    }
    stage.addEventListener("pointerup", endDrag);
    stage.addEventListener("pointercancel", endDrag);
    img.addEventListener("load", draw);
    window.addEventListener("resize", function () { if (state.fit) { draw(); } });
    label(img.alt);
    draw();

    return {
      stage: stage,
      img: img,
      draw: draw,
      label: label,
      reset: function () {
        state.scale = 1; state.rotation = 0; state.fit = true;
        clearTimeout(saying);
        status.textContent = "";
      }
    };
  }

  // -- the dialog ------------------------------------------------------------------------------------

  var dialog = null;

  function focusable(root) {
    return Array.prototype.filter.call(root.querySelectorAll("a[href], button:not([disabled]), [tabindex='0']"),
                                       function (node) { return !node.hidden && node.getClientRects().length; });
  }

  function buildDialog() {
    var box = element("dialog", {"class": "viewer-dialog", "aria-labelledby": "viewer-dialog-title"});
    var head = element("div", {"class": "viewer-dialog-head"});
    var title = element("h2", {id: "viewer-dialog-title"});
    var page = element("a", {"class": "viewer-dialog-page"}, "Ouvrir dans une page");
    var close = element("button", {type: "button", "class": "viewer-dialog-close"}, "Fermer");
    var figure = element("figure", {"class": "viewer"});
    var stage = element("div", {"class": "viewer-stage"});
    stage.appendChild(element("img", {alt: "", draggable: "false"}));
    figure.appendChild(stage);
    head.appendChild(title);
    head.appendChild(page);
    head.appendChild(close);
    box.appendChild(head);
    box.appendChild(figure);
    document.body.appendChild(box);
    var parts = {box: box, title: title, page: page, viewer: enhance(figure, box), back: null};

    close.addEventListener("click", function () { box.close(); });
    box.addEventListener("click", function (event) {
      // A click on the backdrop, outside the dialog's box, closes it too.
      var r = box.getBoundingClientRect();
      if (event.target === box && (event.clientX < r.left || event.clientX > r.right ||
                                   event.clientY < r.top || event.clientY > r.bottom)) { box.close(); }
    });
    box.addEventListener("keydown", function (event) {
      if (event.key !== "Tab") { return; }
      var items = focusable(box);
      var first = items[0];
      var last = items[items.length - 1];
      var at = items.indexOf(document.activeElement);
      if (event.shiftKey && at <= 0) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (at === -1 || at === items.length - 1)) {
        event.preventDefault();
        first.focus();
      }
    });
    box.addEventListener("close", function () {
      parts.viewer.img.removeAttribute("src");  // the image is personal data: not kept once closed
      var back = parts.back;
      parts.back = null;
      if (back && back.isConnected) { back.focus(); }
    });
    return parts;
  }

  function open(src, title, backFocusElement, pageUrl) {
    dialog = dialog || buildDialog();
    if (!dialog.box.open || backFocusElement) {  // opened again while open: the focus still goes back where it was
      dialog.back = backFocusElement || document.activeElement;
    }
    dialog.title.textContent = title;
    dialog.page.hidden = !pageUrl;
    if (pageUrl) { dialog.page.href = pageUrl; } else { dialog.page.removeAttribute("href"); }
    dialog.viewer.reset();
    dialog.viewer.img.alt = title;
    dialog.viewer.label(title);
    dialog.viewer.img.src = src;
    if (!dialog.box.open) { dialog.box.showModal(); }
    dialog.viewer.stage.focus();
    dialog.viewer.draw();
  }

  function opensTheViewerPage(link) {
    return /\/console\/dossiers\/[^/]+\/view\//.test(link.pathname);
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("figure[data-viewer]:not(.enhanced)"),
                                 function (figure) { enhance(figure, figure); });
    Array.prototype.forEach.call(document.querySelectorAll("a.shot[data-viewer-title]"),
                                 function (link) { link.setAttribute("aria-haspopup", "dialog"); });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.shot[data-viewer-title]");
    if (!link || event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey ||
        event.shiftKey || event.altKey) { return; }
    event.preventDefault();
    var img = link.querySelector("img");
    open((img && img.currentSrc) || link.href,
         link.getAttribute("data-viewer-title"), link, opensTheViewerPage(link) ? link.href : "");
  });

  window.consoleViewer = {open: open};
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
