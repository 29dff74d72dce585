"""Log-in, sessions and password reset by a mailed code.

Log-in does the same work whatever happens: the attempt is counted against the account name (known
or not) before the password is checked, the password is verified against the stored hash or a dummy
one, and every failure (unknown name, wrong password, disabled account, no password set) gives the same
LoginFailed. Five failures for one name from one source lock that pair, twenty the source, a hundred
the name from anywhere, with exponentially growing locks: a guesser elsewhere does not lock the owner
out (the pair is the name plus the source; callers without a source, the CLI and the Python API, share
one pseudo-source). Machine accounts (mailgw) get the same LoginFailed at dashboard sign-in.
Sessions are random 256-bit tokens; only their SHA-256 is stored; they expire, and they are closed
when the account's password, role or status changes.
"""

from __future__ import annotations

import hashlib
import secrets

from acl import codes, throttle
from acl.audit import record
from acl.errors import CodeInvalid, LoginFailed, SessionInvalid
from acl.mail import Mailer, send_later
from acl.model import MAILGW, User, clock, load_user
from acl.passwords import MAX_PASSWORD_LENGTH, check_password_policy
from acl.store import Store, Tx

SESSION_TTL = 8 * 3600.0
_MAX_NAME = 320


def _login_name(name: object) -> str:
    return name.strip().lower()[:_MAX_NAME] if isinstance(name, str) else ""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def authenticate(
    store: Store, name: str, password: str, *, source: str | None = None, now: float | None = None
) -> User:
    """The account when name and password match an enabled account; LoginFailed or Throttled otherwise."""
    now = clock(now)
    login = _login_name(name)
    secret = password if isinstance(password, str) and len(password) <= MAX_PASSWORD_LENGTH else ""
    pair = f"{login}|{source or '-'}"
    with store.transaction() as tx:
        throttle.hit(tx, throttle.LOGIN_PAIR, pair, now)
        throttle.check(tx, throttle.LOGIN_ACCOUNT, login, now)
        if source:
            throttle.check(tx, throttle.LOGIN_SOURCE, source, now)
        row = tx.user_by_name(login)
    ok = store.hasher.verify(row.password_hash if row else None, secret)
    ok = ok and row is not None and not row.disabled
    upgrade = ok and row is not None and store.hasher.needs_rehash(row.password_hash or "")
    rehash = store.hasher.hash(secret) if upgrade else None
    with store.transaction() as tx:
        current = tx.user_by_id(row.id) if ok and row is not None else None
        if current is None or current.disabled or current.password_hash != row.password_hash:
            throttle.count(tx, throttle.LOGIN_ACCOUNT, login, now)
            if source:
                throttle.count(tx, throttle.LOGIN_SOURCE, source, now)
            _audit_failure(tx, login, source, pair, now)
            user = None
        else:
            throttle.clear(tx, throttle.LOGIN_PAIR, pair)
            if rehash:
                tx.set_password_hash(current.id, rehash, current.password_changed_at or now)
            user = load_user(tx, current)
    if user is None:
        raise LoginFailed()
    return user


def _audit_failure(tx: Tx, login: str, source: str | None, pair: str, now: float) -> None:
    """A failed sign-in, and a lock-out when this failure locked the name (from this source or anywhere)
    or the source. The name is what was typed: known or not, only root reads the audit log."""
    where = {"source": source or "-"}
    record(tx, login or "-", "sign_in_failed", login or "-", None, where, now)
    locks = [
        name
        for name, limit, ident in (
            ("account_source", throttle.LOGIN_PAIR, pair),
            ("account", throttle.LOGIN_ACCOUNT, login),
            ("source", throttle.LOGIN_SOURCE, source or ""),
        )
        if ident and throttle.locked(tx, limit, ident, now)
    ]
    if locks:
        record(tx, login or "-", "lockout", login or "-", None, {**where, "locked": locks}, now)


def login(
    store: Store,
    name: str,
    password: str,
    *,
    source: str | None = None,
    now: float | None = None,
    ttl: float = SESSION_TTL,
) -> tuple[str, User]:
    """Authenticate and open a dashboard session: (token, user). Machine accounts (mailgw) get the
    LoginFailed of a wrong password: sign-in does not tell which names are machine accounts."""
    now = clock(now)
    user = authenticate(store, name, password, source=source, now=now)
    if user.role == MAILGW or user.id is None:
        raise LoginFailed()
    token = secrets.token_urlsafe(32)
    with store.transaction() as tx:
        tx.delete_expired_sessions(now)
        tx.insert_session(_token_hash(token), user.id, now, now + ttl, source)
        record(tx, user.name, "sign_in", user.name, None, {"source": source or "-"}, now)
    return token, user


def session_user(store: Store, token: str, *, now: float | None = None) -> User:
    """The (freshly loaded) account of a live session; SessionInvalid when unknown, expired or disabled."""
    now = clock(now)
    if not isinstance(token, str) or not 20 <= len(token) <= 256:
        raise SessionInvalid()
    with store.transaction(write=False) as tx:
        found = tx.session(_token_hash(token))
        if found is None or found[1] <= now:
            raise SessionInvalid()
        row = tx.user_by_id(found[0])
        if row is None or row.disabled or row.role == MAILGW:
            raise SessionInvalid()
        return load_user(tx, row)


def logout(store: Store, token: str) -> None:
    """Close a session (unknown tokens are ignored)."""
    if isinstance(token, str):
        with store.transaction() as tx:
            tx.delete_session(_token_hash(token))


def start_password_reset(
    store: Store,
    name: str,
    *,
    send_mail: Mailer,
    source: str | None = None,
    now: float | None = None,
) -> None:
    """Mail a one-time reset code to the account's e-mail address.

    Returns None in every case (unknown name, no e-mail, disabled, machine account) after the same
    work; the mail goes out from a background thread so timing does not tell either. Throttled per
    name and per source.
    """
    now = clock(now)
    login = _login_name(name)
    with store.transaction() as tx:
        throttle.hit(tx, throttle.RESET_ACCOUNT, login, now)
        if source:
            throttle.hit(tx, throttle.SIGNUP_SOURCE, source, now)
        row = tx.user_by_name(login)
    deliverable = bool(row and row.email and not row.disabled and row.role != MAILGW)
    code = codes.issue(store, "reset", login, deliverable, now)
    if deliverable and row is not None and row.email:
        send_later(
            send_mail,
            row.email,
            "relaywatch password reset code",
            f"Your relaywatch password reset code for account {row.name} is:\n\n    {code}\n\n"
            f"It expires in {int(codes.CODE_TTL // 60)} minutes and works once. If you did not ask"
            " for it, ignore this message.\n",
        )


def finish_password_reset(
    store: Store,
    name: str,
    code: str,
    new_password: str,
    *,
    source: str | None = None,
    now: float | None = None,
) -> None:
    """Set a new password with a mailed code; CodeInvalid for any wrong, used or expired code."""
    now = clock(now)
    login = _login_name(name)
    check_password_policy(new_password, login)
    new_hash = store.hasher.hash(new_password)

    def apply(tx: Tx) -> None:
        row = tx.user_by_name(login)
        if row is None or row.disabled:
            raise CodeInvalid()
        tx.set_password_hash(row.id, new_hash, now)
        tx.delete_sessions_of(row.id)
        throttle.clear(tx, throttle.LOGIN_ACCOUNT, login)
        record(tx, row.name, "password_reset", row.name, None, {"password_changed": True}, now)

    codes.redeem(store, "reset", login, code, now=now, source=source, apply=apply)
