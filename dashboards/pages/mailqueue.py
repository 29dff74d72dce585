"""Queue: the newest `postqueue -j` snapshot of each gateway (messages, age, size, delay reasons
grouped) and the queue size over time, from the warehouse's `queue` and `queue_snapshots` views."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards.auth import guard
from dashboards.filters import period_picker
from warehouse import queue

session = guard("queue")
t = session.t
st.title(t("queue.title"))
period = period_picker(session, default="24h")
data = queue(session.warehouse, period)
if not data.summary.height and not data.history.height:
    st.info(t("queue.no_snapshots"))
    st.stop()
if not data.summary.height:
    st.success(t("queue.empty"))

HOURS = st.column_config.NumberColumn(format="%.1f h")
st.dataframe(
    data.summary,
    hide_index=True,
    key="queue_summary",
    column_config={
        "gateway": t("col.gateway"),
        "snapshot_ts": st.column_config.DatetimeColumn(t("queue.snapshot"), format="YYYY-MM-DD HH:mm", timezone="UTC"),
        "messages": t("col.messages"),
        "recipients": t("message.recipients"),
        "bytes": st.column_config.NumberColumn(t("message.size"), format="bytes"),
        "oldest_hours": st.column_config.NumberColumn(t("queue.oldest"), format="%.1f h"),
    },
)
if data.history.height:
    st.subheader(t("queue.size_over_time"))
    st.altair_chart(
        alt.Chart(data.history)
        .mark_line(point=True)
        .encode(
            x=alt.X("snapshot_ts:T", title=t("col.time_utc")),
            y=alt.Y("messages:Q", title=t("col.messages")),
            color=alt.Color("gateway:N", title=None),
            tooltip=["snapshot_ts:T", "gateway:N", "messages:Q"],
        )
        .properties(height=220)
        .interactive(bind_y=False),
        width="stretch",
    )
st.subheader(t("queue.reasons"))
st.dataframe(
    data.reasons,
    hide_index=True,
    key="queue_reasons",
    column_config={
        "gateway": t("col.gateway"),
        "recipients": t("message.recipients"),
        "reason": st.column_config.TextColumn(t("col.response"), width="large"),
    },
)
st.subheader(t("queue.messages"))
st.dataframe(
    data.messages,
    hide_index=True,
    key="queue_messages",
    column_config={
        "gateway": t("col.gateway"),
        "queue_name": t("queue.queue_name"),
        "queue_id": t("col.queue_id"),
        "arrival_time": st.column_config.DatetimeColumn(t("queue.arrival"), format="YYYY-MM-DD HH:mm", timezone="UTC"),
        "age_hours": HOURS,
        "message_size": t("message.size"),
        "sender": t("col.sender"),
        "recipients": t("message.recipients"),
        "delay_reasons": t("col.response"),
    },
)
