"""What the policy commands share: the acting account (`--as USER`), tables of plain text, times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from relaywatch.core import control_db
from relaywatch.options import current_home

if TYPE_CHECKING:
    from acl import User


def actor(name: str | None) -> User:
    from acl import get_user, local_operator, open_store

    if name is None:
        return local_operator()
    with open_store(control_db(current_home())) as store:
        return get_user(store, name)


def as_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--as", "as_user", default=None, metavar="USER", help="Act as this account (its role and grants decide)."
    )(func)


def when(ts: float | None) -> str:
    return "never" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def table(columns: list[str], rows: list[list[Any]]) -> None:
    """Rows as a text table: log-derived values are shown as plain text, never markup."""
    table = Table(*columns)
    for row in rows:
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    Console(width=max(100, Console().width)).print(table)
