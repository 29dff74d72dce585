"""The Logs' choices in the URL (`st.query_params`), so a filtered view can be shared or bookmarked.

The URL holds the period (`period=24h` or `days=2026-11-19,2026-11-26`, with `hours=8,18` for a custom
period from 08:00 on its first day to 18:00 on its last), the text filters, the list
filters (repeated keys: `status=sent&status=deferred`), the sort, the order and the kind (attempts or
rejects). A URL this browser session did not write itself (a shared link, a drill-down, a new tab) becomes
the page's choices; otherwise the widgets are newer than the URL, which is then rewritten from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import streamlit as st

from dashboards.filters import PRESETS, WHOLE_DAYS, remember, reset_period

TEXTS = ("sender", "recipient", "recipient_domain", "sasl_username", "queue_id", "message_id", "text")
LISTS = {"statuses": "status", "qualifications": "qualification", "reasons": "reason", "gateways": "gateway"}
KINDS = ("attempts", "rejects")
KEYS = frozenset({*TEXTS, *LISTS.values(), "period", "days", "hours", "sort", "order", "kind"})  # all the URL holds
_WRITTEN = "rw_logs_url"


def _query() -> dict[str, list[str]]:
    return {name: st.query_params.get_all(name) for name in st.query_params}


def _days(text: str) -> tuple[date, date] | None:
    try:
        first, last = (date.fromisoformat(part.strip()) for part in text.split(","))
    except ValueError:
        return None
    return min(first, last), max(first, last)


def _hours(text: str) -> tuple[int, int]:
    """`from,to` hours of a custom period (0-23, 1-24); whole days when absent or wrong."""
    try:
        since, until = (int(part) for part in text.split(","))
    except ValueError:
        return WHOLE_DAYS
    return (since, until) if 0 <= since <= 23 and 1 <= until <= 24 else WHOLE_DAYS


def _adopt(key: str, value: object) -> None:
    """A remembered choice from the URL; the widget holding the old one starts again from it."""
    remember(key, value)
    st.session_state.pop(key, None)


def read(query: Mapping[str, Sequence[str]]) -> dict[str, object]:
    """The Logs' choices a URL query holds, by the name each is remembered under: every filter (a URL
    sets them all), and the period, sort, order and kind when the URL has a readable one."""
    choices: dict[str, object] = {f"lf_{field}": (query.get(field) or [""])[0] for field in TEXTS}
    choices |= {f"lf_{field}": tuple(query.get(name, ())) for field, name in LISTS.items()}
    days = _days((query.get("days") or [""])[0])
    preset = (query.get("period") or [""])[0]
    if days is not None:
        choices |= {
            "period_preset": "custom",
            "period_days": days,
            "period_hours": _hours((query.get("hours") or [""])[0]),
        }
    elif preset in PRESETS and preset != "custom":
        choices["period_preset"] = preset
    if query.get("sort"):
        choices["logs_sort"] = query["sort"][0]
    if query.get("order"):
        choices["logs_desc"] = query["order"][0] != "asc"
    if query.get("kind"):
        choices["logs_kind"] = query["kind"][0]
    return choices


def adopt() -> None:
    """Make a URL this session did not write the Logs' choices (an empty URL keeps them)."""
    query = _query()
    if not query or query == st.session_state.get(_WRITTEN):
        return
    choices = read(query)
    for key, value in choices.items():  # the period's widgets start again from it through reset_period
        (remember if key.startswith("period_") else _adopt)(key, value)
    if "period_preset" in choices:
        reset_period()
    st.session_state[_WRITTEN] = query


def logs_query(
    values: Mapping[str, object],
    *,
    preset: str,
    days: tuple[date, date] | None,
    sort: str = "ts",
    descending: bool = True,
    kind: str = "attempts",
    hours: tuple[int, int] = WHOLE_DAYS,
) -> dict[str, list[str]]:
    """The URL query of these Logs choices (empty filters left out)."""
    query: dict[str, list[str]] = {}
    if preset == "custom" and days is not None:
        query["days"] = [f"{days[0].isoformat()},{days[1].isoformat()}"]
        if hours != WHOLE_DAYS:
            query["hours"] = [f"{hours[0]},{hours[1]}"]
    else:
        query["period"] = [preset]
    for field in TEXTS:
        if str(values.get(field) or "").strip():
            query[field] = [str(values[field])]
    for field, name in LISTS.items():
        chosen = [str(v) for v in values.get(field) or ()]  # type: ignore[attr-defined]
        if chosen:
            query[name] = chosen
    if sort != "ts":
        query["sort"] = [sort]
    if not descending:
        query["order"] = ["asc"]
    if kind != "attempts":
        query["kind"] = [kind]
    return query


def publish(query: dict[str, list[str]]) -> None:
    """Write the page's choices into the URL (and remember that this session wrote it)."""
    st.session_state[_WRITTEN] = query
    if _query() != query:
        st.query_params.from_dict(query)
