"""Reputation: per gateway (its sending IP, for now) x receiving provider, the acceptance, deferral and
reject rates over time, with the reasons that point at the sender's standing (reputation, rate limits,
policy) counted and highlighted."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import charts
from dashboards.auth import guard
from dashboards.filters import period_picker
from warehouse import HIGHLIGHTED_REASONS, reputation

session = guard("reputation")
t = session.t
st.title(t("reputation.title"))
period = period_picker(session)
data = reputation(session.warehouse, period)
if not data.table.height:
    st.info(t("common.no_data"))
    st.stop()

st.caption(t("reputation.help"))
st.dataframe(
    charts.flagged(data.table, list(HIGHLIGHTED_REASONS), language=session.language),
    hide_index=True,
    key="reputation_table",
    column_config={
        "gateway": t("col.gateway"),
        "provider": t("col.provider"),
        "attempts": t("col.attempts"),
        "sent": t("status.sent"),
        "deferred": t("status.deferred"),
        "bounced": t("status.bounced"),
        "flagged": t("reputation.flagged"),
        "accepted_rate": t("reputation.accepted_rate"),
        "deferred_rate": t("reputation.deferred_rate"),
        "rejected_rate": t("reputation.rejected_rate"),
        **{r: t(f"reason.{r}") for r in HIGHLIGHTED_REASONS},
    },
)

gateway_names = data.table["gateway"].unique(maintain_order=True).to_list()
left, middle, right = st.columns([1, 2, 1])
gateway = left.selectbox(t("col.gateway"), gateway_names, key="reputation_gateway")
of_gateway = data.table.filter(pl.col("gateway") == gateway)
providers = middle.multiselect(
    t("col.provider"),
    of_gateway["provider"].to_list(),
    default=of_gateway["provider"].head(5).to_list(),
    key="reputation_providers",
)
metric = right.selectbox(
    t("reputation.rate"),
    ("accepted_rate", "deferred_rate", "rejected_rate"),
    format_func=lambda m: t(f"reputation.{m}"),
    key="reputation_metric",
)
series = data.timeline.filter((pl.col("gateway") == gateway) & pl.col("provider").is_in(providers))
if series.height:
    st.altair_chart(
        charts.rate_lines(
            series,
            x="bucket",
            y=str(metric),
            colour="provider",
            x_title=t("tz.time", zone=session.zone.key),
            y_title=t(f"reputation.{metric}"),
            language=session.language,
            zone=session.zone,
        ),
        width="stretch",
    )
    st.subheader(t("reputation.flagged_over_time"))
    st.altair_chart(
        charts.stacked_bars(
            series.filter(pl.col("flagged") > 0),
            x="bucket",
            y="flagged",
            colour="provider",
            x_title=t("tz.time", zone=session.zone.key),
            y_title=t("reputation.flagged"),
            language=session.language,
            zone=session.zone,
            height=200,
        ),
        width="stretch",
    )
