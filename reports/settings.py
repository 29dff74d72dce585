"""Report settings per user and the record of what was sent, in control.db (SQLite, WAL).

The reports package owns three tables, created by its own ordered MIGRATIONS recorded in
`reports_schema_version` (acl's tables and version are acl's): `report_settings` (one row per account),
`report_sent` (one row per account and period, written only after the relay accepted the mail: the
exactly-once record) and `report_failures` (attempts, last error and next try of a period not sent yet).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

from acl import ControlDatabase, SchemaTooNew
from relaywatch.core import RelaywatchError, time_zone

REPORT_FREQUENCIES = ("off", "daily", "weekly", "monthly")
SECTIONS = ("traffic", "reasons", "domains", "senders", "blacklist", "queue", "reputation")
"""Report sections in display order (reputation is shown to root and admin accounts only)."""
MAX_RECIPIENTS = 10
_ADDRESS = re.compile(r"^[^@\s<>,;\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z0-9-]{2,63}$")

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE report_settings (
                user TEXT PRIMARY KEY,
                frequency TEXT NOT NULL CHECK (frequency IN ('off', 'daily', 'weekly', 'monthly')),
                hour INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
                timezone TEXT NOT NULL,
                sections TEXT NOT NULL,
                recipients TEXT NOT NULL,
                enabled_at REAL,
                updated_at REAL NOT NULL
            )""",
            """CREATE TABLE report_sent (
                user TEXT NOT NULL,
                period TEXT NOT NULL,
                sent_at REAL NOT NULL,
                message_id TEXT NOT NULL,
                recipients TEXT NOT NULL,
                PRIMARY KEY (user, period)
            )""",
            """CREATE TABLE report_failures (
                user TEXT NOT NULL,
                period TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                last_error TEXT NOT NULL,
                last_at REAL NOT NULL,
                next_at REAL NOT NULL,
                PRIMARY KEY (user, period)
            )""",
        ),
    ),
)


class ReportError(RelaywatchError):
    """A report setting is invalid, a report cannot be built for this account, or sending failed."""


