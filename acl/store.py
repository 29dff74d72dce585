"""Control-plane store: the only module that reads or writes DIR/control.db.

SQLite in WAL mode (readers never block the writer, one file, no server). The schema evolves through
the ordered MIGRATIONS list, recorded in `schema_version`; a database newer than this code is refused.
Every change runs inside one `BEGIN IMMEDIATE` transaction (`Store.transaction()`), so an action, its
audit entry and its throttle bookkeeping are committed together or not at all. All SQL of the acl
package lives here, behind the methods of `Tx`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from acl.database import ControlDatabase
from acl.passwords import Hasher, default_hasher

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE users (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL CHECK (role IN ('root', 'admin', 'user', 'mailgw')),
                email TEXT,
                password_hash TEXT,
                disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
                created_at REAL NOT NULL,
                password_changed_at REAL
            )""",
            """CREATE TABLE grants (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                kind TEXT NOT NULL CHECK (kind IN ('sender', 'domain', 'sasl', 'gateway')),
                value TEXT NOT NULL,
                include_subdomains INTEGER NOT NULL DEFAULT 0 CHECK (include_subdomains IN (0, 1)),
                created_at REAL NOT NULL,
                UNIQUE (user_id, kind, value, include_subdomains)
            )""",
            """CREATE TABLE sessions (
                token_hash TEXT PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                created_at REAL NOT NULL,
                expires_at REAL NOT NULL,
                source TEXT
            )""",
            "CREATE INDEX sessions_user ON sessions(user_id)",
            """CREATE TABLE throttle (
                key TEXT PRIMARY KEY,
                failures INTEGER NOT NULL,
                first_at REAL NOT NULL,
                locked_until REAL NOT NULL
            )""",
            "CREATE INDEX throttle_first_at ON throttle(first_at)",
            """CREATE TABLE codes (
                purpose TEXT NOT NULL CHECK (purpose IN ('signup', 'reset')),
                subject TEXT NOT NULL,
                code_hash TEXT NOT NULL,
                deliverable INTEGER NOT NULL CHECK (deliverable IN (0, 1)),
                attempts INTEGER NOT NULL DEFAULT 0,
                created_at REAL NOT NULL,
                expires_at REAL NOT NULL,
                used_at REAL,
                PRIMARY KEY (purpose, subject)
            )""",
            """CREATE TABLE audit (
                id INTEGER PRIMARY KEY,
                ts TEXT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT,
                before TEXT,
                after TEXT
            )""",
        ),
    ),
    (
        2,
        (
            """CREATE TABLE api_tokens (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                created_at REAL NOT NULL,
                expires_at REAL,
                revoked_at REAL,
                last_used_at REAL
            )""",
            "CREATE INDEX api_tokens_user ON api_tokens(user_id)",
        ),
    ),
)


@dataclass(frozen=True)
class UserRow:
    """One row of `users`, as stored (the password hash never leaves the acl package)."""

    id: int
    name: str
    role: str
    email: str | None
    password_hash: str | None
    disabled: bool
    created_at: float
    password_changed_at: float | None


@dataclass(frozen=True)
class GrantRow:
    """One row of `grants`."""

    user_id: int
    kind: str
    value: str
    include_subdomains: bool


@dataclass(frozen=True)
class CodeRow:
    """One row of `codes` (one open one-time code per purpose and subject)."""

    purpose: str
    subject: str
    code_hash: str
    deliverable: bool
    attempts: int
    created_at: float
    expires_at: float
    used_at: float | None


@dataclass(frozen=True)
class ThrottleRow:
    """Attempts counted since `first_at` (the window start) and the lock of one throttle key."""

    key: str
    failures: int
    first_at: float
    locked_until: float


@dataclass(frozen=True)
class TokenRow:
    """One row of `api_tokens` (the token itself is never stored, only its SHA-256)."""

    id: int
    user_id: int
    name: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    last_used_at: float | None


@dataclass(frozen=True)
class AuditRow:
    """One audit entry; before/after are JSON texts."""

    id: int
    ts: str
    actor: str
    action: str
    target: str | None
    before: str | None
    after: str | None


_TOKEN_COLUMNS = "id, user_id, name, created_at, expires_at, revoked_at, last_used_at"


def _user(row: tuple) -> UserRow:
    return UserRow(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7])


