"""The policy audit log: who changed what, with the state before and after (root only)."""

from __future__ import annotations

import json
from pathlib import Path

from acl import AuditEntry, User
from policy.access import require_global
from policy.context import opened


def policy_audit(home: Path, actor: User, *, since_id: int = 0, limit: int = 1000) -> list[AuditEntry]:
    """Entries after `since_id`, oldest first, in acl's AuditEntry shape."""
    with opened(home, actor) as ctx:
        if not ctx.actor.is_root:
            require_global(ctx.actor, "read the policy audit log")
        with ctx.store.transaction(write=False) as tx:
            rows = tx.audit_rows(since_id, max(1, min(limit, 100_000)))
    return [
        AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5] and json.loads(r[5]), r[6] and json.loads(r[6])) for r in rows
    ]
