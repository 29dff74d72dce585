"""API tokens in acl: shown once and stored hashed, per user, expiring, revocable, reserved for mailgw,
and their use audited without flooding the audit log."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from acl import (
    InvalidValue,
    NotFound,
    PermissionDenied,
    Store,
    TokenInvalid,
    audit_entries,
    get_user,
    local_operator,
    open_store,
    token_create,
    token_list,
    token_revoke,
    token_user,
    user_add,
    user_disable,
)
from acl.tokens import USE_AUDIT_SECONDS

PASSWORD = "correct horse battery"
NOW = 1_800_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "control.db")
    root = local_operator("tests")
    for name, role in (("alice", "user"), ("bob", "user"), ("boss", "root"), ("gwbot", "mailgw")):
        user_add(store, root, name, role, PASSWORD)
    yield store
    store.close()


def test_a_token_is_shown_once_stored_only_as_its_hash_and_opens_its_owners_account(store, tmp_path: Path) -> None:
    alice = get_user(store, "alice")
    secret, created = token_create(store, alice, "notebook", now=NOW)
    assert secret.startswith("rwt_") and len(secret) == 47
    assert created.user == "alice" and created.name == "notebook" and created.state(NOW) == "active"
    raw = (tmp_path / "control.db").read_bytes() + (tmp_path / "control.db-wal").read_bytes()
    assert secret.encode() not in raw
    with sqlite3.connect(tmp_path / "control.db") as con:
        (stored,) = con.execute("SELECT token_hash FROM api_tokens").fetchone()
    assert len(stored) == 64 and secret not in stored
    assert token_user(store, secret, now=NOW + 1).name == "alice"
    assert [t.id for t in token_list(store, alice)] == [created.id]
    assert not hasattr(token_list(store, alice)[0], "token")


def test_unknown_malformed_revoked_and_expired_tokens_are_refused_alike(store) -> None:
    alice = get_user(store, "alice")
    secret, created = token_create(store, alice, "short", expires_days=1, now=NOW)
    assert token_user(store, secret, now=NOW + 3600).name == "alice"
    messages = set()
    for token, at in ((secret, NOW + 86400), ("rwt_" + "x" * 43, NOW), ("", NOW), ("Bearer x", NOW)):
        with pytest.raises(TokenInvalid) as refused:
            token_user(store, token, now=at)
        messages.add(str(refused.value))
    assert len(messages) == 1
    other, made = token_create(store, alice, "revoked", now=NOW)
    assert token_revoke(store, alice, made.id, now=NOW + 5).state() == "revoked"
    with pytest.raises(TokenInvalid):
        token_user(store, other, now=NOW + 6)
    with pytest.raises(InvalidValue):
        token_revoke(store, alice, made.id)


def test_a_disabled_account_loses_its_tokens_at_once(store) -> None:
    secret, _ = token_create(store, get_user(store, "bob"), "ci", now=NOW)
    user_disable(store, local_operator("tests"), "bob", disabled=True)
    with pytest.raises(TokenInvalid):
        token_user(store, secret, now=NOW + 1)


def test_tokens_are_per_user_root_manages_all_and_mailgw_tokens_are_reserved(store) -> None:
    alice, bob, boss = (get_user(store, n) for n in ("alice", "bob", "boss"))
    _, mine = token_create(store, alice, "mine", now=NOW)
    with pytest.raises(PermissionDenied):
        token_create(store, alice, "for bob", user="bob")
    with pytest.raises(NotFound):
        token_revoke(store, bob, mine.id)
    with pytest.raises(PermissionDenied):
        token_list(store, bob, user="alice")
    assert token_list(store, bob) == []
    _, for_bob = token_create(store, boss, "ops", user="bob", now=NOW)
    assert for_bob.user == "bob"
    assert {t.user for t in token_list(store, boss)} == {"alice", "bob"}
    with pytest.raises(PermissionDenied, match="reserved for the push mode"):
        token_create(store, local_operator("tests"), "push", user="gwbot")
    with pytest.raises(PermissionDenied, match="reserved"):
        token_create(store, get_user(store, "gwbot"), "push")
    with pytest.raises(InvalidValue):
        token_create(store, alice, "")
    with pytest.raises(InvalidValue):
        token_create(store, alice, "x", expires_days=0)


def test_token_uses_are_audited_once_per_minute_with_their_count(store) -> None:
    alice = get_user(store, "alice")
    secret, created = token_create(store, alice, "busy", now=NOW)
    for i in range(50):
        token_user(store, secret, source="127.0.0.1", now=NOW + i * 0.5)  # 25 s of requests
    token_user(store, secret, now=NOW + USE_AUDIT_SECONDS + 1)
    uses = [e for e in audit_entries(store, local_operator("tests")) if e.action == "token_use"]
    assert [e.after["requests"] for e in uses] == [1, 50]
    assert all(e.after["token"] == created.id and e.target == "alice" for e in uses)
    actions = [e.action for e in audit_entries(store, local_operator("tests"))]
    assert "token_create" in actions
    assert all(secret not in str(e) for e in audit_entries(store, local_operator("tests")))
    assert token_list(store, alice)[0].last_used_at == NOW + USE_AUDIT_SECONDS + 1
