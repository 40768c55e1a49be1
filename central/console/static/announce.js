// One way for the console's scripts to say what happened in a live region (role=status): the region's new
// text replaces the old, and the same words twice in a row are read twice, a trailing no-break space
// alternating so that the text still changes. Used by dossier.js and viewer.js.
window.consoleSay = function (region, text) {
  "use strict";
  region.textContent = region.textContent === text ? text + "\u00a0" : text;
};
