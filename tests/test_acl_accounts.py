"""Accounts: roles and who may change what, log-in throttling, sessions, password change and reset, audit."""

from __future__ import annotations

import json
import re

import pytest
from argon2 import PasswordHasher

from acl import (
    ADMIN,
    MAILGW,
    ROOT,
    USER,
    Grant,
    Hasher,
    InvalidValue,
    LoginFailed,
    NotFound,
    PermissionDenied,
    SessionInvalid,
    Throttled,
    WeakPassword,
    audit_entries,
    authenticate,
    finish_password_reset,
    flush_mail,
    get_user,
    local_operator,
    login,
    logout,
    open_store,
    scope_for,
    session_user,
    start_password_reset,
    user_add,
    user_disable,
    user_grant,
    user_list,
    user_passwd,
    user_revoke,
    user_role,
)
from acl.errors import CodeInvalid

PASSWORD = "correct horse battery"
T0 = 1_800_000_000.0


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "control.db", hasher=Hasher(fast=True))
    yield s
    s.close()


@pytest.fixture
def op():
    return local_operator("ops")


@pytest.fixture
def admin(store, op):
    user_add(store, op, "adm", ADMIN, PASSWORD)
    user_grant(store, op, "adm", "domain", "example.com", include_subdomains=True)
    user_grant(store, op, "adm", "sasl", "relay-user")
    return get_user(store, "adm")


def test_root_creates_accounts_of_every_role(store, op):
    for name, role in [("r", ROOT), ("a", ADMIN), ("u", USER), ("gw1-machine", MAILGW)]:
        created = user_add(store, op, name, role, PASSWORD)
        assert (created.name, created.role, created.grants) == (name, role, ())
    assert [u.name for u in user_list(store, op)] == ["a", "gw1-machine", "r", "u"]
    with pytest.raises(InvalidValue, match="already exists"):
        user_add(store, op, "U", USER, PASSWORD)
    with pytest.raises(InvalidValue, match="unknown role"):
        user_add(store, op, "x", "superuser", PASSWORD)
    with pytest.raises(WeakPassword):
        user_add(store, op, "y", USER, "short")


def test_stored_root_account_acts_like_the_local_operator(store, op):
    user_add(store, op, "boss", ROOT, PASSWORD)
    boss = authenticate(store, "boss", PASSWORD)
    user_add(store, boss, "u", USER, None)
    user_grant(store, boss, "u", "sender", "a@b.org")
    assert scope_for(boss).predicate() == ("TRUE", {})


def test_admin_grants_only_within_its_own_grants_and_only_to_users(store, op, admin):
    user_add(store, op, "cust", USER, PASSWORD)
    user_add(store, op, "other-admin", ADMIN, PASSWORD)
    user_grant(store, admin, "cust", "sender", "x@deep.example.com")
    user_grant(store, admin, "cust", "domain", "shop.example.com", include_subdomains=True)
    user_grant(store, admin, "cust", "sasl", "relay-user")
    for kind, value in [
        ("sender", "x@example.org"),
        ("domain", "org"),
        ("sasl", "other"),
        ("gateway", "gw1"),
    ]:
        with pytest.raises(PermissionDenied, match="outside your own grants"):
            user_grant(store, admin, "cust", kind, value)
    with pytest.raises(PermissionDenied, match="only root may grant every gateway"):
        user_grant(store, admin, "cust", "gateway", "*")
    with pytest.raises(PermissionDenied, match="'user' accounts only"):
        user_grant(store, admin, "other-admin", "sender", "x@example.com")
    with pytest.raises(PermissionDenied, match="'user' accounts only"):
        user_grant(store, admin, "adm", "domain", "example.com", include_subdomains=True)
    assert set(get_user(store, "cust").grants) == {
        Grant("sender", "x@deep.example.com"),
        Grant("domain", "shop.example.com", True),
        Grant("sasl", "relay-user"),
    }


