"""Self sign-up: prove you own a sender address by a code mailed to it, get an account that sees it.

`start_signup` answers the same way (None, after the same work) whether the address is unknown, did
not send recently, or already has an account; only the mailbox owner learns which, from the mail:
a code when the address sent through a gateway recently (`has_sent`, provided by the warehouse) and
has no account yet, a notice when it already has one, nothing otherwise. Requests are throttled per
address and per source. `finish_signup` redeems the code once (attempts limited, then burnt) and
creates a `user` account named after the address, with a grant on exactly that sender.
"""

from __future__ import annotations

from collections.abc import Callable

from acl import codes, throttle
from acl.audit import record, snapshot
from acl.errors import CodeInvalid
from acl.grants import Grant, normalise_address
from acl.mail import Mailer, send_later
from acl.model import USER, User, clock
from acl.passwords import check_password_policy
from acl.store import Store, Tx


def start_signup(
    store: Store,
    address: str,
    *,
    has_sent: Callable[[str], bool],
    send_mail: Mailer,
    source: str | None = None,
    now: float | None = None,
) -> None:
    """Request a sign-up code for `address`; raises only for a malformed address or a throttled request."""
    now = clock(now)
    address = normalise_address(address)
    with store.transaction() as tx:
        throttle.hit(tx, throttle.SIGNUP_ADDRESS, address, now)
        if source:
            throttle.hit(tx, throttle.SIGNUP_SOURCE, source, now)
        existing = tx.user_by_name(address)
    eligible = bool(has_sent(address))
    code = codes.issue(store, "signup", address, eligible and existing is None, now)
    if not eligible:
        return
    if existing is None:
        send_later(
            send_mail,
            address,
            "relaywatch sign-up code",
            f"Your relaywatch sign-up code for {address} is:\n\n    {code}\n\nIt expires in"
            f" {int(codes.CODE_TTL // 60)} minutes and works once. If you did not ask for it, ignore"
            " this message.\n",
        )
    else:
        send_later(
            send_mail,
            address,
            "relaywatch sign-up request",
            f"Someone asked to create a relaywatch account for {address}, which already has one.\n"
            "If it was you, log in or ask for a password reset. Otherwise ignore this message.\n",
        )


def finish_signup(
    store: Store,
    address: str,
    code: str,
    password: str,
    *,
    source: str | None = None,
    now: float | None = None,
) -> User:
    """Create the account with the mailed code; CodeInvalid for any wrong, used, expired or spent code."""
    now = clock(now)
    try:
        address = normalise_address(address)
    except ValueError as exc:
        raise CodeInvalid() from exc
    check_password_policy(password, address)
    password_hash = store.hasher.hash(password)

    def create(tx: Tx) -> User:
        if tx.user_by_name(address) is not None:
            raise CodeInvalid()
        user_id = tx.insert_user(address, USER, address, password_hash, now)
        tx.insert_grant(user_id, "sender", address, False, now)
        user = User(user_id, address, USER, address, False, (Grant("sender", address),))
        record(tx, address, "signup", address, None, snapshot(user), now)
        return user

    return codes.redeem(store, "signup", address, code, now=now, source=source, apply=create)
