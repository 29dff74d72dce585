"""Widgets shared by the pages: the period picker (kept across pages, custom periods to the hour) and safe
text for notices."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

import streamlit as st

from dashboards.auth import Session
from dashboards.formats import moment
from warehouse import Period, newest

T = TypeVar("T")
PRESETS = {"1h": 1, "24h": 24, "7d": 7 * 24, "30d": 30 * 24, "custom": None}
WHOLE_DAYS = (0, 24)
DATE_INPUT = {"fr": "DD/MM/YYYY", "en": "YYYY/MM/DD"}  # the formats st.date_input offers closest to each
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$=])")


_RESET = "rw_period_reset"


def recall(name: str, default: T) -> T:
    """A choice remembered for this browser session (widget state itself is dropped on page change,
    so a widget starts from the remembered value when its page is opened again)."""
    return st.session_state.get(f"rw_keep_{name}", default)


def remember(name: str, value: T) -> T:
    st.session_state[f"rw_keep_{name}"] = value
    return value


def plain(text: object) -> str:
    """Escape Markdown so a value shown in a notice or caption (names, addresses) stays literal text."""
    return _MARKDOWN.sub(r"\\\1", str(text))


@dataclass(frozen=True)
class PeriodChoice:
    """What the picker says: a sliding window of `hours` before now, or fixed days from the hour
    `clock[0]` of the first day to the hour `clock[1]` (24: midnight) of the last."""

    hours: float | None
    fixed: Period
    clock: tuple[int, int] = WHOLE_DAYS

    def current(self) -> Period:
        """The period as of now (a sliding window moves on each auto-refresh)."""
        return self.fixed if self.hours is None else Period.last(self.hours)


def hours_period(first: date, last: date, clock: tuple[int, int]) -> Period:
    """From the hour clock[0] of `first` to the hour clock[1] of `last` (UTC); at least one hour."""
    start = datetime(first.year, first.month, first.day, tzinfo=UTC) + timedelta(hours=clock[0])
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(hours=clock[1])
    return Period(start, max(end, start + timedelta(hours=1)))


def reset_period() -> None:
    """Make the picker's widgets show the remembered period at their next run (a link, a button or a
    brushed histogram changed it): see `_initial`."""
    st.session_state[_RESET] = True


def _initial(key: str, value: object, default: dict[str, object], reset: bool) -> dict[str, object]:
    """A period widget's starting value: its `default` argument (`value=`/`index=`) normally; after a
    reset, `value` through session state (and no default argument, which would clash with it), since
    a widget the browser already holds keeps showing, and sending back, its old value otherwise."""
    if not reset:
        return default
    st.session_state[key] = value
    return {}


def period_choice(session: Session, *, default: str = "7d") -> PeriodChoice:
    """Preset or custom UTC range of days and hours; the choice follows the person from page to page."""
    left, right = st.columns([1, 2])
    lang = session.language
    reset = bool(st.session_state.pop(_RESET, False))
    kept_preset = recall("period_preset", default)
    preset = remember(
        "period_preset",
        left.selectbox(
            session.t("period.label"),
            list(PRESETS),
            format_func=lambda p: session.t(f"period.{p}"),
            key="period_preset",
            **_initial("period_preset", kept_preset, {"index": list(PRESETS).index(kept_preset)}, reset),
        ),
    )
    hours = PRESETS.get(str(preset))
    if hours is not None:
        period = Period.last(hours)
        right.caption(
            session.t(
                "period.shown",
                start=moment(period.start, lang, session.zone),
                end=moment(period.end, lang, session.zone),
            )
        )
        return PeriodChoice(hours, period)
    today = datetime.now(UTC).date()
    kept_days = recall("period_days", (today - timedelta(days=6), today))
    day_cell, from_cell, to_cell = right.columns([3, 1, 1])
    chosen = day_cell.date_input(
        session.t("period.days"),
        key="period_days",
        format=DATE_INPUT.get(lang, "YYYY/MM/DD"),
        **_initial("period_days", kept_days, {"value": kept_days}, reset),
    )
    days = [d for d in (chosen if isinstance(chosen, tuple | list) else (chosen,)) if isinstance(d, date)]
    if len(days) == 2:  # a range being picked has one day only: keep the last complete one meanwhile
        remember("period_days", (min(days), max(days)))
    kept_clock = recall("period_hours", WHOLE_DAYS)
    since = from_cell.selectbox(
        session.t("period.from_hour"),
        range(24),
        format_func=_hour,
        key="period_from_hour",
        **_initial("period_from_hour", kept_clock[0], {"index": kept_clock[0]}, reset),
    )
    until = to_cell.selectbox(
        session.t("period.to_hour"),
        range(1, 25),
        format_func=_hour,
        key="period_to_hour",
        **_initial("period_to_hour", kept_clock[1], {"index": kept_clock[1] - 1}, reset),
    )
    clock = remember("period_hours", (int(since), int(until)))
    if session.zone.key != "UTC":
        right.caption(session.t("tz.period_utc", zone=session.zone.key))
    first, last = (min(days), max(days)) if days else (today, today)
    return PeriodChoice(None, hours_period(first, last, clock), clock)


def period_picker(session: Session, *, default: str = "7d") -> Period:
    """The chosen period as of now."""
    return period_choice(session, default=default).current()


def show_days(first: date, last: date) -> None:
    """Make these whole days the chosen period (the picker shows them from the next run on)."""
    remember("period_preset", "custom")
    remember("period_days", (first, last))
    remember("period_hours", WHOLE_DAYS)
    reset_period()


def covering_hours(start: datetime, end: datetime) -> tuple[date, date, tuple[int, int]]:
    """The first day, last day and clock (as `hours_period` takes them) of the whole UTC hours that
    cover [start, end): at least one hour."""
    first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    last = end.astimezone(UTC)
    if last.replace(minute=0, second=0, microsecond=0) != last:
        last = last.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    last = max(last, first + timedelta(hours=1))
    final_day = (last - timedelta(hours=1)).date()
    until = int((last - datetime.combine(final_day, time(), UTC)).total_seconds() // 3600)
    return first.date(), final_day, (first.hour, until)


def show_hours(start: datetime, end: datetime) -> None:
    """Make the whole hours covering [start, end) the chosen period (a brushed histogram's interval)."""
    first, last, clock = covering_hours(start, end)
    show_days(first, last)
    remember("period_hours", clock)


def empty_period_hint(session: Session, view: str = "deliveries") -> bool:
    """Nothing in the chosen period: say where the newest visible data is and offer its week in one click
    (False, and nothing shown, when this user may see no data at all)."""
    latest = session.cached(f"newest_{view}", None, lambda: newest(session.warehouse, view), seconds=60)
    if latest is None:
        return False
    last = latest.date()
    first = last - timedelta(days=6)
    st.info(session.t("period.newest", ts=moment(latest, session.language, session.zone)))
    if st.button(
        session.t("period.show_days", first=first.isoformat(), last=last.isoformat()),
        icon=":material/history:",
        key=f"show_newest_{view}",
    ):
        show_days(first, last)
        st.rerun(scope="app")  # the picker may be outside the fragment this button is in
    return True


def _hour(hour: int) -> str:
    return f"{hour:02d}:00"
