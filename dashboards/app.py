"""The relaywatch dashboards (first version: delivery counts by status and reason)."""

from __future__ import annotations

import os
from pathlib import Path

import altair as alt
import streamlit as st

from warehouse.lake import Lake
from warehouse.views import Warehouse


class _Root:
    def predicate(self) -> tuple[str, dict[str, object]]:
        return "TRUE", {}


@st.cache_resource
def _warehouse(home: str) -> Warehouse:
    return Warehouse(Lake(Path(home) / "lake"), _Root())


st.set_page_config(page_title="relaywatch", layout="wide")
warehouse = _warehouse(os.environ.get("RELAYWATCH_HOME", "var/home"))
st.title("relaywatch")
by_status = warehouse.query(
    "SELECT status, qualification, reason, count(*) AS deliveries FROM deliveries GROUP BY ALL "
    "ORDER BY deliveries DESC"
)
st.subheader("Delivery attempts by status and reason")
chart = alt.Chart(by_status.to_pandas()).mark_bar().encode(
    x=alt.X("sum(deliveries):Q", title="delivery attempts"),
    y=alt.Y("reason:N", sort="-x"),
    color="status:N",
    tooltip=["status", "qualification", "reason", "deliveries"],
)
st.altair_chart(chart, use_container_width=True)
st.dataframe(by_status, hide_index=True)
