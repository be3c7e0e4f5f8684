"""Use-cases as verbs, one module per subject, shared by the web app, the CLI and the jobs.

The transaction rule: a verb takes a ``Session`` and runs inside its caller's transaction, so one request is one
write transaction (``with db.write_session() as session: verb(session, ...)``). Only verbs that do network I/O
(fetching from arXiv, sending mail, a digest run) take the ``Database``: they open short transactions of their own
around the I/O, so no transaction waits on the network. Reads that belong to one use-case (a token's owner, a
subscription behind a link) live beside its verbs; the pages' reads are ``query_*`` functions in ``queries.py``.
"""
