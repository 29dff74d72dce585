"""The local connection of `relaywatch.connect(home=..., user=...)`: the API's queries in this process,
inside that user's Scope (see relaywatch.client for the caveat about file access to the lake)."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from acl import Scope, check_user_sql, get_user, open_store, scope_for
from relaywatch.client import ClientError
from relaywatch.core import control_db, load_config, open_home
from warehouse import (
    LogFilter,
    Period,
    Warehouse,
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

FILTER_LISTS = {"status": "statuses", "qualification": "qualifications", "reason": "reasons", "gateway": "gateways"}


def _moment(value: Any, *, end: bool) -> datetime:
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return moment + timedelta(days=1) if end else moment


def _period(start: Any, end: Any) -> Period:
    """The API's period rules: a bare date ends at the end of its day; default the last 24 hours."""
    last = _moment(end, end=True) if end is not None else datetime.now(UTC)
    first = _moment(start, end=False) if start is not None else last - timedelta(hours=24)
    return Period(first, last)


class Local:
    """One account's scoped view of a data home on this host."""

    def __init__(self, home: Path, user: str) -> None:
        self.home = open_home(home, create=False)
        store = open_store(control_db(self.home))
        try:
            self.user = get_user(store, user)
        finally:
            store.close()
        self.scope: Scope = scope_for(self.user)

    def __repr__(self) -> str:
        return f"relaywatch.Local({str(self.home)!r}, user={self.user.name!r})"

    def _run(self, query: Any) -> pl.DataFrame:
        warehouse = Warehouse(open_lake(self.home), self.scope)
        try:
            return query(warehouse)
        finally:
            warehouse.close()

    def sql(self, query: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        """One SELECT over the scoped views: the guard and `[sql]` limits of `relaywatch sql --as`; `params`
        are the values of its named parameters (`$since`)."""
        lake = open_lake(self.home)
        result = run_user_sql(
            lake.root,
            lake.timezone,
            self.scope,
            query,
            guard=check_user_sql,
            limits=load_config(self.home).sql,
            params=params,
        )
        table = pa.Table.from_batches(list(result.batches), result.schema)
        for note in result.truncated:
            warnings.warn(f"relaywatch: {note}", stacklevel=2)
        return pl.from_arrow(table)  # type: ignore[return-value]

    def deliveries(
        self,
        start: Any = None,
        end: Any = None,
        *,
        pages: int | None = 1,
        limit: int = 1000,
        sort: str = "ts",
        order: str = "desc",
        **filters: Any,
    ) -> pl.DataFrame:
        """Delivery attempts matching the Logs filters, `pages` pages of `limit` rows (None: all)."""
        lists = {
            FILTER_LISTS[k]: tuple(v.split(",") if isinstance(v, str) else v)
            for k, v in filters.items()
            if k in FILTER_LISTS
        }
        texts = {k: v for k, v in filters.items() if k not in FILTER_LISTS}
        flt = LogFilter(_period(start, end), **lists, **texts)

        def query(warehouse: Any) -> pl.DataFrame:
            total = total_of(log_histogram(warehouse, flt))
            frames, offset = [], 0
            while (pages is None or len(frames) < pages) and (not frames or offset < total):
                frames.append(
                    log_rows(warehouse, flt, sort=sort, descending=order == "desc", limit=limit, offset=offset)
                )
                offset += frames[-1].height
                if not frames[-1].height:
                    break
            return pl.concat(frames, how="vertical_relaxed")

        return self._run(query)

    def overview(
        self, part: str, start: Any = None, end: Any = None, *, soft_is_error: bool = False, top: int = 10
    ) -> pl.DataFrame:
        """One part of the Overview: totals, timeline, by_gateway, top_senders, top_domains."""

        def query(warehouse: Any) -> pl.DataFrame:
            figures = overview(warehouse, _period(start, end), soft_is_error=soft_is_error, top=top)
            if part == "totals":
                return pl.DataFrame([{**figures.totals, "error_rate": figures.error_rate}])
            return getattr(figures, part)

        return self._run(query)

    def bounces(
        self, part: str, start: Any = None, end: Any = None, *, top: int = 15, repeated: int = 2
    ) -> pl.DataFrame:
        """One part of Bounces: timeline, domains, providers, provider_reasons, unknown_recipients."""
        return self._run(lambda wh: getattr(bounces(wh, _period(start, end), top=top, repeated=repeated), part))

    def messages(self, q: str, *, limit: int = 50) -> pl.DataFrame:
        """Messages whose queue id, Message-ID or key is `q`."""
        return self._run(lambda wh: find_messages(wh, q, limit=limit))

    def message(self, key: str, part: str = "message") -> pl.DataFrame:
        """One part of a message's detail: message, attempts, rejects, timeline, lines."""

        def query(warehouse: Any) -> pl.DataFrame:
            detail = message_detail(warehouse, key)
            if detail.message is None:
                raise ClientError("no such message in your scope", 404, "not_found")
            return pl.DataFrame([detail.message]) if part == "message" else getattr(detail, part)

        return self._run(query)
