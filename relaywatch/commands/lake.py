"""Commands over the lake: ingest, process, parse, classify, reclassify, compact, sql."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from relaywatch.core import CONFIG_NAME, load_config
from relaywatch.options import current_home, home_option, named_values


@click.command()
@click.option("--gateway-name", required=True, help="Name of the gateway the log comes from.")
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Postfix log file (plain or .gz).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@home_option
def ingest(gateway_name: str, path: Path, quiet: bool) -> None:
    """Add a log file's new lines to the lake and process them (idempotent)."""
    from relaywatch import output
    from warehouse import ingest as run_ingest
    from warehouse import load_rules, open_lake

    home = current_home(create=True)
    lake = open_lake(home)
    with output.progress(path, lake, gateway_name, enabled=not quiet) as advance:
        stats = run_ingest(lake, gateway_name, path, rules=load_rules(load_config(home).classify), on_chunk=advance)
    click.echo(output.ingest_summary(gateway_name, path, stats))


@click.command()
@home_option
def process() -> None:
    """Correlate and classify lines committed by the collectors but not processed yet."""
    from relaywatch import output
    from warehouse import load_rules, open_lake
    from warehouse import process as run_process

    home = current_home()
    stats = run_process(open_lake(home), rules=load_rules(load_config(home).classify))
    click.echo(output.ingest_summary(None, None, stats))


@click.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@home_option
def parse(files: tuple[Path, ...]) -> None:
    """Print one JSON object per recognised Postfix log line of FILES (stdin when none)."""
    from warehouse import parse_json_lines as run_parse

    home = current_home(check=False)
    timezone = load_config(home).parse.timezone if (home / CONFIG_NAME).is_file() else "UTC"
    sources = [(str(f), f.open("rb"), datetime.fromtimestamp(f.stat().st_mtime, UTC)) for f in files] or [
        ("-", sys.stdin.buffer, datetime.now(UTC))
    ]
    unparsed = run_parse(sources, sys.stdout, timezone=timezone)
    if unparsed:
        detail = ", ".join(f"{service}: {n}" for service, n in sorted(unparsed.items()))
        click.echo(f"{sum(unparsed.values())} line(s) not recognised ({detail})", err=True)


@click.command()
@click.option(
    "--evaluate",
    "labelled",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Labelled JSON Lines: print accuracy, per-reason precision/recall and confusions.",
)
@home_option
def classify(labelled: Path | None) -> None:
    """Qualify delivery replies: JSON Lines (dsn, status, text) on stdin -> qualification, reason, rule."""
    from warehouse import classify_json_lines as run_classify
    from warehouse import evaluate, format_report

    home = current_home(check=False)
    local = load_config(home).classify if (home / CONFIG_NAME).is_file() else None
    if labelled is not None:
        click.echo(format_report(evaluate(labelled, local=local)))
        return
    for line in run_classify(sys.stdin, local=local):
        click.echo(line)


@click.command()
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First day to reclassify (default: every stored day).",
)
@home_option
def reclassify(since: datetime | None) -> None:
    """Re-apply the current rules to stored deliveries and rejects (no raw log needed)."""
    from warehouse import format_stats, load_rules, open_lake
    from warehouse import reclassify as run_reclassify

    home = current_home()
    stats = run_reclassify(
        open_lake(home), since=since.date() if since else None, rules=load_rules(load_config(home).classify)
    )
    click.echo(format_stats(stats))


@click.command()
@click.option(
    "--retention-hours",
    default=24 * 7,
    show_default=True,
    help="Keep files that snapshots younger than this still need.",
)
@home_option
def compact(retention_hours: int) -> None:
    """Merge the lake's small files, checkpoint, and delete files no recent snapshot needs."""
    from warehouse import compact as run_compact
    from warehouse import open_lake

    stats = run_compact(open_lake(current_home()), retention_hours=retention_hours)
    for table, (removed, added, deleted) in stats.tables.items():
        click.echo(f"{table}: {removed} files compacted into {added}, {deleted} old files deleted")


@click.command()
@click.argument("query")
@click.option("--as", "as_user", default=None, help="Run scoped as this user (default: root).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.option(
    "--param", "params", multiple=True, callback=named_values, help="NAME=VALUE for $NAME in the query (repeatable)."
)
@home_option
def sql(query: str, as_user: str | None, fmt: str, params: dict[str, str]) -> None:
    """Run a SELECT over the warehouse views (deliveries, messages, rejects, queue...)."""
    from relaywatch import output
    from relaywatch.query import sql as run_sql

    result = run_sql(current_home(), query, as_user=as_user, params=params)
    notice = output.write_result(result, fmt, sys.stdout.buffer)
    if notice:
        raise click.ClickException(f"result incomplete: {notice}")


COMMANDS = (ingest, process, parse, classify, reclassify, compact, sql)
