"""Turning view-models into what a client reads: templates (and their JSON twins), feeds and OPML, citation
formats and the page's metadata tags, search highlights."""