@dataclass(frozen=True)
class ReportSettings:
    """One account's report: how often (`frequency`), at which local `hour` in `timezone`, which
    `sections`, and extra `recipients` beside the account's own address (root and admin only).
    `enabled_at` (epoch seconds): when the frequency last went from off to on; no period ending before
    it is sent."""

    frequency: str = "off"
    hour: int = 7
    timezone: str = "UTC"
    sections: tuple[str, ...] = SECTIONS
    recipients: tuple[str, ...] = ()
    enabled_at: float | None = None

    def checked(self, *, may_add_recipients: bool) -> ReportSettings:
        """These settings, or ReportError naming the first invalid value."""
        if self.frequency not in REPORT_FREQUENCIES:
            raise ReportError(f"frequency {self.frequency!r}: expected one of {', '.join(REPORT_FREQUENCIES)}")
        if isinstance(self.hour, bool) or not isinstance(self.hour, int) or not 0 <= self.hour <= 23:
            raise ReportError(f"hour {self.hour!r}: expected an hour from 0 to 23")
        try:
            time_zone(self.timezone, "time zone")
        except RelaywatchError as exc:
            raise ReportError(str(exc)) from None
        if not self.sections:
            raise ReportError("sections: choose at least one (or set the frequency to off)")
        unknown = [s for s in self.sections if s not in SECTIONS]
        if unknown:
            raise ReportError(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
        recipients = tuple(dict.fromkeys(r.strip().lower() for r in self.recipients if r.strip()))
        if recipients and not may_add_recipients:
            raise ReportError("only root and admin accounts may send their report to other addresses")
        bad = [r for r in recipients if not _ADDRESS.match(r)]
        if bad:
            raise ReportError(f"not an e-mail address: {bad[0]!r}")
        if len(recipients) > MAX_RECIPIENTS:
            raise ReportError(f"at most {MAX_RECIPIENTS} extra recipients")
        ordered = tuple(s for s in SECTIONS if s in self.sections)
        return replace(self, sections=ordered, recipients=recipients)


@dataclass(frozen=True)
class Failure:
    """A period not sent yet: how many attempts failed, the last error and when the next try is due."""

    user: str
    period: str
    attempts: int
    last_error: str
    last_at: float
    next_at: float


@dataclass(frozen=True)
class Sent:
    """A period whose report the relay accepted."""

    user: str
    period: str
    sent_at: float
    message_id: str
    recipients: tuple[str, ...]


class ReportStore:
    """The reports' tables in control.db (its own connection; WAL lets acl's connection work beside it)."""

    def __init__(self, path: Path) -> None:
        try:
            self._db = ControlDatabase(path, MIGRATIONS, version_table="reports_schema_version")
        except SchemaTooNew as error:
            raise ReportError(str(error)) from None

    @property
    def schema_version(self) -> int:
        return self._db.schema_version

    def settings(self, user: str) -> ReportSettings:
        """The account's report settings (defaults: no report) ."""
        found = self._db.rows(
            "SELECT frequency, hour, timezone, sections, recipients, enabled_at FROM report_settings WHERE user = ?",
            (user,),
        )
        if not found:
            return ReportSettings()
        row = found[0]
        return ReportSettings(row[0], row[1], row[2], tuple(json.loads(row[3])), tuple(json.loads(row[4])), row[5])

    def all_settings(self) -> dict[str, ReportSettings]:
        names = [r[0] for r in self._db.rows("SELECT user FROM report_settings ORDER BY user")]
        return {name: self.settings(name) for name in names}

    def put_settings(self, user: str, settings: ReportSettings, *, now: float | None = None) -> ReportSettings:
        """Store (already checked) settings; switching a report on starts its periods now."""
        now = time.time() if now is None else now
        with self._db.transaction() as conn:
            old = self.settings(user)
            if settings.frequency == "off":
                enabled_at = None
            elif old.frequency == "off":
                enabled_at = now
            else:
                enabled_at = old.enabled_at
            stored = replace(settings, enabled_at=enabled_at)
            conn.execute(
                "INSERT INTO report_settings VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user) DO UPDATE SET "
                "frequency = excluded.frequency, hour = excluded.hour, timezone = excluded.timezone, "
                "sections = excluded.sections, recipients = excluded.recipients, "
                "enabled_at = excluded.enabled_at, updated_at = excluded.updated_at",
                (
                    user,
                    stored.frequency,
                    stored.hour,
                    stored.timezone,
                    json.dumps(list(stored.sections)),
                    json.dumps(list(stored.recipients)),
                    stored.enabled_at,
                    now,
                ),
            )
        return stored

    def sent(self, user: str, period: str) -> Sent | None:
        rows = self._db.rows("SELECT * FROM report_sent WHERE user = ? AND period = ?", (user, period))
        return next((Sent(r[0], r[1], r[2], r[3], tuple(json.loads(r[4]))) for r in rows), None)

    def sent_reports(self, user: str | None = None) -> list[Sent]:
        rows = self._db.rows("SELECT * FROM report_sent WHERE ? IS NULL OR user = ? ORDER BY sent_at", (user, user))
        return [Sent(r[0], r[1], r[2], r[3], tuple(json.loads(r[4]))) for r in rows]

    def record_sent(self, user: str, period: str, message_id: str, recipients: tuple[str, ...], now: float) -> None:
        """The relay accepted this period's report: record it and forget its failures, in one commit."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO report_sent VALUES (?, ?, ?, ?, ?)",
                (user, period, now, message_id, json.dumps(list(recipients))),
            )
            conn.execute("DELETE FROM report_failures WHERE user = ? AND period = ?", (user, period))

    def failure(self, user: str, period: str) -> Failure | None:
        rows = self._db.rows("SELECT * FROM report_failures WHERE user = ? AND period = ?", (user, period))
        return next((Failure(*r) for r in rows), None)

    def failures(self) -> list[Failure]:
        return [Failure(*r) for r in self._db.rows("SELECT * FROM report_failures ORDER BY user, period")]

    def record_failure(self, user: str, period: str, error: str, now: float, retry_in: float) -> Failure:
        with self._db.transaction() as conn:
            old = self.failure(user, period)
            attempts = 1 if old is None else old.attempts + 1
            conn.execute(
                "INSERT OR REPLACE INTO report_failures VALUES (?, ?, ?, ?, ?, ?)",
                (user, period, attempts, error[:500], now, now + retry_in),
            )
        return Failure(user, period, attempts, error[:500], now, now + retry_in)

    def close(self) -> None:
        self._db.close()


def open_report_store(path: Path) -> ReportStore:
    """The reports' tables of DIR/control.db (created and migrated as needed)."""
    return ReportStore(path)
