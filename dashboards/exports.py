"""Streamed CSV export of the Logs: a short-lived ticket from the page, the file from an HTTP route.

Streamlit's download button holds the whole file in memory; an export of millions of rows must not.
So the Logs page asks `issue()` for a ticket bound to its acl session token and the current filters,
and links to GET /api/export/<ticket>. The route (mounted by app.py) takes the ticket once, only from
the browser whose session cookie holds that token (dashboards.cookies), checks the session again (a
disabled account or an expired session gets nothing), builds a warehouse with that user's Scope and
streams the whole filtered result as CSV, Arrow batch by batch, with spreadsheet formulas neutralised
(warehouse.export.csv_chunks).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from acl import AclError, audit_event, scope_for, session_user
from dashboards import backend
from dashboards.cookies import session_cookie
from warehouse import EXPORT_COLUMNS, LogFilter, csv_chunks, log_export

EXPORT_PATH = "/api/export"
TICKET_TTL = 300.0
_tickets: dict[str, ExportTicket] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class ExportTicket:
    """What one export link may download, for whom, until when."""

    home: Path
    token: str
    filters: LogFilter
    sort: str
    descending: bool
    expires: float


def issue(home: Path, token: str, filters: LogFilter, *, sort: str, descending: bool, now: float | None = None) -> str:
    """A one-time ticket for the whole filtered result of this session's user (valid TICKET_TTL s)."""
    now = time.time() if now is None else now
    ticket = secrets.token_urlsafe(32)
    with _lock:
        for key in [k for k, v in _tickets.items() if v.expires <= now]:
            del _tickets[key]
        _tickets[ticket] = ExportTicket(home, token, filters, sort, descending, now + TICKET_TTL)
    return ticket


def pending(ticket: str, *, now: float | None = None) -> bool:
    """Whether the ticket can still be used."""
    now = time.time() if now is None else now
    with _lock:
        found = _tickets.get(ticket)
    return found is not None and found.expires > now


def take(ticket: str, session: str, *, now: float | None = None) -> ExportTicket | None:
    """Use a ticket with the session token the browser holds: removed whatever happens next; None when
    unknown, expired, or issued to another session (then left in place: a stranger holding the link can
    neither use it nor spend it)."""
    now = time.time() if now is None else now
    with _lock:
        found = _tickets.get(ticket)
        if found is None or not hmac.compare_digest(session.encode(), found.token.encode()):
            return None
        del _tickets[ticket]
    return found if found.expires > now else None


def csv_stream(ticket: ExportTicket) -> Iterator[bytes] | None:
    """The CSV bytes of a ticket's export, or None when its session is no longer valid."""
    try:
        user = session_user(backend.store(ticket.home), ticket.token)
    except AclError:
        return None
    audit_event(backend.store(ticket.home), user, "export", "logs", after=export_summary(ticket))
    warehouse = backend.warehouse(ticket.home, scope_for(user))

    def chunks() -> Iterator[bytes]:
        try:
            batches = log_export(warehouse, ticket.filters, sort=ticket.sort, descending=ticket.descending)
            yield from csv_chunks(batches, EXPORT_COLUMNS)
        finally:
            warehouse.close()

    return chunks()


def export_summary(ticket: ExportTicket) -> dict[str, object]:
    """What an export held, for the audit log: its period, the filters set, its order."""
    flt = ticket.filters
    chosen = {k: v for k, v in vars(flt).items() if k != "period" and v not in ("", ())}
    return {
        "period": f"{flt.period.start:%Y-%m-%d %H:%M} → {flt.period.end:%Y-%m-%d %H:%M} UTC",
        "filters": {k: list(v) if isinstance(v, tuple) else v for k, v in chosen.items()},
        "sort": ticket.sort,
        "descending": ticket.descending,
    }


def file_name(filters: LogFilter) -> str:
    period = filters.period
    return f"relaywatch-logs-{period.start:%Y%m%dT%H%M}-{period.end:%Y%m%dT%H%M}.csv"


async def export_route(request: Request) -> Response:
    """GET /api/export/<ticket>: the streamed CSV, or 404 for an unknown, used or expired ticket, or one
    asked for by a browser that does not hold the session it was issued to (the link is no bearer URL)."""
    ticket = take(str(request.path_params.get("ticket", "")), session_cookie(request) or "")
    stream = csv_stream(ticket) if ticket is not None else None
    if ticket is None or stream is None:
        return PlainTextResponse("This export link has expired or was already used.", status_code=404)
    headers = {
        "Content-Disposition": f'attachment; filename="{file_name(ticket.filters)}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(stream, media_type="text/csv; charset=utf-8", headers=headers)


ROUTES = [Route(EXPORT_PATH + "/{ticket}", export_route, methods=["GET"])]
