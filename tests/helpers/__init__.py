"""What test modules share, by subject; no test module imports another test module (tests/test_tests_layout.py
checks). conftest.py builds its fixtures from these and is the one place that starts servers for a test.

- ``factories``: records (``make_paper_record``, ``make_featured_record``) and rows (``make_user``, ``make_paper``,
  ``make_featured``, ``make_collection``, ``make_comment``) with random defaults and keyword overrides; ``PASSWORD``.
- ``web``: a TestClient driven like a person: ``csrf_token``, ``sign_up``, ``log_in``, ``new_token``; ``make_admin``.
- ``settings``: ``make_settings`` (nothing reaches a real host) and ``mail_settings`` (pointed at the SMTP sink).
- ``databases``: ``BACKENDS``, ``SQLITE_ONLY``, ``fresh_database``, ``admin_execute``, ``set_read_only``,
  ``count_queries``, ``content_hashes``.
- ``data``: the shared real data (``SHARED_DATA``, ``HF_FIXTURES``, ``snapshot_subset``, ``load_daily``).
- ``cli``: the ``papertide`` command as a subprocess (``run_cli``, ``cli_env``).
- ``embedder``: ``MemoEmbedder`` (the real model, each text encoded once per run), ``wait_until_embedded``.
- ``servers``: ``free_port`` and ``serving`` (an app under uvicorn); the servers conftest starts: ``postgres``
  (``PostgresCluster``), ``replay`` (``ReplayServer``, ``Reply``, ``FakeClock``), ``smtp`` (``SmtpSink``, and
  ``mail_link`` to follow a link in what it received).
- ``browser``: ``screenshot``, ``make_account``, ``log_in_page`` for tests/browser/.
- ``zotero``: Zotero's reading of a page's meta tags, reproduced.
"""
