"""Making and sending reports: `report_settings`, `report_preview`, `report_send` (the CLI's calls),
`send_due_reports` (the scheduler's step) and `report_status` (in `relaywatch status`).

Exactly once per user and period: a period is recorded in `report_sent` only after the relay accepted
the mail, so a restart never skips a period (it is still due) and never repeats one (it is recorded).
If the process dies after the relay's acceptance and before the record is committed, the period is sent
again at the next run: at least once, never lost. That repeat carries the same Message-ID (derived from
user and period), so the reader's mail system can recognise it as the same report. A failed send
(refused, relay down) is retried with doubling back-off up to `[reports] attempts` times.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from acl import ADMIN, ROOT, NotFound, User, scope_for
from relaywatch.core import (
    MailSection,
    ReportsSection,
    control_db,
    file_lock,
    load_config,
    locks_dir,
    time_zone,
    write_atomic,
)
from reports.content import NoGrant, gather, load_reader
from reports.periods import ReportPeriod, due_periods, last_complete, parse_period
from reports.preferences import load_settings, save_settings
from reports.render import RenderedReport, build_message, message_id, render
from reports.settings import ReportError, ReportSettings, ReportStore, open_report_store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What happened to one due report: "sent", "failed" (will retry), "gave_up" or "skipped"."""

    user: str
    period: str
    result: str
    detail: str = ""


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _period(settings: ReportSettings, text: str | None, now: datetime) -> ReportPeriod:
    zone = time_zone(settings.timezone, "time zone")
    if text:
        return parse_period(text, zone)
    frequency = settings.frequency if settings.frequency != "off" else "daily"
    return last_complete(frequency, settings.hour, zone, now)


def _make(home: Path, user: User, settings: ReportSettings, period: ReportPeriod) -> RenderedReport:
    config = load_config(home)
    zone = time_zone(settings.timezone, "time zone")
    content = gather(home, user, settings, period, period.previous(zone))
    domain = config.mail.sender.rpartition("@")[2] or "localhost"
    return render(content, base_url=config.reports.base_url, cid_domain=domain)


def recipients_of(user: User, settings: ReportSettings) -> tuple[str, ...]:
    """The account's own address, then the extra ones (root and admin accounts only)."""
    own = (user.email.strip().lower(),) if user.email and user.email.strip() else ()
    extra = settings.recipients if user.role in (ROOT, ADMIN) else ()
    return tuple(dict.fromkeys(own + extra))


RULE_KEYS = ("soft_is_error", "warn_rate", "critical_rate")
"""The error-rate rule and thresholds: the account's preferences (shared with the dashboards)."""


def report_settings(home: Path, user: str, **changes: Any) -> ReportSettings:
    """The account's report settings, after applying `changes` (frequency, hour, timezone, sections,
    recipients; soft_is_error, warn_rate, critical_rate go to the account's preferences; None:
    unchanged). Invalid values raise ReportError naming them."""
    reader = load_reader(home, user)
    wanted = {k: v for k, v in changes.items() if v is not None}
    rule = {k: wanted.pop(k) for k in RULE_KEYS if k in wanted}
    if rule:
        prefs = replace(load_settings(home, reader.name), **rule)
        if not 0 <= prefs.warn_rate <= prefs.critical_rate <= 100:
            raise ReportError(
                f"thresholds {prefs.warn_rate} / {prefs.critical_rate}: expected 0 <= warn <= critical <= 100"
            )
        save_settings(home, reader.name, prefs)
    store = open_report_store(control_db(home))
    try:
        current = store.settings(reader.name)
        if not wanted:
            return current
        updated = replace(current, **wanted).checked(may_add_recipients=reader.role in (ROOT, ADMIN))
        return store.put_settings(reader.name, updated)
    finally:
        store.close()


def preview_path(home: Path, user: str) -> Path:
    """Where the Account page keeps an account's preview (the name percent-encoded, like its settings)."""
    return home / "previews" / f"{quote(user, safe='@.+-_')}.html"


def report_preview(home: Path, user: str, period: str | None, out: Path, *, now: datetime | None = None) -> Path:
    """Write the report of `user` for `period` (default: the last complete one) as one sanitised HTML
    file whose images are embedded (what the mail shows); the file is written atomically."""
    reader = load_reader(home, user)
    store = open_report_store(control_db(home))
    try:
        settings = store.settings(reader.name)
    finally:
        store.close()
    report = _make(home, reader, settings, _period(settings, period, _now(now)))
    write_atomic(out, report.preview_html(), durable=False)
    return out


def _deliver(mail: MailSection, timeout: float, message: Any, recipients: tuple[str, ...]) -> None:
    """Hand the message to the configured relay; raises when it does not accept it for any recipient."""
    if not mail.host.strip():
        raise ReportError("no [mail] host configured in relaywatch.toml: reports cannot be sent")
    with smtplib.SMTP(mail.host.strip(), mail.port, timeout=timeout) as smtp:
        if mail.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if mail.username:
            smtp.login(mail.username, mail.password or "")
        refused = smtp.send_message(message, from_addr=mail.sender, to_addrs=list(recipients))
    if refused:
        log.warning("report recipients refused: %s", sorted(refused))


