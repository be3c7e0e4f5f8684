"""Use-cases as verbs, one module per subject, shared by the web app, the CLI and the jobs.

The transaction rule: a verb takes a ``Session`` and runs inside its caller's transaction, so one request is one
write transaction (``with db.write_session() as session: verb(session, ...)``). Only verbs that do slow work
outside the database (fetching from arXiv, sending mail, a digest run, embedding, export and import, backups,
argon2 at log-in) or whose transactions must commit on their own (leases, the readiness probe) take the
``Database``: they open short transactions of their own, so no transaction waits on the network, a model or a
file. Reads that belong to one use-case (a token's owner, a subscription behind a link) live beside its verbs;
the pages' reads are ``query_*`` functions in ``queries.py``.
"""
