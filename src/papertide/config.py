"""The one validated settings object: every option papertide reads, from ``PAPERTIDE_*`` variables or ``.env``.

``get_settings()`` is what the CLI and the app factory call; tests build ``Settings(...)`` directly. Every field
here is listed, with its default, in ``.env.sample`` and ``docs/configuration.md`` (a test checks both).
``MULTIPROCESS_ENV`` names the one variable papertide passes between its processes that is not a setting.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-insecure-secret-change-me"
# prometheus_client's name for the directory where each web process writes its metrics: `papertide serve` with
# several workers sets it, /metrics reads it, so a scrape of any process reports all of them.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class ConfigError(Exception):
    """A setting is missing, malformed or unsafe; the message says which variable to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERTIDE_", env_file=".env", extra="ignore")

    env: Literal["dev", "production"] = Field(
        "dev", description="dev allows the built-in secret; production refuses it."
    )
    data_dir: Path = Field(Path("papertide-data"), description="Where the SQLite file and indexes live.")
    database_url: str = Field("", description="SQLAlchemy URL; empty means sqlite:///<data_dir>/papertide.db.")
    secret_key: str = Field(DEV_SECRET, description="Signs sessions and tokens. Required in production.")
    base_url: str = Field("http://127.0.0.1:8000", description="Public URL, used in links of mails and feeds.")
    host: str = Field("127.0.0.1", description="Address `papertide serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `papertide serve` listens on.")
    web_workers: int = Field(1, ge=1, le=64, description="Web processes for `papertide serve`.")
    sqlite_busy_timeout_ms: int = Field(
        10_000, ge=0, description="How long a SQLite writer waits for the lock before failing."
    )
    sqlite_cache_mb: int = Field(
        8,
        ge=1,
        le=4096,
        description="SQLite's own page cache per connection, in MB (the OS page cache holds the rest for every "
        "process; docs/deployment.md).",
    )
    db_pool_size: int = Field(
        10,
        ge=1,
        description="PostgreSQL connections kept per process (10 more open under bursts; 2 more for vector searches).",
    )
    db_connect_timeout_seconds: int = Field(
        3, ge=1, description="How long a PostgreSQL connection attempt may take before requests fail with 503."
    )
    db_statement_timeout_ms: int = Field(
        30_000, ge=0, description="PostgreSQL statement timeout for web and worker sessions (0: none)."
    )
    pg_bin_dir: Path | None = Field(
        None, description="Directory of pg_dump/pg_restore for `papertide backup`/`restore`; empty uses PATH."
    )
    metrics_token: str = Field(
        "",
        description="Bearer token /metrics requires; empty: open in dev, and /metrics is off in production.",
    )

    arxiv_api_url: str = Field("https://export.arxiv.org/api/query", description="arXiv API endpoint.")
    arxiv_oai_url: str = Field("https://export.arxiv.org/oai2", description="arXiv OAI-PMH endpoint.")
    arxiv_min_interval: float = Field(
        3.0, ge=0, description="Seconds between requests to arXiv (their terms ask for 3)."
    )
    http_timeout: float = Field(30.0, gt=0, description="Seconds before a request to a source times out.")
    http_max_retries: int = Field(4, ge=0, description="Retries on 5xx, 429 and timeouts, with backoff.")
    http_backoff: float = Field(2.0, ge=0, description="Base seconds of the exponential retry backoff.")
    http_deadline: float = Field(
        120.0, gt=0, description="Seconds one request to a source may take in all, however slowly it answers."
    )
    user_agent: str = Field(
        "papertide/0.1 (+https://github.com/papertide/papertide)",
        description="User-Agent sent to arXiv; put a contact address here in production.",
    )
    ingest_batch_size: int = Field(2000, ge=1, le=50_000, description="Records written per transaction.")
    demo_categories: str = Field(
        "cs.AI cs.CL cs.CV cs.LG", description="Categories `papertide demo` follows (and fetches from arXiv)."
    )
    follow_categories: str = Field(
        "",
        description="arXiv categories the schedule harvests each announcement day, e.g. `cs.CL cs.LG` (empty: none).",
    )
    harvest_hour_utc: int = Field(
        2, ge=0, le=23, description="Hour (UTC) after which the day's harvest of followed categories is queued."
    )
    harvest_first_days: int = Field(
        3, ge=1, le=90, description="Days of listings the first harvest of a followed category goes back."
    )
    hf_mirror: bool = Field(False, description="Mirror hf.co Daily Papers daily through the schedule (demo: on).")
    hf_url: str = Field("https://huggingface.co", description="hf.co (or a stand-in) the Daily Papers mirror reads.")
    hf_min_interval: float = Field(1.0, ge=0, description="Seconds between requests to hf.co.")
    hf_backfill_days: int = Field(
        7, ge=1, le=3650, description="Days the mirror's first run goes back; later runs continue from its last day."
    )
    enrich_per_job: int = Field(
        500, ge=1, le=50_000, description="Thin papers one enrichment job completes from the arXiv API (100 a request)."
    )

    trending_gravity: float = Field(
        1.8, gt=0, description="Trending score = upvotes / (hours since featured + 2) ^ gravity (HN-style)."
    )
    trending_window_days: int = Field(7, ge=1, description="Only papers featured this recently can trend.")
    trending_min_account_age_hours: float = Field(
        24.0, ge=0, description="Votes of accounts younger than this do not count toward trending."
    )
    password_hash_time_cost: int = Field(
        3, ge=1, le=100, description="argon2 passes over memory per password hash (production: at least 2)."
    )
    password_hash_memory_kib: int = Field(
        65_536,
        ge=64,
        le=4_194_304,
        description="argon2 memory per password hash, in KiB (production: at least 19456, OWASP's floor).",
    )
    password_hash_parallelism: int = Field(4, ge=1, le=64, description="argon2 lanes per password hash.")
    submit_window_days: int = Field(
        14, ge=0, description="A paper can be submitted within this many days of its first version."
    )
    submit_fetch_seconds: float = Field(
        5.0,
        gt=0,
        description="How long a submission of a paper this instance does not know waits for arXiv; after that the "
        "fetch is queued and the submitter is told so.",
    )
    rate_limit_votes_per_minute: int = Field(60, ge=1, description="Votes one account may cast per minute.")
    rate_limit_writes_per_minute: int = Field(
        20, ge=1, description="Comments, submissions and collection edits one account may make per minute."
    )
    rate_limit_auth_per_minute: int = Field(
        10, ge=1, description="Log-in and sign-up attempts one client address may make per minute."
    )
    rate_limit_imports_per_hour: int = Field(10, ge=1, description="Library imports one account may upload per hour.")
    mail_per_address_per_day: int = Field(
        5, ge=1, description="Reset, confirmation and address mails one address may receive per day, whoever asks."
    )
    cors_origins: str = Field(
        "", description="Space-separated origins allowed to read the API from browsers (GET only); * for any."
    )
    max_body_bytes: int = Field(65_536, ge=1024, description="Largest request body accepted, in bytes.")
    request_body_timeout_seconds: float = Field(
        30.0, gt=0, description="Seconds a request body may take to arrive before the request is answered 408."
    )
    page_size: int = Field(50, ge=1, le=200, description="Papers per listing page.")
    page_cache_seconds: float = Field(
        5.0, ge=0, description="How long pages for anonymous visitors are cached per process (0 turns it off)."
    )

    semantic_search: bool = Field(
        True, description="Embed papers and fuse vector results into search; off leaves keyword search alone."
    )
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="all-MiniLM-L6-v2 (bundled, offline) or the directory of a 384-d BERT sentence encoder "
        "(config.json, model.safetensors, tokenizer.json or vocab.txt).",
    )
    embedding_device: Literal["auto", "cpu", "cuda"] = Field(
        "auto",
        description="Where the embedder runs: cpu is ONNX Runtime; cuda needs the torch extra (a CUDA build); "
        "auto takes a GPU when a CUDA build of torch is installed and sees one.",
    )
    embedding_precision: Literal["fp32", "int8"] = Field(
        "fp32",
        description="int8 is the CPU fast path for bulk backfills: about twice as fast, slightly lower search "
        "quality (docs/search.md); its vectors are stored apart, so switching re-embeds every paper.",
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024, description="Texts encoded per model call.")
    jobs_interval_seconds: float = Field(
        20.0,
        ge=0,
        description="How often `serve` runs background jobs: embedding new papers, due digests (0 turns them off).",
    )
    keyword_engine: Literal["auto", "tantivy", "database"] = Field(
        "auto",
        description="Keyword ranking: tantivy (an index beside the data), database (FTS5 or PostgreSQL full text); "
        "auto picks tantivy for a SQLite file.",
    )
    jobs_in_web: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Whether `serve` runs background jobs in its web processes; auto: yes on SQLite, "
        "no on PostgreSQL (run `papertide worker`).",
    )
    jobs_apart: bool = Field(
        True,
        description="Whether those jobs run in a child process that ends when the queue is empty, so a model "
        "job's memory leaves with it; false runs them in a thread of the web process.",
    )
    jobs_lease_seconds: float = Field(
        60.0, ge=1, description="A worker's claim on a job, renewed while it runs; a dead worker's job moves on then."
    )
    jobs_retry_backoff: float = Field(30.0, ge=0, description="Base seconds of a failed job's exponential backoff.")
    search_fusion: Literal["convex", "rrf"] = Field(
        "convex", description="How keyword and semantic hits merge: convex (normalised scores) or rrf (ranks)."
    )
    search_keyword_weight: float = Field(
        0.7, gt=0, lt=1, description="The keyword list's share of the fusion; the semantic list gets the rest."
    )
    search_rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant: weight / (k + rank).")
    search_title_only_weight: float = Field(
        0.7,
        ge=0,
        le=1,
        description="The share of its semantic score a paper known only by its title keeps in fusion: a title's "
        "vector is less evidence than an abstract's (docs/search.md).",
    )
    search_proximity_weight: float = Field(
        0.5,
        ge=0,
        le=5,
        description="How much a pair of the query's neighbouring words held side by side adds to a paper's keyword "
        "score (0: plain BM25; docs/search.md).",
    )
    vector_candidates: int = Field(200, ge=10, le=2000, description="Nearest neighbours fused into a search.")

    smtp_host: str = Field("", description="SMTP server for digests and confirmations; empty turns mail off.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 TLS, 25 plain).")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls upgrades a plain connection; tls connects encrypted; none is for loopback."
    )
    smtp_username: str = Field("", description="SMTP login; empty sends without authentication.")
    smtp_password: str = Field("", description="SMTP password.")
    smtp_timeout: float = Field(30.0, gt=0, description="Seconds before an SMTP command times out.")
    mail_from: str = Field("papertide <papertide@localhost>", description="From address of every mail.")
    mail_unsubscribe_address: str = Field(
        "", description="mailto: address for List-Unsubscribe; empty uses the From address."
    )
    digest_send_hour_utc: int = Field(
        6, ge=0, le=23, description="Hour (UTC) after which `serve` sends the day's digests (weekdays; weekly Mondays)."
    )
    digest_papers_per_section: int = Field(10, ge=1, le=50, description="Papers listed per digest section.")
    digest_retries: int = Field(3, ge=0, le=10, description="Retries of a transient SMTP failure (4xx, network).")
    digest_retry_backoff: float = Field(5.0, ge=0, description="Base seconds of the exponential retry backoff.")
    digest_max_failures: int = Field(
        3, ge=1, description="Permanent failures (5xx) after which an address is suspended."
    )
    digest_lease_seconds: float = Field(
        60.0, gt=0, description="A digest run's claim on its period; a killed run's claim lapses after this."
    )
    confirm_token_hours: int = Field(
        72, ge=1, description="How long a confirmation link works (a subscription, an account's new address)."
    )
    manage_link_days: int = Field(
        180, ge=1, description="How long a digest's preferences/unsubscribe link works (every digest brings a new one)."
    )
    invitation_days: int = Field(
        7, ge=1, le=90, description="How long an invitation to join an organization works (it works once)."
    )

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env != "dev" and self.secret_key == DEV_SECRET:
            raise ValueError(
                "PAPERTIDE_SECRET_KEY is the built-in development secret; set it to a long random value, "
                'e.g. python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        if self.env != "dev" and len(self.secret_key) < 32:
            raise ValueError("PAPERTIDE_SECRET_KEY must be at least 32 characters in production")
        if self.env != "dev" and (self.password_hash_time_cost < 2 or self.password_hash_memory_kib < 19_456):
            raise ValueError(
                "PAPERTIDE_PASSWORD_HASH_TIME_COST must be at least 2 and PAPERTIDE_PASSWORD_HASH_MEMORY_KIB at least "
                "19456 in production (OWASP's floor for argon2id)"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'papertide.db'}"

    @property
    def runs_jobs_in_web(self) -> bool:
        """Whether a web process runs the schedule and a worker (never when the interval is 0)."""
        if self.jobs_interval_seconds <= 0 or self.jobs_in_web == "off":
            return False
        return self.jobs_in_web == "on" or self.is_sqlite

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database file; None for PostgreSQL or an in-memory database."""
        url = self.resolved_database_url
        if not self.is_sqlite or ":memory:" in url:
            return None
        return Path(url.split(":///", 1)[1])

    @property
    def vector_index_path(self) -> Path | None:
        """The ANN index file beside a SQLite database (PostgreSQL indexes vectors itself; memory gets none)."""
        return self.sqlite_file.with_suffix(".vectors.usearch") if self.sqlite_file else None

    @property
    def keyword_index_path(self) -> Path | None:
        """The tantivy index directory, or None when the database's own full-text search ranks keywords."""
        if self.keyword_engine == "database":
            return None
        if self.is_sqlite:
            return self.sqlite_file.with_suffix(".keyword") if self.sqlite_file else None
        return self.data_dir / "keyword-index" if self.keyword_engine == "tantivy" else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment and ``.env``; a bad value raises :class:`ConfigError` naming it."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError(describe(error)) from None


def describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        name = "_".join(str(part) for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"PAPERTIDE_{name.upper()}: {message}" if name else message)
    return "; ".join(lines)
