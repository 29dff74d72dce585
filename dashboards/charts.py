"""Altair charts and table styling shared by the pages (interactive Vega-Lite: tooltips, zoom, legend).

Chart data are counts and codes from the warehouse; tooltips and tables show text as text. Time axes are
drawn on a UTC scale of the wall-clock times in the person's zone (formats.wall_clock), so a chart reads
in that zone whatever the browser's.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import polars as pl

from dashboards.formats import styled, time_axis, time_tooltip, vega_locale, wall_clock
from dashboards.i18n import STRINGS, translate
from warehouse import REASONS

_PALETTE = (
    "#4c78a8",
    "#f58518",
    "#e45756",
    "#72b7b2",
    "#54a24b",
    "#eeca3b",
    "#b279a2",
    "#ff9da6",
    "#9d755d",
    "#bab0ac",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
STATUS_COLOURS = {"sent": "#2e7d32", "deferred": "#f9a825", "bounced": "#c62828", "expired": "#6a1b9a"}
QUALIFICATION_COLOURS = {"success": "#2e7d32", "soft": "#f9a825", "hard": "#c62828", "unknown": "#757575"}
# One colour per reason in every chart (delivered green, the rest from a fixed palette in taxonomy order).
REASON_COLOURS = {
    "delivered": "#2e7d32",
    **{r: _PALETTE[i % len(_PALETTE)] for i, r in enumerate(r for r in REASONS if r != "delivered")},
}
LEVEL_COLOURS = {"ok": "#e8f5e9", "warn": "#fff3e0", "critical": "#ffebee", "none": "#f5f5f5"}
_FIXED = {"status": STATUS_COLOURS, "qualification": QUALIFICATION_COLOURS, "reason": REASON_COLOURS}


def palette(field: str) -> dict[str, str] | None:
    """The one colour of each code of `field` (status, qualification, reason) used by every chart of the
    app, so "deferred" or "rate_limited" looks the same everywhere; None for open sets (providers)."""
    return _FIXED.get(field)


def label(field: str, code: str, language: str) -> str:
    """A status, qualification or reason code as the legend names it in `language`."""
    key = f"{field}.{code}"
    return translate(key, language) if key in STRINGS else code


def named(frame: pl.DataFrame, language: str, fields: tuple[str, ...] = tuple(_FIXED)) -> pl.DataFrame:
    """The frame with its status, qualification and reason codes written as the legends name them, for a
    table (exports and links keep the codes)."""
    return frame.with_columns(
        pl.col(f).replace({c: label(f, c, language) for c in _FIXED[f]}) for f in fields if f in frame.columns
    )


def _coloured(frame: pl.DataFrame, field: str, language: str) -> tuple[pl.DataFrame, alt.Color]:
    """The frame with its `field` codes named in `language`, and the colour channel: the app's palette
    for those codes (only those drawn, in taxonomy order) and a legend above the chart, wrapped, never clipped."""
    legend = alt.Legend(orient="top", direction="horizontal", columns=6, labelLimit=0, symbolLimit=0, title=None)
    colours = palette(field)
    if colours is None:
        return frame, alt.Color(f"{field}:N", legend=legend, title=None)
    present = set(frame[field].to_list()) if field in frame.columns else set()
    names = {code: label(field, code, language) for code in colours if code in present}
    frame = frame.with_columns(pl.col(field).replace(names)) if names else frame
    scale = alt.Scale(domain=list(names.values()), range=[colours[c] for c in names])
    return frame, alt.Color(f"{field}:N", scale=scale, legend=legend, title=None)


UTC_MINUTE = "utcyearmonthdatehoursminutes"  # a tooltip's time unit: read (and written) as UTC, to the minute


def _time(x: str, title: str, language: str) -> alt.X:
    axis = alt.Axis(format=time_axis(language), labelOverlap=True)
    return alt.X(f"{x}:T", title=title, axis=axis, scale=alt.Scale(type="utc"))


def _tooltip(x: str, field: str, y: str, language: str) -> list[alt.Tooltip]:
    when = alt.Tooltip(f"{x}:T", timeUnit=UTC_MINUTE, format=time_tooltip(language))
    return [when, alt.Tooltip(f"{field}:N"), alt.Tooltip(f"{y}:Q")]


def zoned(frame: pl.DataFrame, x: str, zone: ZoneInfo | None) -> pl.DataFrame:
    """The chart frame with its time column `x` as wall-clock times of `zone` (UTC when none)."""
    return wall_clock(frame, x, zone or ZoneInfo("UTC"))


def localised(chart: alt.TopLevelMixin, language: str) -> alt.TopLevelMixin:
    """The chart in `language`: Vega's number and time locale (month and day names, decimal comma...)
    in its config, which Streamlit passes to Vega as it is (it drops embed options other than the renderer)."""
    return chart.configure(locale=vega_locale(language))


def stacked_bars(
    frame: pl.DataFrame,
    *,
    x: str,
    y: str,
    colour: str,
    x_title: str,
    y_title: str,
    language: str,
    height: int = 320,
    zone: ZoneInfo | None = None,
    brush: str | None = None,
) -> alt.Chart:
    """Counts over time stacked by a category (status, qualification, reason, provider), in `language`
    (legend, axis and tooltips) and in `zone` (UTC when none), the categories coloured by the app's palette.
    Dragging zooms the time axis, or, with `brush`, draws an interval selection of that name over time
    (the page reads it back from `st.altair_chart(on_select=...)`: wall-clock times of `zone`)."""
    frame, channel = _coloured(zoned(frame, x, zone), colour, language)
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=_time(x, x_title, language),
            y=alt.Y(f"sum({y}):Q", title=y_title, axis=alt.Axis(tickMinStep=1)),  # counts: no 0,5 tick
            color=channel,
            tooltip=_tooltip(x, colour, y, language),
        )
        .properties(height=height)
    )
    if brush is None:
        chart = chart.interactive(bind_y=False)
    else:
        chart = chart.add_params(alt.selection_interval(name=brush, encodings=["x"]))
    return localised(chart, language)


def rate_lines(
    frame: pl.DataFrame,
    *,
    x: str,
    y: str,
    colour: str,
    x_title: str,
    y_title: str,
    language: str,
    warn: float | None = None,
    critical: float | None = None,
    height: int = 320,
    zone: ZoneInfo | None = None,
) -> alt.LayerChart:
    """A percentage over time per category, with optional threshold rules, in `language` and `zone`."""
    frame, channel = _coloured(zoned(frame, x, zone), colour, language)
    lines = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=_time(x, x_title, language),
            y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(domain=[0, 100])),
            color=channel,
            tooltip=_tooltip(x, colour, y, language),
        )
    )
    layers: list[alt.Chart] = [lines]
    for value, tint in ((warn, "#ef6c00"), (critical, "#c62828")):
        if value is not None:
            layers.append(
                alt.Chart(pd.DataFrame({"v": [value]})).mark_rule(strokeDash=[4, 4], color=tint).encode(y="v:Q")
            )
    return localised(alt.layer(*layers).properties(height=height).interactive(bind_y=False), language)


def reasons_by(
    frame: pl.DataFrame, *, category: str, reason: str, value: str, x_title: str, y_title: str, language: str
) -> alt.Chart:
    """Horizontal bars per category (provider), split by reason (top reasons per provider)."""
    frame, channel = _coloured(frame, reason, language)
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", title=y_title, sort="-x", axis=alt.Axis(labelOverlap=False)),
            x=alt.X(f"sum({value}):Q", title=x_title, axis=alt.Axis(tickMinStep=1)),  # counts: no 0,05 tick
            color=channel,
            tooltip=[f"{category}:N", f"{reason}:N", f"{value}:Q"],
        )
        # 28 px per bar; only the width is fitted to the page (Streamlit's default "fit" squeezed the bars
        # into what the legend and axes left of the height: 10 providers drew 5 px apart)
        .properties(
            height=max(160, 28 * frame[category].n_unique()),
            autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
        )
    )
    return localised(chart, language)


def level(rate: float | None, warn: float, critical: float, *, undelivered: bool = False) -> str:
    """none (no data), ok, warn or critical for an error rate in percent; critical whatever the rate when
    there were attempts and none was delivered (all deferred is not a 0 % error rate to be happy with)."""
    if rate is None:
        return "none"
    if undelivered:
        return "critical"
    if rate < warn:
        return "ok"
    return "warn" if rate < critical else "critical"


def coloured(
    frame: pl.DataFrame, column: str, warn: float, critical: float, *, language: str
) -> pd.io.formats.style.Styler:
    """A table whose `column` (a rate in percent) is tinted by threshold, for st.dataframe; rows with
    attempts but nothing sent (`sent` and `attempts` columns) are tinted critical; figures in `language`."""
    table = frame.to_pandas()
    nothing_sent = (
        (table["sent"] == 0) & (table["attempts"] > 0)
        if {"sent", "attempts"} <= set(table.columns)
        else pd.Series(False, index=table.index)
    )

    def tints(rates: pd.Series) -> list[str]:
        levels = (
            level(None if pd.isna(rate) else float(rate), warn, critical, undelivered=bool(nothing_sent[i]))
            for i, rate in rates.items()
        )
        return [f"background-color: {LEVEL_COLOURS[name]}" for name in levels]

    return styled(table, language, percents=[column], styler=table.style.apply(tints, subset=[column]))


def flagged(frame: pl.DataFrame, columns: list[str], *, language: str) -> pd.io.formats.style.Styler:
    """A table whose reason-count `columns` are tinted wherever they are not zero; figures in `language`."""
    table = frame.to_pandas()

    def tint(value: object) -> str:
        return f"background-color: {LEVEL_COLOURS['warn']}" if value and not pd.isna(value) else ""

    rates = [c for c in table.columns if c.endswith("_rate")]
    return styled(table, language, percents=rates, styler=table.style.map(tint, subset=columns))
