"""Account administration: one function per `relaywatch user ...` command, each audited.

Who may do what:
- root: everything (add users, change roles, disable, set any password, grant and revoke anything).
- admin: grants and revokes, on accounts of role `user` only, grants that lie within its own grants
  (`grant_within`: the same sender, a sender of a domain it holds, the same or a narrower domain, the
  same login or gateway; an admin holding gateway "*" may grant anything except "*"). It lists only
  the users it could manage, with only the grants it could have given. It cannot create accounts,
  change roles, disable accounts or set other people's passwords.
- user and mailgw: only change their own password (with the current one).
Grant rules: mailgw accounts receive only grants on specific gateways (never dashboard rows), gateway
"*" goes only to admins and only from root, root accounts need no grants.
"""

from __future__ import annotations

from acl import throttle
from acl.audit import record, snapshot
from acl.errors import InvalidValue, LoginFailed, NotFound, PermissionDenied
from acl.grants import ALL_GATEWAYS, Grant, grant_within, make_grant, normalise_address
from acl.model import (
    ADMIN,
    MAILGW,
    ROOT,
    USER,
    User,
    check_role,
    clock,
    current_actor,
    load_user,
    normalise_name,
)
from acl.passwords import MAX_PASSWORD_LENGTH, check_password_policy
from acl.store import Store, Tx, UserRow


def _target(tx: Tx, name: str) -> tuple[UserRow, User]:
    row = tx.user_by_name(normalise_name(name))
    if row is None:
        raise NotFound(f"no user named {name!r}")
    return row, load_user(tx, row)


def _after(tx: Tx, row: UserRow) -> dict[str, object]:
    """Audited state of an account as it is now, inside the transaction that changed it."""
    current = tx.user_by_id(row.id)
    return snapshot(load_user(tx, current)) if current else {}


def _require_root(actor: User, what: str) -> None:
    if not actor.is_root:
        raise PermissionDenied(f"only root may {what}")


def get_user(store: Store, name: str) -> User:
    """Load one account with its grants (for `relaywatch sql --as USER` and the dashboards)."""
    with store.transaction(write=False) as tx:
        return _target(tx, name)[1]


def user_add(
    store: Store,
    actor: User,
    name: str,
    role: str,
    password: str | None,
    *,
    email: str | None = None,
    now: float | None = None,
) -> User:
    """Create an account (root only). Without a password the account cannot log in until one is set.

    `email` (for password resets) defaults to the name when the name is a mail address.
    """
    now = clock(now)
    name = normalise_name(name)
    role = check_role(role)
    if email is not None:
        email = normalise_address(email, "e-mail address")
    elif "@" in name:
        try:
            email = normalise_address(name, "e-mail address")
        except InvalidValue:
            email = None
    if password is not None:
        check_password_policy(password, name)
    password_hash = store.hasher.hash(password) if password is not None else None
    with store.transaction() as tx:
        acting = current_actor(tx, actor)
        _require_root(acting, "add users")
        if tx.user_by_name(name) is not None:
            raise InvalidValue(f"user {name!r} already exists")
        user_id = tx.insert_user(name, role, email, password_hash, now)
        created = User(user_id, name, role, email)
        record(tx, acting.name, "user_add", name, None, snapshot(created), now)
    return created


def user_list(store: Store, actor: User) -> list[User]:
    """All accounts for root; for an admin, the `user` accounts it manages with only its grants shown."""
    with store.transaction(write=False) as tx:
        acting = current_actor(tx, actor)
        users = [load_user(tx, row) for row in tx.users()]
    if acting.is_root:
        return users
    if acting.role != ADMIN:
        raise PermissionDenied("only root and admins may list users")
    managed = []
    for user in users:
        visible = tuple(g for g in user.grants if grant_within(g, acting.grants))
        if user.role == USER and visible:
            managed.append(User(user.id, user.name, user.role, user.email, user.disabled, visible))
    return managed


def _check_grant_allowed(acting: User, target: User, grant: Grant) -> None:
    if target.role == ROOT:
        raise InvalidValue("root sees everything; grants do not apply to root accounts")
    if target.role == MAILGW and (grant.kind != "gateway" or grant.value == ALL_GATEWAYS):
        raise InvalidValue("mailgw accounts may only hold grants on specific gateways")
    every_gateway = grant.kind == "gateway" and grant.value == ALL_GATEWAYS
    if every_gateway and (not acting.is_root or target.role != ADMIN):
        raise PermissionDenied("only root may grant every gateway ('*'), and only to admins")
    if acting.is_root:
        return
    if acting.role != ADMIN:
        raise PermissionDenied("only root and admins may change grants")
    if target.role != USER:
        raise PermissionDenied("admins may change grants of 'user' accounts only")
    if not grant_within(grant, acting.grants):
        raise PermissionDenied(f"{grant.describe()} is outside your own grants")


