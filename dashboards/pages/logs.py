"""Logs: every delivery attempt (or every reject) of the period, filtered, sorted and paged by the
warehouse (LIMIT/OFFSET with parameters), a histogram of the whole filtered result, its streamed CSV
export, and the way into a message's detail. The choices are in the URL (dashboards.links), so a
filtered view can be shared. Log text is shown only in table cells, never as Markdown."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import timedelta
from urllib.parse import urlencode

import polars as pl
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboards import charts, exports, formats, links, searches
from dashboards.auth import BY_ID, guard
from dashboards.filters import empty_period_hint, period_choice, plain, recall, remember, show_hours
from dashboards.i18n import STRINGS
from reports import PAGE_SIZES
from warehouse import (
    QUALIFICATIONS,
    REASONS,
    REJECT_SORTS,
    SORTS,
    STATUSES,
    LogFilter,
    gateways,
    log_histogram,
    log_rows,
    reject_histogram,
    reject_rows,
    total_of,
)

BRUSH = "period"  # the histogram's interval selection: dragging over it sets the period
# The grid's columns, what one reads first on the left (the reply among them), the rest after.
FIRST_COLUMNS = ("ts", "status", "reason", "sender", "recipient", "response", "sasl_username", "queue_id", "gateway")
ROW_HEIGHT = 26  # px: 30 rows, the header and the scrollbar in 833 px, the grid fits a 900 px high window
VISIBLE_ROWS = 30
HEADER = 35  # px: Streamlit's header row keeps its own height
SCROLLBAR = 18  # px below the rows for the horizontal scrollbar of the wide grid
session = guard("logs")
t = session.t
lang = session.language
zone = session.zone


def counted(key: str, total: int, **values: object) -> str:
    """The text of `key` in the plural form `total` asks for in this language (`key_one`, `key_none` for
    nothing; `key` itself otherwise), so one row is "1 delivery attempt" and an empty page shows no range."""
    form = "none" if not total else formats.plural(total, lang)
    chosen = f"{key}_{form}"
    return t(chosen if chosen in STRINGS else key, total=formats.number(total, lang), **values)


links.adopt()
st.title(t("logs.title"))
kind = str(
    remember(
        "logs_kind",
        st.segmented_control(
            t("logs.kind"),
            links.KINDS,
            required=True,
            default=recall("logs_kind", "attempts"),
            format_func=lambda k: t(f"logs.kind_{k}"),
            key="logs_kind",
        ),
    )
)
rejects = kind == "rejects"
choice = period_choice(session)
period = choice.current()


def text_filter(cell: DeltaGenerator, field: str, label: str) -> str:
    """A text filter of the LogFilter `field`, starting from its remembered value."""
    value = cell.text_input(label, value=recall(f"lf_{field}", ""), key=f"lf_{field}")
    return remember(f"lf_{field}", str(value or ""))


def list_filter(
    cell: DeltaGenerator, field: str, label: str, options: Sequence[str], label_of: Callable[[str], str] = str
) -> tuple[str, ...]:
    """A list filter of the LogFilter `field`, starting from its remembered value."""
    kept = [v for v in recall(f"lf_{field}", ()) if v in options]
    chosen = cell.multiselect(
        label, options, default=kept, format_func=label_of, key=f"lf_{field}", placeholder=t("logs.any")
    )
    return remember(f"lf_{field}", tuple(chosen))


with st.form("logs_filters"):
    row = st.columns(4)
    values: dict[str, object] = {
        "sender": text_filter(row[0], "sender", t("col.sender")),
        "recipient": text_filter(row[1], "recipient", t("col.recipient")),
        "recipient_domain": text_filter(row[2], "recipient_domain", t("col.recipient_domain")),
        "sasl_username": text_filter(row[3], "sasl_username", t("col.sasl_username")),
    }
    row = st.columns(4)
    values["statuses"] = (
        () if rejects else list_filter(row[0], "statuses", t("col.status"), STATUSES, lambda s: t(f"status.{s}"))
    )
    values["qualifications"] = list_filter(
        row[1], "qualifications", t("col.qualification"), QUALIFICATIONS, lambda q: t(f"qualification.{q}")
    )
    values["reasons"] = list_filter(
        row[2], "reasons", t("col.reason"), REASONS, lambda r: charts.label("reason", r, lang)
    )
    known = session.cached(
        "logs_gateways",
        (period.params()["day0"], period.params()["day1"]),
        lambda: gateways(session.warehouse, period),
        seconds=300,
    )
    values["gateways"] = list_filter(row[3], "gateways", t("col.gateway"), known)
    row = st.columns(4)
    values["queue_id"] = text_filter(row[0], "queue_id", t("col.queue_id"))
    values["message_id"] = "" if rejects else text_filter(row[1], "message_id", t("col.message_id"))
    values["text"] = text_filter(row[2], "text", t("logs.reply_contains"))
    row[3].form_submit_button(t("logs.apply"), type="primary", icon=":material/filter_alt:", key="logs_apply")
filters = LogFilter(period, **values)  # type: ignore[arg-type]

controls = st.columns([2, 2, 1, 2])
sorts = list(REJECT_SORTS if rejects else SORTS)
kept_sort = recall("logs_sort", "ts")
sort = remember(
    "logs_sort",
    controls[0].selectbox(
        t("logs.sort_by"),
        sorts,
        index=sorts.index(kept_sort if kept_sort in sorts else "ts"),
        format_func=lambda c: t("tz.time", zone=zone.key) if c == "ts" else t(f"col.{c}"),
        key="logs_sort",
    ),
)
descending = remember(
    "logs_desc",
    controls[1].segmented_control(
        t("logs.order"),
        (True, False),
        required=True,
        default=recall("logs_desc", True),
        format_func=lambda d: t("logs.desc" if d else "logs.asc"),
        key="logs_desc",
    ),
)
page_size = remember(
    "logs_size",
    controls[2].selectbox(
        t("logs.page_size"),
        PAGE_SIZES,
        index=PAGE_SIZES.index(recall("logs_size", session.settings.page_size)),
        key="logs_size",
    ),
)

fixed = choice.fixed
query = links.logs_query(
    values,
    preset=str(recall("period_preset", "7d")),
    sort=str(sort),
    descending=bool(descending),
    kind=kind,
    days=(fixed.start.date(), (fixed.end - timedelta(microseconds=1)).date()) if choice.hours is None else None,
    hours=choice.clock,
)
links.publish(query)


def saved_searches(current: str) -> None:
    """Save the current view under a name; the person's saved searches, each a link to its Logs view and
    a delete button. Names are shown with st.text: plain text, never Markdown."""
    with st.form("logs_search_form", clear_on_submit=True, border=False):
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        name = left.text_input(t("searches.name"), max_chars=searches.MAX_NAME, key="logs_search_name")
        save = right.form_submit_button(t("searches.save"), icon=":material/bookmark_add:", key="logs_search_save")
    if save:
        try:
            searches.save_search(session.home, session.user.name, name, current)
        except searches.SearchRefused as refused:
            st.error(
                {
                    "name": t("searches.bad_name", limit=searches.MAX_NAME),
                    "full": t("searches.full", limit=searches.MAX_SEARCHES),
                }.get(refused.reason, t("searches.bad_query"))
            )
        else:
            st.success(t("searches.saved"))
    saved = searches.list_searches(session.home, session.user.name)
    if not saved:
        st.caption(t("searches.none"))
    for search in saved:
        cells = st.columns([4, 1, 1], vertical_alignment="center")
        cells[0].text(search.name)
        cells[1].page_link(
            BY_ID["logs"].path, label=t("searches.open"), icon=":material/search:", query_params=search.params()
        )
        if cells[2].button(t("searches.delete"), icon=":material/delete:", key=f"logs_search_delete_{search.name}"):
            searches.delete_search(session.home, session.user.name, search.name)
            st.rerun()


with st.expander(t("searches.title"), icon=":material/bookmarks:"):
    saved_searches(urlencode(query, doseq=True))

signature = (kind, filters, sort, descending, page_size)
view = f"{abs(hash(signature)):x}"  # new filters or order: a new pager (back to page 1), a new selection
page_key = f"logs_page_{view}"
number = int(st.session_state.get(page_key, 1))
count_of = reject_histogram if rejects else log_histogram
histogram = session.cached("logs_histogram", (kind, filters), lambda: count_of(session.warehouse, filters), seconds=60)
total = int(histogram["rejects"].sum()) if rejects and histogram.height else total_of(histogram)
pages = max(1, math.ceil(total / int(page_size)))
if number > pages:  # the result shrank under this pager (new data): start again from page 1
    page_key, number = f"{page_key}_1", 1
rows_of = reject_rows if rejects else log_rows
rows = rows_of(
    session.warehouse,
    filters,
    sort=str(sort),
    descending=bool(descending),
    limit=int(page_size),
    offset=(number - 1) * int(page_size),
).with_columns(pl.col(pl.String).fill_null(""))  # an empty SASL login (or relay...) is blank, not "None"
rows = formats.in_zone(rows, zone)  # the lake's UTC instants, read in the person's zone

first = (number - 1) * int(page_size) + 1 if total else 0
st.caption(
    counted(
        "logs.reject_count" if rejects else "logs.count",
        total,
        first=formats.number(first, lang),
        last=formats.number(first + rows.height - 1 if total else 0, lang),
    )
)
if not total:
    empty_period_hint(session, "rejects" if rejects else "deliveries")
if histogram.height:
    brushed = st.altair_chart(
        charts.stacked_bars(
            histogram,
            x="bucket",
            y="rejects" if rejects else "attempts",
            colour="reason" if rejects else "status",
            x_title=t("tz.time", zone=zone.key),
            y_title=t("col.rejects" if rejects else "col.attempts"),
            language=lang,
            height=240,
            zone=zone,
            brush=BRUSH,
        ),
        width="stretch",
        on_select="rerun",
        selection_mode=BRUSH,
        key=f"logs_brush_{view}",
    )
    interval = brushed.selection.get(BRUSH, {}).get("bucket") if brushed else None
    if interval and len(interval) == 2:  # epoch ms of the chart's wall-clock times in `zone`
        start, end = (formats.from_wall_clock(float(ms), zone) for ms in sorted(interval))
        show_hours(start, end)
        st.rerun()
    st.caption(t("logs.brush_hint"))

selection = st.dataframe(
    charts.named(rows, lang),
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key=f"logs_table_{view}_{number}",
    height=HEADER + ROW_HEIGHT * max(1, min(rows.height, VISIBLE_ROWS)) + SCROLLBAR,
    row_height=ROW_HEIGHT,
    column_order=[
        *(c for c in FIRST_COLUMNS if c in rows.columns),
        *(c for c in rows.columns if c not in FIRST_COLUMNS and c != "message_key"),
    ],
    column_config={
        "ts": st.column_config.DatetimeColumn(
            t("tz.time", zone=zone.key), format=formats.grid_datetime(lang), timezone=zone.key
        ),
        "gateway": t("col.gateway"),
        "queue_id": t("col.queue_id"),
        "sender": t("col.sender"),
        "recipient": t("col.recipient"),
        "status": t("col.status"),
        "qualification": t("col.qualification"),
        "reason": t("col.reason"),
        "dsn": "DSN",
        "relay": t("col.relay"),
        "delay": st.column_config.NumberColumn(t("col.delay"), format="%.2f s"),
        "response": st.column_config.TextColumn(t("col.response"), width=560, help=t("logs.reply_help")),
        "sasl_username": t("col.sasl_username"),
        "message_id": t("col.message_id"),
        "provider": t("col.provider"),
        "rule": t("col.rule"),
        "service": t("col.service"),
        "client_ip": t("col.client_ip"),
        "client_host": t("col.client_host"),
    },
)
st.pagination(pages, key=page_key)

chosen = selection.selection.rows if selection is not None else []
actions = st.columns([2, 2, 3])
picked = rows.row(chosen[0], named=True) if chosen and chosen[0] < rows.height else None
if picked is not None and picked["message_key"]:
    if actions[0].button(
        t("logs.open_message", queue_id=plain(picked["queue_id"] or "?")),
        icon=":material/mail:",
        key="logs_open",
        type="primary",
    ):
        st.switch_page(BY_ID["message"].path, query_params={"key": picked["message_key"]})
else:
    actions[0].caption(t("logs.select_hint"))

if not rejects and actions[1].button(
    counted("logs.export_prepare", total), icon=":material/download:", key="logs_export", disabled=not total
):
    st.session_state["logs_ticket"] = (
        view,
        exports.issue(session.home, session.token, filters, sort=str(sort), descending=bool(descending)),
    )
held = st.session_state.get("logs_ticket")
ticket = held[1] if isinstance(held, tuple) and held[0] == view else None
if ticket is not None and exports.pending(ticket):
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    url = "/" + "/".join(p for p in (base, exports.EXPORT_PATH.strip("/"), ticket) if p)
    actions[2].link_button(t("logs.export_download"), url, icon=":material/csv:", type="primary")
