"""Feedback-loop commands: `fbl fetch`, `fbl notify`, `fbl status`."""

from __future__ import annotations

import json
import sys

import click

from relaywatch.options import current_home, home_option


@click.group()
def fbl() -> None:
    """Feedback loops: ARF complaints fetched over IMAP."""


@fbl.command()
@click.option("--mailbox", default=None, help="Only this mailbox (its name in [[fbl.mailboxes]]).")
@home_option
def fetch(mailbox: str | None) -> None:
    """Fetch new reports of every feedback mailbox into the lake (exactly once)."""
    from ingest import FetchResult
    from relaywatch.fbl import fbl_fetch

    failed = False
    for name, outcome in fbl_fetch(current_home(), mailbox=mailbox).items():
        if isinstance(outcome, FetchResult):
            click.echo(
                f"{name}: {outcome.reports} report(s), {outcome.unparsed} unparsed mail(s) kept aside, "
                f"last UID {outcome.last_uid} (UIDVALIDITY {outcome.uidvalidity})"
            )
        elif outcome is None:
            click.echo(f"{name}: skipped, being fetched by another process")
        else:
            failed = True
            click.echo(str(outcome), err=True)
    if failed:
        sys.exit(1)


@fbl.command()
@home_option
def notify() -> None:
    """Mail new complaints to the root and admin accounts whose grants cover them (batched)."""
    from relaywatch.fbl import fbl_notify

    sent = fbl_notify(current_home())
    click.echo(f"{len(sent)} notification(s) sent" + (f": {', '.join(sorted(sent))}" if sent else ""))


@fbl.command(name="status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per mailbox.")
@home_option
def fbl_status_command(as_json: bool) -> None:
    """Per feedback mailbox: state, last fetch, position, totals, last error."""
    from relaywatch.fbl import fbl_status

    for row in fbl_status(current_home()):
        click.echo(json.dumps(row) if as_json else describe(row))


def describe(row: dict) -> str:
    """One line per mailbox for `status` tables."""
    error = f"; last error {row['last_error_at']}: {row['last_error']}" if row["last_error"] else ""
    return (
        f"{row['mailbox']} ({row['target']}): {row['state']}, last fetch {row['last_fetch_at'] or '-'}, "
        f"{row['reports_total']} report(s), {row['unparsed_total']} unparsed{error}"
    )


COMMANDS = (fbl,)
