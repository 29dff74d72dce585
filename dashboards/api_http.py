"""What every HTTP API route shares: JSON errors, the bearer token, per-token throttling, bounded
concurrency and the streamed answer.

- Errors are `{"error": {"code": ..., "message": ...}}` with a 4xx (5xx only for our own failures); no
  message ever contains the token, and the token is read from the Authorization header only (a token in
  the URL would end up in access logs and browser history: refused).
- Throttling: a token bucket per token (`[api] burst`, then `requests_per_minute`), in the serving
  process; beyond it, 429 with Retry-After.
- Concurrency: at most `[api] concurrency` API queries run at once (each SQL query is a child process);
  a request waits up to `queue_seconds` for its turn, then gets 503 with Retry-After. The slot is held
  until the response body is written or the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from acl import TokenInvalid, User, token_user
from dashboards import backend
from dashboards.api_formats import CONTENT_TYPES, Unacceptable, chunks, negotiate
from relaywatch.core import ApiSection, load_config

MAX_QUERY_STRING = 8192
_log = logging.getLogger("relaywatch.api")


class ApiError(Exception):
    """A request the API refuses: HTTP status, a stable code and a message for a person."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_response(error: ApiError) -> JSONResponse:
    headers = {"Cache-Control": "no-store", **error.headers}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="relaywatch"'
    return JSONResponse({"error": {"code": error.code, "message": error.message}}, error.status, headers)


@dataclass(frozen=True)
class Caller:
    """An authenticated API request: the data home, the token's account and its settings."""

    home: Path
    user: User
    settings: ApiSection
    media: str


class _Bucket:
    """Token bucket: `capacity` requests at once, refilled at `rate` per second."""

    def __init__(self, capacity: int, rate: float, now: float) -> None:
        self.level, self.capacity, self.rate, self.at = float(capacity), capacity, rate, now

    def take(self, now: float) -> float:
        """0 when the request may go on, else the seconds until it could."""
        self.level = min(self.capacity, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level >= 1:
            self.level -= 1
            return 0.0
        return (1 - self.level) / self.rate


_buckets: dict[str, _Bucket] = {}
"""Per token (by its SHA-256, as acl stores it)."""
_buckets_lock = threading.Lock()
_slots: dict[int, asyncio.Semaphore] = {}


def _throttle(key: str, settings: ApiSection) -> None:
    now = time.monotonic()
    with _buckets_lock:
        bucket = _buckets.get(key)
        if bucket is None or (bucket.capacity, bucket.rate) != (settings.burst, settings.requests_per_minute / 60.0):
            bucket = _buckets[key] = _Bucket(settings.burst, settings.requests_per_minute / 60.0, now)
        wait = bucket.take(now)
    if wait:
        seconds = str(max(1, math.ceil(wait)))
        raise ApiError(
            429, "throttled", f"too many requests for this token; retry in {seconds} s", {"Retry-After": seconds}
        )


def _bearer(request: Request) -> str:
    if "token" in request.query_params or "access_token" in request.query_params:
        raise ApiError(400, "token_in_url", "send the token in the Authorization header, never in the URL")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ApiError(401, "token_missing", "missing API token: send 'Authorization: Bearer <token>'")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "token_invalid", "the Authorization header must be 'Bearer <token>'")
    return token.strip()


def settings_of(home: Path) -> ApiSection:
    return load_config(home).api


async def authorise(request: Request) -> Caller:
    """The caller of an API request, or ApiError (bad URL, Accept, token; throttled)."""
    if len(request.url.query) > MAX_QUERY_STRING:
        raise ApiError(414, "query_string_too_long", f"the query string is longer than {MAX_QUERY_STRING} bytes")
    try:
        media = negotiate(request.headers.get("accept"))
    except Unacceptable as exc:
        raise ApiError(406, "unsupported_accept", str(exc)) from None
    token = _bearer(request)
    home = backend.home_dir()
    source = request.client.host if request.client else None
    try:
        user = await run_in_threadpool(token_user, backend.store(home), token, source=source)
    except TokenInvalid as exc:
        raise ApiError(401, "token_invalid", str(exc)) from None
    settings = settings_of(home)
    _throttle(hashlib.sha256(token.encode()).hexdigest(), settings)
    return Caller(home, user, settings, media)


async def _acquire(settings: ApiSection) -> Callable[[], None]:
    """Wait for one of `concurrency` slots; returns its release (idempotent)."""
    semaphore = _slots.setdefault(settings.concurrency, asyncio.Semaphore(settings.concurrency))
    try:
        await asyncio.wait_for(semaphore.acquire(), timeout=settings.queue_seconds)
    except TimeoutError:
        raise ApiError(503, "busy", "the API is busy; retry shortly", {"Retry-After": "2"}) from None
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            semaphore.release()

    return release


class _SlotResponse(StreamingResponse):
    """A streamed answer that gives its concurrency slot back and closes its query when it ends, however
    it ends (written, failed midway, client gone)."""

    def __init__(
        self, body: Iterator[bytes], first: bytes, release: Callable[[], None], media: str, headers: dict[str, str]
    ) -> None:
        self._body, self._release = body, release

        async def stream() -> AsyncIterator[bytes]:
            yield first
            async for chunk in iterate_in_threadpool(body):
                yield chunk

        super().__init__(stream(), media_type=media, headers=headers)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
            with contextlib.suppress(ValueError):  # still running in a worker: it ends at its own limit
                await run_in_threadpool(self._body.close)


Start = Callable[[], tuple[pa.Schema, Iterator[pa.RecordBatch], list[str], dict[str, str]]]
"""Runs (in a worker thread) the query of a request: schema, batches, truncation notes, extra headers."""


async def answer(caller: Caller, start: Start, *, errors: tuple[type[Exception], ...] = ()) -> Response:
    """Run `start` in a concurrency slot and stream its result in the caller's format. An exception of
    `errors` (or a ValueError) raised before the first byte becomes a 400 with its message; the slot is
    released when the body ends."""
    release = await _acquire(caller.settings)
    try:
        schema, batches, truncated, headers = await run_in_threadpool(start)
        body = chunks(caller.media, schema, batches, truncated)
        first = await run_in_threadpool(next, body, b"")  # the query's first step fails here: still a 4xx
    except errors as exc:
        release()
        raise ApiError(400, "query_refused", str(exc)) from None
    except ValueError as exc:
        release()
        raise ApiError(400, "invalid_parameter", str(exc)) from None
    except BaseException:
        release()
        raise
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **headers}
    return _SlotResponse(body, first, release, CONTENT_TYPES[caller.media], headers)


def handle(route: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """A route whose ApiError becomes its JSON error response, and any other failure a JSON 500 (logged
    with the method and path only: never a header, so never the token)."""

    async def endpoint(request: Request) -> Response:
        try:
            return await route(request)
        except ApiError as error:
            return error_response(error)
        except Exception:
            _log.exception("API request failed: %s %s", request.method, request.url.path)
            return error_response(ApiError(500, "internal_error", "the server failed to answer; see its log"))

    endpoint.__name__ = getattr(route, "__name__", "endpoint")
    endpoint.__doc__ = route.__doc__
    return endpoint
