"""Policy state in DIR/control.db: the only module holding policy SQL.

The policy tables live beside acl's in the same SQLite file (WAL), with their own versioned migrations
recorded in `policy_schema_version`, so the two packages evolve their schemas independently. Every change
and its audit entry are one `BEGIN IMMEDIATE` transaction (`PolicyStore.transaction()`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from acl import ControlDatabase
from policy.model import ENTRY_COLUMNS, Account, Allowed, Deployment, Entry, Route

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE policy_blacklist (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('recipient', 'recipient_domain', 'sender', 'sender_domain')),
                value TEXT NOT NULL,
                gateway TEXT,
                for_sender_domain TEXT,
                reason TEXT NOT NULL,
                source TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                expires_at REAL,
                note TEXT,
                explanation TEXT
            )""",
            "CREATE UNIQUE INDEX policy_blacklist_key ON policy_blacklist"
            " (kind, value, coalesce(gateway, ''), coalesce(for_sender_domain, ''))",
            """CREATE TABLE policy_allowlist (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('recipient', 'recipient_domain')),
                value TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at REAL NOT NULL,
                note TEXT,
                UNIQUE (kind, value)
            )""",
            """CREATE TABLE policy_deployments (
                id INTEGER PRIMARY KEY,
                gateway TEXT NOT NULL,
                at REAL NOT NULL,
                actor TEXT NOT NULL,
                ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
                version TEXT,
                manifest TEXT,
                error TEXT
            )""",
            "CREATE INDEX policy_deployments_gateway ON policy_deployments(gateway, id)",
            """CREATE TABLE policy_audit (
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
            """CREATE TABLE policy_routes (
                id INTEGER PRIMARY KEY,
                selector TEXT NOT NULL CHECK (selector IN ('sender_domain', 'sasl_login', 'recipient_domain')),
                value TEXT NOT NULL,
                on_gateway TEXT,
                via_gateway TEXT,
                next_hop TEXT NOT NULL,
                priority INTEGER NOT NULL,
                created_by TEXT NOT NULL,
                created_at REAL NOT NULL,
                note TEXT
            )""",
            "CREATE UNIQUE INDEX policy_routes_key ON policy_routes"
            " (selector, value, coalesce(on_gateway, ''), priority)",
            """CREATE TABLE policy_sasl (
                login TEXT PRIMARY KEY,
                customer TEXT NOT NULL,
                gateway TEXT,
                password_hash TEXT NOT NULL,
                disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
                created_by TEXT NOT NULL,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            )""",
        ),
    ),
)


class Tx:
    """Typed statements over one open transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def entries(self) -> list[Entry]:
        rows = self._c.execute(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM policy_blacklist ORDER BY id")  # noqa: S608
        return [Entry(*r) for r in rows]

    def entry(self, entry_id: int) -> Entry | None:
        row = self._c.execute(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM policy_blacklist WHERE id = ?",  # noqa: S608
            (entry_id,),
        ).fetchone()
        return Entry(*row) if row else None

    def entry_by_key(self, kind: str, value: str, gateway: str | None, for_sender_domain: str | None) -> Entry | None:
        row = self._c.execute(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM policy_blacklist WHERE kind = ? AND value = ?"  # noqa: S608
            " AND coalesce(gateway, '') = coalesce(?, '') AND coalesce(for_sender_domain, '') = coalesce(?, '')",
            (kind, value, gateway, for_sender_domain),
        ).fetchone()
        return Entry(*row) if row else None

    def insert_entry(self, values: dict[str, Any]) -> int:
        names = [n for n in ENTRY_COLUMNS if n != "id"]
        cur = self._c.execute(
            f"INSERT INTO policy_blacklist ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",  # noqa: S608
            [values.get(n) for n in names],
        )
        return int(cur.lastrowid or 0)

    def update_entry(self, entry_id: int, **values: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in values if name in ENTRY_COLUMNS)
        self._c.execute(
            f"UPDATE policy_blacklist SET {assignments} WHERE id = ?",  # noqa: S608 - names from ENTRY_COLUMNS
            [*values.values(), entry_id],
        )

    def delete_entry(self, entry_id: int) -> None:
        self._c.execute("DELETE FROM policy_blacklist WHERE id = ?", (entry_id,))

    def allowed(self) -> list[Allowed]:
        rows = self._c.execute(
            "SELECT id, kind, value, created_by, created_at, note FROM policy_allowlist ORDER BY kind, value"
        )
        return [Allowed(*r) for r in rows]

    def insert_allowed(self, kind: str, value: str, actor: str, now: float, note: str | None) -> int:
        cur = self._c.execute(
            "INSERT INTO policy_allowlist (kind, value, created_by, created_at, note) VALUES (?, ?, ?, ?, ?)",
            (kind, value, actor, now, note),
        )
        return int(cur.lastrowid or 0)

    def delete_allowed(self, kind: str, value: str) -> bool:
        cur = self._c.execute("DELETE FROM policy_allowlist WHERE kind = ? AND value = ?", (kind, value))
        return cur.rowcount == 1

    def routes(self) -> list[Route]:
        rows = self._c.execute(
            "SELECT id, selector, value, on_gateway, via_gateway, next_hop, priority, created_by, created_at, note"
            " FROM policy_routes ORDER BY priority, id"
        )
        return [Route(*r) for r in rows]

    def insert_route(self, route: Route) -> int:
        cur = self._c.execute(
            "INSERT INTO policy_routes (selector, value, on_gateway, via_gateway, next_hop, priority, created_by,"
            " created_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                route.selector,
                route.value,
                route.on_gateway,
                route.via_gateway,
                route.next_hop,
                route.priority,
                route.created_by,
                route.created_at,
                route.note,
            ),
        )
        return int(cur.lastrowid or 0)

    def delete_route(self, route_id: int) -> None:
        self._c.execute("DELETE FROM policy_routes WHERE id = ?", (route_id,))

    def accounts(self) -> list[Account]:
        rows = self._c.execute(
            "SELECT login, customer, gateway, password_hash, disabled, created_by, created_at, updated_at"
            " FROM policy_sasl ORDER BY login"
        )
        return [Account(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7]) for r in rows]

    def put_account(self, a: Account) -> None:
        self._c.execute(
            "INSERT INTO policy_sasl (login, customer, gateway, password_hash, disabled, created_by, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (login) DO UPDATE SET"
            " password_hash = excluded.password_hash, disabled = excluded.disabled, updated_at = excluded.updated_at",
            (
                a.login,
                a.customer,
                a.gateway,
                a.password_hash,
                int(a.disabled),
                a.created_by,
                a.created_at,
                a.updated_at,
            ),
        )

    def delete_account(self, login: str) -> None:
        self._c.execute("DELETE FROM policy_sasl WHERE login = ?", (login,))

    def insert_deployment(
        self,
        gateway: str,
        at: float,
        actor: str,
        ok: bool,
        version: str | None,
        manifest: dict[str, str] | None,
        error: str | None,
    ) -> None:
        self._c.execute(
            "INSERT INTO policy_deployments (gateway, at, actor, ok, version, manifest, error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (gateway, at, actor, int(ok), version, None if manifest is None else json.dumps(manifest), error),
        )

    def last_deployment(self, gateway: str, *, ok_only: bool = False) -> Deployment | None:
        row = self._c.execute(
            "SELECT id, gateway, at, actor, ok, version, manifest, error FROM policy_deployments"
            " WHERE gateway = ? AND (ok = 1 OR NOT ?) ORDER BY id DESC LIMIT 1",
            (gateway, int(ok_only)),
        ).fetchone()
        if row is None:
            return None
        return Deployment(
            row[0], row[1], row[2], row[3], bool(row[4]), row[5], None if row[6] is None else json.loads(row[6]), row[7]
        )

    def audit(self, actor: str, action: str, target: str | None, before: object, after: object, now: float) -> None:
        """Append one audit entry (who, what, before/after as JSON) in this transaction."""

        def encode(state: object) -> str | None:
            return None if state is None else json.dumps(state, sort_keys=True, ensure_ascii=False)

        ts = datetime.fromtimestamp(now, UTC).isoformat(timespec="microseconds")
        self._c.execute(
            "INSERT INTO policy_audit (ts, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)",
            (ts, actor, action, target, encode(before), encode(after)),
        )

    def audit_rows(self, since_id: int, limit: int) -> list[tuple]:
        return list(
            self._c.execute(
                "SELECT id, ts, actor, action, target, before, after FROM policy_audit"
                " WHERE id > ? ORDER BY id LIMIT ?",
                (since_id, limit),
            )
        )


class PolicyStore:
    """The policy tables of one control.db: one connection, serialised by a lock."""

    def __init__(self, path: Path) -> None:
        self._db = ControlDatabase(path, MIGRATIONS, version_table="policy_schema_version")
        self.path = path

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Tx]:
        """One atomic transaction: committed when the block ends, rolled back on any exception."""
        with self._db.transaction(write=write) as conn:
            yield Tx(conn)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PolicyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
