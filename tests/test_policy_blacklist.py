"""Blacklist entries through the CLI: validation, duplicates, permissions, audit, rendering, the scoped view.

Everything here is real: a data home on disk, its control.db, the lake's `blacklist` mirror read back through
`relaywatch sql --as USER` (the confined, scoped connection).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from acl import local_operator, open_store, user_add, user_grant
from ingest import make_gateway, save_gateway
from policy import Entry
from policy.render import render
from relaywatch.cli import main
from relaywatch.core import PolicySection, control_db, open_home

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data home with two local gateways, an admin per kind of grant, and a user."""
    home = tmp_path / "home"
    open_home(home, create=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("gw-a", "gw-b"):
        save_gateway(home, make_gateway(name, log=str(logs / f"{name}.log")))
    with open_store(control_db(home)) as store:
        root = local_operator()
        for name, role, grants in (
            ("ops-a", "admin", [("gateway", "gw-a")]),
            ("ops-cust", "admin", [("domain", "customer-a.example")]),
            ("alice", "user", [("domain", "customer-a.example")]),
            ("bob", "user", [("domain", "customer-b.example")]),
            ("watcher", "user", [("gateway", "gw-b")]),
        ):
            user_add(store, root, name, role, PASSWORD)
            for kind, value in grants:
                user_grant(store, root, name, kind, value)
    return home


def cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], obj={})


def entries(home: Path) -> list[dict]:
    result = cli(home, "policy", "blacklist", "list", "--json", "--expired")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def audit(home: Path) -> list[dict]:
    result = cli(home, "policy", "audit")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["recipient", "not-an-address"], "invalid recipient address"),
        (["recipient", "a@b@c.example"], "invalid recipient address"),
        (["recipient_domain", "com"], "would block every address under .com"),
        (["recipient_domain", "*.example.com"], "invalid recipient domain"),
        (["sender_domain", "exa mple.com"], "invalid sender domain"),
        (["recipient", "x@exam\u0440le.com"], "mixes scripts"),
        (["recipient", "#x@example.com"], "comment"),
        (["recipient", "x@example.com", "--gateway", "gw-nowhere"], "unknown gateway 'gw-nowhere'"),
        (["sender", "x@example.com", "--for-sender-domain", "a.example"], "recipient entries only"),
        (["recipient", "x@example.com", "--expires", "yesterday"], "--expires 'yesterday'"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_written(
    home: Path, args: list[str], message: str
) -> None:
    result = cli(home, "policy", "blacklist", "add", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert entries(home) == []
    assert audit(home) == []


def test_a_duplicate_entry_is_refused_and_names_the_existing_one(home: Path) -> None:
    first = cli(home, "policy", "blacklist", "add", "recipient", "Bad@Example.COM", "--reason", "spamtrap")
    assert first.exit_code == 0, first.output
    again = cli(home, "policy", "blacklist", "add", "recipient", "bad@example.com")
    assert again.exit_code == 1
    assert "already blacklisted as bl-1" in again.output
    assert [e["value"] for e in entries(home)] == ["bad@example.com"]
    scoped = cli(
        home, "policy", "blacklist", "add", "recipient", "bad@example.com", "--for-sender-domain", "customer-a.example"
    )
    assert scoped.exit_code == 0, "the same recipient for one sender domain is another entry"


def test_every_change_is_audited_with_who_and_before_after(home: Path) -> None:
    cli(home, "policy", "blacklist", "add", "recipient_domain", "dead.example", "--note", "domain gone")
    removed = cli(home, "policy", "blacklist", "remove", "bl-1")
    assert removed.exit_code == 0, removed.output
    added, gone = audit(home)
    assert added["action"] == "blacklist_add" and added["before"] is None
    assert added["after"]["value"] == "dead.example" and added["after"]["note"] == "domain gone"
    assert added["actor"].startswith("local:")
    assert gone["action"] == "blacklist_remove" and gone["before"]["id"] == 1 and gone["after"] is None


def test_an_admin_manages_only_its_gateways_and_senders_and_a_user_nothing(home: Path) -> None:
    def add(user: str, *args: str) -> Result:
        return cli(home, "policy", "blacklist", "add", *args, "--as", user)

    assert add("ops-a", "recipient", "x@dest.example", "--gateway", "gw-a").exit_code == 0
    refused = add("ops-a", "recipient", "y@dest.example")
    assert refused.exit_code == 1 and "may not manage policy for every sender on every gateway" in refused.output
    assert add("ops-a", "recipient", "y@dest.example", "--gateway", "gw-b").exit_code == 1
    assert add("ops-cust", "recipient", "z@dest.example", "--for-sender-domain", "customer-a.example").exit_code == 0
    assert add("ops-cust", "recipient", "z@dest.example", "--for-sender-domain", "customer-b.example").exit_code == 1
    assert add("ops-cust", "sender", "spammer@customer-a.example").exit_code == 0
    user = add("alice", "recipient", "w@dest.example", "--for-sender-domain", "customer-a.example")
    assert user.exit_code == 1 and "only root and admins may change policy" in user.output
    assert cli(home, "policy", "blacklist", "remove", "bl-1", "--as", "alice").exit_code == 1
    assert cli(home, "policy", "blacklist", "remove", "bl-1", "--as", "ops-cust").exit_code == 1
    listed = cli(home, "policy", "blacklist", "list", "--as", "ops-a")
    assert "x@dest.example" in listed.output and "z@dest.example" not in listed.output
    assert cli(home, "policy", "allow", "add", "recipient", "vip@dest.example", "--as", "ops-a").exit_code == 1
    assert len(entries(home)) == 3


def test_deployment_is_for_root_and_the_admins_of_that_gateway(home: Path) -> None:
    user = cli(home, "policy", "deploy", "gw-a", "--as", "alice")
    assert user.exit_code == 1 and "only root and admins may deploy policy" in user.output
    other = cli(home, "policy", "deploy", "gw-b", "--as", "ops-a")
    assert other.exit_code == 1 and "may not deploy to gateway gw-b" in other.output
    assert cli(home, "policy", "diff", "gw-b", "--as", "ops-cust").exit_code == 1
    assert cli(home, "policy", "status", "--json", "--as", "alice").output == ""
    unknown = cli(home, "policy", "deploy", "gw-nowhere")
    assert unknown.exit_code == 1 and "no gateway named gw-nowhere" in unknown.output


def test_users_see_in_the_blacklist_view_only_the_entries_of_their_own_traffic(home: Path) -> None:
    cli(home, "policy", "blacklist", "add", "recipient", "a@dest.example", "--for-sender-domain", "customer-a.example")
    cli(home, "policy", "blacklist", "add", "recipient", "b@dest.example", "--for-sender-domain", "customer-b.example")
    cli(home, "policy", "blacklist", "add", "recipient", "all@dest.example")
    cli(home, "policy", "blacklist", "add", "recipient", "onlya@dest.example", "--gateway", "gw-a")

    def seen(user: str | None) -> set[str]:
        extra = ["--as", user] if user else []
        result = cli(home, "sql", "--format", "json", *extra, "SELECT DISTINCT value FROM blacklist WHERE active")
        assert result.exit_code == 0, result.output
        return {json.loads(line)["value"] for line in result.output.splitlines()}

    assert seen(None) == {"a@dest.example", "b@dest.example", "all@dest.example", "onlya@dest.example"}
    assert seen("alice") == {"a@dest.example"}
    assert seen("bob") == {"b@dest.example"}
    assert seen("watcher") == {"a@dest.example", "b@dest.example", "all@dest.example"}, (
        "a gateway holder sees every entry in force on that gateway, as it sees all of its traffic"
    )


def test_expired_entries_leave_the_rendered_maps() -> None:
    now = time.time()
    live = Entry(
        1, "recipient", "a@x.example", None, None, "manual", "manual", "root", now, now, now + 3600, None, None
    )
    settings_ = PolicySection()
    assert "a@x.example" in render([live], [], "gw", settings_, now).files["recipient_access"]
    assert "a@x.example" not in render([live], [], "gw", settings_, now + 7200).files["recipient_access"]


addresses = st.builds(
    lambda local, dom: f"{local}@{dom}.example",
    st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    st.sampled_from(["d1", "d2", "d3"]),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            addresses,
            st.sampled_from([None, "gw", "other"]),
            st.sampled_from([None, "customer-a.example", "customer-b.example"]),
        ),
        max_size=12,
    )
)
def test_each_live_entry_lands_in_exactly_the_map_of_its_sender_scope(rows: list) -> None:
    now = time.time()
    made = [
        Entry(i, "recipient", v, g, s, "r", "manual", "root", now, now, None, None, None)
        for i, (v, g, s) in enumerate(rows, 1)
    ]
    rendered = render(made, [], "gw", PolicySection(scope_slots=2), now)
    assert rendered == render(list(reversed(made)), [], "gw", PolicySection(scope_slots=2), now)
    slots = dict(line.split("\t") for line in rendered.files["sender_scopes"].splitlines())
    for e in made:
        if e.gateway == "other":
            assert all(f"(bl-{e.id})" not in text for text in rendered.files.values())
            continue
        expected = (
            "recipient_access"
            if e.for_sender_domain is None
            else slots[e.for_sender_domain].replace("relaywatch_scope_", "scope_")
        )
        holders = {name for name, text in rendered.files.items() if f"\n{e.value}\t" in "\n" + text}
        assert expected in holders
        assert "sender_access" not in holders, "a recipient entry never blocks a sender"


