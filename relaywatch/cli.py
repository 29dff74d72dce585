"""The `relaywatch` command: a thin layer, each command calling one library function of the same name."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from relaywatch import home as homes
from relaywatch import output
from relaywatch.collect_commands import register as register_collect_commands
from relaywatch.options import home_option

if TYPE_CHECKING:
    from acl import Store
    from warehouse.classify import RuleSet


def _home(*, create: bool) -> Path:
    ctx = click.get_current_context()
    try:
        return homes.open_home(ctx.obj["home"], create=create)
    except homes.HomeError as exc:
        raise click.ClickException(str(exc)) from exc


def _rules(home: Path) -> RuleSet:
    """Built-in classification rules with the home's local overrides (a broken one is a clear error)."""
    from warehouse.classify import RuleError, load_rules

    try:
        return load_rules(home / homes.CONFIG_NAME)
    except RuleError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(path_type=Path), default=None,
              help="Data home (config, lake, control database). Default: $RELAYWATCH_HOME or var/home.")
@click.pass_context
def main(ctx: click.Context, home: Path | None) -> None:
    """relaywatch: what happens to the mail your Postfix gateways send, and why."""
    ctx.ensure_object(dict)
    ctx.obj["home"] = homes.resolve(home)


@main.command()
@click.option("--gateway-name", required=True, help="Name of the gateway the log comes from.")
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Postfix log file (plain or .gz).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@home_option
def ingest(gateway_name: str, path: Path, quiet: bool) -> None:
    """Add a log file's new lines to the lake and process them (idempotent)."""
    from warehouse.pipeline import ingest as run_ingest

    home = _home(create=True)
    lake = homes.open_lake(home)
    rules = _rules(home)
    with output.progress(path, lake, gateway_name, enabled=not quiet) as advance:
        stats = run_ingest(lake, gateway_name, path, rules=rules, on_chunk=advance)
    click.echo(output.ingest_summary(gateway_name, path, stats))


@main.command()
@home_option
def process() -> None:
    """Correlate and classify lines committed by the collectors but not processed yet."""
    from warehouse.pipeline import process as run_process

    home = _home(create=False)
    stats = run_process(homes.open_lake(home), rules=_rules(home))
    click.echo(output.ingest_summary(None, None, stats))


@main.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@home_option
def parse(files: tuple[Path, ...]) -> None:
    """Print one JSON object per recognised Postfix log line of FILES (stdin when none)."""
    from warehouse.jsonlines import parse as run_parse

    ctx = click.get_current_context()
    config_home = ctx.obj["home"]
    timezone = "UTC"
    if (config_home / homes.CONFIG_NAME).is_file():
        timezone = homes.load_config(config_home).get("parse", {}).get("timezone", "UTC")
    sources = [(str(f), f.open("rb"), datetime.fromtimestamp(f.stat().st_mtime, UTC)) for f in files] or [
        ("-", sys.stdin.buffer, datetime.now(UTC))
    ]
    unparsed = run_parse(sources, sys.stdout, timezone=timezone)
    if unparsed:
        detail = ", ".join(f"{service}: {n}" for service, n in sorted(unparsed.items()))
        click.echo(f"{sum(unparsed.values())} line(s) not recognised ({detail})", err=True)


@main.command()
@click.option("--evaluate", "labelled", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labelled JSON Lines: print accuracy, per-reason precision/recall and confusions.")
@home_option
def classify(labelled: Path | None) -> None:
    """Qualify delivery replies: JSON Lines (dsn, status, text) on stdin -> qualification, reason, rule."""
    from warehouse.classify import ClassifyInputError, RuleError
    from warehouse.classify import classify as run_classify
    from warehouse.evaluate import evaluate, format_report

    config_home = click.get_current_context().obj["home"]
    config = config_home / homes.CONFIG_NAME
    config_path = config if config.is_file() else None
    try:
        if labelled is not None:
            click.echo(format_report(evaluate(labelled, config_path=config_path)))
            return
        for line in run_classify(sys.stdin, config_path=config_path):
            click.echo(line)
    except (ClassifyInputError, RuleError) as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day to reclassify (default: every stored day).")
@home_option
def reclassify(since: datetime | None) -> None:
    """Re-apply the current rules to stored deliveries and rejects (no raw log needed)."""
    from warehouse.reclassify import format_stats
    from warehouse.reclassify import reclassify as run_reclassify

    home = _home(create=False)
    stats = run_reclassify(homes.open_lake(home), since=since.date() if since else None, rules=_rules(home))
    click.echo(format_stats(stats))


@main.command()
@click.option("--retention-hours", default=24 * 7, show_default=True,
              help="Keep files that snapshots younger than this still need.")
@home_option
def compact(retention_hours: int) -> None:
    """Merge the lake's small files, checkpoint, and delete files no recent snapshot needs."""
    from warehouse.compact import compact as run_compact

    stats = run_compact(homes.open_lake(_home(create=False)), retention_hours=retention_hours)
    for table, (removed, added, deleted) in stats.tables.items():
        click.echo(f"{table}: {removed} files compacted into {added}, {deleted} old files deleted")


@main.command()
@click.argument("query")
@click.option("--as", "as_user", default=None, help="Run scoped as this user (default: root).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@home_option
def sql(query: str, as_user: str | None, fmt: str) -> None:
    """Run a SELECT over the warehouse views (deliveries, messages, rejects)."""
    from relaywatch.query import QueryError
    from relaywatch.query import sql as run_sql

    home = _home(create=False)
    try:
        frame = run_sql(home, query, as_user=as_user)
    except QueryError as exc:
        raise click.ClickException(str(exc)) from exc
    output.write_frame(frame, fmt, sys.stdout)


@main.command()
@click.option("--port", default=8501, show_default=True)
@click.option("--address", default="127.0.0.1", show_default=True)
@home_option
def serve(port: int, address: str) -> None:
    """Start the dashboards (Streamlit) on http://ADDRESS:PORT."""
    from dashboards.server import serve as run_serve

    run_serve(_home(create=False), address=address, port=port)


def _store() -> Store:
    """The home's control-plane store (users, grants, audit log)."""
    from acl import open_store

    return open_store(homes.control_db(_home(create=False)))


def _acl_call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call an acl function as the local operator, turning its refusals into one-line errors."""
    from acl import AclError, local_operator

    try:
        return func(_store(), local_operator(), *args, **kwargs)
    except AclError as exc:
        raise click.ClickException(str(exc)) from exc


@main.group()
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
        grants = ", ".join(f"{g.kind}:{g.value}{' (+subdomains)' if g.include_subdomains else ''}"
                           for g in account.grants) or "no grant"
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


@main.command()
@click.option("--limit", default=100, show_default=True)
@home_option
def audit(limit: int) -> None:
    """The audit log of admin and root actions (newest last)."""
    from acl import audit_entries

    for entry in _acl_call(audit_entries, limit=limit):
        click.echo(json.dumps(dataclasses.asdict(entry), default=str, ensure_ascii=False))


register_collect_commands(main)

if __name__ == "__main__":
    main()
