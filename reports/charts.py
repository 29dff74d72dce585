"""The report's charts, drawn on the server (altair -> Vega-Lite -> PNG with vl-convert): mail clients
run no script, so each chart travels as an inline PNG referenced by Content-ID."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import altair as alt
import polars as pl
import vl_convert

from reports.i18n import Words
from warehouse import Period

COLOURS = {"sent": "#2e7d32", "deferred": "#f9a825", "bounced": "#c62828", "expired": "#6a1b9a"}
WIDTH = 540


def _png(chart: alt.TopLevelMixin) -> bytes:
    return vl_convert.vegalite_to_png(chart.to_json(), scale=2)


def _slots(period: Period) -> list[datetime]:
    """Every bucket start of the period (UTC, naive like the query's buckets), so empty hours show."""
    step = timedelta(minutes=period.bucket_minutes)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    first = epoch + step * ((period.start - epoch) // step)
    slots = []
    while first < period.end:
        slots.append(first.replace(tzinfo=None))
        first += step
    return slots


def timeline_png(timeline: pl.DataFrame, words: Words, zone: ZoneInfo, period: Period) -> bytes | None:
    """Stacked bars of attempts per time bucket and outcome (None when the period has none)."""
    if timeline.is_empty():
        return None
    minutes = period.bucket_minutes
    frame = timeline.with_columns(
        label=pl.col("bucket").map_elements(lambda b: words.bucket(b, zone, minutes), return_dtype=pl.String),
        outcome=pl.col("status").map_elements(
            lambda s: words(f"status.{s}") if s in COLOURS else s, return_dtype=pl.String
        ),
    )
    order = list(dict.fromkeys(words.bucket(slot, zone, minutes) for slot in _slots(period)))
    statuses = [s for s in COLOURS if s in set(frame["status"])]
    chart = (
        alt.Chart(frame.to_pandas())
        .mark_bar()
        .encode(
            x=alt.X("label:N", sort=order, title=None, axis=alt.Axis(labelAngle=-45, labelOverlap=True)),
            y=alt.Y("sum(attempts):Q", title=words("attempts")),
            color=alt.Color(
                "outcome:N",
                title=None,
                scale=alt.Scale(domain=[words(f"status.{s}") for s in statuses], range=[COLOURS[s] for s in statuses]),
                legend=alt.Legend(orient="top"),
            ),
        )
        .properties(width=WIDTH, height=180)
    )
    return _png(chart)


def reasons_png(reasons: pl.DataFrame, words: Words) -> bytes | None:
    """Horizontal bars of failures per reason (None when nothing failed)."""
    if reasons.is_empty():
        return None
    chart = (
        alt.Chart(reasons.select("reason", "attempts").to_pandas())
        .mark_bar(color="#c62828")
        .encode(
            y=alt.Y("reason:N", sort="-x", title=None),
            x=alt.X("attempts:Q", title=words("failures"), axis=alt.Axis(format="d", tickMinStep=1)),
        )
        .properties(width=WIDTH - 120, height=max(60, 24 * reasons.height))
    )
    return _png(chart)
