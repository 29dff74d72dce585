"""API tokens: per-user, read-only bearer tokens for the HTTP API (`Authorization: Bearer rwt_...`).

A token is `rwt_` and 256 random bits (URL-safe base64); it is shown once, at creation, and only its
SHA-256 is stored. It may expire; it can be revoked; every request re-reads it, so a revoked or expired
token, or one whose account was disabled, is refused at once. A token reads exactly what its account's
Scope allows, and nothing else: the API it opens has no write route. Tokens of mailgw accounts are
reserved for the gateways' push mode (a later issue) and cannot be created yet.

Who may do what: every account but mailgw creates, lists and revokes its own tokens; root (and the local
operator) also those of any account. Creation and revocation are audited like account changes. Uses are
audited without flooding the log: the first request of a token is recorded at once, then at most one
`token_use` entry per token per USE_AUDIT_SECONDS, carrying the number of requests since the previous
entry (counted in the serving process; requests after the last entry are recorded with the next one).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from acl.audit import record
from acl.errors import AclError, InvalidValue, NotFound, PermissionDenied
from acl.model import MAILGW, User, clock, current_actor, load_user, normalise_name
from acl.store import Store, TokenRow, Tx

TOKEN_PREFIX = "rwt_"
USE_AUDIT_SECONDS = 60.0
MAX_TOKEN_NAME = 64
_TOKEN_LENGTH = len(TOKEN_PREFIX) + 43


class TokenInvalid(AclError):
    """Unknown, malformed, revoked or expired API token, or its account is disabled: one message for all."""

    def __init__(self, message: str = "invalid, revoked or expired API token") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class ApiToken:
    """What may be shown of a token (never the token itself)."""

    id: int
    user: str
    name: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    last_used_at: float | None

    def state(self, now: float | None = None) -> str:
        """`active`, `revoked` or `expired`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= clock(now):
            return "expired"
        return "active"


@dataclass
class _Uses:
    count: int = 0
    recorded_at: float = float("-inf")


_uses: dict[str, _Uses] = {}
"""Requests not yet audited, by token hash (unique across data homes, unlike ids)."""
_uses_lock = threading.Lock()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _shown(tx: Tx, row: TokenRow) -> ApiToken:
    owner = tx.user_by_id(row.user_id)
    return ApiToken(
        row.id, owner.name if owner else "?", row.name, row.created_at, row.expires_at, row.revoked_at, row.last_used_at
    )


def _label(name: object) -> str:
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > MAX_TOKEN_NAME or not text.isprintable():
        raise InvalidValue(f"a token name is 1 to {MAX_TOKEN_NAME} printable characters")
    return text


def _owner(tx: Tx, acting: User, user: str | None) -> User:
    """The account a token belongs to: the actor's own, or (root only) the named one."""
    if user is None or (acting.id is not None and normalise_name(user) == acting.name):
        if acting.id is None:
            raise InvalidValue("name the account the token is for")
        return acting
    if not acting.is_root:
        raise PermissionDenied("only root may manage the tokens of another account")
    row = tx.user_by_name(normalise_name(user))
    if row is None:
        raise NotFound(f"no user named {user!r}")
    return load_user(tx, row)


def token_create(
    store: Store,
    actor: User,
    name: str,
    *,
    user: str | None = None,
    expires_days: float | None = None,
    now: float | None = None,
) -> tuple[str, ApiToken]:
    """A new read-only token for the actor (or, root only, for `user`): (the token, shown once; its record)."""
    now = clock(now)
    label = _label(name)
    if expires_days is not None and not 0 < expires_days <= 3650:
        raise InvalidValue("a token expires after more than 0 and at most 3650 days")
    expires_at = None if expires_days is None else now + expires_days * 86400.0
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.transaction() as tx:
        acting = current_actor(tx, actor)
        owner = _owner(tx, acting, user)
        if owner.role == MAILGW:
            raise PermissionDenied("tokens of mailgw accounts are reserved for the push mode (not available yet)")
        if owner.disabled or owner.id is None:
            raise InvalidValue(f"account {owner.name!r} is disabled")
        token_id = tx.insert_token(owner.id, label, token_hash(token), now, expires_at)
        record(
            tx,
            acting.name,
            "token_create",
            owner.name,
            None,
            {"token": token_id, "name": label, "expires_at": _iso(expires_at)},
            now,
        )
        row = tx.token_by_id(token_id)
        assert row is not None
        return token, _shown(tx, row)


def token_list(store: Store, actor: User, *, user: str | None = None) -> list[ApiToken]:
    """The actor's tokens; root: those of `user`, or of every account when `user` is None."""
    with store.transaction(write=False) as tx:
        acting = current_actor(tx, actor)
        everyone = user is None and acting.is_root
        rows = tx.tokens(None) if everyone else tx.tokens(_owner(tx, acting, user).id)
        return [_shown(tx, row) for row in rows]


def token_revoke(store: Store, actor: User, token_id: int, *, now: float | None = None) -> ApiToken:
    """Revoke one token (its owner or root); refused at once by every later request."""
    now = clock(now)
    with store.transaction() as tx:
        acting = current_actor(tx, actor)
        row = tx.token_by_id(int(token_id))
        if row is None or (row.user_id != acting.id and not acting.is_root):
            raise NotFound(f"no token {token_id} of yours")
        if not tx.revoke_token(row.id, now):
            raise InvalidValue(f"token {token_id} is already revoked")
        shown = _shown(tx, row)
        record(tx, acting.name, "token_revoke", shown.user, {"token": row.id, "name": row.name}, None, now)
        revoked = tx.token_by_id(row.id)
        assert revoked is not None
        return _shown(tx, revoked)


def token_user(store: Store, token: str, *, source: str | None = None, now: float | None = None) -> User:
    """The (freshly loaded) account of a live token; TokenInvalid otherwise. Audits the use (throttled)."""
    now = clock(now)
    if not isinstance(token, str) or len(token) != _TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
        raise TokenInvalid()
    digest = token_hash(token)
    with store.transaction(write=False) as tx:
        row = tx.token_by_hash(digest)
        if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            raise TokenInvalid()
        owner = tx.user_by_id(row.user_id)
        if owner is None or owner.disabled or owner.role == MAILGW:
            raise TokenInvalid()
        user = load_user(tx, owner)
    with _uses_lock:
        uses = _uses.setdefault(digest, _Uses())
        uses.count += 1
        due = now - uses.recorded_at >= USE_AUDIT_SECONDS
        if due:
            count, uses.count, uses.recorded_at = uses.count, 0, now
    if due:
        with store.transaction() as tx:
            tx.set_token_used(row.id, now)
            record(
                tx,
                user.name,
                "token_use",
                user.name,
                None,
                {"token": row.id, "name": row.name, "requests": count, "source": source},
                now,
            )
    return user
