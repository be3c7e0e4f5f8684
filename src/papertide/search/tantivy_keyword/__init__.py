"""Keyword retrieval over a tantivy index kept beside the database.

FTS5 and PostgreSQL score every match of an OR query, so a natural-language query costs hundreds of milliseconds
at a million papers; tantivy's BM25 skips the documents that cannot reach the top (block-max WAND) and answers in
about a millisecond. The database is the source of truth and the index a cache of ``papers``, like the vector file
in ``search/vectors.py``:

* ``schema``: the analyzers, the schema and a paper's document;
* ``index``: one index directory, its watermark, reading and writing it;
* ``sync``: the process's index objects and :func:`~papertide.search.tantivy_keyword.sync.sync_keyword_index`;
* ``query``: the tantivy query for a parsed search;
* ``retriever``: :class:`~papertide.search.tantivy_keyword.retriever.TantivyRetriever`, ranking in tantivy and
  filtering in the database.
"""
