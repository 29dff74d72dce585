"""Who may change policy: root everything; an admin only entries of its granted gateways or senders;
users and machine accounts nothing (they read the `blacklist` view of their own traffic).

The acting account is re-read from acl's store for every action, so a disabled or re-roled account
loses its powers at once.
"""

from __future__ import annotations

from acl import ADMIN, ALL_GATEWAYS, Grant, PermissionDenied, Store, User, get_user, grant_within, make_grant


def current(acl_store: Store, actor: User) -> User:
    """The actor as the store knows it now (the local operator, root on this host, is not stored)."""
    if actor.id is None:
        if actor.is_root and actor.name.startswith("local:"):
            return actor
        raise PermissionDenied("unknown actor")
    try:
        fresh = get_user(acl_store, actor.name)
    except LookupError:
        raise PermissionDenied(f"account {actor.name!r} no longer exists") from None
    if fresh.id != actor.id or fresh.disabled:
        raise PermissionDenied(f"account {actor.name!r} is disabled or no longer exists")
    return fresh


def all_gateways(user: User) -> bool:
    """Root, or an admin holding every gateway."""
    return user.is_root or (user.role == ADMIN and Grant("gateway", ALL_GATEWAYS) in user.grants)


def may_manage(
    user: User,
    *,
    gateway: str | None,
    sender: str | None = None,
    sender_domain: str | None = None,
    sasl: str | None = None,
) -> bool:
    """True when `user` may create or remove an entry scoped to this gateway (None: all) and sender."""
    if all_gateways(user):
        return True
    if user.role != ADMIN or user.disabled:
        return False
    if gateway is not None and Grant("gateway", gateway) in user.grants:
        return True
    if sender is not None and grant_within(make_grant("sender", sender), user.grants):
        return True
    if sasl is not None and Grant("sasl", sasl) in user.grants:
        return True
    return sender_domain is not None and grant_within(make_grant("domain", sender_domain), user.grants)


def require_manage(
    user: User,
    *,
    gateway: str | None,
    sender: str | None = None,
    sender_domain: str | None = None,
    sasl: str | None = None,
) -> None:
    """PermissionDenied unless `may_manage`."""
    if user.role not in ("root", ADMIN) or user.disabled:
        raise PermissionDenied("only root and admins may change policy")
    if not may_manage(user, gateway=gateway, sender=sender, sender_domain=sender_domain, sasl=sasl):
        where = f"gateway {gateway}" if gateway else "every gateway"
        who = sender or sender_domain or (sasl and f"login {sasl}") or "every sender"
        raise PermissionDenied(f"{user.name} may not manage policy for {who} on {where}: not granted")


def require_global(user: User, what: str) -> None:
    """PermissionDenied unless the user holds every gateway (allow-list, deployment of all maps)."""
    if not all_gateways(user):
        raise PermissionDenied(f"only root and admins holding every gateway may {what}")
