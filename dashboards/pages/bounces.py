"""Bounces: failed attempts by qualification and reason over time, the recipient domains and providers
that fail most, the top reasons per provider, and recipients refused as unknown again and again."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import charts, formats
from dashboards.auth import guard
from dashboards.filters import period_picker
from warehouse import bounces

session = guard("bounces")
t = session.t
st.title(t("bounces.title"))
period = period_picker(session)
data = bounces(session.warehouse, period)
if not data.timeline.height:
    st.info(t("common.no_data"))
    st.stop()

RATE = t("col.failure_rate")
COUNTS = {
    "attempts": t("col.attempts"),
    "failures": t("col.failures"),
    "hard": t("qualification.hard"),
    "failure_rate": RATE,
}

st.subheader(t("bounces.over_time"))
split = st.segmented_control(
    t("bounces.split_by"),
    ("qualification", "reason"),
    default="reason",
    required=True,
    format_func=lambda c: t(f"col.{c}"),
    key="bounces_split",
)
st.altair_chart(
    charts.stacked_bars(
        data.timeline,
        x="bucket",
        y="attempts",
        colour=str(split),
        x_title=t("tz.time", zone=session.zone.key),
        y_title=t("col.attempts"),
        language=session.language,
        zone=session.zone,
    ),
    width="stretch",
)
st.dataframe(
    formats.styled(
        charts.named(
            data.timeline.group_by("qualification", "reason")
            .agg(pl.col("attempts").sum())
            .sort("attempts", descending=True),
            session.language,
        ),
        session.language,
    ),
    hide_index=True,
    key="bounces_matrix",
    column_config={"qualification": t("col.qualification"), "reason": t("col.reason"), "attempts": t("col.attempts")},
)

left, right = st.columns(2)
with left:
    st.subheader(t("bounces.top_domains"))
    st.dataframe(
        formats.styled(data.domains, session.language, percents=["failure_rate"]),
        hide_index=True,
        key="bounces_domains",
        column_config={"recipient_domain": t("col.recipient_domain"), **COUNTS},
    )
with right:
    st.subheader(t("bounces.top_providers"))
    st.dataframe(
        formats.styled(data.providers, session.language, percents=["failure_rate"]),
        hide_index=True,
        key="bounces_providers",
        column_config={"provider": t("col.provider"), **COUNTS},
    )

st.subheader(t("bounces.provider_reasons"))
top = data.provider_reasons.sort("attempts", descending=True).group_by("provider", maintain_order=True).head(5)
st.altair_chart(
    charts.reasons_by(
        top,
        category="provider",
        reason="reason",
        value="attempts",
        x_title=t("col.attempts"),
        y_title=t("col.provider"),
        language=session.language,
    ),
    width="stretch",
)

st.subheader(t("bounces.unknown_recipients"))
st.caption(t("bounces.unknown_help"))
st.dataframe(
    formats.in_zone(data.unknown_recipients, session.zone),
    hide_index=True,
    key="bounces_unknown",
    column_config={
        "recipient": t("col.recipient"),
        "messages": t("col.messages"),
        "attempts": t("col.attempts"),
        "senders": t("col.senders"),
        "first_seen": st.column_config.DatetimeColumn(
            t("tz.titled", title=t("col.first_seen"), zone=session.zone.key),
            format=formats.grid_minutes(session.language),
            timezone=session.zone.key,
        ),
        "last_seen": st.column_config.DatetimeColumn(
            t("tz.titled", title=t("col.last_seen"), zone=session.zone.key),
            format=formats.grid_minutes(session.language),
            timezone=session.zone.key,
        ),
        "reply": st.column_config.TextColumn(t("col.response"), width="large"),
    },
)
