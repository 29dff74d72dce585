"""Options shared by every relaywatch command."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from relaywatch import home as homes


def home_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--home DIR` on a command (it may also come before the command, or from RELAYWATCH_HOME)."""

    @click.option("--home", "home_opt", type=click.Path(path_type=Path), default=None,
                  help="Data home (config, lake, control database). Default: $RELAYWATCH_HOME or var/home.")
    @click.pass_context
    @wraps(func)
    def wrapper(ctx: click.Context, home_opt: Path | None, **kwargs: Any) -> Any:
        if home_opt is not None:
            ctx.obj["home"] = homes.resolve(home_opt)
        return ctx.invoke(func, **kwargs)

    return wrapper
