"""Audit log: account and permission changes, sign-ins, failed sign-ins and lock-outs (acl records
them itself), exports and settings changes (recorded by their callers through `audit_event`): who,
what, when, before and after (JSON).

Entries are written in the same transaction as the change they describe, never contain password
hashes, codes or tokens, and can be read by root only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from acl.errors import PermissionDenied
from acl.model import User, clock, current_actor
from acl.store import Store, Tx


@dataclass(frozen=True)
class AuditEntry:
    """One audited action; `before` and `after` are the decoded JSON states (None when absent)."""

    id: int
    ts: str
    actor: str
    action: str
    target: str | None
    before: object
    after: object


def snapshot(user: User) -> dict[str, object]:
    """The audited state of an account (no secrets)."""
    return {
        "name": user.name,
        "role": user.role,
        "email": user.email,
        "disabled": user.disabled,
        "grants": [g.describe() for g in sorted(user.grants)],
    }


def record(tx: Tx, actor: str, action: str, target: str | None, before: object, after: object, now: float) -> None:
    """Append one entry inside the caller's transaction."""
    ts = datetime.fromtimestamp(now, UTC).isoformat(timespec="microseconds")

    def encode(state: object) -> str | None:
        return None if state is None else json.dumps(state, sort_keys=True, ensure_ascii=False)

    tx.insert_audit(ts, actor, action, target, encode(before), encode(after))


def audit_event(
    store: Store,
    actor: User,
    action: str,
    target: str | None = None,
    *,
    before: object = None,
    after: object = None,
    now: float | None = None,
) -> None:
    """Record an action done outside acl (an export, a settings change) by a signed-in account."""
    when = clock(now)
    with store.transaction() as tx:
        record(tx, current_actor(tx, actor).name, action, target, before, after, when)


def audit_entries(store: Store, actor: User, *, since_id: int = 0, limit: int = 1000) -> list[AuditEntry]:
    """Entries after `since_id`, oldest first; root only."""
    with store.transaction(write=False) as tx:
        if not current_actor(tx, actor).is_root:
            raise PermissionDenied("only root may read the audit log")
        rows = tx.audit_rows(max(1, min(limit, 100_000)), since_id)
    return [
        AuditEntry(
            r.id,
            r.ts,
            r.actor,
            r.action,
            r.target,
            None if r.before is None else json.loads(r.before),
            None if r.after is None else json.loads(r.after),
        )
        for r in rows
    ]