def test_admin_cannot_manage_accounts_or_revoke_outside_its_grants(store, op, admin):
    user_add(store, op, "cust", USER, PASSWORD)
    user_grant(store, op, "cust", "sender", "x@example.org")
    user_grant(store, op, "cust", "sender", "x@example.com")
    for action in (
        lambda: user_add(store, admin, "new", USER, PASSWORD),
        lambda: user_role(store, admin, "cust", ADMIN),
        lambda: user_disable(store, admin, "cust"),
        lambda: user_passwd(store, admin, "cust", "another long password"),
        lambda: user_revoke(store, admin, "cust", "sender", "x@example.org"),
        lambda: audit_entries(store, admin),
    ):
        with pytest.raises(PermissionDenied):
            action()
    user_revoke(store, admin, "cust", "sender", "x@example.com")
    with pytest.raises(NotFound):
        user_revoke(store, admin, "cust", "sender", "x@example.com")
    assert get_user(store, "cust").grants == (Grant("sender", "x@example.org"),)


def test_admin_lists_only_the_users_it_manages_with_only_its_grants(store, op, admin):
    user_add(store, op, "mine", USER, None)
    user_add(store, op, "theirs", USER, None)
    user_grant(store, op, "mine", "sender", "a@example.com")
    user_grant(store, op, "mine", "sender", "a@elsewhere.net")
    user_grant(store, op, "theirs", "sender", "b@elsewhere.net")
    listed = user_list(store, admin)
    assert [(u.name, u.grants) for u in listed] == [("mine", (Grant("sender", "a@example.com"),))]


def test_users_and_machines_manage_nothing(store, op):
    user_add(store, op, "cust", USER, PASSWORD)
    user_add(store, op, "gw", MAILGW, PASSWORD)
    for actor in (get_user(store, "cust"), get_user(store, "gw")):
        with pytest.raises(PermissionDenied):
            user_list(store, actor)
        with pytest.raises(PermissionDenied):
            user_grant(store, actor, "cust", "sender", "x@example.com")


def test_grant_rules_for_root_mailgw_and_all_gateways(store, op):
    user_add(store, op, "gw", MAILGW, None)
    user_add(store, op, "boss", ROOT, None)
    user_add(store, op, "adm", ADMIN, None)
    user_add(store, op, "cust", USER, None)
    user_grant(store, op, "gw", "gateway", "gw1")
    with pytest.raises(InvalidValue, match="mailgw"):
        user_grant(store, op, "gw", "sender", "a@example.com")
    with pytest.raises(InvalidValue, match="root sees everything"):
        user_grant(store, op, "boss", "gateway", "gw1")
    with pytest.raises(PermissionDenied, match="only to admins"):
        user_grant(store, op, "cust", "gateway", "*")
    user_grant(store, op, "adm", "gateway", "*")
    assert scope_for(get_user(store, "adm")).predicate() == ("TRUE", {})
    assert scope_for(get_user(store, "gw")).predicate() == ("FALSE", {})
    with pytest.raises(InvalidValue, match="revoke gateway"):
        user_role(store, op, "adm", USER)


def test_login_then_session_then_logout(store, op):
    user_add(store, op, "alice", USER, PASSWORD)
    token, user = login(store, " Alice ", PASSWORD, source="192.0.2.1", now=T0)
    assert user.name == "alice" and len(token) >= 40
    assert session_user(store, token, now=T0 + 60).name == "alice"
    logout(store, token)
    with pytest.raises(SessionInvalid):
        session_user(store, token, now=T0 + 61)


def test_expired_session_is_refused(store, op):
    user_add(store, op, "alice", USER, PASSWORD)
    token, _ = login(store, "alice", PASSWORD, now=T0, ttl=600)
    assert session_user(store, token, now=T0 + 599).name == "alice"
    with pytest.raises(SessionInvalid):
        session_user(store, token, now=T0 + 600)
    with pytest.raises(SessionInvalid):
        session_user(store, token + "x", now=T0)
    with pytest.raises(SessionInvalid):
        session_user(store, "", now=T0)


def test_only_the_token_hash_is_stored(store, op):
    user_add(store, op, "alice", USER, PASSWORD)
    token, _ = login(store, "alice", PASSWORD)
    store.close()
    raw = store.path.read_bytes().decode("latin-1")
    assert token not in raw
    assert PASSWORD not in raw


