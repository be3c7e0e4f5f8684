// papertide: progressive enhancement only. Every form works without this file; with it, upvotes update in
// place, math renders with the bundled KaTeX, Cite buttons copy BibTeX, and the theme toggle remembers its choice.
(function () {
  "use strict";

  function renderMath(root) {
    if (typeof window.renderMathInElement !== "function") return;
    root.querySelectorAll(".math").forEach(function (element) {
      window.renderMathInElement(element, {
        delimiters: [
          { left: "$$", right: "$$", display: true },
          { left: "\\[", right: "\\]", display: true },
          { left: "$", right: "$", display: false },
          { left: "\\(", right: "\\)", display: false },
        ],
        // Math that does not parse stays as its LaTeX source. KaTeX's own error display sets a style attribute,
        // which the Content-Security-Policy refuses (and it would only have coloured the source red).
        throwOnError: true,
        errorCallback: function () {},
        // \pmb's MathML carries a style attribute too; \boldsymbol is the same bold without one.
        macros: { "\\pmb": "\\boldsymbol{#1}" },
        ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code"],
      });
    });
  }

  function bindVotes(root) {
    root.querySelectorAll("form[data-vote]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var button = form.querySelector("button");
        button.disabled = true;
        fetch(form.action, {
          method: "POST",
          body: new URLSearchParams(new FormData(form)),
          headers: { "Accept": "application/json", "X-Requested-With": "fetch" },
          credentials: "same-origin",
        })
          .then(function (response) {
            if (response.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname); return null; }
            if (!response.ok) throw new Error("vote failed: " + response.status);
            return response.json();
          })
          .then(function (state) {
            if (!state) return;
            form.classList.toggle("voted", state.voted);
            form.querySelector("[data-count]").textContent = state.upvotes;
            form.querySelector("input[name=value]").value = state.voted ? "0" : "1";
            button.setAttribute("aria-pressed", state.voted ? "true" : "false");
          })
          .catch(function (error) { console.warn(error.message); })
          .finally(function () { button.disabled = false; });
      });
    });
  }

  // Cite controls: copy a citation shown on the page (data-copy-target) or fetched from its file (data-copy-url).
  // The button stays hidden without JavaScript or a clipboard; the download links work either way.
  function bindCopy(root) {
    if (!navigator.clipboard) return;
    root.querySelectorAll("button[data-copy-target], button[data-copy-url]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var label = button.textContent;
        var text = button.dataset.copyTarget
          ? Promise.resolve(document.querySelector(button.dataset.copyTarget).textContent)
          : fetch(button.dataset.copyUrl, { credentials: "same-origin" }).then(function (response) {
              if (!response.ok) throw new Error("citation failed: " + response.status);
              return response.text();
            });
        text
          .then(function (value) { return navigator.clipboard.writeText(value); })
          .then(function () {
            button.textContent = "Copied";
            setTimeout(function () { button.textContent = label; }, 2000);
          })
          .catch(function (error) { console.warn(error.message); });
      });
    });
  }

  function bindThemeToggle() {
    var toggle = document.querySelector("[data-theme-toggle]");
    if (!toggle) return;
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var dark = document.documentElement.dataset.theme
        ? document.documentElement.dataset.theme === "dark"
        : window.matchMedia("(prefers-color-scheme: dark)").matches;
      var next = dark ? "light" : "dark";
      document.documentElement.dataset.theme = next;
      try { localStorage.setItem("papertide-theme", next); } catch (e) { /* private mode */ }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderMath(document);
    bindVotes(document);
    bindCopy(document);
    bindThemeToggle();
  });
})();
