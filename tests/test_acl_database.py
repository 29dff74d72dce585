"""control.db shared by acl, policy and the reports: one file, three schemas versioned apart.

Whichever package opens a fresh data home first creates control.db readable by its owner only (it holds
password hashes); each package migrates only its own tables and refuses a file its own part of which a
newer relaywatch migrated, leaving the file as it was.
"""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from acl import Hasher, SchemaTooNew, open_store
from policy import PolicyStore
from reports import ReportError, open_report_store

OPENERS: dict[str, Callable[[Path], object]] = {
    "schema_version": lambda path: open_store(path, hasher=Hasher(fast=True)),
    "policy_schema_version": PolicyStore,
    "reports_schema_version": open_report_store,
}


def tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as con:
        return [name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]


@pytest.mark.parametrize("first", list(OPENERS))
def test_the_package_that_creates_control_db_makes_it_private(tmp_path: Path, first: str) -> None:
    path = tmp_path / "home" / "control.db"
    OPENERS[first](path).close()  # type: ignore[attr-defined]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_each_package_migrates_only_its_own_tables_in_the_shared_file(tmp_path: Path) -> None:
    path = tmp_path / "control.db"
    OPENERS["policy_schema_version"](path).close()  # type: ignore[attr-defined]
    policy_only = tables(path)
    assert "users" not in policy_only and "report_settings" not in policy_only
    assert "policy_blacklist" in policy_only
    for opener in OPENERS.values():
        opener(path).close()  # type: ignore[attr-defined]
    every = tables(path)
    assert {"users", "policy_blacklist", "report_settings", *OPENERS} <= set(every)


@pytest.mark.parametrize("version_table", list(OPENERS))
def test_a_part_migrated_by_newer_code_is_refused_and_the_file_left_as_it_was(
    tmp_path: Path, version_table: str
) -> None:
    path = tmp_path / "control.db"
    for opener in OPENERS.values():
        opener(path).close()  # type: ignore[attr-defined]
    with sqlite3.connect(path) as con:
        con.execute(f"INSERT INTO {version_table} (version) VALUES (999)")  # noqa: S608
    before = path.read_bytes()
    expected = ReportError if version_table == "reports_schema_version" else SchemaTooNew
    with pytest.raises(expected, match=f"{version_table} 999 is newer than this code knows"):
        OPENERS[version_table](path)
    assert path.read_bytes() == before
    for other, opener in OPENERS.items():
        if other != version_table:
            opener(path).close()  # type: ignore[attr-defined]
