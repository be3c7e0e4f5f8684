"""The web layer, the only one that knows HTTP: routes, request guards, templates and view-models, feeds, the
API shapes. A route parses the request, calls one service verb or query, and renders the result."""
