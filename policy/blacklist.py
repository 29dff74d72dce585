"""Blacklist and allow-list: one function per `relaywatch policy blacklist|allow ...` command, each audited.

Entries block a recipient address or domain, or a sender address or domain, on one gateway or all, for
every sender or one sender domain (a complaint against customer A never blocks customer B's mail).
Manual entries come from root and admins (within their grants); automatic ones from `policy.auto`. The
allow-list binds the automatic rules only: they never create or render an entry it covers. A change is
committed with its audit entry, then mirrored into `lake/blacklist` for the scoped `blacklist` view.
"""

from __future__ import annotations

import time
from pathlib import Path

from acl import User
from policy import values
from policy.access import may_manage, require_global, require_manage
from policy.context import Context, opened
from policy.errors import PolicyError
from policy.mirror import mirror_blacklist
from policy.model import Allowed, Entry


def _scope_of(kind: str, value: str, for_sender_domain: str | None) -> tuple[str | None, str | None]:
    """(sender, sender domain) an entry concerns: the sender it blocks, or the sender scope."""
    if kind == "sender":
        return value, None
    if kind == "sender_domain":
        return None, value
    return None, for_sender_domain


def blacklist_add(
    home: Path,
    actor: User,
    kind: str,
    value: str,
    *,
    gateway: str | None = None,
    for_sender_domain: str | None = None,
    reason: str | None = None,
    expires: str | None = None,
    note: str | None = None,
    now: float | None = None,
) -> Entry:
    """Add a manual entry; a duplicate of a live entry is refused, one of an expired entry revives it."""
    now = time.time() if now is None else now
    value = values.entry_value(kind, value)
    if for_sender_domain is not None:
        if kind not in ("recipient", "recipient_domain"):
            raise PolicyError("--for-sender-domain applies to recipient entries only")
        for_sender_domain = values.domain(for_sender_domain, "sender domain")
    expires_at = values.expiry(expires, now)
    reason = values.text(reason, "--reason") or "manual"
    note = values.text(note, "--note")
    with opened(home, actor) as ctx:
        gateway = values.gateway(home, gateway)
        sender, sender_domain = _scope_of(kind, value, for_sender_domain)
        require_manage(ctx.actor, gateway=gateway, sender=sender, sender_domain=sender_domain)
        with ctx.store.transaction() as tx:
            existing = tx.entry_by_key(kind, value, gateway, for_sender_domain)
            if existing is not None and existing.active(now):
                raise PolicyError(f"already blacklisted as bl-{existing.id} ({existing.source}, {existing.reason})")
            fields = {
                "kind": kind,
                "value": value,
                "gateway": gateway,
                "for_sender_domain": for_sender_domain,
                "reason": reason,
                "source": "manual",
                "created_by": ctx.actor.name,
                "created_at": now,
                "updated_at": now,
                "expires_at": expires_at,
                "note": note,
                "explanation": None,
            }
            if existing is None:
                entry_id = tx.insert_entry(fields)
            else:
                entry_id = existing.id
                tx.update_entry(entry_id, **{k: v for k, v in fields.items() if k != "created_at"})
            entry = tx.entry(entry_id)
            assert entry is not None
            tx.audit(
                ctx.actor.name,
                "blacklist_add",
                f"bl-{entry_id}",
                existing.snapshot() if existing else None,
                entry.snapshot(),
                now,
            )
        mirror_blacklist(ctx)
    return entry


def blacklist_list(
    home: Path, actor: User, *, search: str | None = None, expired: bool = False, now: float | None = None
) -> list[Entry]:
    """Entries the actor may manage (root: all), newest last; `search` matches value, reason or note."""
    now = time.time() if now is None else now
    with opened(home, actor) as ctx:
        require_manage_any(ctx)
        with ctx.store.transaction(write=False) as tx:
            entries = tx.entries()
    needle = (search or "").lower()
    return [
        e
        for e in entries
        if (expired or e.active(now))
        and may_manage(ctx.actor, gateway=e.gateway, **_scope_kwargs(e))
        and (not needle or needle in " ".join(filter(None, (e.value, e.reason, e.note, e.source))).lower())
    ]


def blacklist_remove(home: Path, actor: User, entry_id: int, *, now: float | None = None) -> Entry:
    """Delete one entry (it leaves the gateways' maps at their next deployment)."""
    now = time.time() if now is None else now
    with opened(home, actor) as ctx:
        with ctx.store.transaction() as tx:
            entry = tx.entry(entry_id)
            if entry is None:
                raise PolicyError(f"no blacklist entry bl-{entry_id}")
            require_manage(ctx.actor, gateway=entry.gateway, **_scope_kwargs(entry))
            tx.delete_entry(entry_id)
            tx.audit(ctx.actor.name, "blacklist_remove", f"bl-{entry_id}", entry.snapshot(), None, now)
        mirror_blacklist(ctx)
    return entry


def allow_add(
    home: Path, actor: User, kind: str, value: str, *, note: str | None = None, now: float | None = None
) -> Allowed:
    """Allow-list a recipient or recipient domain: the automatic rules never block it."""
    now = time.time() if now is None else now
    if kind not in values.ALLOW_KINDS:
        raise PolicyError(f"allow-list kind {kind!r}: expected one of {', '.join(values.ALLOW_KINDS)}")
    value = values.entry_value(kind, value)
    note = values.text(note, "--note")
    with opened(home, actor) as ctx:
        require_global(ctx.actor, "change the allow-list")
        with ctx.store.transaction() as tx:
            if any(a.kind == kind and a.value == value for a in tx.allowed()):
                raise PolicyError(f"{kind} {value} is already allow-listed")
            allowed_id = tx.insert_allowed(kind, value, ctx.actor.name, now, note)
            allowed = Allowed(allowed_id, kind, value, ctx.actor.name, now, note)
            tx.audit(ctx.actor.name, "allow_add", f"{kind}:{value}", None, vars(allowed), now)
    return allowed


def allow_list(home: Path, actor: User) -> list[Allowed]:
    """The allow-list (root and admins)."""
    with opened(home, actor) as ctx:
        require_manage_any(ctx)
        with ctx.store.transaction(write=False) as tx:
            return tx.allowed()


def allow_remove(home: Path, actor: User, kind: str, value: str, *, now: float | None = None) -> None:
    """Take a recipient or domain off the allow-list."""
    now = time.time() if now is None else now
    value = values.entry_value(kind, value)
    with opened(home, actor) as ctx:
        require_global(ctx.actor, "change the allow-list")
        with ctx.store.transaction() as tx:
            if not tx.delete_allowed(kind, value):
                raise PolicyError(f"{kind} {value} is not allow-listed")
            tx.audit(ctx.actor.name, "allow_remove", f"{kind}:{value}", {"kind": kind, "value": value}, None, now)


def require_manage_any(ctx: Context) -> None:
    """Listing policy is for root and admins; users read the scoped `blacklist` view instead."""
    if ctx.actor.role not in ("root", "admin"):
        raise PolicyError(
            "only root and admins manage policy; users see their entries with "
            '`relaywatch sql --as USER "SELECT * FROM blacklist"`'
        )


def _scope_kwargs(entry: Entry) -> dict[str, str | None]:
    sender, sender_domain = _scope_of(entry.kind, entry.value, entry.for_sender_domain)
    return {"sender": sender, "sender_domain": sender_domain}
