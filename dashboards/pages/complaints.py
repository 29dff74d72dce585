"""Complaints: feedback-loop reports about the person's traffic: counts and rates per 1,000 delivered by
sender, domain, SASL login, provider or gateway, the list of reports and the detail of one, with a link to
the message it is about. Report fields are attacker-controlled: only table cells, never Markdown."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import streamlit as st

from dashboards import formats
from dashboards.auth import BY_ID, guard
from dashboards.filters import period_picker, plain
from warehouse import COMPLAINT_GROUPS, complaint_detail, complaint_list, complaint_rates, complaint_totals

session = guard("complaints")
t = session.t
st.title(t("complaints.title"))
period = period_picker(session)
totals = complaint_totals(session.warehouse, period)
cells = st.columns(3)
cells[0].metric(t("complaints.count"), formats.number(totals["complaints"], session.language))
cells[1].metric(
    t("complaints.per_thousand"),
    "-" if totals["per_thousand"] is None else formats.number(totals["per_thousand"], session.language, digits=3),
)
cells[2].metric(t("complaints.not_spam"), formats.number(totals["not_spam"], session.language))
st.caption(t("complaints.help"))
reports = complaint_list(session.warehouse, period)
if not reports.height:
    st.info(t("common.no_data"))
    st.stop()

GROUP_TITLES = {
    "gateway": t("col.gateway"),
    "sender": t("col.sender"),
    "sender_domain": t("col.sender_domain"),
    "sasl_username": t("col.sasl_username"),
    "provider": t("col.provider"),
}
by = st.segmented_control(
    t("complaints.group_by"),
    COMPLAINT_GROUPS,
    default="sender",
    required=True,
    format_func=GROUP_TITLES.__getitem__,
    key="complaints_by",
)
st.dataframe(
    formats.styled(complaint_rates(session.warehouse, period, by=str(by)), session.language),
    hide_index=True,
    key="complaints_rates",
    column_config={
        str(by): GROUP_TITLES[str(by)],
        "complaints": t("complaints.count"),
        "not_spam": t("complaints.not_spam"),
        "delivered": t("status.sent"),
        "per_thousand": t("complaints.per_thousand"),
    },
)

st.subheader(t("complaints.reports"))
selection = st.dataframe(
    formats.in_zone(reports, session.zone),
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="complaints_list",
    column_order=[c for c in reports.columns if c not in ("report_id", "message_key")],
    column_config={
        "arrival_ts": st.column_config.DatetimeColumn(
            t("tz.time", zone=session.zone.key),
            format=formats.grid_minutes(session.language),
            timezone=session.zone.key,
        ),
        "feedback_type": t("complaints.feedback_type"),
        "counted": t("complaints.counted"),
        "provider": t("col.provider"),
        "gateway": t("col.gateway"),
        "sender": t("col.sender"),
        "sasl_username": t("col.sasl_username"),
        "recipient": t("col.recipient"),
        "linked_by": t("complaints.linked_by"),
        "reported_subject": t("complaints.subject"),
        "mailbox": t("complaints.mailbox"),
    },
)
chosen = selection.selection.rows if selection is not None else []
if not chosen or chosen[0] >= reports.height:
    st.caption(t("complaints.select_hint"))
    st.stop()
detail = complaint_detail(session.warehouse, reports["report_id"][chosen[0]])
if detail is None:
    st.stop()
st.subheader(t("complaints.detail"))
fields = [
    (
        name,
        ""
        if value is None
        else ", ".join(map(str, value))
        if isinstance(value, list)
        else formats.instant(value, session.language, session.zone, seconds=True)
        if isinstance(value, datetime)
        else str(value),
    )
    for name, value in detail.items()
    if name not in ("day",)
]
st.dataframe(
    pl.DataFrame(fields, schema=["field", "value"], orient="row"),
    hide_index=True,
    key="complaints_detail",
    column_config={"field": t("complaints.field"), "value": t("complaints.value")},
)
if detail["message_key"]:
    if st.button(
        t("logs.open_message", queue_id=plain(detail["queue_id"] or "?")),
        icon=":material/mail:",
        key="complaints_open",
        type="primary",
    ):
        st.switch_page(BY_ID["message"].path, query_params={"key": detail["message_key"]})
else:
    st.caption(t("complaints.unlinked"))
