"""The HTTP API (`/api/v1`), served by the dashboards' server: read-only, scoped by the token's account.

Every route authenticates a bearer token (acl API tokens), then runs through the warehouse's query API
(or, for `POST /api/v1/sql`, `warehouse.run_user_sql` with acl's SQL guard and the `[sql]` limits) on a
Warehouse holding only that account's Scope. Formats, errors, throttling and concurrency:
dashboards.api_http and dashboards.api_formats. The routes and their parameters are described once, in
ENDPOINTS, from which the OpenAPI document (`/api/v1/openapi.json`) is generated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pyarrow as pa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from acl import check_user_sql, scope_for
from dashboards import backend
from dashboards.api_http import ApiError, Caller, answer, authorise, handle
from relaywatch.core import load_config
from warehouse import (
    MAX_PAGE_SIZE,
    SORTS,
    LogFilter,
    Period,
    QueryError,
    bounces,
    find_messages,
    log_histogram,
    log_rows,
    message_detail,
    open_lake,
    overview,
    run_user_sql,
    total_of,
)

PREFIX = "/api/v1"


@dataclass(frozen=True)
class Param:
    """One query parameter: its OpenAPI type and what it means."""

    kind: str
    description: str
    many: bool = False


@dataclass(frozen=True)
class Endpoint:
    """One API route: path, method, the parts of a result it can return, its parameters."""

    path: str
    method: str
    summary: str
    params: dict[str, Param] = field(default_factory=dict)
    parts: tuple[str, ...] = ()
    body: bool = False


PERIOD_PARAMS = {
    "start": Param(
        "string",
        "Start of the period (ISO 8601 date or time, UTC unless an offset is given; default: 24 hours before `end`)",
    ),
    "end": Param("string", "End of the period, excluded (default: now; a bare date means the end of that day)"),
}
FILTER_PARAMS = {
    **PERIOD_PARAMS,
    **{
        name: Param("string", f"{name.replace('_', ' ')} contains this text (case-insensitive)")
        for name in ("sender", "recipient", "sasl_username", "message_id", "text")
    },
    "recipient_domain": Param("string", "exact recipient domain"),
    "queue_id": Param("string", "exact Postfix queue id"),
    "status": Param("string", "delivery status (sent, deferred, bounced, expired...); repeat or comma-separate", True),
    "qualification": Param("string", "success, soft, hard, unknown; repeat or comma-separate", True),
    "reason": Param("string", "bounce reason of the taxonomy; repeat or comma-separate", True),
    "gateway": Param("string", "gateway name; repeat or comma-separate", True),
    "sort": Param("string", f"sort column, one of {', '.join(SORTS)} (default ts)"),
    "order": Param("string", "desc (default) or asc"),
    "limit": Param("integer", f"rows per page, 1 to {MAX_PAGE_SIZE} (default 100)"),
    "offset": Param("integer", "rows to skip (default 0); the X-Next-Offset header gives the next page"),
}
OVERVIEW_PARTS = ("totals", "timeline", "by_gateway", "top_senders", "top_domains")
BOUNCE_PARTS = ("timeline", "domains", "providers", "provider_reasons", "unknown_recipients")
MESSAGE_PARTS = ("message", "attempts", "rejects", "timeline", "lines")
ENDPOINTS = (
    Endpoint(
        f"{PREFIX}/sql",
        "post",
        "One SELECT over the scoped views (deliveries, messages, rejects, queue, "
        "queue_snapshots), with the guard and limits of `relaywatch sql --as`",
        body=True,
    ),
    Endpoint(
        f"{PREFIX}/deliveries", "get", "Delivery attempts matching the Logs filters, one page at a time", FILTER_PARAMS
    ),
    Endpoint(
        f"{PREFIX}/overview/{{part}}",
        "get",
        "Overview figures of the period",
        {
            **PERIOD_PARAMS,
            "soft_is_error": Param("boolean", "count soft failures as errors (default false)"),
            "top": Param("integer", "rows of top_senders and top_domains (default 10, at most 1000)"),
        },
        OVERVIEW_PARTS,
    ),
    Endpoint(
        f"{PREFIX}/bounces/{{part}}",
        "get",
        "Failures of the period by time, domain, provider and reason",
        {
            **PERIOD_PARAMS,
            "top": Param("integer", "rows of domains and providers (default 15, at most 1000)"),
            "repeated": Param("integer", "unknown_recipients: refused in at least this many messages (default 2)"),
        },
        BOUNCE_PARTS,
    ),
    Endpoint(
        f"{PREFIX}/messages",
        "get",
        "Messages whose queue id, Message-ID or key is `q`",
        {
            "q": Param("string", "queue id, Message-ID or message key"),
            "limit": Param("integer", "at most this many (default 50, at most 1000)"),
        },
    ),
    Endpoint(
        f"{PREFIX}/message/{{part}}",
        "get",
        "One message: its row, attempts, rejects, timeline, raw lines",
        {"key": Param("string", "the message key (gateway/queue_id/first-timestamp)")},
        MESSAGE_PARTS,
    ),
)


def _params(request: Request, endpoint: Endpoint) -> dict[str, Any]:
    """The request's query parameters, refusing unknown ones and lists where one value is expected."""
    found: dict[str, Any] = {}
    for name in request.query_params:
        spec = endpoint.params.get(name)
        if spec is None:
            known = ", ".join(endpoint.params) or "none"
            raise ApiError(400, "unknown_parameter", f"unknown parameter {name!r} (known: {known})")
        values = request.query_params.getlist(name)
        if spec.many:
            found[name] = tuple(v.strip() for value in values for v in value.split(",") if v.strip())
        elif len(values) > 1:
            raise ApiError(400, "invalid_parameter", f"parameter {name!r} given more than once")
        else:
            found[name] = values[0]
    return found