def test_disabled_user_cannot_log_in_and_loses_its_sessions(store, op):
    user_add(store, op, "alice", USER, PASSWORD)
    user_grant(store, op, "alice", "sender", "alice@example.com")
    token, _ = login(store, "alice", PASSWORD, now=T0)
    user_disable(store, op, "alice", now=T0 + 1)
    with pytest.raises(SessionInvalid):
        session_user(store, token, now=T0 + 2)
    with pytest.raises(LoginFailed, match="invalid name or password"):
        authenticate(store, "alice", PASSWORD, now=T0 + 3)
    assert scope_for(get_user(store, "alice")).predicate() == ("FALSE", {})
    with pytest.raises(PermissionDenied):
        user_grant(store, get_user(store, "alice"), "alice", "sender", "x@example.com")
    user_disable(store, op, "alice", disabled=False, now=T0 + 4)
    assert authenticate(store, "alice", PASSWORD, now=T0 + 5).name == "alice"


def test_role_change_closes_sessions_and_a_demoted_actor_loses_powers(store, op):
    user_add(store, op, "boss", ROOT, PASSWORD)
    token, boss = login(store, "boss", PASSWORD, now=T0)
    user_role(store, op, "boss", ADMIN, now=T0 + 1)
    with pytest.raises(SessionInvalid):
        session_user(store, token, now=T0 + 2)
    with pytest.raises(PermissionDenied):
        user_add(store, boss, "sneaky", USER, PASSWORD)


def test_machine_accounts_authenticate_but_get_no_dashboard_session(store, op):
    user_add(store, op, "gw1", MAILGW, PASSWORD)
    assert authenticate(store, "gw1", PASSWORD).role == MAILGW
    with pytest.raises(LoginFailed):
        login(store, "gw1", PASSWORD)


def test_five_failures_from_one_source_lock_the_account_there_with_growing_locks(store, op):
    user_add(store, op, "alice", USER, PASSWORD)
    for i in range(5):
        with pytest.raises(LoginFailed):
            authenticate(store, "alice", f"wrong password {i}", now=T0 + i)
    with pytest.raises(Throttled) as locked:
        authenticate(store, "alice", PASSWORD, now=T0 + 10)
    assert 0 < locked.value.retry_after <= 30
    with pytest.raises(LoginFailed):
        authenticate(store, "alice", "wrong again", now=T0 + 40)
    with pytest.raises(Throttled) as locked_longer:
        authenticate(store, "alice", PASSWORD, now=T0 + 41)
    assert 30 < locked_longer.value.retry_after <= 60
    assert authenticate(store, "alice", PASSWORD, now=T0 + 101).name == "alice"
    for i in range(4):
        with pytest.raises(LoginFailed):
            authenticate(store, "alice", "wrong", now=T0 + 200 + i)
    assert authenticate(store, "alice", PASSWORD, now=T0 + 210).name == "alice"


def test_unknown_accounts_are_throttled_like_known_ones(store):
    for i in range(5):
        with pytest.raises(LoginFailed):
            authenticate(store, "nobody", "whatever it is", now=T0 + i)
    with pytest.raises(Throttled):
        authenticate(store, "nobody", "whatever it is", now=T0 + 6)


def test_a_source_spraying_many_accounts_is_locked(store, op):
    user_add(store, op, "alice", USER, PASSWORD)
    for i in range(20):
        with pytest.raises(LoginFailed):
            authenticate(store, f"user{i}", "password123", source="203.0.113.9", now=T0 + i)
    with pytest.raises(Throttled):
        authenticate(store, "alice", PASSWORD, source="203.0.113.9", now=T0 + 30)
    assert authenticate(store, "alice", PASSWORD, source="198.51.100.7", now=T0 + 31).name == "alice"


class CountingArgon2(PasswordHasher):
    """argon2id that records each hash and verify with the cost parameters it used: the work done."""

    def __init__(self) -> None:
        super().__init__(1, 8192, 1)
        self.calls: list[tuple[str, str]] = []

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.calls.append(("hash", f"{self.time_cost}/{self.memory_cost}/{self.parallelism}"))
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 - argon2's name
        self.calls.append(("verify", str(hash).split("$")[3]))
        return super().verify(hash, password)


