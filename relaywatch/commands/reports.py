"""Report commands: `report settings`, `report preview`, `report send` (each one call into reports)."""

from __future__ import annotations

from pathlib import Path

import click

from relaywatch.options import current_home, home_option

PERIOD_HELP = "YYYY-MM-DD (a day), YYYY-Www (an ISO week) or YYYY-MM (a month); default: the last complete one."


@click.group()
def report() -> None:
    """Periodic HTML e-mail reports: per-user settings, preview, sending on request."""


@report.command("settings")
@click.option("--user", "name", required=True, help="Account the report is for.")
@click.option("--frequency", type=click.Choice(["off", "daily", "weekly", "monthly"]), default=None)
@click.option("--hour", type=int, default=None, help="Local hour (0-23) at which a due report is sent.")
@click.option("--timezone", default=None, help="IANA time zone of the periods and the hour, e.g. Europe/Paris.")
@click.option(
    "--sections",
    default=None,
    help="Comma-separated sections (traffic,reasons,domains,senders,blacklist,queue,reputation).",
)
@click.option("--recipient", "recipients", multiple=True, help="Extra address (root and admin accounts; repeat).")
@click.option("--no-recipients", is_flag=True, help="Remove the extra addresses.")
@click.option(
    "--soft-is-error/--hard-only",
    "soft_is_error",
    default=None,
    help="Whether soft failures count in the error rate (the account's rule, dashboards too).",
)
@click.option("--warn-rate", type=float, default=None, help="Error rate (%) shown orange from.")
@click.option("--critical-rate", type=float, default=None, help="Error rate (%) shown red from.")
@home_option
def report_settings(
    name: str,
    frequency: str | None,
    hour: int | None,
    timezone: str | None,
    sections: str | None,
    recipients: tuple[str, ...],
    no_recipients: bool,
    soft_is_error: bool | None,
    warn_rate: float | None,
    critical_rate: float | None,
) -> None:
    """Show (and with options, change) an account's report settings."""
    from reports import load_settings
    from reports import report_settings as run

    chosen = tuple(s.strip() for s in sections.split(",") if s.strip()) if sections is not None else None
    extra = () if no_recipients else (recipients or None)
    current = run(
        current_home(),
        name,
        frequency=frequency,
        hour=hour,
        timezone=timezone,
        sections=chosen,
        recipients=extra,
        soft_is_error=soft_is_error,
        warn_rate=warn_rate,
        critical_rate=critical_rate,
    )
    rule = load_settings(current_home(), name)
    click.echo(
        f"frequency: {current.frequency}\nhour: {current.hour}\ntimezone: {current.timezone}\n"
        f"sections: {', '.join(current.sections)}\nrecipients: {', '.join(current.recipients) or '-'}\n"
        f"soft failures count: {'yes' if rule.soft_is_error else 'no'}\n"
        f"thresholds: {rule.warn_rate:g} % / {rule.critical_rate:g} %"
    )


@report.command("preview")
@click.option("--user", "name", required=True)
@click.option("--period", default=None, help=PERIOD_HELP)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="HTML file to write.")
@home_option
def report_preview(name: str, period: str | None, out: Path) -> None:
    """Write the report an account would receive, as one HTML file (images embedded)."""
    from reports import report_preview as run

    click.echo(f"report written to {run(current_home(), name, period, out)}")


@report.command("send")
@click.option("--user", "name", required=True)
@click.option("--period", default=None, help=PERIOD_HELP)
@home_option
def report_send(name: str, period: str | None) -> None:
    """Send an account's report now through the [mail] relay (on request; scheduled reports are sent by run)."""
    from reports import report_send as run

    click.echo(f"report sent to {', '.join(run(current_home(), name, period))}")


COMMANDS = (report,)
