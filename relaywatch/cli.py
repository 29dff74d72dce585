"""The `relaywatch` command: a thin layer, each command calling one library function of the same name.

Expected failures (relaywatch.core.RelaywatchError and acl.AclError) are turned into a one-line message
and exit status 1 here, in one place; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from relaywatch.commands import accounts, fbl, gateways, lake, notebook, policy, reports, serve, tokens
from relaywatch.core import RelaywatchError, resolve_home


class Main(click.Group):
    """The top-level group: the one place where expected errors become messages."""

    def invoke(self, ctx: click.Context) -> Any:
        from acl import AclError

        try:
            return super().invoke(ctx)
        except (RelaywatchError, AclError) as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=None,
    help="Data home (config, lake, control database). Default: $RELAYWATCH_HOME or var/home.",
)
@click.pass_context
def main(ctx: click.Context, home: Path | None) -> None:
    """relaywatch: what happens to the mail your Postfix gateways send, and why."""
    ctx.ensure_object(dict)
    ctx.obj["home"] = resolve_home(home)


for module in (lake, accounts, gateways, serve, reports, fbl, policy, tokens, notebook):
    for command in module.COMMANDS:
        main.add_command(command)

if __name__ == "__main__":
    main()