def test_login_does_the_same_work_for_unknown_and_known_accounts(tmp_path, op):
    """Counted, not timed: the same argon2 calls with the same cost whether the name exists, the
    password is wrong, or the account is disabled (argon2 is the cost; a wall-clock median would flake
    under load and prove less)."""
    argon2 = CountingArgon2()
    store = open_store(tmp_path / "c.db", hasher=Hasher(hasher=argon2))
    user_add(store, op, "known", USER, PASSWORD)
    user_add(store, op, "off", USER, PASSWORD)
    user_disable(store, op, "off")
    store.hasher.dummy_hash  # noqa: B018 - made once, up front, like the first unknown login would
    work = {}
    for kind, name, password in (
        ("unknown", "ghost", "not the password"),
        ("wrong", "known", "not the password"),
        ("disabled", "off", PASSWORD),
    ):
        argon2.calls.clear()
        with pytest.raises(LoginFailed):
            authenticate(store, name, password, now=T0)
        work[kind] = list(argon2.calls)
    assert work["unknown"] == work["wrong"] == work["disabled"] == [("verify", "m=8192,t=1,p=1")]
    store.close()


def test_password_change_needs_the_current_password_and_closes_sessions(store, op):
    user_add(store, op, "alice", USER, PASSWORD)
    user_add(store, op, "bob", USER, PASSWORD)
    token, alice = login(store, "alice", PASSWORD, now=T0)
    with pytest.raises(LoginFailed, match="current password"):
        user_passwd(store, alice, "alice", "a brand new secret", current_password="nope", now=T0 + 1)
    with pytest.raises(PermissionDenied):
        user_passwd(store, alice, "bob", "a brand new secret", current_password=PASSWORD, now=T0 + 1)
    user_passwd(store, alice, "alice", "a brand new secret", current_password=PASSWORD, now=T0 + 2)
    with pytest.raises(SessionInvalid):
        session_user(store, token, now=T0 + 3)
    with pytest.raises(LoginFailed):
        authenticate(store, "alice", PASSWORD, now=T0 + 4)
    assert authenticate(store, "alice", "a brand new secret", now=T0 + 5).name == "alice"
    user_passwd(store, op, "bob", "set by root, long enough", now=T0 + 6)
    assert authenticate(store, "bob", "set by root, long enough", now=T0 + 7).name == "bob"


def test_password_reset_by_mailed_code(store, op):
    outbox: list[tuple[str, str, str]] = []
    user_add(store, op, "alice@example.com", USER, PASSWORD)
    user_add(store, op, "nomail", USER, PASSWORD)
    token, _ = login(store, "alice@example.com", PASSWORD, now=T0)
    start_password_reset(store, "Alice@Example.com", send_mail=lambda *m: outbox.append(m), now=T0)
    start_password_reset(store, "nomail", send_mail=lambda *m: outbox.append(m), now=T0)
    start_password_reset(store, "ghost", send_mail=lambda *m: outbox.append(m), now=T0)
    flush_mail(10)
    assert [m[0] for m in outbox] == ["alice@example.com"]
    code = re.search(r"\b(\d{8})\b", outbox[0][2]).group(1)
    with pytest.raises(CodeInvalid):
        finish_password_reset(store, "alice@example.com", "00000000", "new password here", now=T0 + 5)
    finish_password_reset(store, "alice@example.com", code, "new password here", now=T0 + 10)
    with pytest.raises(SessionInvalid):
        session_user(store, token, now=T0 + 11)
    assert authenticate(store, "alice@example.com", "new password here", now=T0 + 12)
    with pytest.raises(CodeInvalid):
        finish_password_reset(store, "alice@example.com", code, "another password!", now=T0 + 13)


