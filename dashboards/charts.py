"""Altair charts and table styling shared by the pages (interactive Vega-Lite: tooltips, zoom, legend).

Chart data are counts and codes from the warehouse; tooltips and tables show text as text.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import polars as pl

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


def _scale(colours: dict[str, str]) -> alt.Scale:
    return alt.Scale(domain=list(colours), range=list(colours.values()))


def stacked_bars(
    frame: pl.DataFrame,
    *,
    x: str,
    y: str,
    colour: str,
    x_title: str,
    y_title: str,
    colours: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    height: int = 260,
) -> alt.Chart:
    """Counts over time stacked by a category (status, qualification, reason...); `labels` names the
    categories in the person's language in the legend and tooltips (the colours stay those of the codes)."""
    present = set(frame[colour].to_list()) if colour in frame.columns else set()
    shown = {k: v for k, v in (colours or {}).items() if k in present}  # the legend lists what is drawn
    if labels:
        frame = frame.with_columns(pl.col(colour).replace(labels))
        shown = {labels.get(k, k): v for k, v in shown.items()}
    scale = _scale(shown) if shown else alt.Scale(scheme="tableau20")
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


def rate_lines(
    frame: pl.DataFrame,
    *,
    x: str,
    y: str,
    colour: str,
    x_title: str,
    y_title: str,
    warn: float | None = None,
    critical: float | None = None,
    height: int = 260,
) -> alt.LayerChart:
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
            layers.append(
                alt.Chart(pd.DataFrame({"v": [value]})).mark_rule(strokeDash=[4, 4], color=tint).encode(y="v:Q")
            )
    return alt.layer(*layers).properties(height=height).interactive(bind_y=False)


def reasons_by(frame: pl.DataFrame, *, category: str, reason: str, value: str, x_title: str, y_title: str) -> alt.Chart:
    """Horizontal bars per category (provider), split by reason (top reasons per provider)."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", title=y_title, sort="-x", axis=alt.Axis(labelOverlap=False)),
            x=alt.X(f"sum({value}):Q", title=x_title),
            color=alt.Color(f"{reason}:N", scale=_scale(REASON_COLOURS), title=None),
            tooltip=[f"{category}:N", f"{reason}:N", f"{value}:Q"],
        )
        .properties(height=max(160, 28 * frame[category].n_unique()))
    )


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


def coloured(frame: pl.DataFrame, column: str, warn: float, critical: float) -> pd.io.formats.style.Styler:
    """A table whose `column` (a rate in percent) is tinted by threshold, for st.dataframe; rows with
    attempts but nothing sent (`sent` and `attempts` columns) are tinted critical."""
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

    return table.style.apply(tints, subset=[column]).format({column: "{:.2f} %"}, na_rep="")


def flagged(frame: pl.DataFrame, columns: list[str]) -> pd.io.formats.style.Styler:
    """A table whose reason-count `columns` are tinted wherever they are not zero."""
    table = frame.to_pandas()

    def tint(value: object) -> str:
        return f"background-color: {LEVEL_COLOURS['warn']}" if value and not pd.isna(value) else ""

    rates = [c for c in table.columns if c.endswith("_rate")]
    return table.style.map(tint, subset=columns).format({c: "{:.2f} %" for c in rates}, na_rep="")
