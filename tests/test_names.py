"""Names and addresses are normalised once, the same way at ingest, registration, grant and sign-up time,
so that a grant sees the rows it names however the log or the operator spelled them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acl import USER, InvalidValue, User, make_grant, normalise_address, scope_for
from ingest import GatewayError, gateway_name, make_gateway
from warehouse import Lake, Warehouse, ingest

BAD_NAMES = ["", " ", "gw 1", "gw/1", "gw|1", "gw..1", "../gw", ".gw", "x" * 64, "gw\n1"]


def log_of(*senders: str) -> str:
    day = datetime.now(UTC).strftime("%b %d").replace(" 0", "  ")
    lines = []
    for n, sender in enumerate(senders):
        qid = f"A{n:09X}"
        lines += [
            f"{day} 10:00:0{n} gw postfix/smtpd[1]: {qid}: client=c.example[192.0.2.1]",
            f"{day} 10:00:0{n} gw postfix/qmgr[2]: {qid}: from=<{sender}>, size=100, nrcpt=1 (queue active)",
            f"{day} 10:00:0{n} gw postfix/smtp[3]: {qid}: to=<Rcpt@Dest.example.>, relay=mx.dest.example[192.0.2.9]:25,"
            " delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 OK)",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    log = tmp_path / "mail.log"
    log.write_text(log_of("Bob@Example.COM.", "anne@bücher.example", "zed@other.example"), encoding="utf-8")
    lake = Lake(tmp_path / "lake")
    ingest(lake, "GW-Upper", log)
    return lake


def visible(lake: Lake, *grants: tuple[str, str]) -> list[str]:
    user = User(5, "u", USER, grants=tuple(make_grant(kind, value) for kind, value in grants))
    frame = Warehouse(lake, scope_for(user)).query("SELECT sender FROM deliveries ORDER BY sender")
    return frame["sender"].to_list()


def test_a_gateway_typed_in_capitals_is_stored_lower_case_and_its_grant_sees_it(lake: Lake) -> None:
    assert visible(lake, ("gateway", "GW-Upper")) == [
        "anne@xn--bcher-kva.example",
        "bob@example.com",
        "zed@other.example",
    ]
    assert visible(lake, ("gateway", "gw-upper")) == visible(lake, ("gateway", "GW-Upper"))


def test_a_sender_logged_with_a_trailing_dot_is_seen_by_its_domain_grant(lake: Lake) -> None:
    assert visible(lake, ("domain", "example.com")) == ["bob@example.com"]
    assert visible(lake, ("sender", "bob@example.com")) == ["bob@example.com"]


def test_recipients_are_stored_without_trailing_dot(lake: Lake) -> None:
    frame = Warehouse(lake, scope_for(User(1, "r", "root"))).query("SELECT DISTINCT recipient FROM deliveries")
    assert frame["recipient"].to_list() == ["rcpt@dest.example"]


def test_a_u_label_sender_is_stored_as_its_a_label_and_sign_up_finds_it(lake: Lake) -> None:
    assert visible(lake, ("domain", "bücher.example")) == ["anne@xn--bcher-kva.example"]
    warehouse = Warehouse(lake, scope_for(User(1, "r", "root")))
    assert warehouse.has_sent(normalise_address("anne@bücher.example"))
    assert warehouse.has_sent(normalise_address("Bob@example.com"))


@pytest.mark.parametrize("name", BAD_NAMES)
def test_impossible_gateway_names_are_refused_everywhere(name: str, tmp_path: Path) -> None:
    with pytest.raises(GatewayError, match="gateway name"):
        gateway_name(name)
    with pytest.raises(GatewayError, match="gateway name"):
        make_gateway(name, log="/var/log/mail.log")
    with pytest.raises(InvalidValue):
        make_grant("gateway", name)
    log = tmp_path / "mail.log"
    log.write_text(log_of("a@b.example"))
    with pytest.raises(GatewayError, match="gateway name"):
        ingest(Lake(tmp_path / "lake"), name, log)
    assert not (tmp_path / "lake").exists() or not any((tmp_path / "lake").rglob("*.parquet"))


@given(st.text(alphabet=st.sampled_from("aZ09._-/| .\u00e9\u212a"), max_size=8))
def test_ingest_and_grants_agree_on_every_gateway_name(name: str) -> None:
    try:
        stored: str | None = gateway_name(name)
    except GatewayError:
        stored = None
    try:
        granted: str | None = make_grant("gateway", name).value
    except InvalidValue:
        granted = None
    if name.strip() != name:
        return  # grants trim surrounding space (a typing slip), ingest refuses it: both never store it raw
    assert stored == granted
