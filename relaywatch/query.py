"""`relaywatch sql`: a SELECT over the warehouse views, as root or inside a user's Scope."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import polars as pl

from acl import ROOT, Scope, check_user_sql, get_user, open_store, scope_for
from relaywatch.core import RelaywatchError, control_db
from warehouse import PUBLIC_VIEWS, Warehouse, open_lake

USER_QUERY_SECONDS = 60.0


class QueryError(RelaywatchError):
    """The query was refused or failed; the message says why."""


def sql(home: Path, query: str, *, as_user: str | None = None) -> pl.DataFrame:
    """Run `query` as the local operator (root), or as `as_user`: then it must be one SELECT over the
    scoped views only, runs with file access disabled and stops after USER_QUERY_SECONDS."""
    lake = open_lake(home)
    if as_user is None:
        warehouse = Warehouse(lake, Scope.root())
    else:
        user = get_user(open_store(control_db(home)), as_user)
        if user.role != ROOT:
            check_user_sql(query, set(PUBLIC_VIEWS))
        warehouse = Warehouse(lake, scope_for(user))
    timer = threading.Timer(USER_QUERY_SECONDS, warehouse.interrupt)
    if as_user is not None:
        timer.start()
    try:
        return warehouse.query(query)
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {exc}") from exc
    finally:
        timer.cancel()
        warehouse.close()

