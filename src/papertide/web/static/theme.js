// papertide: the remembered theme, applied before the page paints (loaded without defer in <head>, so a dark
// choice does not flash light first). A file rather than an inline script: the Content-Security-Policy allows
// scripts from this site only.
(function () {
  "use strict";
  try {
    var theme = localStorage.getItem("papertide-theme");
    if (theme) document.documentElement.dataset.theme = theme;
  } catch (e) { /* storage blocked (private mode): the system preference applies */ }
})();
