"""Attempt counters with exponential temporary lockout, per account, address or source.

Each Limit counts attempts in a window; reaching `max_attempts` locks the key for `base_lock` seconds,
and every further counted attempt doubles the lock (capped at `max_lock`). A key that was locked does
not start afresh when its window ends: for a day after its last lock, each new attempt locks it again,
for twice as long (waiting for the window to pass and trying again would otherwise never escalate). Keys
are hashed, so unknown names, addresses and IP addresses are throttled exactly like known ones
(the throttle never reveals whether an account exists) and never stored in clear.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from acl.errors import Throttled
from acl.store import ThrottleRow, Tx

DAY = 86400.0


@dataclass(frozen=True)
class Limit:
    """How many attempts per window a key may make before it is locked, and for how long."""

    prefix: str
    max_attempts: int
    window: float
    base_lock: float
    max_lock: float


LOGIN_PAIR = Limit("login:pair", 5, DAY, 30.0, 3600.0)
"""Wrong passwords for one account from one source: the guesser is slowed, the owner elsewhere is not."""
LOGIN_SOURCE = Limit("login:source", 20, DAY, 30.0, 3600.0)
LOGIN_ACCOUNT = Limit("login:account", 100, DAY, 60.0, 3600.0)
"""Wrong passwords for one account from anywhere: a high cap against guessing spread over many sources."""
SIGNUP_ADDRESS = Limit("signup:address", 5, 3600.0, 3600.0, DAY)
SIGNUP_SOURCE = Limit("signup:source", 20, 3600.0, 3600.0, DAY)
RESET_ACCOUNT = Limit("reset:account", 5, 3600.0, 3600.0, DAY)
CODE_SOURCE = Limit("code:source", 10, DAY, 60.0, 3600.0)
CODE_SUBJECT = Limit("code:subject", 10, DAY, 3600.0, DAY)
"""Wrong codes for one address or account per day, whatever the source and however many codes it asked
for (each new code has its own 5 attempts): with SIGNUP_ADDRESS / RESET_ACCOUNT this caps guesses at a
few dozen a day instead of hundreds."""


def _key(limit: Limit, ident: str) -> str:
    digest = hashlib.sha256(ident.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"{limit.prefix}:{digest}"


def check(tx: Tx, limit: Limit, ident: str, now: float) -> None:
    """Raise Throttled while the key is locked."""
    row = tx.throttle(_key(limit, ident))
    if row is not None and row.locked_until > now:
        raise Throttled(row.locked_until - now)


def count(tx: Tx, limit: Limit, ident: str, now: float) -> None:
    """Count one attempt (a failure, or a request for rate limits) and lock the key when due."""
    key = _key(limit, ident)
    row = tx.throttle(key)
    if row is None or (now - row.first_at > limit.window and now - row.locked_until > DAY):
        row = ThrottleRow(key, 0, now, 0.0)
    attempts = row.failures + 1
    locked_until = row.locked_until
    if attempts >= limit.max_attempts:
        locked_until = now + min(limit.max_lock, limit.base_lock * 2.0 ** (attempts - limit.max_attempts))
    tx.put_throttle(ThrottleRow(key, attempts, row.first_at, locked_until))
    tx.delete_stale_throttles(now - DAY)


def hit(tx: Tx, limit: Limit, ident: str, now: float) -> None:
    """Check then count: reserves the attempt before it is made, so parallel tries cannot exceed the limit."""
    check(tx, limit, ident, now)
    count(tx, limit, ident, now)


def locked(tx: Tx, limit: Limit, ident: str, now: float) -> bool:
    """Whether the key is locked now."""
    row = tx.throttle(_key(limit, ident))
    return row is not None and row.locked_until > now


def clear(tx: Tx, limit: Limit, ident: str) -> None:
    """Forget the key's attempts (after a success)."""
    tx.delete_throttle(_key(limit, ident))
