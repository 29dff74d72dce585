"""Options shared by every relaywatch command."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from relaywatch.core import open_home, resolve_home


def home_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--home DIR` on a command (it may also come before the command, or from RELAYWATCH_HOME)."""

    @click.option(
        "--home",
        "home_opt",
        type=click.Path(path_type=Path),
        default=None,
        help="Data home (config, lake, control database). Default: $RELAYWATCH_HOME or var/home.",
    )
    @click.pass_context
    @wraps(func)
    def wrapper(ctx: click.Context, home_opt: Path | None, **kwargs: Any) -> Any:
        ctx.ensure_object(dict)
        if home_opt is not None or "home" not in ctx.obj:
            ctx.obj["home"] = resolve_home(home_opt)
        return ctx.invoke(func, **kwargs)

    return wrapper


def current_home(*, create: bool = False, check: bool = True) -> Path:
    """The data home of the running command, checked (or created with `create`) unless `check` is off."""
    home = click.get_current_context().obj["home"]
    return open_home(home, create=create) if check else home


def named_values(_ctx: click.Context, _param: click.Parameter, pairs: tuple[str, ...]) -> dict[str, str]:
    """`--param NAME=VALUE` options as a dict: the values of a query's named parameters."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE")
        values[name] = value
    return values
