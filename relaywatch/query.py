"""`relaywatch sql`: a user's SELECT over the warehouse views, inside that user's Scope."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from relaywatch import home as homes
from warehouse.lake import Lake
from warehouse.views import PUBLIC_VIEWS, Warehouse


class QueryError(Exception):
    """The query was refused or failed; the message says why."""


class _Root:
    def predicate(self) -> tuple[str, dict[str, object]]:
        return "TRUE", {}


def sql(home: Path, query: str, *, as_user: str | None = None) -> pl.DataFrame:
    """Run `query` as root, or scoped as `as_user` (whose SQL may only read the scoped views)."""
    scope = _Root()
    if as_user is not None:
        raise QueryError("--as needs the access-control store, which this installation does not have yet")
    warehouse = Warehouse(Lake(homes.lake_dir(home)), scope)
    try:
        return warehouse.query(query)
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {exc}") from exc
    finally:
        warehouse.close()


__all__ = ["PUBLIC_VIEWS", "QueryError", "sql"]
