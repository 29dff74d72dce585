"""Policy commands for routing rules (`policy route add/list/remove`) and SMTP-auth accounts
(`policy sasl add/list/disable/passwd/delete`); each a thin call of the policy function of its name."""

from __future__ import annotations

import json
import sys

import click

from relaywatch.commands.policy_common import actor as _actor
from relaywatch.commands.policy_common import as_option
from relaywatch.commands.policy_common import table as _table
from relaywatch.commands.policy_common import when as _when
from relaywatch.options import current_home, home_option


@click.group()
def route() -> None:
    """Routing rules: which gateway or next hop mail leaves through."""


@route.command("add")
@click.option("--sender-domain", "sender_domain", default=None, help="Mail from this sender domain...")
@click.option("--sasl-login", default=None, help="...or authenticated as this SMTP-auth login...")
@click.option("--recipient-domain", default=None, help="...or to this recipient domain.")
@click.option("--via-gateway", default=None, help="Leaves through this gateway ([[policy.gateways]] smtp)...")
@click.option("--next-hop", "hop", default=None, metavar="[HOST]:PORT", help="...or this next hop.")
@click.option("--on", "on_gateway", default=None, help="Only on this gateway (default: every gateway).")
@click.option("--priority", default=100, show_default=True, help="Lowest first among rules on the same key.")
@click.option("--note", default=None)
@click.option("--dry-run", is_flag=True, help="Only show how much of last week's traffic the rule would move.")
@as_option
@home_option
def route_add(
    sender_domain: str | None,
    sasl_login: str | None,
    recipient_domain: str | None,
    via_gateway: str | None,
    hop: str | None,
    on_gateway: str | None,
    priority: int,
    note: str | None,
    dry_run: bool,
    as_user: str | None,
) -> None:
    """Add a routing rule (one selector), after showing the traffic it moves."""
    from policy import PolicyError
    from policy import route_add as run

    chosen = [
        (k, v)
        for k, v in (
            ("sender_domain", sender_domain),
            ("sasl_login", sasl_login),
            ("recipient_domain", recipient_domain),
        )
        if v is not None
    ]
    if len(chosen) != 1:
        raise PolicyError(
            "give exactly one of --sender-domain, --sasl-login, --recipient-domain "
            "(a rule without one would move everything)"
        )
    ((selector, value),) = chosen
    plan = run(
        current_home(),
        _actor(as_user),
        selector,
        value,
        via_gateway=via_gateway,
        hop=hop,
        on_gateway=on_gateway,
        priority=priority,
        note=note,
        dry_run=dry_run,
    )
    _table(
        ["gateway", "messages (7 days)", "recipients"],
        [[r["gateway"], r["messages"], r["recipients"]] for r in plan.traffic.iter_rows(named=True)],
    )
    r = plan.route
    where = f"{r.selector} {r.value} on {r.on_gateway or 'every gateway'} -> smtp:{r.next_hop}"
    click.echo(f"route-{r.id}: {where}" if plan.added else f"dry run, nothing written: {where}")


@route.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per rule.")
@as_option
@home_option
def route_list(as_json: bool, as_user: str | None) -> None:
    """The routing rules, by priority."""
    from policy import route_list as run

    if as_json:
        for r in run(current_home(), _actor(as_user)):
            click.echo(json.dumps(vars(r), ensure_ascii=False))
        return
    _table(
        ["id", "selector", "value", "on", "via", "next hop", "priority", "by"],
        [
            [
                f"route-{r.id}",
                r.selector,
                r.value,
                r.on_gateway or "*",
                r.via_gateway,
                r.next_hop,
                r.priority,
                r.created_by,
            ]
            for r in run(current_home(), _actor(as_user))
        ],
    )


@route.command("remove")
@click.argument("route_id", metavar="ID")
@as_option
@home_option
def route_remove(route_id: str, as_user: str | None) -> None:
    """Delete rule ID (route-3 or 3)."""
    from policy import PolicyError
    from policy import route_remove as run

    number = route_id.removeprefix("route-")
    if not number.isdigit():
        raise PolicyError(f"{route_id!r} is not a rule id (route-3)")
    removed = run(current_home(), _actor(as_user), int(number))
    click.echo(f"route-{removed.id} removed")


@click.group()
def sasl() -> None:
    """SMTP-auth accounts the gateways accept (Dovecot passwd-file)."""


@sasl.command("add")
@click.argument("login")
@click.option("--customer", required=True, help="The account the login belongs to (gets the sasl grant).")
@click.option("--gateway", default=None, help="Only on this gateway (default: every gateway).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (default: generate one).")
@as_option
@home_option
def sasl_add(login: str, customer: str, gateway: str | None, password_stdin: bool, as_user: str | None) -> None:
    """Create an SMTP-auth login; a generated password is printed once."""
    from policy import sasl_add as run

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    account, generated = run(current_home(), _actor(as_user), login, customer, gateway=gateway, password=password)
    click.echo(f"{account.login} created for {account.customer} (deploy to put it in force)")
    if generated:
        click.echo(f"password: {generated}")


@sasl.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per login (never the hash).")
@as_option
@home_option
def sasl_list(as_json: bool, as_user: str | None) -> None:
    """The SMTP-auth logins."""
    from policy import sasl_list as run

    if as_json:
        for a in run(current_home(), _actor(as_user)):
            click.echo(json.dumps({**a.snapshot(), "updated_at": a.updated_at}, ensure_ascii=False))
        return
    _table(
        ["login", "customer", "gateway", "state", "changed"],
        [
            [a.login, a.customer, a.gateway or "*", "disabled" if a.disabled else "active", _when(a.updated_at)]
            for a in run(current_home(), _actor(as_user))
        ],
    )


@sasl.command("disable")
@click.argument("login")
@click.option("--enable", is_flag=True, help="Re-enable instead.")
@as_option
@home_option
def sasl_disable(login: str, enable: bool, as_user: str | None) -> None:
    """Disable (or re-enable) a login."""
    from policy import sasl_disable as run

    run(current_home(), _actor(as_user), login, disabled=not enable)
    click.echo(f"{login} {'enabled' if enable else 'disabled'} (deploy to put it in force)")


@sasl.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (default: generate one).")
@as_option
@home_option
def sasl_passwd(login: str, password_stdin: bool, as_user: str | None) -> None:
    """Rotate a login's password."""
    from policy import sasl_passwd as run

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    generated = run(current_home(), _actor(as_user), login, password=password)
    click.echo(f"password of {login} changed" + (f": {generated}" if generated else ""))


@sasl.command("delete")
@click.argument("login")
@as_option
@home_option
def sasl_delete(login: str, as_user: str | None) -> None:
    """Delete a login and revoke its grant."""
    from policy import sasl_delete as run

    run(current_home(), _actor(as_user), login)
    click.echo(f"{login} deleted")
