"""`relaywatch token create|list|revoke`: API tokens of an account (as the local operator: root)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from relaywatch.commands.accounts import _acl_call
from relaywatch.core import write_atomic
from relaywatch.options import home_option


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


@click.group()
def token() -> None:
    """Read-only API tokens (`Authorization: Bearer ...`), shown once, stored hashed."""


@token.command("create")
@click.argument("user")
@click.option("--name", required=True, help="What the token is for (shown in lists and the audit log).")
@click.option("--expires-days", type=float, default=None, help="Days until it expires (default: never).")
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the token to this file (mode 0600) instead of printing it.",
)
@home_option
def token_create(user: str, name: str, expires_days: float | None, output: Path | None) -> None:
    """Create a token for USER; the token is printed (or written) once and never shown again."""
    from acl import token_create as run

    secret, created = _acl_call(run, name, user=user, expires_days=expires_days)
    if output is not None:
        write_atomic(output, (secret + "\n").encode(), mode=0o600)
        click.echo(f"token {created.id} for {created.user} written to {output}", err=True)
    else:
        click.echo(f"token {created.id} for {created.user} (shown once, store it now):", err=True)
        click.echo(secret)


@token.command("list")
@click.argument("user", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per token.")
@home_option
def token_list(user: str | None, as_json: bool) -> None:
    """Tokens of USER (all accounts when omitted): id, account, name, state, created, expires, last use."""
    from acl import token_list as run

    for found in _acl_call(run, user=user):
        if as_json:
            click.echo(json.dumps({**found.__dict__, "state": found.state()}))
        else:
            click.echo(
                "\t".join(
                    [
                        str(found.id),
                        found.user,
                        found.name,
                        found.state(),
                        _when(found.created_at),
                        _when(found.expires_at),
                        _when(found.last_used_at),
                    ]
                )
            )


@token.command("revoke")
@click.argument("token_id", type=int)
@home_option
def token_revoke(token_id: int) -> None:
    """Revoke a token by its id: every later request with it is refused."""
    from acl import token_revoke as run

    revoked = _acl_call(run, token_id)
    click.echo(f"token {revoked.id} of {revoked.user} revoked")


COMMANDS = (token,)