def test_every_change_is_audited_without_secrets_and_readable_by_root_only(store, op):
    user_add(store, op, "boss", ROOT, PASSWORD)
    boss = get_user(store, "boss")
    user_add(store, boss, "cust", USER, PASSWORD, now=T0)
    user_grant(store, boss, "cust", "sender", "c@example.com", now=T0 + 1)
    user_revoke(store, boss, "cust", "sender", "c@example.com", now=T0 + 2)
    user_passwd(store, boss, "cust", "rotated password 1", now=T0 + 3)
    user_role(store, boss, "cust", ADMIN, now=T0 + 4)
    user_disable(store, boss, "cust", now=T0 + 5)
    entries = audit_entries(store, boss)
    assert [(e.actor, e.action, e.target) for e in entries] == [
        ("local:ops", "user_add", "boss"),
        ("boss", "user_add", "cust"),
        ("boss", "user_grant", "cust"),
        ("boss", "user_revoke", "cust"),
        ("boss", "user_passwd", "cust"),
        ("boss", "user_role", "cust"),
        ("boss", "user_disable", "cust"),
    ]
    grant = entries[2]
    assert grant.ts.startswith("2027-01-15T08:00:01") and grant.before["grants"] == []
    assert grant.after["grants"] == ["sender:c@example.com"]
    assert entries[5].before["role"] == USER and entries[5].after["role"] == ADMIN
    dumped = json.dumps([e.__dict__ for e in entries])
    assert "argon2" not in dumped and PASSWORD not in dumped and "rotated" not in dumped
    user_add(store, op, "plain", USER, PASSWORD)
    with pytest.raises(PermissionDenied, match="only root"):
        audit_entries(store, get_user(store, "plain"))


def test_unknown_targets_and_reserved_names(store, op):
    with pytest.raises(NotFound):
        user_grant(store, op, "ghost", "sender", "a@example.com")
    with pytest.raises(InvalidValue, match="reserved"):
        user_add(store, op, "local:root", ROOT, PASSWORD)
    with pytest.raises(InvalidValue):
        user_add(store, op, "аdmin", ADMIN, PASSWORD)  # Cyrillic a


def test_argon2id_library_defaults_unless_the_test_setting_is_asked(monkeypatch):
    from acl.passwords import ARGON2_ENV, default_hasher

    monkeypatch.delenv(ARGON2_ENV, raising=False)
    assert default_hasher().hash("x").startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    monkeypatch.setenv(ARGON2_ENV, "fast")
    cheap = default_hasher().hash("x")
    assert cheap.startswith("$argon2id$") and "m=65536" not in cheap


def test_hashes_made_with_old_parameters_are_upgraded_at_login(tmp_path, op):
    cheap = open_store(tmp_path / "c.db", hasher=Hasher(fast=True))
    user_add(cheap, op, "alice", USER, PASSWORD)
    cheap.close()
    strong = open_store(tmp_path / "c.db", hasher=Hasher(hasher=PasswordHasher(2, 8192, 1)))
    authenticate(strong, "alice", PASSWORD)
    with strong.transaction(write=False) as tx:
        assert "m=8192,t=2,p=1" in tx.user_by_name("alice").password_hash
    assert authenticate(strong, "alice", PASSWORD).name == "alice"
    strong.close()


def test_a_guesser_elsewhere_does_not_lock_the_owner_out(store, op):
    user_add(store, op, "alice", USER, PASSWORD)
    for i in range(12):
        with pytest.raises((LoginFailed, Throttled)):
            authenticate(store, "alice", f"guess {i}", source="203.0.113.66", now=T0 + i)
    with pytest.raises(Throttled):
        authenticate(store, "alice", PASSWORD, source="203.0.113.66", now=T0 + 13)
    assert authenticate(store, "alice", PASSWORD, source="198.51.100.20", now=T0 + 14).name == "alice"


def test_guessing_spread_over_many_sources_meets_the_account_cap(store, op):
    user_add(store, op, "alice", USER, PASSWORD)
    for i in range(100):
        with pytest.raises(LoginFailed):
            authenticate(store, "alice", "guess", source=f"10.0.{i // 250}.{i % 250}", now=T0 + i)
    with pytest.raises(Throttled):
        authenticate(store, "alice", PASSWORD, source="198.51.100.20", now=T0 + 101)


def test_a_machine_account_at_sign_in_gets_the_answer_of_a_wrong_password(store, op):
    user_add(store, op, "gw2", MAILGW, PASSWORD)
    with pytest.raises(LoginFailed) as machine:
        login(store, "gw2", PASSWORD)
    with pytest.raises(LoginFailed) as wrong:
        login(store, "alice-or-anyone", "wrong password 1")
    assert str(machine.value) == str(wrong.value)
