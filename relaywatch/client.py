"""`relaywatch.connect`: the scoped data as Polars frames, for notebooks and scripts.

- `connect(url, token)`: over the HTTP API of a relaywatch server (from any machine). The token is sent
  as `Authorization: Bearer` and read from RELAYWATCH_TOKEN when not given; results travel as Arrow
  IPC streams and are read batch by batch.
- `connect(home=..., user=...)`: on the relaywatch host itself, the same queries in this process, with
  the same Scope (that user's grants) and, for `sql`, the same guard and limits as `sql --as`. Honest
  caveat: whoever can read the data home's files (the lake, control.db) can read everything, root's
  view included; the Scope here protects a notebook from its own mistakes, not the data from its author.

Both answer the same methods with the same frames: `sql`, `deliveries`, `overview`, `bounces`,
`messages`, `message`.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
import warnings
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from relaywatch.core import RelaywatchError

ARROW = "application/vnd.apache.arrow.stream"
TRUNCATED_KEY = b"relaywatch.truncated"
Moment = str | date | datetime


class ClientError(RelaywatchError):
    """The server refused the request (the message is its JSON error), or could not be reached."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _text(value: Moment | None) -> str | None:
    return None if value is None else value.isoformat() if isinstance(value, date | datetime) else str(value)


class Remote:
    """The HTTP API of one server, as one token's account."""

    def __init__(self, url: str, token: str, *, timeout: float = 120.0) -> None:
        self.url, self._token, self.timeout = url.rstrip("/"), token, timeout

    def __repr__(self) -> str:  # never the token
        return f"relaywatch.Remote({self.url!r})"

    def _get(self, path: str, params: dict[str, Any], data: bytes | None = None) -> tuple[pl.DataFrame, Any]:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        request = urllib.request.Request(
            f"{self.url}/api/v1/{path}" + (f"?{query}" if query else ""),
            data=data,
            headers={
                "Authorization": f"Bearer {self._token}",
                "Accept": ARROW,
                **({"Content-Type": "application/json"} if data else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - the user's URL
                return _read_arrow(response), response.headers
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read())["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": None, "message": f"HTTP {exc.code}"}
            raise ClientError(f"{error['message']} (HTTP {exc.code})", exc.code, error["code"]) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ClientError(f"cannot reach {self.url}: {exc}") from None

    def sql(self, query: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        """One SELECT over your scoped views, `params` the values of its named parameters (`$since`);
        warns when a limit cut the result."""
        values = {name: v.isoformat() if isinstance(v, date) else v for name, v in (params or {}).items()}
        body = {"sql": query, **({"params": values} if values else {})}
        return self._get("sql", {}, json.dumps(body).encode())[0]

    def deliveries(
        self,
        start: Moment | None = None,
        end: Moment | None = None,
        *,
        pages: int | None = 1,
        limit: int = 1000,
        **filters: Any,
    ) -> pl.DataFrame:
        """Delivery attempts matching the Logs filters (see the API), `pages` pages (None: all)."""
        params = {"start": _text(start), "end": _text(end), "limit": limit, **filters}
        frames, offset, page = [], 0, 0
        while pages is None or page < pages:
            frame, headers = self._get("deliveries", {**params, "offset": offset})
            frames.append(frame)
            page += 1
            if headers.get("X-Next-Offset") is None:
                break
            offset = int(headers["X-Next-Offset"])
        return pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]

    def overview(
        self,
        part: str,
        start: Moment | None = None,
        end: Moment | None = None,
        *,
        soft_is_error: bool = False,
        top: int = 10,
    ) -> pl.DataFrame:
        """One part of the Overview: totals, timeline, by_gateway, top_senders, top_domains."""
        return self._get(
            f"overview/{part}",
            {"start": _text(start), "end": _text(end), "top": top, "soft_is_error": str(soft_is_error).lower()},
        )[0]

    def bounces(
        self, part: str, start: Moment | None = None, end: Moment | None = None, *, top: int = 15, repeated: int = 2
    ) -> pl.DataFrame:
        """One part of Bounces: timeline, domains, providers, provider_reasons, unknown_recipients."""
        return self._get(
            f"bounces/{part}", {"start": _text(start), "end": _text(end), "top": top, "repeated": repeated}
        )[0]

    def messages(self, q: str, *, limit: int = 50) -> pl.DataFrame:
        """Messages whose queue id, Message-ID or key is `q`."""
        return self._get("messages", {"q": q, "limit": limit})[0]

    def message(self, key: str, part: str = "message") -> pl.DataFrame:
        """One part of a message's detail: message, attempts, rejects, timeline, lines."""
        return self._get(f"message/{part}", {"key": key})[0]


def _read_arrow(stream: Any) -> pl.DataFrame:
    reader = pa.ipc.open_stream(stream)
    batches = []
    while True:
        try:
            batch, metadata = reader.read_next_batch_with_custom_metadata()
        except StopIteration:
            break
        if metadata is not None and TRUNCATED_KEY in metadata:
            warnings.warn(f"relaywatch: {metadata[TRUNCATED_KEY].decode()}", stacklevel=4)
        batches.append(batch)
    return pl.from_arrow(pa.Table.from_batches(batches, reader.schema))  # type: ignore[return-value]


def connect(
    url: str | None = None,
    token: str | None = None,
    *,
    home: str | Path | None = None,
    user: str | None = None,
    timeout: float = 120.0,
) -> Any:
    """A connection answering `sql`, `deliveries`, `overview`, `bounces`, `messages`, `message` with frames:
    remote (`url`, `token`; by default RELAYWATCH_URL and RELAYWATCH_TOKEN) or local (`home`, `user`; see
    the module's caveat)."""
    if url is None and home is None:
        url = os.environ.get("RELAYWATCH_URL")  # set by `relaywatch notebook`, with RELAYWATCH_TOKEN
    if url is not None:
        secret = token or os.environ.get("RELAYWATCH_TOKEN", "")
        if not secret:
            raise ClientError("no API token: pass token= or set RELAYWATCH_TOKEN")
        return Remote(url, secret, timeout=timeout)
    if home is None or user is None:
        raise ClientError("connect(url, token) for a server, or connect(home=..., user=...) on its host")
    from relaywatch.local import Local

    return Local(Path(home), user)


class _ScriptSafeJSON(json.JSONEncoder):
    """JSON whose `<`, `>` and `&` are written as \\u escapes: the same data, and no `</script>` in it."""

    def iterencode(self, o: Any, _one_shot: bool = False) -> Any:
        for chunk in super().iterencode(o, _one_shot):
            yield chunk.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def enable_safe_charts() -> None:
    """Make altair's notebook charts safe for log text: its HTML renderer writes the chart's data into a
    <script> element as raw JSON, so an address or reply holding `</script>` would run as HTML; with this,
    the data is escaped (and still the same data)."""
    import altair as alt

    alt.renderers.enable("default", json_kwds={"cls": _ScriptSafeJSON})
