"""The session cookie: a reload or a new tab stays signed in, and export links work only in the browser
that signed in.

The acl session token lives in an HttpOnly, SameSite=Strict cookie (`rw_session`, Secure over HTTPS or
when `[dashboards] secure_cookie` says so). A Streamlit script cannot set cookies (it runs over the
websocket), so sign-in and sign-out leave a one-time *cookie ticket* that the page loads as a 1×1 image
from GET /auth/cookie/<ticket>: that plain HTTP response sets (or clears) the cookie. The ticket works
once, for a minute, and carries only what its own session already holds. On a new Streamlit session the
token is read back with `st.context.cookies` and checked against the store like any other (`session_user`),
so a signed-out, expired or disabled session's cookie opens nothing.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from acl import SESSION_TTL

COOKIE = "rw_session"
PATH = "/auth/cookie"
TICKET_TTL = 60.0
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000b49444154789c63"
    "60000200000500017a5eab3f0000000049454e44ae426082"
)
"""A transparent 1×1 PNG: what the page's image element receives."""


@dataclass(frozen=True)
class _Ticket:
    token: str | None  # None: clear the cookie
    secure: bool
    expires: float


_tickets: dict[str, _Ticket] = {}
_lock = threading.Lock()


def cookie_ticket(token: str | None, *, secure: bool, now: float | None = None) -> str:
    """A one-time ticket that sets the cookie to `token` (None: clears it) when its URL is loaded."""
    now = time.time() if now is None else now
    ticket = secrets.token_urlsafe(32)
    with _lock:
        for key in [k for k, v in _tickets.items() if v.expires <= now]:
            del _tickets[key]
        _tickets[ticket] = _Ticket(token, secure, now + TICKET_TTL)
    return ticket


def ticket_pending(ticket: str) -> bool:
    """Whether the browser has not loaded the ticket's URL yet (and it has not expired)."""
    with _lock:
        found = _tickets.get(ticket)
    return found is not None and found.expires > time.time()


async def cookie_route(request: Request) -> Response:
    """GET /auth/cookie/<ticket>: the pixel, setting or clearing the session cookie; 404 otherwise."""
    with _lock:
        found = _tickets.pop(str(request.path_params.get("ticket", "")), None)
    if found is None or found.expires <= time.time():
        return Response(status_code=404)
    response = Response(PIXEL, media_type="image/png", headers={"Cache-Control": "no-store"})
    secure = found.secure or request.url.scheme == "https"
    if found.token is None:
        response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="strict")
    else:
        response.set_cookie(
            COOKIE, found.token, max_age=int(SESSION_TTL), path="/", secure=secure, httponly=True, samesite="strict"
        )
    return response


def session_cookie(request: Request) -> str | None:
    """The session token a plain HTTP request carries in its cookie."""
    value = request.cookies.get(COOKIE)
    return value if isinstance(value, str) and value else None


ROUTES = [Route(PATH + "/{ticket}", cookie_route, methods=["GET"])]
