// The topic map made interactive (web/templates/topics.html): zoom with the buttons or the mouse wheel, drag to
// pan, find topics by label. The map is a server-drawn SVG that works without this script; hovering shows each
// bubble's <title>. No inline script or style: the site's CSP (script-src 'self', style-src 'self') holds.
(function () {
  "use strict";
  const map = document.querySelector("[data-topic-map]");
  if (!map) return;
  const size = map.viewBox.baseVal.width;
  let view = { x: 0, y: 0, w: size };
  const show = () => map.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.w}`);
  const zoom = (factor, cx = view.x + view.w / 2, cy = view.y + view.w / 2) => {
    const w = Math.min(size, Math.max(size / 20, view.w * factor));
    view = { x: cx - (cx - view.x) * (w / view.w), y: cy - (cy - view.y) * (w / view.w), w };
    show();
  };
  const form = document.querySelector(".map-search");
  form.hidden = false;
  form.addEventListener("click", (event) => {
    const kind = event.target.dataset.mapZoom;
    if (kind === "in") zoom(0.7);
    if (kind === "out") zoom(1 / 0.7);
    if (kind === "reset") { view = { x: 0, y: 0, w: size }; show(); }
  });
  map.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = map.getBoundingClientRect();
    const cx = view.x + ((event.clientX - box.left) / box.width) * view.w;
    const cy = view.y + ((event.clientY - box.top) / box.height) * view.w;
    zoom(event.deltaY < 0 ? 0.85 : 1 / 0.85, cx, cy);
  }, { passive: false });
  let drag = null;
  map.addEventListener("pointerdown", (event) => { drag = { x: event.clientX, y: event.clientY }; });
  window.addEventListener("pointerup", () => { drag = null; });
  map.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const scale = view.w / map.getBoundingClientRect().width;
    view.x -= (event.clientX - drag.x) * scale;
    view.y -= (event.clientY - drag.y) * scale;
    drag = { x: event.clientX, y: event.clientY };
    show();
  });
  const find = form.querySelector("[data-map-find]");
  find.addEventListener("input", () => {
    const words = find.value.trim().toLowerCase();
    map.classList.toggle("finding", words.length > 0);
    for (const bubble of map.querySelectorAll(".bubble")) {
      bubble.classList.toggle("found", words.length > 0 && bubble.dataset.label.includes(words));
    }
  });
})();
