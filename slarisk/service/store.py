"""The service's SQLite store: one file for API keys, simulation jobs and the audit trail.

Each thread gets its own connection (SQLite connections are not shared across threads); the
file runs in WAL mode so readers never wait for the writer.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id      TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    role        TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    progress    REAL NOT NULL DEFAULT 0,
    key_id      TEXT NOT NULL,
    owner       TEXT,
    request     TEXT NOT NULL,
    result      TEXT,
    error       TEXT,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE TABLE IF NOT EXISTS audit (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    endpoint      TEXT NOT NULL,
    model_version TEXT,
    input_digest  TEXT NOT NULL,
    n_items       INTEGER NOT NULL,
    outputs       TEXT NOT NULL,
    input_body    BLOB
);
"""


class Store:
    """Thread-safe access to the service database at ``path`` (created on first use)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self.conn()
        conn.executescript(SCHEMA)

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; use ``with conn:`` for transactions)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def ping(self) -> None:
        """Raise when the database cannot be read."""
        self.conn().execute("SELECT count(*) FROM jobs").fetchone()

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
