"""Routing rules against a real Postfix with two sinks (the first gateway's relay and "the other gateway"):
the dry run counts last week's messages from the warehouse, then the deployed maps send matching mail to the
second sink and the rest to the first. Bad rules are refused before anything is written.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from acl import local_operator, open_store, user_add, user_grant
from ingest import make_gateway, save_gateway
from policy import main_cf_snippet
from relaywatch.cli import main
from relaywatch.core import PolicySection, control_db, open_home
from tests.servers.postfix import PostfixGateway
from tests.servers.sink import SmtpSink

OWN = "permit_mynetworks, reject_unauth_destination"


def cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], obj={})


@pytest.fixture
def other_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(server_hostname="mx.other-gateway.test").start()
    yield sink
    sink.stop()


@pytest.fixture
def maps_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="relaywatch-maps-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


def received(sink: SmtpSink) -> set[str]:
    return {rcpt for t in sink.transactions if t.data is not None for rcpt in t.accepted}


def test_a_routing_rule_moves_matching_mail_to_the_other_gateway_after_a_dry_run(
    postfix_gateway: PostfixGateway,
    smtp_sink: SmtpSink,
    other_sink: SmtpSink,
    maps_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    postfix_gateway.postconf(smtpd_recipient_restrictions=OWN)
    monkeypatch.setenv("MAIL_CONFIG", str(postfix_gateway.config_dir))  # no config_directory below: Postfix's own
    home = open_home(tmp_path / "home", create=True)
    (home / "relaywatch.toml").write_text(
        f'[[policy.gateways]]\nname = "gw-pf"\ndirectory = "{maps_dir}"\n\n'
        f'[[policy.gateways]]\nname = "gw-other"\nsmtp = "[127.0.0.1]:{other_sink.port}"\n'
    )
    save_gateway(home, make_gateway("gw-pf", log=str(postfix_gateway.log_path)))
    save_gateway(home, make_gateway("gw-other", log=str(tmp_path / "other.log")))

    for recipients in (["x1@other.example"], ["x2@other.example", "y@dest.example"], ["y2@dest.example"]):
        postfix_gateway.send("alice@customer-a.example", recipients)
    postfix_gateway.wait_idle()
    postfix_gateway.wait_for_log("status=sent", count=4)
    ingested = cli(home, "ingest", "--gateway-name", "gw-pf", "--file", str(postfix_gateway.log_path), "--quiet")
    assert ingested.exit_code == 0, ingested.output

    dry = cli(
        home, "policy", "route", "add", "--recipient-domain", "other.example", "--via-gateway", "gw-other", "--dry-run"
    )
    assert dry.exit_code == 0, dry.output
    assert "dry run, nothing written" in dry.output
    rows = [[cell.strip() for cell in line.split("│")[1:4]] for line in dry.output.splitlines() if "gw-pf" in line]
    assert rows == [["gw-pf", "2", "2"]], "two messages (two recipients) to other.example last week"
    assert "route-" not in cli(home, "policy", "route", "list").output

    added = cli(home, "policy", "route", "add", "--recipient-domain", "other.example", "--via-gateway", "gw-other")
    assert added.exit_code == 0 and "route-1" in added.output
    by_sender = cli(
        home,
        "policy",
        "route",
        "add",
        "--sender-domain",
        "customer-b.example",
        "--next-hop",
        f"[127.0.0.1]:{other_sink.port}",
        "--on",
        "gw-pf",
    )
    assert by_sender.exit_code == 0, by_sender.output
    deployed = cli(home, "policy", "deploy", "gw-pf")
    assert deployed.exit_code == 0, deployed.output
    params = main_cf_snippet(str(maps_dir), PolicySection())
    params["smtpd_recipient_restrictions"] += ", " + OWN
    postfix_gateway.postconf(**params)
    assert cli(home, "policy", "check", "gw-pf").exit_code == 0

    smtp_sink.clear()
    postfix_gateway.send("alice@customer-a.example", ["stay@dest.example"])
    postfix_gateway.send("alice@customer-a.example", ["moved@other.example"])
    postfix_gateway.send("bob@customer-b.example", ["bobs@dest.example"])
    other_sink.wait_until(lambda ts: {"moved@other.example", "bobs@dest.example"} <= received(other_sink))
    smtp_sink.wait_until(lambda ts: "stay@dest.example" in received(smtp_sink))
    postfix_gateway.wait_idle()
    assert received(other_sink) == {"moved@other.example", "bobs@dest.example"}
    assert received(smtp_sink) == {"stay@dest.example"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = open_home(tmp_path / "home", create=True)
    (home / "relaywatch.toml").write_text('[[policy.gateways]]\nname = "gw-b"\nsmtp = "[192.0.2.1]:25"\n')
    for name in ("gw-a", "gw-b"):
        save_gateway(home, make_gateway(name, log=str(tmp_path / f"{name}.log")))
    with open_store(control_db(home)) as store:
        user_add(store, local_operator(), "ops-cust", "admin", "correct horse battery staple 42")
        user_grant(store, local_operator(), "ops-cust", "domain", "customer-a.example")
        user_add(store, local_operator(), "alice", "user", "correct horse battery staple 42")
    return home


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--next-hop", "[192.0.2.1]:25"], "give exactly one of --sender-domain"),
        (["--recipient-domain", "com", "--next-hop", "[192.0.2.1]"], "would block every address under .com"),
        (["--recipient-domain", "x.example", "--next-hop", "bad hop"], "next hop 'bad hop'"),
        (["--recipient-domain", "x.example", "--next-hop", "[192.0.2.1]:99999"], "next hop"),
        (["--recipient-domain", "x.example", "--via-gateway", "gw-a"], "gw-a has no smtp address"),
        (["--recipient-domain", "x.example", "--via-gateway", "gw-b", "--on", "gw-b"], "through itself"),
        (["--recipient-domain", "x.example", "--via-gateway", "gw-z"], "unknown gateway 'gw-z'"),
        (["--sasl-login", "a b", "--next-hop", "[192.0.2.1]"], "invalid SASL login"),
    ],
)
def test_bad_routing_rules_are_refused_and_nothing_is_written(home: Path, args: list[str], message: str) -> None:
    result = cli(home, "policy", "route", "add", *args)
    assert result.exit_code == 1 and message in result.output, result.output
    assert "route-" not in cli(home, "policy", "route", "list").output


def test_admins_route_only_their_senders_and_users_nothing(home: Path) -> None:
    def add(user: str, *args: str) -> Result:
        return cli(home, "policy", "route", "add", *args, "--next-hop", "[192.0.2.1]:25", "--as", user)

    assert add("ops-cust", "--sender-domain", "customer-a.example").exit_code == 0
    assert add("ops-cust", "--sender-domain", "customer-b.example").exit_code == 1
    assert add("ops-cust", "--recipient-domain", "dest.example").exit_code == 1, "moves every sender's mail"
    assert "only root and admins" in add("alice", "--sender-domain", "customer-a.example").output
    assert cli(home, "policy", "route", "remove", "route-1", "--as", "alice").exit_code == 1
    [rule] = [json.loads(line) for line in cli(home, "policy", "route", "list", "--json").output.splitlines()]
    assert (rule["selector"], rule["value"], rule["next_hop"], rule["created_by"]) == (
        "sender_domain",
        "customer-a.example",
        "[192.0.2.1]:25",
        "ops-cust",
    )
    assert cli(home, "policy", "route", "remove", "route-1", "--as", "ops-cust").exit_code == 0
    assert cli(home, "policy", "route", "list", "--json").output == ""
