"""Altair charts and table styling shared by the pages (interactive Vega-Lite: tooltips, zoom, legend).

Chart data are counts and codes from the warehouse; tooltips and tables show text as text.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import polars as pl

STATUS_COLOURS = {"sent": "#2e7d32", "deferred": "#f9a825", "bounced": "#c62828", "expired": "#6a1b9a"}
QUALIFICATION_COLOURS = {"success": "#2e7d32", "soft": "#f9a825", "hard": "#c62828", "unknown": "#757575"}
LEVEL_COLOURS = {"ok": "#e8f5e9", "warn": "#fff3e0", "critical": "#ffebee"}


def _scale(colours: dict[str, str]) -> alt.Scale:
    return alt.Scale(domain=list(colours), range=list(colours.values()))


def stacked_bars(frame: pl.DataFrame, *, x: str, y: str, colour: str, x_title: str, y_title: str,
                 colours: dict[str, str] | None = None, height: int = 260) -> alt.Chart:
    """Counts over time stacked by a category (status, qualification, reason...)."""
    scale = _scale(colours) if colours else alt.Scale(scheme="tableau20")
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:T", title=x_title),
            y=alt.Y(f"sum({y}):Q", title=y_title),
            color=alt.Color(f"{colour}:N", scale=scale, title=None),
            tooltip=[alt.Tooltip(f"{x}:T", format="%Y-%m-%d %H:%M"), f"{colour}:N", alt.Tooltip(f"{y}:Q")],
        )
        .properties(height=height)
        .interactive(bind_y=False)
    )


def rate_lines(frame: pl.DataFrame, *, x: str, y: str, colour: str, x_title: str, y_title: str,
               warn: float | None = None, critical: float | None = None, height: int = 260) -> alt.LayerChart:
    """A percentage over time per category, with optional threshold rules."""
    lines = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:T", title=x_title),
            y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(domain=[0, 100])),
            color=alt.Color(f"{colour}:N", title=None),
            tooltip=[alt.Tooltip(f"{x}:T", format="%Y-%m-%d %H:%M"), f"{colour}:N", alt.Tooltip(f"{y}:Q")],
        )
    )
    layers: list[alt.Chart] = [lines]
    for value, tint in ((warn, "#ef6c00"), (critical, "#c62828")):
        if value is not None:
            layers.append(alt.Chart(pd.DataFrame({"v": [value]})).mark_rule(strokeDash=[4, 4], color=tint)
                          .encode(y="v:Q"))
    return alt.layer(*layers).properties(height=height).interactive(bind_y=False)


def reasons_by(frame: pl.DataFrame, *, category: str, reason: str, value: str, x_title: str,
               y_title: str) -> alt.Chart:
    """Horizontal bars per category (provider), split by reason (top reasons per provider)."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", title=y_title, sort="-x", axis=alt.Axis(labelOverlap=False)),
            x=alt.X(f"sum({value}):Q", title=x_title),
            color=alt.Color(f"{reason}:N", scale=alt.Scale(scheme="tableau20"), title=None),
            tooltip=[f"{category}:N", f"{reason}:N", f"{value}:Q"],
        )
        .properties(height=max(160, 28 * frame[category].n_unique()))
    )


def level(rate: float | None, warn: float, critical: float) -> str:
    """ok, warn or critical for an error rate in percent."""
    if rate is None or rate < warn:
        return "ok"
    return "warn" if rate < critical else "critical"


def coloured(frame: pl.DataFrame, column: str, warn: float, critical: float) -> pd.io.formats.style.Styler:
    """A table whose `column` (a rate in percent) is tinted by threshold, for st.dataframe."""
    table = frame.to_pandas()

    def tint(value: object) -> str:
        rate = None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]
        return f"background-color: {LEVEL_COLOURS[level(rate, warn, critical)]}"

    return table.style.map(tint, subset=[column]).format({column: "{:.2f} %"}, na_rep="")


def flagged(frame: pl.DataFrame, columns: list[str]) -> pd.io.formats.style.Styler:
    """A table whose reason-count `columns` are tinted wherever they are not zero."""
    table = frame.to_pandas()

    def tint(value: object) -> str:
        return f"background-color: {LEVEL_COLOURS['warn']}" if value and not pd.isna(value) else ""

    rates = [c for c in table.columns if c.endswith("_rate")]
    return table.style.map(tint, subset=columns).format({c: "{:.2f} %" for c in rates}, na_rep="")
