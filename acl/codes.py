"""One-time codes mailed for sign-up and password reset.

A code is 8 random digits, stored only as an argon2id hash, valid 15 minutes, for at most 5 attempts,
and usable once. A new request for the same subject replaces the previous code. Requests that must
not produce a mail still store a (never sent, never accepted) code, so both paths do the same work.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TypeVar

from acl import throttle
from acl.errors import CodeInvalid
from acl.store import CodeRow, Store, Tx

CODE_DIGITS = 8
CODE_TTL = 15 * 60.0
CODE_MAX_ATTEMPTS = 5
T = TypeVar("T")


def issue(store: Store, purpose: str, subject: str, deliverable: bool, now: float) -> str:
    """Create and store a new code for (purpose, subject); returns it in clear for mailing."""
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    code_hash = store.hasher.hash(code)
    with store.transaction() as tx:
        tx.delete_expired_codes(now)
        tx.put_code(CodeRow(purpose, subject, code_hash, deliverable, 0, now, now + CODE_TTL, None))
    return code


def _clean_code(code: object) -> str:
    if not isinstance(code, str):
        return ""
    return "".join(ch for ch in code if ch not in " -\t")[:64]


def redeem(
    store: Store,
    purpose: str,
    subject: str,
    code: str,
    *,
    now: float,
    source: str | None,
    apply: Callable[[Tx], T],
) -> T:
    """Check `code` and, if right, consume it and run `apply` in the same transaction.

    Each call counts one attempt on the code before checking it, and wrong codes count against the
    subject (all its codes together, escalating) and the source; any failure raises the same CodeInvalid
    (or Throttled for a locked subject or source).
    """
    subject_key = f"{purpose}:{subject}"
    with store.transaction() as tx:
        throttle.check(tx, throttle.CODE_SUBJECT, subject_key, now)
        if source:
            throttle.check(tx, throttle.CODE_SOURCE, source, now)
        row = tx.take_code_attempt(purpose, subject, CODE_MAX_ATTEMPTS, now)
    matches = store.hasher.verify(row.code_hash if row else None, _clean_code(code))
    if row is None or not row.deliverable or not matches:
        with store.transaction() as tx:
            throttle.count(tx, throttle.CODE_SUBJECT, subject_key, now)
            if source:
                throttle.count(tx, throttle.CODE_SOURCE, source, now)
        raise CodeInvalid()
    with store.transaction() as tx:
        if not tx.use_code(purpose, subject, row.code_hash, now):
            raise CodeInvalid()
        return apply(tx)
