"""One connection to DIR/control.db with its own versioned migrations: the machinery acl's, policy's and
the reports' stores share.

SQLite in WAL mode (readers never block the writer; several packages' connections work side by side on
the same file), durable commits, and a busy timeout so two processes take turns instead of failing. Each
package records its schema in its own version table, so their schemas evolve independently; a database
newer than the code is refused. The file is created readable by its owner only: it holds password hashes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

Migrations = Sequence[tuple[int, Sequence[str]]]
"""(version, statements) in increasing version order."""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer relaywatch than this one."""


class ControlDatabase:
    """An open control.db for one package: one connection, serialised by a lock, safe between threads."""

    def __init__(self, path: str | os.PathLike[str], migrations: Migrations, *, version_table: str) -> None:
        self.path = Path(path)
        self._version_table = version_table
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.execute("PRAGMA busy_timeout = 10000")
        self._migrate(migrations)

    def _migrate(self, migrations: Migrations) -> None:
        with self.transaction() as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._version_table} (version INTEGER PRIMARY KEY,"
                " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            )
            current = self._current(conn)
            latest = migrations[-1][0]
            if current > latest:
                raise SchemaTooNew(
                    f"{self.path}: {self._version_table} {current} is newer than this code knows ({latest})"
                )
            for version, statements in migrations:
                if version > current:
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute(f"INSERT INTO {self._version_table} (version) VALUES (?)", (version,))  # noqa: S608

    def _current(self, conn: sqlite3.Connection) -> int:
        return int(conn.execute(f"SELECT coalesce(max(version), 0) FROM {self._version_table}").fetchone()[0])  # noqa: S608

    @property
    def schema_version(self) -> int:
        with self.transaction(write=False) as conn:
            return self._current(conn)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One atomic transaction (`BEGIN IMMEDIATE` when it writes): committed when the block ends,
        rolled back on any exception."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def rows(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple]:
        """The rows of one statement, on its own (a single SELECT is consistent by itself) or, called
        inside `transaction()` by the same thread, as part of it."""
        with self._lock:
            return self._conn.execute(sql, parameters).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
