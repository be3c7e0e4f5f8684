"""The read side: ``query_*`` functions returning plain rows for pages, feeds, the API and the CLI, a module per
subject (papers, listings, comments, collections, people, follows, totals). Nothing here writes."""
