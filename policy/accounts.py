"""SMTP-auth (SASL) accounts: `relaywatch policy sasl add/list/disable/passwd/delete`.

Each login belongs to a customer account of acl: creating it grants the customer `sasl:<login>` (so its
rows follow), deleting it revokes that grant. Passwords are generated (or set) and stored only as a hash in
the form Debian's Dovecot verifies (`doveadm pw -l` lists ARGON2ID; Dovecot checks it with libsodium, which
accepts only parallelism 1). They reach the gateway as a Dovecot passwd-file (`sasl_passwd`, deployed with
the maps; disabled accounts are left out of it), read by the Dovecot auth service Postfix uses with
`smtpd_sasl_type = dovecot`. Dovecot notices a changed passwd-file by itself: no reload.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from pathlib import Path

from argon2 import PasswordHasher, Type

from acl import User, get_user, user_grant, user_revoke
from policy.access import require_manage
from policy.blacklist import require_manage_any
from policy.context import Context, opened
from policy.errors import PolicyError
from policy.model import Account
from policy.render import SASL_SCHEME
from policy.routing import login as normalise_login
from policy.values import gateway as known_gateway

HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
MIN_PASSWORD = 12


def hash_password(password: str) -> str:
    """`{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$...`, as a Dovecot passwd-file password field."""
    if len(password) < MIN_PASSWORD or not password.isprintable() or ":" in password:
        raise PolicyError(f"password: at least {MIN_PASSWORD} printable characters, no ':'")
    return "{" + SASL_SCHEME + "}" + HASHER.hash(password)


def _account(ctx: Context, login: str) -> Account:
    with ctx.store.transaction(write=False) as tx:
        found = next((a for a in tx.accounts() if a.login == login), None)
    if found is None:
        raise PolicyError(f"no SMTP-auth account {login!r}")
    require_manage(ctx.actor, gateway=found.gateway, sasl=login)
    return found


def sasl_add(
    home: Path,
    actor: User,
    login: str,
    customer: str,
    *,
    gateway: str | None = None,
    password: str | None = None,
    now: float | None = None,
) -> tuple[Account, str | None]:
    """Create a login for `customer` (an acl account); returns it and the generated password, if any."""
    now = time.time() if now is None else now
    login = normalise_login(login)
    generated = None if password is not None else secrets.token_urlsafe(18)
    password_hash = hash_password(password if password is not None else generated or "")
    with opened(home, actor) as ctx:
        gateway = known_gateway(home, gateway)
        require_manage(ctx.actor, gateway=gateway, sasl=login)
        owner = get_user(ctx.acl, customer)
        with ctx.store.transaction(write=False) as tx:
            if any(a.login == login for a in tx.accounts()):
                raise PolicyError(f"SMTP-auth account {login!r} exists already")
        user_grant(ctx.acl, ctx.actor, owner.name, "sasl", login)  # idempotent; acl checks the actor may
        account = Account(login, owner.name, gateway, password_hash, False, ctx.actor.name, now, now)
        with ctx.store.transaction() as tx:
            tx.put_account(account)
            tx.audit(ctx.actor.name, "sasl_add", login, None, account.snapshot(), now)
    return account, generated


def sasl_list(home: Path, actor: User) -> list[Account]:
    """The accounts (root and admins; hashes are never shown)."""
    with opened(home, actor) as ctx:
        require_manage_any(ctx)
        with ctx.store.transaction(write=False) as tx:
            return tx.accounts()


def sasl_disable(home: Path, actor: User, login: str, *, disabled: bool = True, now: float | None = None) -> Account:
    """Disable (or enable) a login; it leaves (or returns to) the passwd-file at the next deployment."""
    now = time.time() if now is None else now
    with opened(home, actor) as ctx:
        before = _account(ctx, normalise_login(login))
        after = Account(**{**vars(before), "disabled": disabled, "updated_at": now})
        with ctx.store.transaction() as tx:
            tx.put_account(after)
            tx.audit(
                ctx.actor.name,
                "sasl_disable" if disabled else "sasl_enable",
                login,
                before.snapshot(),
                after.snapshot(),
                now,
            )
    return after


def sasl_passwd(
    home: Path, actor: User, login: str, *, password: str | None = None, now: float | None = None
) -> str | None:
    """Rotate a login's password (generated unless given); returns the generated one."""
    now = time.time() if now is None else now
    generated = None if password is not None else secrets.token_urlsafe(18)
    password_hash = hash_password(password if password is not None else generated or "")
    with opened(home, actor) as ctx:
        before = _account(ctx, normalise_login(login))
        with ctx.store.transaction() as tx:
            tx.put_account(Account(**{**vars(before), "password_hash": password_hash, "updated_at": now}))
            tx.audit(ctx.actor.name, "sasl_passwd", login, before.snapshot(), {"password": "rotated"}, now)
    return generated


def sasl_delete(home: Path, actor: User, login: str, *, now: float | None = None) -> Account:
    """Delete a login and revoke its grant from the customer."""
    now = time.time() if now is None else now
    with opened(home, actor) as ctx:
        account = _account(ctx, normalise_login(login))
        with ctx.store.transaction() as tx:
            tx.delete_account(account.login)
            tx.audit(ctx.actor.name, "sasl_delete", account.login, account.snapshot(), None, now)
        with contextlib.suppress(LookupError):  # the grant may have been revoked by hand
            user_revoke(ctx.acl, ctx.actor, account.customer, "sasl", account.login)
    return account
