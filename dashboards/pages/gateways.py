"""Gateways (root and admin): each collector's state, lag, bytes behind, last error, queue size and last
queue snapshot, from the same status file as `relaywatch status` (ingest's public status API). An admin
sees the gateways granted to it only. Error texts come from remote systems: shown in table cells only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from dashboards import formats
from dashboards.auth import guard
from ingest import Gateway, lag_seconds, load_gateways, read_status

STATES = ("ok", "error", "stopped", "never")
session = guard("gateways")
t = session.t
st.title(t("gateways.title"))


def duration(seconds: float | None) -> str:
    """A lag as people read it: 42 s, 5 min, 3 h, 2 d."""
    if seconds is None:
        return t("gateways.never")
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def row(gateway: Gateway, entry: dict[str, Any], now: datetime) -> dict[str, object]:
    state = str(entry.get("state") or "never")
    return {
        "gateway": gateway.name,
        "state": t(f"gateways.state_{state}") if state in STATES else state,
        "where": gateway.target,
        "lag": duration(lag_seconds(entry, now)),
        "bytes_behind": entry.get("bytes_behind"),
        "last_line_at": formats.instant(entry.get("last_line_at"), session.language, session.zone),
        "lines_total": entry.get("lines_total", 0),
        "queue_messages": entry.get("queue_messages"),
        "queue_at": formats.instant(entry.get("queue_at"), session.language, session.zone),
        "last_error": entry.get("last_error") or "",
        "last_error_at": formats.instant(entry.get("last_error_at"), session.language, session.zone),
        "next_try_at": formats.instant(entry.get("next_try_at"), session.language, session.zone),
    }


registered = load_gateways(session.home)
visible = [g for name, g in sorted(registered.items()) if session.scope.everything or name in session.scope.gateways]
status = read_status(session.home)
if not visible:
    st.info(t("gateways.none"))
    st.stop()
now = datetime.now(UTC)
rows = [row(g, status.get(g.name, {}), now) for g in visible]
failing = [r["gateway"] for r in rows if r["last_error"] and r["state"] != t("gateways.state_ok")]
cells = st.columns(3)
cells[0].metric(t("gateways.count"), session.n(len(rows)))
cells[1].metric(t("gateways.failing"), session.n(len(failing)))
cells[2].metric(t("gateways.queued"), session.n(sum(int(r["queue_messages"] or 0) for r in rows)))
st.dataframe(
    rows,
    hide_index=True,
    key="gateways_status",
    column_config={
        "gateway": t("col.gateway"),
        "state": t("gateways.state"),
        "where": t("gateways.where"),
        "lag": t("gateways.lag"),
        "bytes_behind": st.column_config.NumberColumn(t("gateways.bytes_behind")),
        "last_line_at": t("gateways.last_line_at"),
        "lines_total": st.column_config.NumberColumn(t("gateways.lines")),
        "queue_messages": st.column_config.NumberColumn(t("gateways.queue_messages")),
        "queue_at": t("gateways.queue_at"),
        "last_error": st.column_config.TextColumn(t("gateways.last_error"), width="large"),
        "last_error_at": t("gateways.last_error_at"),
        "next_try_at": t("gateways.next_try_at"),
    },
)
st.caption(t("gateways.help"))