def _int(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(params.get(name, default))
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ApiError(400, "invalid_parameter", f"{name} must be between {low} and {high}")
    return value


def _moment(text: str, name: str, *, end: bool) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name} must be an ISO 8601 date or time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _period(params: dict[str, Any]) -> Period:
    end = _moment(params["end"], "end", end=True) if "end" in params else datetime.now(UTC)
    start = _moment(params["start"], "start", end=False) if "start" in params else end - timedelta(hours=24)
    if start >= end or end - start > timedelta(days=3660):
        raise ApiError(400, "invalid_parameter", "the period must have start before end, at most 10 years apart")
    return Period(start, end)


def _frame(
    frame: pl.DataFrame, headers: dict[str, str] | None = None
) -> tuple[pa.Schema, Iterator[pa.RecordBatch], list[str], dict[str, str]]:
    table = frame.to_arrow()
    return table.schema, iter(table.to_batches()), [], headers or {}


def _scoped(caller: Caller, run: Callable[[Any], pl.DataFrame | tuple[pl.DataFrame, dict[str, str]]]) -> Any:
    """A start function running `run` on a warehouse of the caller's Scope (closed afterwards)."""

    def start() -> tuple[pa.Schema, Iterator[pa.RecordBatch], list[str], dict[str, str]]:
        warehouse = backend.warehouse(caller.home, scope_for(caller.user))
        try:
            result = run(warehouse)
        finally:
            warehouse.close()
        return _frame(*result) if isinstance(result, tuple) else _frame(result)

    return start


def _part(request: Request, endpoint: Endpoint) -> str:
    part = str(request.path_params.get("part", ""))
    if part not in endpoint.parts:
        raise ApiError(404, "unknown_part", f"unknown part {part!r}; one of {', '.join(endpoint.parts)}")
    return part


