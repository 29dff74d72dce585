"""The Policy page: root and admins manage policy within their grants (refusals shown, nothing written);
users see their own entries read-only, with no control to change anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from acl import local_operator
from ingest import make_gateway, save_gateway
from policy import blacklist_add, blacklist_list
from tests.test_dashboards_data import ALICE_SENDER, copy_home, goto, open_app, texts


@pytest.fixture
def home(tmp_path: Path) -> object:
    home = copy_home(tmp_path)
    for name in ("gw1", "gw2"):
        save_gateway(home.path, make_gateway(name, log=str(tmp_path / f"{name}.log")))
    return home


def test_root_adds_and_removes_an_entry_and_reads_its_explanation(
    home: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = goto(open_app(home, "root", monkeypatch), "gateway_policy.py")  # type: ignore[arg-type]
    assert not at.exception
    at.selectbox(key="policy_add_kind").set_value("recipient")
    at.text_input(key="policy_add_value").set_value("Gone@Dest.example")
    at.text_input(key="policy_add_scope").set_value("customer.example")
    at.text_input(key="policy_add_expires").set_value("30d")
    at.button(key="policy_add_submit").click().run()
    assert not at.exception and texts(at.success) == ["Done."]
    [entry] = blacklist_list(home.path, local_operator())  # type: ignore[attr-defined]
    assert (entry.value, entry.for_sender_domain, entry.created_by) == ("gone@dest.example", "customer.example", "root")
    at.selectbox(key="policy_entry").set_value(entry.id).run()
    assert '"source": "manual"' in texts(at.code)[0]
    at.button(key="policy_remove").click().run()
    assert blacklist_list(home.path, local_operator()) == []  # type: ignore[attr-defined]
    [audit] = [d.value for d in at.dataframe if list(d.value.columns[:1]) == ["id"] and "action" in d.value.columns]
    assert audit["action"].tolist()[:2] == ["blacklist_remove", "blacklist_add"]
    assert set(audit["actor"].head(2)) == {"root"}


def test_an_admin_is_refused_outside_its_gateways_and_nothing_is_written(
    home: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = goto(open_app(home, "ops", monkeypatch), "gateway_policy.py")  # type: ignore[arg-type]
    at.text_input(key="policy_add_value").set_value("x@dest.example")
    at.button(key="policy_add_submit").click().run()
    assert any("may not manage policy for every sender on every gateway" in e for e in texts(at.error))
    assert blacklist_list(home.path, local_operator()) == []  # type: ignore[attr-defined]
    at.text_input(key="policy_add_value").set_value("x@dest.example")
    at.text_input(key="policy_add_gateway").set_value("gw2")
    at.button(key="policy_add_submit").click().run()
    assert [e.gateway for e in blacklist_list(home.path, local_operator())] == ["gw2"]  # type: ignore[attr-defined]


def test_a_user_sees_only_its_entries_and_has_nothing_to_click(home: object, monkeypatch: pytest.MonkeyPatch) -> None:
    operator = local_operator()
    blacklist_add(home.path, operator, "sender", ALICE_SENDER, reason="compromised account")  # type: ignore[attr-defined]
    blacklist_add(home.path, operator, "sender", home.bob_sender)  # type: ignore[attr-defined]
    blacklist_add(home.path, operator, "recipient", "x@dest.example", gateway="gw1")  # type: ignore[attr-defined]
    at = goto(open_app(home, "alice", monkeypatch), "gateway_policy.py")  # type: ignore[arg-type]
    assert not at.exception
    [table] = [d.value for d in at.dataframe]
    assert table["value"].tolist() == [ALICE_SENDER]
    assert [b.key for b in at.button] == ["sign_out"]
    assert not at.text_input and not at.selectbox
