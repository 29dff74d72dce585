"""Collector commands: `gateway add/list/remove/test`, `run`, `status`.

Each command is a thin call of the relaywatch.registry or relaywatch.scheduler function of its name.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from relaywatch.options import current_home, home_option


def _home() -> Path:
    return current_home(check=False)


def _table(columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*(Text("" if value is None else str(value)) for value in row))
    Console(width=max(100, Console().width)).print(table)


@click.group()
def gateway() -> None:
    """Register the Postfix gateways whose logs and queues relaywatch collects."""


@gateway.command("add")
@click.argument("name")
@click.option("--ssh", "ssh", metavar="USER@HOST[:PORT]", help="Pull over SSH/SFTP (omit for a local log).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="Private key for --ssh.")
@click.option("--log", "log_path", required=True, metavar="PATH", help="Postfix log on the gateway.")
@click.option("--ip", "ips", multiple=True, metavar="ADDR", help="Outgoing IP address of the gateway.")
@click.option("--queue-command", default=None, help="Queue listing command (default: postqueue -j; none: no queue).")
@click.option("--accept-host-key", is_flag=True, help="First contact: pin the host key the gateway shows.")
@home_option
def add(
    name: str,
    ssh: str | None,
    key: str | None,
    log_path: str,
    ips: tuple[str, ...],
    queue_command: str | None,
    accept_host_key: bool,
) -> None:
    """Register gateway NAME after checking that it can be reached and its log folder read."""
    from relaywatch.registry import gateway_add

    report = gateway_add(
        _home(),
        name,
        log_path=log_path,
        ssh=ssh,
        key=key,
        ips=ips,
        accept_host_key=accept_host_key,
        queue_command=queue_command,
    )
    if "host_key" in report:
        click.echo(f"host key {report['host_key']} pinned for {report['target']}")
    click.echo(f"gateway {name} added: {len(report['files'])} log file(s) under {log_path}")


@gateway.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per gateway.")
@home_option
def list_(as_json: bool) -> None:
    """List the registered gateways."""
    from relaywatch.registry import gateway_list

    gateways = gateway_list(_home())
    if as_json:
        for gw in gateways:
            click.echo(
                json.dumps(
                    {
                        "name": gw.name,
                        "target": gw.target,
                        "log": gw.log,
                        "ips": list(gw.ips),
                        "key": gw.key,
                        "queue_command": gw.queue_command,
                    }
                )
            )
        return
    _table(["gateway", "target", "log", "ips"], [[gw.name, gw.target, gw.log, " ".join(gw.ips)] for gw in gateways])


@gateway.command("remove")
@click.argument("name")
@home_option
def remove(name: str) -> None:
    """Unregister gateway NAME and forget its host key (collected data stays in the lake)."""
    from relaywatch.registry import gateway_remove

    gateway_remove(_home(), name)
    click.echo(f"gateway {name} removed")


@gateway.command("test")
@click.argument("name")
@click.option("--accept-host-key", is_flag=True, help="Pin the host key if none is pinned yet.")
@home_option
def test(name: str, accept_host_key: bool) -> None:
    """Check gateway NAME: host key, login, log files, queue command."""
    from relaywatch.registry import gateway_test

    report = gateway_test(_home(), name, accept_host_key=accept_host_key)
    click.echo(f"gateway {name} ({report['target']}): reachable")
    if "host_key" in report:
        click.echo(f"host key: {report['host_key']} (pinned)")
    for item in report["files"]:
        click.echo(f"  {item['path']}  {item['size']} bytes")
    if not report["files"]:
        click.echo(f"  no file matching {report['log']} yet")
    click.echo(f"queue: {report['queue']}")


@click.command()
@click.option("--once", is_flag=True, help="One pass (cron, systemd timer) instead of running continuously.")
@home_option
def run(once: bool) -> None:
    """Collect logs, process them and snapshot queues of every gateway (JSON logs on stderr)."""
    from relaywatch.scheduler import run as run_scheduler

    summary = run_scheduler(_home(), once=once)
    if not once:
        return
    for name, error in sorted(summary["failed"].items()):
        click.echo(f"{name}: {error}", err=True)
    if "error" in summary["processed"]:
        click.echo(f"processing failed: {summary['processed']['error']}", err=True)
    if summary["failed"] or "error" in summary["processed"]:
        sys.exit(1)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per gateway.")
@home_option
def status(as_json: bool) -> None:
    """Per gateway: state, last line collected, lag, bytes behind, last error."""
    from relaywatch.commands.fbl import describe
    from relaywatch.fbl import fbl_status
    from relaywatch.registry import status as collector_status
    from reports import report_status

    rows = collector_status(_home())
    reports = report_status(_home())
    mailboxes = fbl_status(_home())
    if as_json:
        for row in rows + reports + mailboxes:
            click.echo(json.dumps(row))
        return
    _table(
        ["gateway", "state", "lag (s)", "bytes behind", "last line", "last error", "queue"],
        [
            [
                r["gateway"],
                r["state"],
                r["lag_seconds"],
                r["bytes_behind"],
                _short(r["last_line"], 80),
                _short(f"{r['last_error_at']}: {r['last_error']}", 160) if r["last_error"] else None,
                r["queue_messages"],
            ]
            for r in rows
        ],
    )
    if reports:
        _table(
            ["report of", "state", "last period sent", "sent at", "failing"],
            [
                [
                    r["user"],
                    r["state"],
                    r["last_sent"],
                    r["last_sent_at"],
                    "; ".join(
                        f"{f['period']}: {f['attempts']} attempt(s){' (gave up)' if f['gave_up'] else ''}, "
                        f"next {f['next_try']}: {_short(f['error'], 100)}"
                        for f in r["failing"]
                    )
                    or None,
                ]
                for r in reports
            ],
        )
    for row in mailboxes:
        click.echo(f"feedback mailbox {describe(row)}")


def _short(text: str | None, size: int) -> str | None:
    return text if text is None or len(text) <= size else text[: size - 1] + "…"


COMMANDS = (gateway, run, status)
