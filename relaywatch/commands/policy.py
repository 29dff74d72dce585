"""Policy commands: `policy blacklist|allow add/list/remove`, `policy diff/deploy/rollback/status/check`,
`policy auto`, `policy audit`; each a thin call of the policy function of its name.

They act as the local operator (root on this host) unless `--as USER` names an account, whose role and
grants then decide (an admin manages only its gateways and senders; a user changes nothing).
"""

from __future__ import annotations

import json

import click

from relaywatch.commands.policy_common import actor as _actor
from relaywatch.commands.policy_common import as_option
from relaywatch.commands.policy_common import table as _table
from relaywatch.commands.policy_common import when as _when
from relaywatch.commands.policy_routes import route, sasl
from relaywatch.options import current_home, home_option

KINDS = ["recipient", "recipient_domain", "sender", "sender_domain"]


@click.group()
def policy() -> None:
    """Blacklists, allow-list and their deployment to the gateways' Postfix maps."""


@policy.group()
def blacklist() -> None:
    """Blocked recipients and senders (manual and automatic entries)."""


@blacklist.command("add")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("value")
@click.option("--gateway", default=None, help="Only on this gateway (default: every gateway).")
@click.option("--for-sender-domain", default=None, help="Only for mail from this sender domain (default: all).")
@click.option("--reason", default=None)
@click.option("--expires", default=None, help="30d, 12h, 90m or an ISO date (default: never).")
@click.option("--note", default=None)
@as_option
@home_option
def blacklist_add(
    kind: str,
    value: str,
    gateway: str | None,
    for_sender_domain: str | None,
    reason: str | None,
    expires: str | None,
    note: str | None,
    as_user: str | None,
) -> None:
    """Block a recipient, recipient domain, sender or sender domain."""
    from policy import blacklist_add as run

    entry = run(
        current_home(),
        _actor(as_user),
        kind,
        value,
        gateway=gateway,
        for_sender_domain=for_sender_domain,
        reason=reason,
        expires=expires,
        note=note,
    )
    click.echo(
        f"bl-{entry.id}: {entry.kind} {entry.value} blocked on {entry.gateway or 'every gateway'} for "
        f"{entry.for_sender_domain or 'every sender'} until {_when(entry.expires_at)}"
        " (deploy with `relaywatch policy deploy GATEWAY`)"
    )


@blacklist.command("list")
@click.option("--search", default=None, help="Text in the value, reason, source or note.")
@click.option("--expired", is_flag=True, help="Include expired entries.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry, with its explanation.")
@as_option
@home_option
def blacklist_list(search: str | None, expired: bool, as_json: bool, as_user: str | None) -> None:
    """The entries you may manage."""
    from policy import blacklist_list as run

    entries = run(current_home(), _actor(as_user), search=search, expired=expired)
    if as_json:
        for e in entries:
            click.echo(json.dumps(e.snapshot(), ensure_ascii=False))
        return
    _table(
        ["id", "kind", "value", "gateway", "for sender domain", "reason", "source", "by", "expires"],
        [
            [
                f"bl-{e.id}",
                e.kind,
                e.value,
                e.gateway or "*",
                e.for_sender_domain or "*",
                e.reason,
                e.source,
                e.created_by,
                _when(e.expires_at),
            ]
            for e in entries
        ],
    )


@blacklist.command("remove")
@click.argument("entry_id", metavar="ID")
@as_option
@home_option
def blacklist_remove(entry_id: str, as_user: str | None) -> None:
    """Delete entry ID (bl-12 or 12)."""
    from policy import PolicyError
    from policy import blacklist_remove as run

    number = entry_id.removeprefix("bl-")
    if not number.isdigit():
        raise PolicyError(f"{entry_id!r} is not an entry id (bl-12)")
    entry = run(current_home(), _actor(as_user), int(number))
    click.echo(f"bl-{entry.id} removed ({entry.kind} {entry.value})")


@policy.group()
def allow() -> None:
    """Recipients and domains the automatic rules never block."""


@allow.command("add")
@click.argument("kind", type=click.Choice(["recipient", "recipient_domain"]))
@click.argument("value")
@click.option("--note", default=None)
@as_option
@home_option
def allow_add(kind: str, value: str, note: str | None, as_user: str | None) -> None:
    """Allow-list a recipient or recipient domain."""
    from policy import allow_add as run

    allowed = run(current_home(), _actor(as_user), kind, value, note=note)
    click.echo(f"{allowed.kind} {allowed.value} allow-listed")


@allow.command("list")
@as_option
@home_option
def allow_list(as_user: str | None) -> None:
    """The allow-list."""
    from policy import allow_list as run

    _table(
        ["kind", "value", "by", "at", "note"],
        [[a.kind, a.value, a.created_by, _when(a.created_at), a.note] for a in run(current_home(), _actor(as_user))],
    )


