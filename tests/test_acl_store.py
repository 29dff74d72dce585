"""Control-plane store: WAL mode, versioned migrations, atomic transactions, private file."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from acl import Hasher, local_operator, open_store, user_add
from acl.store import MIGRATIONS


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "home" / "control.db"


def test_new_store_is_wal_private_and_at_latest_schema_version(db_path):
    store = open_store(db_path, hasher=Hasher(fast=True))
    assert store.schema_version == MIGRATIONS[-1][0]
    store.close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    with sqlite3.connect(db_path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [v for (v,) in con.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == [v for v, _ in MIGRATIONS]


def test_reopening_keeps_data_and_does_not_reapply_migrations(db_path):
    with open_store(db_path, hasher=Hasher(fast=True)) as store:
        user_add(store, local_operator("ops"), "alice", "user", None)
    with open_store(db_path, hasher=Hasher(fast=True)) as store:
        assert store.schema_version == MIGRATIONS[-1][0]
        with store.transaction(write=False) as tx:
            assert tx.user_by_name("alice") is not None


def test_database_newer_than_the_code_is_refused(db_path):
    open_store(db_path, hasher=Hasher(fast=True)).close()
    with sqlite3.connect(db_path) as con:
        con.execute("INSERT INTO schema_version (version) VALUES (?)", (MIGRATIONS[-1][0] + 1,))
    with pytest.raises(RuntimeError, match="newer"):
        open_store(db_path, hasher=Hasher(fast=True))


def test_a_failing_transaction_leaves_nothing_behind(db_path):
    store = open_store(db_path, hasher=Hasher(fast=True))
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.insert_user("ghost", "user", None, None, 0.0)
        raise RuntimeError("crash in the middle")
    with store.transaction(write=False) as tx:
        assert tx.user_by_name("ghost") is None
    store.close()


def test_two_stores_on_one_file_see_each_others_commits(db_path):
    first = open_store(db_path, hasher=Hasher(fast=True))
    second = open_store(db_path, hasher=Hasher(fast=True))
    user_add(first, local_operator("ops"), "bob", "user", None)
    with second.transaction(write=False) as tx:
        assert tx.user_by_name("bob") is not None
    first.close()
    second.close()
