"""Automatic blacklisting from the warehouse, as data-driven rules with thresholds from `[policy]`:

- `suppressible_bounces`: a recipient with at least `bounce_threshold` hard bounces saying the address is
  bad (user_unknown, domain_not_found, mailbox_disabled) within `bounce_window_days` is blocked for every
  sender on every gateway; reputation, policy, auth_policy and rate_limited refusals never count;
- `complaint`: a recipient that complained (the `complaints` view, when the warehouse has one) is blocked
  for the sender domain complained about only.
An entry lasts `block_days` after the last event that triggered it, so a rerun over the same data changes
nothing (idempotent) and new events extend the entry instead of duplicating it. Manual entries are never
touched; the allow-list is never overridden. Each entry explains itself: rule, threshold, and the
deliveries or complaints (keys, times) behind it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from acl import Scope, User, local_operator
from policy.access import require_global
from policy.context import opened
from policy.mirror import mirror_blacklist
from policy.model import Entry
from policy.render import allowed_by
from warehouse import Warehouse, open_lake, recent_complaints, suppressible_bounces

EVIDENCE_ROWS = 20
"""Triggering events kept in an explanation (the count says how many there were)."""


@dataclass(frozen=True)
class AutoChange:
    """One entry an automatic rule creates or extends."""

    action: str
    kind: str
    value: str
    for_sender_domain: str | None
    expires_at: float
    rule: str
    explanation: dict[str, Any]
    entry_id: int | None = None


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _proposals(wh: Warehouse, settings: Any, now: float) -> list[AutoChange]:
    """What the rules ask for, before comparing with the store."""
    since = datetime.fromtimestamp(now, UTC) - timedelta(days=settings.bounce_window_days)
    block = timedelta(days=settings.block_days).total_seconds()
    wanted = []
    bounces = suppressible_bounces(wh, since=since)
    for (recipient,), rows in bounces.group_by("recipient", maintain_order=True):
        if rows.height < settings.bounce_threshold:
            continue
        last = rows["ts"].max()
        evidence = [{k: _iso(v) for k, v in r.items()} for r in rows.tail(EVIDENCE_ROWS).iter_rows(named=True)]
        wanted.append(
            AutoChange(
                "create",
                "recipient",
                str(recipient),
                None,
                last.timestamp() + block,
                "suppressible_bounces",
                {
                    "rule": "suppressible_bounces",
                    "threshold": settings.bounce_threshold,
                    "window_days": settings.bounce_window_days,
                    "count": rows.height,
                    "deliveries": evidence,
                },
            )
        )
    complaints = recent_complaints(wh, since=since)
    if complaints is not None and complaints.height:
        for (recipient, domain), rows in complaints.group_by(["recipient", "sender_domain"], maintain_order=True):
            last = rows["ts"].max()
            evidence = [
                {
                    k: _iso(v)
                    for k, v in r.items()
                    if k in ("ts", "gateway", "message_key", "complaint_id", "feedback_type", "sender")
                }
                for r in rows.tail(EVIDENCE_ROWS).iter_rows(named=True)
            ]
            wanted.append(
                AutoChange(
                    "create",
                    "recipient",
                    str(recipient).lower(),
                    str(domain).lower(),
                    last.timestamp() + block,
                    "complaint",
                    {"rule": "complaint", "threshold": 1, "count": rows.height, "complaints": evidence},
                )
            )
    return wanted


def _compare(proposal: AutoChange, existing: Entry | None, now: float) -> AutoChange | None:
    """The change a proposal makes given the stored entry (None: nothing to do)."""
    if proposal.expires_at <= now:
        return None
    if existing is None:
        return proposal
    if existing.source == "manual" and existing.active(now):
        return None
    if existing.expires_at is not None and existing.expires_at >= proposal.expires_at:
        return None
    return AutoChange(
        "extend",
        proposal.kind,
        proposal.value,
        proposal.for_sender_domain,
        proposal.expires_at,
        proposal.rule,
        proposal.explanation,
        existing.id,
    )


def auto_blacklist(
    home: Path, actor: User | None = None, *, dry_run: bool = False, now: float | None = None
) -> list[AutoChange]:
    """Apply the automatic rules (or, with `dry_run`, only list what they would change)."""
    now = time.time() if now is None else now
    with opened(home, actor or local_operator("scheduler")) as ctx:
        require_global(ctx.actor, "run the automatic rules")
        wh = Warehouse(open_lake(home), Scope.root())
        proposals = _proposals(wh, ctx.config.policy, now)
        changes: list[AutoChange] = []
        with ctx.store.transaction(write=not dry_run) as tx:
            allowed = tx.allowed()
            for p in proposals:
                existing = tx.entry_by_key(p.kind, p.value, None, p.for_sender_domain)
                probe = Entry(0, p.kind, p.value, None, p.for_sender_domain, "", "auto", "", 0, 0, None, None, None)
                change = None if allowed_by(probe, allowed) else _compare(p, existing, now)
                if change is None:
                    continue
                if not dry_run:
                    change = _write(tx, ctx.actor.name, change, existing, now)
                changes.append(change)
        if changes and not dry_run:
            mirror_blacklist(ctx)
    return changes


def _write(tx: Any, actor: str, change: AutoChange, existing: Entry | None, now: float) -> AutoChange:
    explanation = json.dumps(change.explanation, sort_keys=True)
    reason = "complaint" if change.rule == "complaint" else "suppressible_bounce"
    if existing is None:
        entry_id = tx.insert_entry(
            {
                "kind": change.kind,
                "value": change.value,
                "gateway": None,
                "for_sender_domain": change.for_sender_domain,
                "reason": reason,
                "source": f"auto:{change.rule}",
                "created_by": actor,
                "created_at": now,
                "updated_at": now,
                "expires_at": change.expires_at,
                "note": None,
                "explanation": explanation,
            }
        )
    else:
        entry_id = existing.id
        tx.update_entry(
            entry_id,
            expires_at=change.expires_at,
            explanation=explanation,
            updated_at=now,
            source=f"auto:{change.rule}",
            reason=reason,
        )
    after = tx.entry(entry_id)
    tx.audit(
        actor,
        f"auto_blacklist_{change.action}",
        f"bl-{entry_id}",
        existing.snapshot() if existing else None,
        after.snapshot(),
        now,
    )
    return AutoChange(
        change.action,
        change.kind,
        change.value,
        change.for_sender_domain,
        change.expires_at,
        change.rule,
        change.explanation,
        entry_id,
    )
