"""`relaywatch sql`: a SELECT over the warehouse views, as the host operator or inside a user's Scope."""

from __future__ import annotations

from pathlib import Path

from acl import Scope, check_user_sql, get_user, open_store, scope_for
from relaywatch.core import control_db, load_config
from warehouse import UserQuery, Warehouse, open_lake, run_local_sql, run_user_sql


def sql(home: Path, query: str, *, as_user: str | None = None, params: dict[str, str] | None = None) -> UserQuery:
    """Run `query` as the host operator (root, in this process, no limits), or as `as_user` (any role,
    root included): then it must pass the SQL guard, runs in a child process on a confined connection
    holding only that user's scoped views, within the `[sql]` limits (time with output, rows, bytes,
    memory). `params` are the values of its named parameters (`$since`), bound by DuckDB. The result
    streams; `UserQuery.truncated` says when a limit cut it."""
    lake = open_lake(home)
    if as_user is None:
        return run_local_sql(Warehouse(lake, Scope.root()), query, params)
    user = get_user(open_store(control_db(home)), as_user)
    limits = load_config(home).sql
    scope = scope_for(user)
    return run_user_sql(lake.root, lake.timezone, scope, query, guard=check_user_sql, limits=limits, params=params)
