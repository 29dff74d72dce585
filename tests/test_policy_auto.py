"""The automatic blacklist rule, fed by a real Postfix log: 3 user-unknown bounces block an address, 2 do not,
reputation refusals never do, the allow-list wins; entries explain themselves, reruns change nothing, new
bounces extend the entry, and an expired entry leaves the next deployment (to a local gateway: maps on this
host, indexed by its Postfix's postmap). The scheduler runs the rules after processing.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from acl import local_operator
from ingest import make_gateway, save_gateway
from policy import policy_deploy
from relaywatch.cli import main
from relaywatch.core import open_home
from tests.servers.postfix import PostfixGateway
from tests.servers.sink import SmtpSink

LISTED = (550, "5.7.1 Service unavailable; client [127.0.0.1] blocked using zen.spamhaus.org")


def cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], obj={})


@pytest.fixture
def maps_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="relaywatch-maps-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


def test_three_user_unknown_bounces_block_the_address_and_two_do_not(
    postfix_gateway: PostfixGateway, smtp_sink: SmtpSink, tmp_path: Path, maps_dir: Path
) -> None:
    smtp_sink.script = {"listed@dest.example": LISTED}
    sent: dict[str, list[str]] = {}
    for recipient, times in (
        ("hard1@dest.example", 3),
        ("hard2@dest.example", 2),
        ("listed@dest.example", 3),
        ("hard3@dest.example", 3),
    ):
        sent[recipient] = [postfix_gateway.send("alice@customer-a.example", [recipient]).queue_id for _ in range(times)]
    postfix_gateway.wait_idle(timeout=30)
    postfix_gateway.wait_for_log(r"status=bounced", count=11)

    home = open_home(tmp_path / "home", create=True)
    (home / "relaywatch.toml").write_text(
        f'[policy]\n\n[[policy.gateways]]\nname = "gw-local"\ndirectory = "{maps_dir}"\n'
        f'config_directory = "{postfix_gateway.config_dir}"\n'
    )
    save_gateway(home, make_gateway("gw-local", log=str(postfix_gateway.log_path)))
    ingested = cli(home, "ingest", "--gateway-name", "gw-local", "--file", str(postfix_gateway.log_path), "--quiet")
    assert ingested.exit_code == 0, ingested.output
    assert cli(home, "policy", "allow", "add", "recipient", "hard3@dest.example").exit_code == 0

    dry = cli(home, "policy", "auto", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [line for line in dry.output.splitlines() if "hard1@dest.example" in line]
    assert "would create recipient hard1@dest.example" in dry.output and "3 event(s), threshold 3" in dry.output
    assert cli(home, "policy", "blacklist", "list", "--json").output == "", "a dry run writes nothing"

    applied = cli(home, "policy", "auto")
    assert applied.exit_code == 0 and "create recipient hard1@dest.example" in applied.output
    listed = [json.loads(line) for line in cli(home, "policy", "blacklist", "list", "--json").output.splitlines()]
    assert [(e["value"], e["source"], e["gateway"], e["for_sender_domain"]) for e in listed] == [
        ("hard1@dest.example", "auto:suppressible_bounces", None, None)
    ]
    why = listed[0]["explanation"]
    assert (why["rule"], why["threshold"], why["count"]) == ("suppressible_bounces", 3, 3)
    assert sorted(d["queue_id"] for d in why["deliveries"]) == sorted(sent["hard1@dest.example"])
    assert {d["reason"] for d in why["deliveries"]} == {"user_unknown"}
    assert all(d["ts"] and d["message_key"] for d in why["deliveries"])

    assert cli(home, "policy", "auto").output.strip() == "no change", "idempotent"
    assert len(cli(home, "policy", "blacklist", "list", "--json").output.splitlines()) == 1

    postfix_gateway.send("alice@customer-a.example", ["hard1@dest.example"])
    postfix_gateway.wait_idle(timeout=30)
    postfix_gateway.wait_for_log(r"status=bounced", count=12)
    again = cli(home, "ingest", "--gateway-name", "gw-local", "--file", str(postfix_gateway.log_path), "--quiet")
    assert again.exit_code == 0, again.output
    relisted = cli(home, "policy", "auto")
    assert "extend recipient hard1@dest.example" in relisted.output and "4 event(s)" in relisted.output
    extended = [json.loads(line) for line in cli(home, "policy", "blacklist", "list", "--json").output.splitlines()]
    assert [e["id"] for e in extended] == [listed[0]["id"]], "re-listing extends the entry, never duplicates it"
    assert extended[0]["expires_at"] > listed[0]["expires_at"]
    listed = extended

    operator = local_operator()
    policy_deploy(home, operator, "gw-local")
    query = [
        "postmap",
        "-c",
        str(postfix_gateway.config_dir),
        "-q",
        "hard1@dest.example",
        f"hash:{maps_dir}/recipient_access",
    ]
    assert subprocess.run(query, capture_output=True, text=True).stdout.startswith("550 5.7.1")
    expires = listed[0]["expires_at"]
    assert 29 * 86400 < expires - time.time() <= 30 * 86400
    policy_deploy(home, operator, "gw-local", now=expires + 1)
    assert subprocess.run(query, capture_output=True, text=True).returncode == 1, "expired: gone from the map"


def test_the_scheduler_runs_the_automatic_rules_after_processing_and_deploys_when_asked(
    postfix_gateway: PostfixGateway, smtp_sink: SmtpSink, tmp_path: Path, maps_dir: Path
) -> None:
    for _ in range(3):
        postfix_gateway.send("alice@customer-a.example", ["hard9@dest.example"])
    postfix_gateway.send("alice@customer-a.example", ["ok9@dest.example"])
    postfix_gateway.wait_idle(timeout=30)
    postfix_gateway.wait_for_log(r"status=bounced", count=3)
    home = open_home(tmp_path / "home", create=True)
    gateway_policy = (
        f'[[policy.gateways]]\nname = "gw-local"\ndirectory = "{maps_dir}"\n'
        f'config_directory = "{postfix_gateway.config_dir}"\n'
    )
    (home / "relaywatch.toml").write_text(
        f"[collect]\nqueue_seconds = 0\n\n[policy]\nauto_deploy = true\n\n{gateway_policy}"
    )
    save_gateway(home, make_gateway("gw-local", log=str(postfix_gateway.log_path)))
    ran = cli(home, "run", "--once")
    assert ran.exit_code == 0, ran.output
    listed = [json.loads(line) for line in cli(home, "policy", "blacklist", "list", "--json").output.splitlines()]
    assert [(e["value"], e["source"]) for e in listed] == [("hard9@dest.example", "auto:suppressible_bounces")]
    query = [
        "postmap",
        "-c",
        str(postfix_gateway.config_dir),
        "-q",
        "hard9@dest.example",
        f"hash:{maps_dir}/recipient_access",
    ]
    assert subprocess.run(query, capture_output=True, text=True).stdout.startswith("550 5.7.1"), "auto_deploy"
    (home / "relaywatch.toml").write_text(f"[collect]\nqueue_seconds = 0\n\n[policy]\nauto = false\n\n{gateway_policy}")
    assert cli(home, "policy", "blacklist", "remove", f"bl-{listed[0]['id']}").exit_code == 0
    postfix_gateway.send("alice@customer-a.example", ["ok10@dest.example"])
    postfix_gateway.wait_for_log(r"ok10@dest.example.*status=sent")
    assert cli(home, "run", "--once").exit_code == 0
    assert cli(home, "policy", "blacklist", "list", "--json").output == "", "[policy] auto = false: no rule runs"
