"""View-models: what each page shows, built from query rows by one builder per page, so a route parses, asks its
builder (or one service verb) and renders; the template and the page's JSON twin read the same object."""
