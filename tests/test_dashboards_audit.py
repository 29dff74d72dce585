"""Issue 16, audit: sign-ins, failed sign-ins, lock-outs, exports and settings changes are recorded,
and the Admin page shows before/after as readable text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from acl import (
    LoginFailed,
    PermissionDenied,
    Throttled,
    audit_entries,
    audit_event,
    local_operator,
    login,
    open_store,
    user_disable,
)
from dashboards import exports
from dashboards.auditview import changes, readable
from tests.test_dashboards_data import PASSWORD, DemoHome, copy_home, goto, open_app
from tests.test_dashboards_pages import frame
from warehouse import LogFilter, Period


def entries(home: Path) -> list:
    store = open_store(home / "control.db")
    try:
        return audit_entries(store, local_operator("t"))
    finally:
        store.close()


def private_home(tmp_path: Path) -> DemoHome:
    """A copy of the shared home; `actions` then shows only what was audited in it after the copy (other
    tests in the same process sign in and export on the shared home)."""
    home = copy_home(tmp_path)
    (home.path / "audited-before").write_text(str(max((e.id for e in entries(home.path)), default=0)))
    return home


def actions(home: Path) -> list[tuple[str, str, str | None, object]]:
    """(action, actor, target, after) of the entries audited since `private_home` made the copy."""
    since = int((home / "audited-before").read_text())
    return [(e.action, e.actor, e.target, e.after) for e in entries(home) if e.id > since]


def test_sign_ins_failures_and_lockouts_are_audited(tmp_path: Path) -> None:
    home = private_home(tmp_path).path
    store = open_store(home / "control.db")
    try:
        login(store, "alice", PASSWORD, source="198.51.100.7")
        for _ in range(5):
            with pytest.raises(LoginFailed):
                login(store, "Bob", "wrong", source="198.51.100.8")
        with pytest.raises(Throttled):
            login(store, "bob", PASSWORD, source="198.51.100.8")
    finally:
        store.close()
    found = actions(home)
    assert ("sign_in", "alice", "alice", {"source": "198.51.100.7"}) in found
    failures = [a for a in found if a[0] == "sign_in_failed"]
    assert len(failures) == 5 and {a[2] for a in failures} == {"bob"}
    [lockout] = [a for a in found if a[0] == "lockout"]
    assert lockout[2] == "bob" and lockout[3] == {"source": "198.51.100.8", "locked": ["account_source"]}
    assert not [a for a in found if a[0] == "sign_in" and a[1] == "bob"]


def test_an_export_is_audited_with_its_filters(tmp_path: Path) -> None:
    home = private_home(tmp_path).path
    store = open_store(home / "control.db")
    try:
        token, _ = login(store, "alice", PASSWORD)
    finally:
        store.close()
    filters = LogFilter(
        Period.days(date(2026, 11, 19), date(2026, 11, 26)), recipient_domain="gmail.com", statuses=("bounced",)
    )
    ticket = exports.take(exports.issue(home, token, filters, sort="ts", descending=True), token)
    assert ticket is not None
    body = b"".join(exports.csv_stream(ticket) or [])
    assert b"nobody@gmail.com" in body
    [entry] = [a for a in actions(home) if a[0] == "export"]
    assert entry[1:3] == ("alice", "logs")
    assert entry[3] == {
        "period": "2026-11-19 00:00 → 2026-11-27 00:00 UTC",
        "sort": "ts",
        "descending": True,
        "filters": {"recipient_domain": "gmail.com", "statuses": ["bounced"]},
    }


def test_settings_changes_are_audited_and_shown_readably_to_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = private_home(tmp_path)
    at = goto(open_app(home, "alice", monkeypatch), "account.py")
    at.number_input(key="pref_warn").set_value(2.5)
    at.button(key="pref_save").click().run()
    assert not at.exception
    [entry] = [a for a in actions(home.path) if a[0] == "settings_change"]
    assert entry[1] == "alice" and entry[3]["warn_rate"] == 2.5  # type: ignore[index]

    root = goto(open_app(home, "root", monkeypatch), "admin.py")
    audit = frame(root, "id")
    shown = dict(zip(audit["action"], audit["change"], strict=False))
    assert shown["settings_change"] == "warn_rate: 5.0 → 2.5"
    assert shown["sign_in"] == "source: -"
    assert "{" not in shown["settings_change"], "readable text, not JSON"


def test_audit_event_needs_a_live_account(tmp_path: Path) -> None:
    home = copy_home(tmp_path).path
    store = open_store(home / "control.db")
    try:
        _, alice = login(store, "alice", PASSWORD)
        audit_event(store, alice, "export", "logs", after={"rows": 1})
        user_disable(store, local_operator("t"), "alice", True)
        with pytest.raises(PermissionDenied):
            audit_event(store, alice, "export", "logs")
    finally:
        store.close()


def test_states_and_changes_read_as_text() -> None:
    before = {"name": "dave", "role": "user", "grants": ["sender:a@x.example", "domain:y.example"], "email": None}
    after = {"name": "dave", "role": "admin", "grants": ["sender:a@x.example", "gateway:gw1"], "email": None}
    assert changes(before, after) == "role: user → admin\ngrants: + gateway:gw1; − domain:y.example"
    assert changes(None, {"password_changed": True}) == "password_changed: True"
    assert changes(before, before) == "-"
    assert readable(before) == "name: dave\nrole: user\ngrants: sender:a@x.example, domain:y.example\nemail: -"
