"""The User value, roles, account names, and the re-check of an acting user against the store."""

from __future__ import annotations

import getpass
import time
from dataclasses import dataclass, field

from acl.errors import InvalidValue, PermissionDenied
from acl.grants import Grant, normalise_token
from acl.store import Tx, UserRow

ROOT, ADMIN, USER, MAILGW = "root", "admin", "user", "mailgw"
ROLES = (ROOT, ADMIN, USER, MAILGW)
LOCAL_PREFIX = "local:"


@dataclass(frozen=True)
class User:
    """An account and its grants as loaded from the store (never carries the password hash).

    `id` is None only for the local operator (`local_operator()`), who is not stored.
    """

    id: int | None
    name: str
    role: str
    email: str | None = None
    disabled: bool = False
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def is_root(self) -> bool:
        return self.role == ROOT and not self.disabled


def clock(now: float | None) -> float:
    """Current time in epoch seconds unless the caller (a test) fixes it."""
    return time.time() if now is None else float(now)


def normalise_name(name: object) -> str:
    """Account names: lower-cased, no spaces or invisible characters, no look-alikes; not 'local:...'."""
    value = normalise_token(name, "user name")
    if value.startswith(LOCAL_PREFIX):
        raise InvalidValue(f"user names starting with {LOCAL_PREFIX!r} are reserved for the local operator")
    return value


def check_role(role: object) -> str:
    value = role.strip().lower() if isinstance(role, str) else ""
    if value not in ROLES:
        raise InvalidValue(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return value


def load_user(tx: Tx, row: UserRow) -> User:
    grants = tuple(Grant(g.kind, g.value, g.include_subdomains) for g in tx.grants_of(row.id))
    return User(row.id, row.name, row.role, row.email, row.disabled, grants)


def local_operator(login: str | None = None) -> User:
    """The person running the CLI on the relaywatch host: root, not stored, audited as 'local:<login>'.

    Whoever can write DIR/control.db already controls everything, so the CLI acts as root by default.
    """
    return User(None, f"{LOCAL_PREFIX}{login or getpass.getuser()}", ROOT)


def current_actor(tx: Tx, actor: User) -> User:
    """Re-read the acting user from the store: a disabled, deleted or re-roled account loses its powers."""
    if actor.id is None:
        if actor.role == ROOT and actor.name.startswith(LOCAL_PREFIX):
            return actor
        raise PermissionDenied("unknown actor")
    row = tx.user_by_id(actor.id)
    if row is None or row.disabled or row.name != actor.name:
        raise PermissionDenied(f"account {actor.name!r} is disabled or no longer exists")
    return load_user(tx, row)
