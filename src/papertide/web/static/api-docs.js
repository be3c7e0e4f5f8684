// papertide: starts Swagger UI on /api/docs. A file rather than FastAPI's inline script, so the page runs under the
// site's Content-Security-Policy. validatorUrl null: Swagger UI would otherwise show a badge fetched from
// validator.swagger.io, a third party.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.spec,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    layout: "BaseLayout",
    presets: [window.SwaggerUIBundle.presets.apis],
  });
})();
