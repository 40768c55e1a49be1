// The enrollment sheet's "Imprimer" button. The console's Content-Security-Policy (script-src 'self')
// refuses inline handlers, so the click is wired here; without JavaScript the button stays hidden and
// the page says to print with Ctrl+P.
document.querySelectorAll("button[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
