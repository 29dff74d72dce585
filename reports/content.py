"""What a report says: the warehouse query API run in the reader's Scope, for one period and the one
before it. No SQL here: every figure comes from a function of `warehouse`'s query API, the same the
dashboards call, so a report and the pages agree for the same scope and period."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from acl import ADMIN, ROOT, User, get_user, open_store, scope_for
from relaywatch.core import control_db
from reports.periods import ReportPeriod
from reports.preferences import UserSettings, load_settings
from reports.settings import ReportError, ReportSettings
from warehouse import (
    Bounces,
    Overview,
    QueueView,
    ReportDetails,
    Reputation,
    Warehouse,
    bounces,
    open_lake,
    overview,
    queue,
    report_details,
    reputation,
)

OPERATOR_SECTIONS = ("queue", "reputation")
"""Sections only root and admin accounts get (the dashboards show the Queue and Reputation pages to
them only)."""
TOP = 5


class NoGrant(ReportError):
    """The account sees no row at all: it gets no report (none is sent, preview and send refuse)."""


@dataclass(frozen=True)
class ReportContent:
    """Everything one report shows, as the query API returned it."""

    user: User
    prefs: UserSettings
    settings: ReportSettings
    period: ReportPeriod
    previous: ReportPeriod
    sections: tuple[str, ...]
    current: Overview
    before: Overview
    bounces: Bounces
    details: ReportDetails
    queue: QueueView | None
    reputation: Reputation | None


def load_reader(home: Path, name: str) -> User:
    """The account a report is for (acl.NotFound when there is none)."""
    with open_store(control_db(home)) as store:
        return get_user(store, name)


def sections_for(user: User, settings: ReportSettings, has_blacklist: bool) -> tuple[str, ...]:
    """The chosen sections this account may get and this installation can fill."""
    chosen = settings.sections
    operator = user.role in (ROOT, ADMIN) and not user.disabled
    return tuple(s for s in chosen if (operator or s not in OPERATOR_SECTIONS) and (has_blacklist or s != "blacklist"))


def gather(
    home: Path, user: User, settings: ReportSettings, period: ReportPeriod, previous: ReportPeriod
) -> ReportContent:
    """Run the report's queries for `user` over `period` (and `previous`, for the comparison)."""
    scope = scope_for(user)
    if scope.is_empty:
        raise NoGrant(f"user {user.name} has no grant: there is nothing to report, no report is made")
    prefs = load_settings(home, user.name)
    warehouse = Warehouse(open_lake(home), scope)
    try:
        window = period.window
        current = overview(warehouse, window, soft_is_error=prefs.soft_is_error, top=TOP)
        before = overview(warehouse, previous.window, soft_is_error=prefs.soft_is_error, top=TOP)
        details = report_details(warehouse, window, soft_is_error=prefs.soft_is_error, views=warehouse.views, top=TOP)
        sections = sections_for(user, settings, details.blacklist_added is not None)
        return ReportContent(
            user,
            prefs,
            settings,
            period,
            previous,
            sections,
            current,
            before,
            bounces(warehouse, window, top=TOP),
            details,
            queue(warehouse, window) if "queue" in sections else None,
            reputation(warehouse, window) if "reputation" in sections else None,
        )
    finally:
        warehouse.close()