async def sql_route(request: Request) -> Response:
    """POST /api/v1/sql with {"sql": "SELECT ..."}."""
    caller = await authorise(request)
    limit = caller.settings.max_body_bytes
    if int(request.headers.get("content-length") or 0) > limit:
        raise ApiError(413, "body_too_large", f"the request body is larger than {limit} bytes")
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError(415, "unsupported_content_type", 'send the query as application/json: {"sql": "..."}')
    raw = bytearray()
    async for piece in request.stream():
        raw += piece
        if len(raw) > limit:
            raise ApiError(413, "body_too_large", f"the request body is larger than {limit} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", "the request body is not valid JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("sql"), str) or set(body) - {"sql", "params"}:
        raise ApiError(400, "invalid_body", 'the body must be {"sql": "SELECT ...", "params": {...}}')
    params = body.get("params") or {}
    if not isinstance(params, dict) or not all(
        isinstance(name, str) and name.isidentifier() and isinstance(value, str | int | float | bool | None)
        for name, value in params.items()
    ):
        raise ApiError(400, "invalid_body", 'params must be {"name": value} with text, number, boolean or null values')
    home, user, sql = caller.home, caller.user, body["sql"]

    def start() -> tuple[pa.Schema, Iterator[pa.RecordBatch], list[str], dict[str, str]]:
        lake = open_lake(home)
        query = run_user_sql(
            lake.root,
            lake.timezone,
            scope_for(user),
            sql,
            guard=check_user_sql,
            limits=load_config(home).sql,
            params=params,
        )
        return query.schema, iter(query.batches), query.truncated, {}

    return await answer(caller, start, errors=(QueryError,))


async def deliveries_route(request: Request) -> Response:
    """GET /api/v1/deliveries: one page of the Logs, with X-Total-Count and X-Next-Offset."""
    caller = await authorise(request)
    params = _params(request, ENDPOINTS[1])
    limit = _int(params, "limit", 100, 1, MAX_PAGE_SIZE)
    offset = _int(params, "offset", 0, 0, 10**9)
    sort, order = params.get("sort", "ts"), params.get("order", "desc")
    if sort not in SORTS or order not in ("asc", "desc"):
        raise ApiError(400, "invalid_parameter", f"sort is one of {', '.join(SORTS)}; order is asc or desc")
    texts = {
        k: params.get(k, "")
        for k in ("sender", "recipient", "recipient_domain", "sasl_username", "queue_id", "message_id", "text")
    }
    flt = LogFilter(
        _period(params),
        statuses=params.get("status", ()),
        qualifications=params.get("qualification", ()),
        reasons=params.get("reason", ()),
        gateways=params.get("gateway", ()),
        **texts,
    )

    def run(warehouse: Any) -> tuple[pl.DataFrame, dict[str, str]]:
        total = total_of(log_histogram(warehouse, flt))
        page = log_rows(warehouse, flt, sort=sort, descending=order == "desc", limit=limit, offset=offset)
        headers = {"X-Total-Count": str(total)}
        if offset + page.height < total:
            headers["X-Next-Offset"] = str(offset + page.height)
        return page, headers

    return await answer(caller, _scoped(caller, run))


async def overview_route(request: Request) -> Response:
    """GET /api/v1/overview/{part}."""
    caller = await authorise(request)
    endpoint = ENDPOINTS[2]
    part, params = _part(request, endpoint), _params(request, endpoint)
    period, top = _period(params), _int(params, "top", 10, 1, 1000)
    soft = str(params.get("soft_is_error", "false")).lower()
    if soft not in ("true", "false"):
        raise ApiError(400, "invalid_parameter", "soft_is_error is true or false")

    def run(warehouse: Any) -> pl.DataFrame:
        figures = overview(warehouse, period, soft_is_error=soft == "true", top=top)
        if part == "totals":
            return pl.DataFrame([{**figures.totals, "error_rate": figures.error_rate}])
        return getattr(figures, part)

    return await answer(caller, _scoped(caller, run))


async def bounces_route(request: Request) -> Response:
    """GET /api/v1/bounces/{part}."""
    caller = await authorise(request)
    endpoint = ENDPOINTS[3]
    part, params = _part(request, endpoint), _params(request, endpoint)
    period, top = _period(params), _int(params, "top", 15, 1, 1000)
    repeated = _int(params, "repeated", 2, 1, 10**6)
    return await answer(
        caller, _scoped(caller, lambda wh: getattr(bounces(wh, period, top=top, repeated=repeated), part))
    )


async def messages_route(request: Request) -> Response:
    """GET /api/v1/messages?q=..."""
    caller = await authorise(request)
    params = _params(request, ENDPOINTS[4])
    text, limit = params.get("q", ""), _int(params, "limit", 50, 1, 1000)
    if not text.strip():
        raise ApiError(400, "invalid_parameter", "q (a queue id, Message-ID or message key) is required")
    return await answer(caller, _scoped(caller, lambda wh: find_messages(wh, text, limit=limit)))


async def message_route(request: Request) -> Response:
    """GET /api/v1/message/{part}?key=...: 404 when the message is not in the caller's scope."""
    caller = await authorise(request)
    endpoint = ENDPOINTS[5]
    part, params = _part(request, endpoint), _params(request, endpoint)
    key = params.get("key", "")
    if not key:
        raise ApiError(400, "invalid_parameter", "key (the message key) is required")

    def run(warehouse: Any) -> pl.DataFrame:
        detail = message_detail(warehouse, key)
        if detail.message is None:
            raise LookupError
        return pl.DataFrame([detail.message]) if part == "message" else getattr(detail, part)

    try:
        return await answer(caller, _scoped(caller, run), errors=())
    except LookupError:
        raise ApiError(404, "not_found", "no such message in your scope") from None


async def openapi_route(request: Request) -> Response:
    """GET /api/v1/openapi.json (no token needed: it describes, it holds no data)."""
    from dashboards.api_spec import openapi

    return JSONResponse(openapi(ENDPOINTS))


async def not_found_route(request: Request) -> Response:
    """Anything else under /api/v1: a JSON 405 for a known path with another method, else a JSON 404."""
    if any(route.matches(request.scope)[0] == Match.PARTIAL for route in ROUTES[:-1]):
        raise ApiError(405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}")
    raise ApiError(404, "not_found", f"no API route {request.url.path}; see {PREFIX}/openapi.json")


_HANDLERS = {
    ENDPOINTS[0].path: sql_route,
    ENDPOINTS[1].path: deliveries_route,
    ENDPOINTS[2].path: overview_route,
    ENDPOINTS[3].path: bounces_route,
    ENDPOINTS[4].path: messages_route,
    ENDPOINTS[5].path: message_route,
}
ROUTES = [
    *(Route(e.path, handle(_HANDLERS[e.path]), methods=[e.method.upper()]) for e in ENDPOINTS),
    Route(f"{PREFIX}/openapi.json", handle(openapi_route), methods=["GET"]),
    Route(PREFIX + "/{rest:path}", handle(not_found_route)),
]
"""The API's routes, mounted by dashboards/app.py next to the export route."""