@allow.command("remove")
@click.argument("kind", type=click.Choice(["recipient", "recipient_domain"]))
@click.argument("value")
@as_option
@home_option
def allow_remove(kind: str, value: str, as_user: str | None) -> None:
    """Take a recipient or domain off the allow-list."""
    from policy import allow_remove as run

    run(current_home(), _actor(as_user), kind, value)
    click.echo(f"{kind} {value} removed from the allow-list")


@policy.command("diff")
@click.argument("gateway")
@as_option
@home_option
def policy_diff(gateway: str, as_user: str | None) -> None:
    """The change a deployment to GATEWAY would make (unified diff of its maps)."""
    from policy import policy_diff as run

    click.echo(run(current_home(), _actor(as_user), gateway) or f"gateway {gateway}: nothing to deploy", nl=False)


@policy.command("deploy")
@click.argument("gateway")
@as_option
@home_option
def policy_deploy(gateway: str, as_user: str | None) -> None:
    """Render GATEWAY's maps and put them in force (postmap, verify, atomic rename; previous kept)."""
    from policy import policy_deploy as run

    result = run(current_home(), _actor(as_user), gateway, on_step=lambda step: click.echo(f"  {step}", err=True))
    changed = ", ".join(result.changed) or "no file changed"
    click.echo(f"gateway {gateway}: version {result.version} in force in {result.directory} ({changed})")


@policy.command("rollback")
@click.argument("gateway")
@as_option
@home_option
def policy_rollback(gateway: str, as_user: str | None) -> None:
    """Put GATEWAY's previous maps back in force."""
    from policy import policy_rollback as run

    result = run(current_home(), _actor(as_user), gateway)
    click.echo(f"gateway {gateway}: rolled back to version {result.version}")


@policy.command("status")
@click.option("--json", "as_json", is_flag=True)
@as_option
@home_option
def policy_status(as_json: bool, as_user: str | None) -> None:
    """Per gateway: deployed version, drift (maps edited on the gateway), pending change, last error."""
    from policy import policy_status as run

    rows = run(current_home(), _actor(as_user))
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    _table(
        ["gateway", "version", "pending", "drift", "last error"],
        [
            [
                r["gateway"],
                r.get("version"),
                r.get("pending"),
                ", ".join(r.get("drift", [])) or "none",
                r.get("error") or r.get("last_error"),
            ]
            for r in rows
        ],
    )


@policy.command("check")
@click.argument("gateway")
@as_option
@home_option
def policy_check(gateway: str, as_user: str | None) -> None:
    """Print the one-time main.cf snippet for GATEWAY and check it against `postconf -n` there."""
    from policy import dovecot_snippet
    from policy import policy_check as run

    snippet, problems = run(current_home(), _actor(as_user), gateway)
    click.echo("# add to main.cf (then `postfix reload`); keep your own restrictions after ours:")
    for name, value in snippet.items():
        click.echo(f"{name} = {value}" + (", <your restrictions>" if name == "smtpd_recipient_restrictions" else ""))
    directory = snippet["transport_maps"].removeprefix("hash:").rpartition("/")[0]
    click.echo("# SMTP-auth: Dovecot's passdb (smtpd_sasl_type = dovecot, smtpd_sasl_auth_enable = yes):")
    click.echo("".join(f"#   {line}\n" for line in dovecot_snippet(directory).splitlines()), nl=False)
    for problem in problems:
        click.echo(f"missing: {problem}", err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"# gateway {gateway}: main.cf has the snippet")


@policy.command("auto")
@click.option("--dry-run", is_flag=True, help="List what the automatic rules would change, change nothing.")
@as_option
@home_option
def auto_blacklist(dry_run: bool, as_user: str | None) -> None:
    """Run the automatic blacklist rules over the warehouse (the scheduler does after each processing)."""
    from policy import auto_blacklist as run

    changes = run(current_home(), _actor(as_user), dry_run=dry_run)
    for c in changes:
        scope = f" for {c.for_sender_domain}" if c.for_sender_domain else ""
        click.echo(
            f"{'would ' if dry_run else ''}{c.action} {c.kind} {c.value}{scope} until {_when(c.expires_at)}"
            f" ({c.rule}: {c.explanation['count']} event(s), threshold {c.explanation['threshold']})"
        )
    if not changes:
        click.echo("no change")


@policy.command("audit")
@click.option("--since-id", default=0, type=int)
@as_option
@home_option
def policy_audit(since_id: int, as_user: str | None) -> None:
    """Every policy change: who, what, before and after."""
    from policy import policy_audit as run

    for e in run(current_home(), _actor(as_user), since_id=since_id):
        click.echo(
            json.dumps(
                {
                    "id": e.id,
                    "ts": e.ts,
                    "actor": e.actor,
                    "action": e.action,
                    "target": e.target,
                    "before": e.before,
                    "after": e.after,
                },
                ensure_ascii=False,
            )
        )


policy.add_command(route)
policy.add_command(sasl)
COMMANDS = (policy,)