def user_grant(
    store: Store,
    actor: User,
    name: str,
    kind: str,
    value: str,
    include_subdomains: bool = False,
    *,
    now: float | None = None,
) -> Grant:
    """Give `name` a grant (see the module docstring for who may grant what); idempotent."""
    now = clock(now)
    grant = make_grant(kind, value, include_subdomains)
    with store.transaction() as tx:
        acting = current_actor(tx, actor)
        row, before = _target(tx, name)
        _check_grant_allowed(acting, before, grant)
        if tx.insert_grant(row.id, grant.kind, grant.value, grant.include_subdomains, now):
            record(tx, acting.name, "user_grant", row.name, snapshot(before), _after(tx, row), now)
    return grant


def user_revoke(
    store: Store,
    actor: User,
    name: str,
    kind: str,
    value: str,
    include_subdomains: bool = False,
    *,
    now: float | None = None,
) -> None:
    """Remove one grant (root: any; admin: within its own grants, on 'user' accounts)."""
    now = clock(now)
    grant = make_grant(kind, value, include_subdomains)
    with store.transaction() as tx:
        acting = current_actor(tx, actor)
        row, before = _target(tx, name)
        if not acting.is_root:
            if acting.role != ADMIN:
                raise PermissionDenied("only root and admins may change grants")
            if before.role != USER or not grant_within(grant, acting.grants):
                raise PermissionDenied(f"{grant.describe()} on {row.name!r} is outside your own grants")
        if not tx.delete_grant(row.id, grant.kind, grant.value, grant.include_subdomains):
            raise NotFound(f"{row.name!r} holds no grant {grant.describe()}")
        record(tx, acting.name, "user_revoke", row.name, snapshot(before), _after(tx, row), now)


def user_passwd(
    store: Store,
    actor: User,
    name: str,
    password: str,
    *,
    current_password: str | None = None,
    now: float | None = None,
) -> None:
    """Set a password: root for anyone; anyone else for itself only, proving the current password.

    Every session of the account is closed. Wrong current passwords count against the login throttle.
    """
    now = clock(now)
    name = normalise_name(name)
    check_password_policy(password, name)
    with store.transaction() as tx:
        acting = current_actor(tx, actor)
        row, _ = _target(tx, name)
        if not acting.is_root:
            if acting.id != row.id:
                raise PermissionDenied("only root may set another account's password")
            throttle.hit(tx, throttle.LOGIN_ACCOUNT, row.name, now)
    if not acting.is_root:
        proof = current_password if isinstance(current_password, str) else ""
        if not store.hasher.verify(row.password_hash, proof[:MAX_PASSWORD_LENGTH]):
            raise LoginFailed("current password is wrong")
    new_hash = store.hasher.hash(password)
    with store.transaction() as tx:
        if tx.user_by_id(row.id) is None:
            raise NotFound(f"no user named {name!r}")
        tx.set_password_hash(row.id, new_hash, now)
        tx.delete_sessions_of(row.id)
        throttle.clear(tx, throttle.LOGIN_ACCOUNT, row.name)
        record(tx, acting.name, "user_passwd", row.name, None, {"password_changed": True}, now)


def user_disable(store: Store, actor: User, name: str, disabled: bool = True, *, now: float | None = None) -> None:
    """Disable (or re-enable with disabled=False) an account, closing its sessions; root only."""
    now = clock(now)
    with store.transaction() as tx:
        acting = current_actor(tx, actor)
        _require_root(acting, "disable or enable accounts")
        row, before = _target(tx, name)
        if acting.id == row.id and disabled:
            raise InvalidValue("you cannot disable your own account")
        tx.set_disabled(row.id, disabled)
        tx.delete_sessions_of(row.id)
        action = "user_disable" if disabled else "user_enable"
        record(tx, acting.name, action, row.name, snapshot(before), _after(tx, row), now)


def user_role(store: Store, actor: User, name: str, role: str, *, now: float | None = None) -> None:
    """Change an account's role (root only), closing its sessions.

    Refused while the account holds gateway "*" and would stop being an admin, or would become mailgw
    while holding grants other than specific gateways: revoke those first.
    """
    now = clock(now)
    role = check_role(role)
    with store.transaction() as tx:
        acting = current_actor(tx, actor)
        _require_root(acting, "change roles")
        row, before = _target(tx, name)
        if acting.id == row.id and role != ROOT:
            raise InvalidValue("you cannot take root away from yourself")
        if role != ADMIN and any(g.kind == "gateway" and g.value == ALL_GATEWAYS for g in before.grants):
            raise InvalidValue("revoke gateway '*' before changing the role of this admin")
        if role == MAILGW and any(g.kind != "gateway" for g in before.grants):
            raise InvalidValue("mailgw accounts may only hold gateway grants: revoke the others first")
        tx.set_role(row.id, role)
        tx.delete_sessions_of(row.id)
        record(tx, acting.name, "user_role", row.name, snapshot(before), _after(tx, row), now)