def _send(
    home: Path, user: User, settings: ReportSettings, period: ReportPeriod, now: datetime, *, scheduled: bool
) -> tuple[str, tuple[str, ...]]:
    recipients = recipients_of(user, settings)
    if not recipients:
        raise ReportError(f"user {user.name} has no e-mail address and no report recipient")
    config = load_config(home)
    report = _make(home, user, settings, period)
    domain = config.mail.sender.rpartition("@")[2] or "localhost"
    msgid = message_id(user.name, period.key, domain) if scheduled else None
    message = build_message(
        report,
        sender=config.mail.sender,
        recipients=recipients,
        now=now,
        unsubscribe=config.reports.base_url.rstrip("/") + "/account",
        msgid=msgid,
    )
    _deliver(config.mail, config.reports.timeout_seconds, message, recipients)
    return str(message["Message-ID"]), recipients


def report_send(home: Path, user: str, period: str | None, *, now: datetime | None = None) -> tuple[str, ...]:
    """Send the report of `user` for `period` now (on request: not recorded as the scheduled one)."""
    reader = load_reader(home, user)
    store = open_report_store(control_db(home))
    try:
        settings = store.settings(reader.name)
    finally:
        store.close()
    clock = _now(now)
    try:
        return _send(home, reader, settings, _period(settings, period, clock), clock, scheduled=False)[1]
    except (OSError, smtplib.SMTPException) as exc:
        raise ReportError(f"the relay did not accept the report: {exc}") from exc


def _backoff(config: ReportsSection, attempts: int) -> float:
    return min(config.backoff_seconds * 2 ** max(0, attempts - 1), config.backoff_max_seconds)


def send_due_reports(home: Path, *, now: datetime | None = None) -> list[Outcome]:
    """Send every report that is due at `now` and not sent yet (one process at a time: a second one
    finds the lock held and does nothing)."""
    clock = _now(now)
    configuration = load_config(home)
    config = configuration.reports
    outcomes: list[Outcome] = []
    if not configuration.mail.host.strip():
        return outcomes  # no relay configured: nothing can be sent (periods stay due, up to CATCH_UP)
    with file_lock(locks_dir(home) / "reports", wait=False) as mine:
        if not mine:
            return outcomes
        store = open_report_store(control_db(home))
        try:
            for name, settings in store.all_settings().items():
                try:
                    user = load_reader(home, name)
                except NotFound:
                    continue
                if user.disabled:
                    continue
                for period in due_periods(
                    settings.frequency, settings.hour, settings.timezone, clock, settings.enabled_at
                ):
                    if store.sent(name, period.key) is not None:
                        continue
                    failed = store.failure(name, period.key)
                    if failed is not None and (
                        failed.attempts >= config.attempts or failed.next_at > clock.timestamp()
                    ):
                        continue
                    outcomes.append(_attempt(home, store, user, settings, period, clock, config))
        finally:
            store.close()
    return outcomes


def _attempt(
    home: Path,
    store: ReportStore,
    user: User,
    settings: ReportSettings,
    period: ReportPeriod,
    clock: datetime,
    config: ReportsSection,
) -> Outcome:
    try:
        msgid, recipients = _send(home, user, settings, period, clock, scheduled=True)
    except NoGrant as exc:
        return Outcome(user.name, period.key, "skipped", str(exc))
    except Exception as exc:  # relay refused or down, bad address...: recorded, retried with back-off
        previous = store.failure(user.name, period.key)
        attempts = 1 if previous is None else previous.attempts + 1
        failure = store.record_failure(
            user.name, period.key, f"{type(exc).__name__}: {exc}", clock.timestamp(), _backoff(config, attempts)
        )
        log.warning("report of %s for %s failed (attempt %d): %s", user.name, period.key, failure.attempts, exc)
        return Outcome(
            user.name, period.key, "gave_up" if failure.attempts >= config.attempts else "failed", failure.last_error
        )
    store.record_sent(user.name, period.key, msgid, recipients, clock.timestamp())
    return Outcome(user.name, period.key, "sent", msgid)


def report_status(home: Path) -> list[dict[str, Any]]:
    """Per account with a report: frequency, last period sent, and the failures waiting for a retry."""
    store = open_report_store(control_db(home))
    config = load_config(home)
    attempts = config.reports.attempts
    try:
        failures = store.failures()
        rows = []
        for name, settings in store.all_settings().items():
            sent = store.sent_reports(name)
            try:
                reader = load_reader(home, name)
                state = "no grant" if scope_for(reader).is_empty else settings.frequency
                if settings.frequency != "off" and not config.mail.host.strip():
                    state += " (no [mail] host: not sent)"
            except NotFound:
                state = "no such user"
            mine = [f for f in failures if f.user == name]
            rows.append(
                {
                    "user": name,
                    "state": state,
                    "last_sent": sent[-1].period if sent else None,
                    "last_sent_at": datetime.fromtimestamp(sent[-1].sent_at, UTC).isoformat(timespec="seconds")
                    if sent
                    else None,
                    "failing": [
                        {
                            "period": f.period,
                            "attempts": f.attempts,
                            "error": f.last_error,
                            "gave_up": f.attempts >= attempts,
                            "next_try": datetime.fromtimestamp(f.next_at, UTC).isoformat(timespec="seconds"),
                        }
                        for f in mine
                    ],
                }
            )
        return rows
    finally:
        store.close()


class ReportScheduler(threading.Thread):
    """`relaywatch run`'s report step: every `[reports] check_seconds`, send what is due."""

    def __init__(self, home: Path, stop: threading.Event) -> None:
        super().__init__(name="reports", daemon=True)
        self.home, self.stop = home, stop

    def run(self) -> None:
        while True:
            try:
                for outcome in send_due_reports(self.home):
                    log.info("report %s %s: %s", outcome.user, outcome.period, outcome.result)
            except Exception:  # the report step must never stop collection
                log.exception("report step failed")
            if self.stop.wait(load_config(self.home).reports.check_seconds):
                return