class Tx:
    """Typed statements over one open transaction (obtained from `Store.transaction()`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    # users
    def user_by_name(self, name: str) -> UserRow | None:
        row = self._c.execute(
            "SELECT id, name, role, email, password_hash, disabled, created_at, password_changed_at"
            " FROM users WHERE name = ?",
            (name,),
        ).fetchone()
        return _user(row) if row else None

    def user_by_id(self, user_id: int) -> UserRow | None:
        row = self._c.execute(
            "SELECT id, name, role, email, password_hash, disabled, created_at, password_changed_at"
            " FROM users WHERE id = ?",
            (user_id,),
        ).fetchone()
        return _user(row) if row else None

    def users(self) -> list[UserRow]:
        rows = self._c.execute(
            "SELECT id, name, role, email, password_hash, disabled, created_at, password_changed_at"
            " FROM users ORDER BY name"
        )
        return [_user(r) for r in rows]

    def insert_user(self, name: str, role: str, email: str | None, password_hash: str | None, now: float) -> int:
        cur = self._c.execute(
            "INSERT INTO users (name, role, email, password_hash, created_at, password_changed_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (name, role, email, password_hash, now, now if password_hash else None),
        )
        return int(cur.lastrowid or 0)

    def set_password_hash(self, user_id: int, password_hash: str | None, now: float) -> None:
        self._c.execute(
            "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
            (password_hash, now, user_id),
        )

    def set_role(self, user_id: int, role: str) -> None:
        self._c.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))

    def set_disabled(self, user_id: int, disabled: bool) -> None:
        self._c.execute("UPDATE users SET disabled = ? WHERE id = ?", (int(disabled), user_id))

    # grants
    def grants_of(self, user_id: int) -> list[GrantRow]:
        rows = self._c.execute(
            "SELECT user_id, kind, value, include_subdomains FROM grants WHERE user_id = ?"
            " ORDER BY kind, value, include_subdomains",
            (user_id,),
        )
        return [GrantRow(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def insert_grant(self, user_id: int, kind: str, value: str, include_subdomains: bool, now: float) -> bool:
        cur = self._c.execute(
            "INSERT OR IGNORE INTO grants (user_id, kind, value, include_subdomains, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (user_id, kind, value, int(include_subdomains), now),
        )
        return cur.rowcount == 1

    def delete_grant(self, user_id: int, kind: str, value: str, include_subdomains: bool) -> bool:
        cur = self._c.execute(
            "DELETE FROM grants WHERE user_id = ? AND kind = ? AND value = ? AND include_subdomains = ?",
            (user_id, kind, value, int(include_subdomains)),
        )
        return cur.rowcount == 1

    # sessions
    def insert_session(self, token_hash: str, user_id: int, now: float, expires_at: float, source: str | None) -> None:
        self._c.execute(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, source) VALUES (?, ?, ?, ?, ?)",
            (token_hash, user_id, now, expires_at, source),
        )

    def session(self, token_hash: str) -> tuple[int, float] | None:
        """(user_id, expires_at) of a session, or None."""
        row = self._c.execute("SELECT user_id, expires_at FROM sessions WHERE token_hash = ?", (token_hash,)).fetchone()
        return (row[0], row[1]) if row else None

    def delete_session(self, token_hash: str) -> None:
        self._c.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def delete_sessions_of(self, user_id: int) -> None:
        self._c.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))

    def delete_expired_sessions(self, now: float) -> None:
        self._c.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))

    # throttle
    def throttle(self, key: str) -> ThrottleRow | None:
        row = self._c.execute(
            "SELECT key, failures, first_at, locked_until FROM throttle WHERE key = ?", (key,)
        ).fetchone()
        return ThrottleRow(*row) if row else None

    def put_throttle(self, row: ThrottleRow) -> None:
        self._c.execute(
            "INSERT INTO throttle (key, failures, first_at, locked_until) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, first_at = excluded.first_at,"
            " locked_until = excluded.locked_until",
            (row.key, row.failures, row.first_at, row.locked_until),
        )

    def delete_stale_throttles(self, before: float) -> None:
        """Forget keys whose window started and whose last lock ended before `before`."""
        self._c.execute("DELETE FROM throttle WHERE first_at < ? AND locked_until < ?", (before, before))

    def delete_throttle(self, key: str) -> None:
        self._c.execute("DELETE FROM throttle WHERE key = ?", (key,))

    # one-time codes
    def put_code(self, row: CodeRow) -> None:
        """Replace the code of (purpose, subject): a new request invalidates the previous code."""
        self._c.execute(
            "INSERT OR REPLACE INTO codes (purpose, subject, code_hash, deliverable, attempts, created_at,"
            " expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.purpose,
                row.subject,
                row.code_hash,
                int(row.deliverable),
                row.attempts,
                row.created_at,
                row.expires_at,
                row.used_at,
            ),
        )

    def take_code_attempt(self, purpose: str, subject: str, max_attempts: int, now: float) -> CodeRow | None:
        """Count one attempt on a live code and return it; None when there is no live code left.

        The attempt is counted before the code is checked, so parallel guesses cannot exceed
        `max_attempts` in total.
        """
        row = self._c.execute(
            "UPDATE codes SET attempts = attempts + 1 WHERE purpose = ? AND subject = ? AND attempts < ?"
            " AND used_at IS NULL AND expires_at > ? RETURNING purpose, subject, code_hash, deliverable,"
            " attempts, created_at, expires_at, used_at",
            (purpose, subject, max_attempts, now),
        ).fetchone()
        if row is None:
            return None
        return CodeRow(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6], row[7])

    def use_code(self, purpose: str, subject: str, code_hash: str, now: float) -> bool:
        """Mark a code used exactly once; False when it was already used or replaced meanwhile."""
        cur = self._c.execute(
            "UPDATE codes SET used_at = ? WHERE purpose = ? AND subject = ? AND code_hash = ?"
            " AND used_at IS NULL AND deliverable = 1",
            (now, purpose, subject, code_hash),
        )
        return cur.rowcount == 1

    def delete_expired_codes(self, now: float) -> None:
        self._c.execute("DELETE FROM codes WHERE expires_at <= ?", (now,))

    # API tokens
    def insert_token(self, user_id: int, name: str, token_hash: str, now: float, expires_at: float | None) -> int:
        cur = self._c.execute(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (user_id, name, token_hash, now, expires_at),
        )
        return int(cur.lastrowid or 0)

    def token_by_hash(self, token_hash: str) -> TokenRow | None:
        sql = f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?"  # noqa: S608 - our column list
        row = self._c.execute(sql, (token_hash,)).fetchone()
        return TokenRow(*row) if row else None

    def token_by_id(self, token_id: int) -> TokenRow | None:
        sql = f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE id = ?"  # noqa: S608 - our column list
        row = self._c.execute(sql, (token_id,)).fetchone()
        return TokenRow(*row) if row else None

    def tokens(self, user_id: int | None) -> list[TokenRow]:
        """Tokens of one account (None: of every account), newest first."""
        sql = f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE ? IS NULL OR user_id = ? ORDER BY id DESC"  # noqa: S608
        return [TokenRow(*r) for r in self._c.execute(sql, (user_id, user_id))]

    def revoke_token(self, token_id: int, now: float) -> bool:
        cur = self._c.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, token_id)
        )
        return cur.rowcount == 1

    def set_token_used(self, token_id: int, now: float) -> None:
        self._c.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, token_id))

    # audit
    def insert_audit(
        self, ts: str, actor: str, action: str, target: str | None, before: str | None, after: str | None
    ) -> None:
        self._c.execute(
            "INSERT INTO audit (ts, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)",
            (ts, actor, action, target, before, after),
        )

    def audit_rows(self, limit: int, since_id: int) -> list[AuditRow]:
        rows = self._c.execute(
            "SELECT id, ts, actor, action, target, before, after FROM audit WHERE id > ? ORDER BY id LIMIT ?",
            (since_id, limit),
        )
        return [AuditRow(*r) for r in rows]


class Store:
    """An open control.db: one connection, serialised by a lock, shared safely between threads."""

    def __init__(self, path: str | os.PathLike[str], *, hasher: Hasher | None = None) -> None:
        self._db = ControlDatabase(path, MIGRATIONS, version_table="schema_version")
        self.path = self._db.path
        self.hasher = hasher or default_hasher()

    @property
    def schema_version(self) -> int:
        return self._db.schema_version

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Tx]:
        """One atomic transaction: committed when the block ends, rolled back on any exception."""
        with self._db.transaction(write=write) as conn:
            yield Tx(conn)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(path: str | os.PathLike[str], *, hasher: Hasher | None = None) -> Store:
    """Open (creating and migrating as needed) the control-plane store at `path` (DIR/control.db)."""
    return Store(path, hasher=hasher)
