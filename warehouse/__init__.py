"""warehouse: the lake's Delta tables, the Polars jobs (parse, correlate, classify, roll up, compact), the
DuckDB views and the query API: every query the product runs, as functions of a scoped Warehouse.

Imports ingest and relaywatch.core only. What other packages may use is named here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relaywatch.core import lazy_exports

if TYPE_CHECKING:
    from warehouse.classify import ClassifyInputError, RuleSet, classify_frame, explain, load_rules
    from warehouse.classify import classify as classify_json_lines
    from warehouse.compaction import CompactStats, compact
    from warehouse.complaints import ComplaintStore
    from warehouse.complaints import relink as relink_complaints
    from warehouse.evaluation import evaluate, format_report
    from warehouse.export import (
        csv_chunks,
        json_chunks,
        neutralise,
        neutralise_formulas,
        printable,
        text_rows,
        to_csv,
        to_json_lines,
    )
    from warehouse.jsonlines import parse as parse_json_lines
    from warehouse.lake import LINE_COLUMNS, Lake, LineBatch, open_lake, split_lines
    from warehouse.parse import SCHEMA, parse_counts, parse_lines
    from warehouse.pipeline import IngestStats, ingest, process
    from warehouse.providers import provider_ids, provider_of
    from warehouse.queries.bounces import Bounces, bounces
    from warehouse.queries.common import HIGHLIGHTED_REASONS, STATUSES, Period, Queryable
    from warehouse.queries.complaints import (
        GROUPS as COMPLAINT_GROUPS,
    )
    from warehouse.queries.complaints import (
        complaint_detail,
        complaint_list,
        complaint_rates,
        complaint_totals,
    )
    from warehouse.queries.logs import (
        EXPORT_COLUMNS,
        LOG_COLUMNS,
        MAX_PAGE_SIZE,
        SORTS,
        LogFilter,
        gateways,
        log_export,
        log_histogram,
        log_rows,
        total_of,
    )
    from warehouse.queries.message import MessageDetail, find_messages, message_detail
    from warehouse.queries.overview import Overview, newest, overview
    from warehouse.queries.policy import (
        ROUTE_COLUMNS,
        SUPPRESSIBLE_REASONS,
        blacklist_entries,
        recent_complaints,
        route_traffic,
        suppressible_bounces,
    )
    from warehouse.queries.queue import QueueView, queue
    from warehouse.queries.rejects import REJECT_COLUMNS, REJECT_SORTS, reject_histogram, reject_rows
    from warehouse.queries.reports import BLACKLIST_COLUMNS, ReportDetails, report_details
    from warehouse.queries.reputation import Reputation, reputation
    from warehouse.reclassification import ReclassifyStats, format_stats, reclassify
    from warehouse.rollups import rebuild_rollups, update_rollups
    from warehouse.ruletable import QUALIFICATIONS, REASONS, RuleError
    from warehouse.usersql import QueryError, UserQuery, run_local_sql, run_user_sql
    from warehouse.views import BLACKLIST_SCHEMA, PUBLIC_VIEWS, Warehouse

_PUBLIC = {
    "ClassifyInputError": "warehouse.classify",
    "QUALIFICATIONS": "warehouse.ruletable",
    "REASONS": "warehouse.ruletable",
    "RuleError": "warehouse.ruletable",
    "RuleSet": "warehouse.classify",
    "classify_frame": "warehouse.classify",
    "explain": "warehouse.classify",
    "load_rules": "warehouse.classify",
    "ComplaintStore": "warehouse.complaints",
    "relink_complaints": "warehouse.complaints:relink",
    "CompactStats": "warehouse.compaction",
    "compact": "warehouse.compaction",
    "evaluate": "warehouse.evaluation",
    "format_report": "warehouse.evaluation",
    "classify_json_lines": "warehouse.classify:classify",
    "parse_json_lines": "warehouse.jsonlines:parse",
    "csv_chunks": "warehouse.export",
    "json_chunks": "warehouse.export",
    "neutralise": "warehouse.export",
    "printable": "warehouse.export",
    "text_rows": "warehouse.export",
    "neutralise_formulas": "warehouse.export",
    "to_csv": "warehouse.export",
    "to_json_lines": "warehouse.export",
    "LINE_COLUMNS": "warehouse.lake",
    "Lake": "warehouse.lake",
    "LineBatch": "warehouse.lake",
    "open_lake": "warehouse.lake",
    "split_lines": "warehouse.lake",
    "SCHEMA": "warehouse.parse",
    "parse_counts": "warehouse.parse",
    "parse_lines": "warehouse.parse",
    "IngestStats": "warehouse.pipeline",
    "ingest": "warehouse.pipeline",
    "process": "warehouse.pipeline",
    "provider_ids": "warehouse.providers",
    "provider_of": "warehouse.providers",
    "Bounces": "warehouse.queries.bounces",
    "bounces": "warehouse.queries.bounces",
    "HIGHLIGHTED_REASONS": "warehouse.queries.common",
    "Period": "warehouse.queries.common",
    "Queryable": "warehouse.queries.common",
    "STATUSES": "warehouse.queries.common",
    "COMPLAINT_GROUPS": "warehouse.queries.complaints:GROUPS",
    "complaint_detail": "warehouse.queries.complaints",
    "complaint_list": "warehouse.queries.complaints",
    "complaint_rates": "warehouse.queries.complaints",
    "complaint_totals": "warehouse.queries.complaints",
    "EXPORT_COLUMNS": "warehouse.queries.logs",
    "LOG_COLUMNS": "warehouse.queries.logs",
    "LogFilter": "warehouse.queries.logs",
    "MAX_PAGE_SIZE": "warehouse.queries.logs",
    "SORTS": "warehouse.queries.logs",
    "gateways": "warehouse.queries.logs",
    "log_export": "warehouse.queries.logs",
    "log_histogram": "warehouse.queries.logs",
    "log_rows": "warehouse.queries.logs",
    "total_of": "warehouse.queries.logs",
    "MessageDetail": "warehouse.queries.message",
    "find_messages": "warehouse.queries.message",
    "message_detail": "warehouse.queries.message",
    "Overview": "warehouse.queries.overview",
    "overview": "warehouse.queries.overview",
    "newest": "warehouse.queries.overview",
    "ROUTE_COLUMNS": "warehouse.queries.policy",
    "SUPPRESSIBLE_REASONS": "warehouse.queries.policy",
    "blacklist_entries": "warehouse.queries.policy",
    "route_traffic": "warehouse.queries.policy",
    "recent_complaints": "warehouse.queries.policy",
    "suppressible_bounces": "warehouse.queries.policy",
    "QueueView": "warehouse.queries.queue",
    "queue": "warehouse.queries.queue",
    "REJECT_COLUMNS": "warehouse.queries.rejects",
    "REJECT_SORTS": "warehouse.queries.rejects",
    "reject_histogram": "warehouse.queries.rejects",
    "reject_rows": "warehouse.queries.rejects",
    "BLACKLIST_COLUMNS": "warehouse.queries.reports",
    "ReportDetails": "warehouse.queries.reports",
    "report_details": "warehouse.queries.reports",
    "Reputation": "warehouse.queries.reputation",
    "reputation": "warehouse.queries.reputation",
    "ReclassifyStats": "warehouse.reclassification",
    "format_stats": "warehouse.reclassification",
    "reclassify": "warehouse.reclassification",
    "rebuild_rollups": "warehouse.rollups",
    "update_rollups": "warehouse.rollups",
    "QueryError": "warehouse.usersql",
    "UserQuery": "warehouse.usersql",
    "run_local_sql": "warehouse.usersql",
    "run_user_sql": "warehouse.usersql",
    "BLACKLIST_SCHEMA": "warehouse.views",
    "PUBLIC_VIEWS": "warehouse.views",
    "Warehouse": "warehouse.views",
}
"""Public name -> the module defining it (imported on first use)."""
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_exports(__name__, _PUBLIC)