def test_a_gateway_holder_sees_only_its_gateways_deliveries_in_an_explanation(home: Path) -> None:
    from policy import PolicyStore

    now = time.time()
    why = {
        "rule": "suppressible_bounces",
        "count": 3,
        "threshold": 3,
        "deliveries": [
            {"gateway": "gw-a", "message_key": "gw-a/A1/1"},
            {"gateway": "gw-b", "message_key": "gw-b/B1/1"},
            {"gateway": "gw-a", "message_key": "gw-a/A2/1"},
        ],
    }
    with PolicyStore(control_db(home)) as store, store.transaction() as tx:
        tx.insert_entry(
            {
                "kind": "recipient",
                "value": "gone@dest.example",
                "reason": "suppressible_bounce",
                "source": "auto:suppressible_bounces",
                "created_by": "scheduler",
                "created_at": now,
                "updated_at": now,
                "explanation": json.dumps(why),
            }
        )
    cli(home, "policy", "blacklist", "add", "recipient", "other@dest.example")  # any change rewrites the mirror
    result = cli(
        home,
        "sql",
        "--format",
        "json",
        "--as",
        "watcher",
        "SELECT gateway, explanation FROM blacklist WHERE value = 'gone@dest.example'",
    )
    [row] = [json.loads(line) for line in result.output.splitlines()]
    assert row["gateway"] == "gw-b"
    assert [d["message_key"] for d in json.loads(row["explanation"])["deliveries"]] == ["gw-b/B1/1"]
