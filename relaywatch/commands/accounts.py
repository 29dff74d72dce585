"""Accounts commands: `user add|list|grant|revoke|passwd|disable|role` and `audit` (as the local operator)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from relaywatch.core import control_db
from relaywatch.options import current_home, home_option

if TYPE_CHECKING:
    from acl import Store


def _store() -> Store:
    """The home's control-plane store (users, grants, audit log)."""
    from acl import open_store

    return open_store(control_db(current_home()))


def _acl_call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call an acl function as the local operator (root on this host)."""
    from acl import local_operator

    return func(_store(), local_operator(), *args, **kwargs)


@click.group()
def user() -> None:
    """Accounts, roles and grants (acts as the local operator: root)."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["root", "admin", "user", "mailgw"]), default="user", show_default=True)
@click.option("--email", default=None, help="Where password-reset codes are mailed.")
@click.password_option(help="Password (prompted when omitted; read from stdin when not a terminal).")
@home_option
def user_add(name: str, role: str, email: str | None, password: str) -> None:
    """Create an account."""
    from acl import user_add as run

    created = _acl_call(run, name, role, password, email=email)
    click.echo(f"user {created.name} ({created.role}) created")


@user.command("list")
@home_option
def user_list() -> None:
    """Accounts with their role, state and grants."""
    from acl import user_list as run

    for account in _acl_call(run):
        grants = (
            ", ".join(f"{g.kind}:{g.value}{' (+subdomains)' if g.include_subdomains else ''}" for g in account.grants)
            or "no grant"
        )
        state = "disabled" if account.disabled else "active"
        click.echo(f"{account.name}\t{account.role}\t{state}\t{grants}")


@user.command("grant")
@click.argument("name")
@click.argument("kind", type=click.Choice(["sender", "domain", "sasl", "gateway"]))
@click.argument("value")
@click.option("--subdomains", is_flag=True, help="With kind domain: its subdomains too.")
@home_option
def user_grant(name: str, kind: str, value: str, subdomains: bool) -> None:
    """Let NAME see the rows of a sender, domain, SMTP-auth login or gateway."""
    from acl import user_grant as run

    grant = _acl_call(run, name, kind, value, include_subdomains=subdomains)
    click.echo(f"granted {grant.kind}:{grant.value} to {name}")


@user.command("revoke")
@click.argument("name")
@click.argument("kind", type=click.Choice(["sender", "domain", "sasl", "gateway"]))
@click.argument("value")
@click.option("--subdomains", is_flag=True)
@home_option
def user_revoke(name: str, kind: str, value: str, subdomains: bool) -> None:
    """Take a grant back."""
    from acl import user_revoke as run

    _acl_call(run, name, kind, value, include_subdomains=subdomains)
    click.echo(f"revoked {kind}:{value} from {name}")


@user.command("passwd")
@click.argument("name")
@click.password_option()
@home_option
def user_passwd(name: str, password: str) -> None:
    """Set an account's password (closes its sessions)."""
    from acl import user_passwd as run

    _acl_call(run, name, password)
    click.echo(f"password of {name} changed")


@user.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Re-enable instead.")
@home_option
def user_disable(name: str, enable: bool) -> None:
    """Disable (or re-enable) an account: no login, no rows."""
    from acl import user_disable as run

    _acl_call(run, name, disabled=not enable)
    click.echo(f"{name} {'enabled' if enable else 'disabled'}")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(["root", "admin", "user", "mailgw"]))
@home_option
def user_role(name: str, role: str) -> None:
    """Change an account's role."""
    from acl import user_role as run

    _acl_call(run, name, role)
    click.echo(f"{name} is now {role}")


@click.command()
@click.option("--limit", default=100, show_default=True)
@home_option
def audit(limit: int) -> None:
    """The audit log of admin and root actions (newest last)."""
    from acl import audit_entries

    for entry in _acl_call(audit_entries, limit=limit):
        click.echo(json.dumps(dataclasses.asdict(entry), default=str, ensure_ascii=False))


COMMANDS = (user, audit)
