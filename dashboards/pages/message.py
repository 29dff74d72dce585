"""Message detail: every event of one message in time order (received, each attempt with its retry
number, reply and classification rule, rejects, the non-delivery notice, expiry, removal), links to its
NDR or to the message it reports on, and its raw log lines as plain text."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import streamlit as st

from dashboards import charts, formats
from dashboards.auth import guard
from dashboards.filters import plain
from warehouse import find_messages, message_detail

session = guard("message")
t = session.t
zone = session.zone
st.title(t("message.title"))


def open_message(key: str) -> None:
    st.query_params["key"] = key
    st.session_state.pop("message_found", None)
    st.rerun()


with st.form("message_search"):
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    search = left.text_input(t("message.search"), key="message_search", help=t("message.search_help"))
    find = right.form_submit_button(t("message.find"), icon=":material/search:", key="message_find")
    if find and (search or "").strip():
        found = find_messages(session.warehouse, search or "")
        if found.height == 1:
            open_message(found["message_key"][0])
        st.session_state["message_found"] = found

found = st.session_state.get("message_found")
if isinstance(found, pl.DataFrame):
    if not found.height:
        st.warning(t("message.not_found"))
    else:
        st.caption(t("message.several"))
        picked = st.dataframe(
            formats.in_zone(found, zone),
            hide_index=True,
            on_select="rerun",
            selection_mode="single-row",
            key="message_choices",
            column_config={
                "first_ts": st.column_config.DatetimeColumn(
                    t("tz.time", zone=zone.key), format="YYYY-MM-DD HH:mm:ss", timezone=zone.key
                )
            },
        )
        if picked is not None and picked.selection.rows:
            open_message(found["message_key"][picked.selection.rows[0]])

key = st.query_params.get("key", "")
if not key:
    st.info(t("message.how"))
    st.stop()

detail = message_detail(session.warehouse, key)
message = detail.message
if message is None:
    st.warning(t("message.not_found"))
    st.stop()


def seen(value: object) -> object:
    """A time of the message as text in the person's zone (the zone named)."""
    return formats.moment(value, session.language, zone, seconds=True) if isinstance(value, datetime) else value


st.subheader(t("message.header", queue_id=plain(message["queue_id"]), gateway=plain(message["gateway"])))
facts = [
    (t("col.sender"), message.get("sender") or "<>"),
    (t("col.message_id"), message.get("message_id")),
    (t("col.sasl_username"), message.get("sasl_username")),
    (t("message.client"), f"{message.get('client_host') or ''} [{message.get('client_ip') or ''}]"),
    (t("message.size"), message.get("size")),
    (t("message.recipients"), message.get("recipient_count")),
    (t("message.first_seen"), seen(message.get("first_ts"))),
    (t("message.last_seen"), seen(message.get("last_ts"))),
    (t("message.final_status"), charts.label("status", message.get("final_status") or "", session.language)),
    (t("message.key"), message.get("message_key")),
]
st.dataframe(
    pl.DataFrame({"field": [f for f, _ in facts], "value": ["" if v is None else str(v) for _, v in facts]}),
    hide_index=True,
    column_config={"field": t("message.field"), "value": t("message.value")},
    key="message_facts",
)

links = st.columns(2)
ndr_key, original_key = message.get("ndr_key"), message.get("ndr_of")
ndr_label = t("message.open_ndr", queue_id=plain(message.get("ndr_queue_id") or ""))
if ndr_key in detail.linked and links[0].button(ndr_label, icon=":material/undo:", key="message_ndr"):
    open_message(ndr_key)
elif message.get("ndr_queue_id") and ndr_key not in detail.linked:
    links[0].caption(t("message.ndr_sent", queue_id=plain(message["ndr_queue_id"])))
if original_key in detail.linked and links[1].button(
    t("message.open_original"), icon=":material/redo:", key="message_original"
):
    open_message(original_key)

st.subheader(t("message.timeline"))
st.dataframe(
    charts.named(formats.in_zone(detail.timeline, zone), session.language),
    hide_index=True,
    key="message_timeline",
    placeholder="",
    column_config={
        "ts": st.column_config.DatetimeColumn(
            t("tz.time", zone=zone.key), format="YYYY-MM-DD HH:mm:ss", timezone=zone.key
        ),
        "event": t("message.event"),
        "recipient": t("col.recipient"),
        "attempt": t("message.attempt"),
        "status": t("col.status"),
        "dsn": "DSN",
        "qualification": t("col.qualification"),
        "reason": t("col.reason"),
        "rule": t("col.rule"),
        "relay": t("col.relay"),
        "reply": st.column_config.TextColumn(t("col.response"), width="large"),
    },
)
if detail.attempts.height:
    st.subheader(t("message.per_recipient"))
    summary = detail.attempts.group_by("recipient", maintain_order=True).agg(
        attempts=pl.len(),
        last_status=pl.col("status").last(),
        qualification=pl.col("qualification").last(),
        reason=pl.col("reason").last(),
        rule=pl.col("rule").last(),
        suppressible=pl.col("suppressible").last(),
    )
    st.dataframe(
        charts.named(summary.rename({"last_status": "status"}), session.language).rename({"status": "last_status"}),
        hide_index=True,
        key="message_recipients",
        column_config={
            "recipient": t("col.recipient"),
            "attempts": t("col.attempts"),
            "last_status": t("col.status"),
            "qualification": t("col.qualification"),
            "reason": t("col.reason"),
            "rule": t("col.rule"),
            "suppressible": t("col.suppressible"),
        },
    )
st.subheader(t("message.raw_lines"))
if detail.lines.height:
    st.code("\n".join(detail.lines["line"].fill_null("").to_list()), language=None, wrap_lines=True)
else:
    st.caption(t("message.no_lines"))
