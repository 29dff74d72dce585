"""The data home: one folder holding a relaywatch installation's config, lake and control database."""

from __future__ import annotations

import os
from pathlib import Path

from relaywatch.core.config import CONFIG_NAME, load_config
from relaywatch.core.errors import RelaywatchError
from relaywatch.core.files import write_atomic

DEFAULT_CONFIG = """\
# relaywatch data home configuration (README: "Configuration").
# Local classification rules take precedence over the built-in ones, e.g.:
# [[classify.rules]]
# id = "my-isp-block"
# pattern = "blocked by MyISP"
# qualification = "soft"
# reason = "reputation"

[parse]
# Time zone of classic syslog timestamps (they carry no offset).
timezone = "UTC"
"""


class HomeError(RelaywatchError):
    """The data home is missing, not a directory, or not a relaywatch home."""


def resolve_home(path: str | os.PathLike[str] | None) -> Path:
    """The home from `--home`, else RELAYWATCH_HOME, else ./var/home."""
    chosen = path or os.environ.get("RELAYWATCH_HOME") or "var/home"
    return Path(chosen).expanduser().absolute()


def open_home(home: Path, *, create: bool) -> Path:
    """Check (or, with `create`, initialise) a data home; refuse any folder that is not one.

    A non-empty folder without relaywatch.toml is refused even with `create`, so a mistyped --home never
    writes into someone else's data. The configuration is validated on the way.
    """
    if home.exists() and not home.is_dir():
        raise HomeError(f"--home {home} is not a directory")
    config = home / CONFIG_NAME
    if config.is_file():
        load_config(home)
        return home
    if not create:
        raise HomeError(
            f"{home} is not a relaywatch data home (no {CONFIG_NAME}); pass --home or set RELAYWATCH_HOME "
            "to an existing home, or ingest a log to create one"
        )
    if home.exists() and any(home.iterdir()):
        raise HomeError(f"{home} is not empty and has no {CONFIG_NAME}: refusing to use it as a data home")
    write_atomic(config, DEFAULT_CONFIG)
    return home


def lake_dir(home: Path) -> Path:
    """Where the Delta tables live."""
    return home / "lake"


def control_db(home: Path) -> Path:
    """The control-plane SQLite database (users, grants, policy, audit)."""
    return home / "control.db"


def locks_dir(home: Path) -> Path:
    """Lock files of the home's cross-process locks."""
    return home / ".locks"
