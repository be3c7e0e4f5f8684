"""The web layer: routes, view-models, templates and static files. Calls services and queries only."""
