"""Acceptance: relaywatch deploys its maps to a real Postfix reached through a real sshd, and real SMTP obeys.

Postfix 3.7 (own config and queue in a temp dir) relays to an aiosmtpd sink; relaywatch reaches it as an SSH
gateway (pinned host key, key login) and deploys with `relaywatch policy deploy`. Then RCPT TO over SMTP is
refused with the configured 5xx for a blacklisted recipient, only for the scoped sender domain when the entry
is scoped, and the refusals, ingested from Postfix's own log, are rejects with reason `policy` naming the
entry. Failed deployments (postmap error, SSH cut mid-upload) leave the previous maps in force.
"""

from __future__ import annotations

import json
import smtplib
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from policy import PolicyError, main_cf_snippet, policy_deploy
from relaywatch.cli import main
from relaywatch.core import PolicySection, open_home
from relaywatch.registry import gateway_add
from tests.servers.postfix import PostfixGateway
from tests.servers.sink import SmtpSink
from tests.servers.sshd import SshServer

GATEWAY = "gw-pf"
OWN_RESTRICTIONS = "permit_mynetworks, reject_unauth_destination"


@pytest.fixture
def maps_dir() -> Iterator[Path]:
    """The map directory on the 'gateway' (this host), traversable by the postfix user."""
    path = Path(tempfile.mkdtemp(prefix="relaywatch-maps-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


def make_home(tmp_path: Path, maps: Path, config_dir: Path) -> Path:
    home = open_home(tmp_path / "home", create=True)
    (home / "relaywatch.toml").write_text(
        f'[policy]\nreject_code = 554\n\n[[policy.gateways]]\nname = "{GATEWAY}"\ndirectory = "{maps}"\n'
        f'config_directory = "{config_dir}"\n'
    )
    return home


def cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], obj={})


def rcpt(gateway: PostfixGateway, sender: str, recipient: str) -> tuple[int, str]:
    with smtplib.SMTP(gateway.host, gateway.port, local_hostname="client.relaywatch.test", timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail(sender)
        code, text = smtp.rcpt(recipient)
        smtp.rset()
    return code, text.decode()


def with_snippet(gateway: PostfixGateway, maps: Path) -> None:
    """The operator adds the printed snippet once (and keeps their own restrictions after ours)."""
    params = main_cf_snippet(str(maps), PolicySection())
    params["smtpd_recipient_restrictions"] += ", " + OWN_RESTRICTIONS
    gateway.postconf(**params)


@pytest.fixture
def setup(
    make_postfix_gateway: Callable[..., PostfixGateway],
    smtp_sink: SmtpSink,
    sshd_server: SshServer,
    maps_dir: Path,
    tmp_path: Path,
) -> tuple[Path, PostfixGateway, SshServer, Path]:
    postfix = make_postfix_gateway(smtp_sink.port, smtpd_recipient_restrictions=OWN_RESTRICTIONS)
    home = make_home(tmp_path, maps_dir, postfix.config_dir)
    gateway_add(
        home,
        GATEWAY,
        log_path=str(postfix.log_path),
        key=str(sshd_server.client_key_path),
        ssh=f"{sshd_server.user}@{sshd_server.host}:{sshd_server.port}",
        accept_host_key=True,
    )
    return home, postfix, sshd_server, maps_dir


def test_deployed_maps_refuse_blacklisted_recipients_at_rcpt_and_the_warehouse_sees_policy_rejects(
    setup: tuple[Path, PostfixGateway, SshServer, Path],
    smtp_sink: SmtpSink,
) -> None:
    home, postfix, _, maps = setup
    assert cli(home, "policy", "blacklist", "add", "recipient", "blocked@dest.example").exit_code == 0
    scoped = cli(
        home,
        "policy",
        "blacklist",
        "add",
        "recipient",
        "scoped@dest.example",
        "--for-sender-domain",
        "customer-a.example",
        "--reason",
        "complaint from customer A's list",
    )
    assert scoped.exit_code == 0, scoped.output

    diff = cli(home, "policy", "diff", GATEWAY)
    assert diff.exit_code == 0, diff.output
    assert "+blocked@dest.example\t554 5.7.1 blocked by relaywatch policy (bl-1)" in diff.stdout
    deployed = cli(home, "policy", "deploy", GATEWAY)
    assert deployed.exit_code == 0, deployed.output + deployed.stderr
    assert "verified" in deployed.stderr and "renamed" in deployed.stderr

    before = cli(home, "policy", "check", GATEWAY)
    assert before.exit_code == 1 and "smtpd_recipient_restrictions must start with" in before.stderr
    with_snippet(postfix, maps)
    after = cli(home, "policy", "check", GATEWAY)
    assert after.exit_code == 0, after.stderr
    assert f"relaywatch_scope_1 = check_recipient_access hash:{maps}/scope_1" in after.stdout

    code, text = rcpt(postfix, "alice@customer-a.example", "blocked@dest.example")
    assert (code, "(bl-1)" in text) == (554, True), text
    assert rcpt(postfix, "alice@customer-a.example", "scoped@dest.example")[0] == 554
    assert rcpt(postfix, "bob@customer-b.example", "scoped@dest.example")[0] == 250, "customer B is not blocked"
    postfix.send("bob@customer-b.example", ["scoped@dest.example"])
    smtp_sink.wait_until(lambda ts: any("scoped@dest.example" in t.accepted for t in ts))
    postfix.wait_for_log(r"NOQUEUE: reject: RCPT", count=2)

    ingested = cli(home, "ingest", "--gateway-name", GATEWAY, "--file", str(postfix.log_path), "--quiet")
    assert ingested.exit_code == 0, ingested.output
    rows = cli(
        home,
        "sql",
        "--format",
        "json",
        "SELECT recipient, sender, reason, rule, response FROM rejects ORDER BY recipient",
    )
    rejects = [json.loads(line) for line in rows.stdout.splitlines()]
    assert [(r["recipient"], r["sender"], r["reason"]) for r in rejects] == [
        ("blocked@dest.example", "alice@customer-a.example", "policy"),
        ("scoped@dest.example", "alice@customer-a.example", "policy"),
    ]
    assert "(bl-1)" in rejects[0]["response"] and "(bl-2)" in rejects[1]["response"]
    assert all(r["rule"] for r in rejects)

    status = json.loads(cli(home, "policy", "status", "--json").stdout)
    assert status["drift"] == [] and status["pending"] is False and status["last_attempt_ok"] is True
    (maps / "recipient_access").write_text("edited@by.hand\tOK\n")
    drifted = json.loads(cli(home, "policy", "status", "--json").stdout)
    assert drifted["drift"] == ["recipient_access"]


def test_removal_deploys_and_rollback_restores_the_previous_maps(
    setup: tuple[Path, PostfixGateway, SshServer, Path],
) -> None:
    home, postfix, _, maps = setup
    cli(home, "policy", "blacklist", "add", "recipient", "blocked@dest.example")
    assert cli(home, "policy", "deploy", GATEWAY).exit_code == 0
    with_snippet(postfix, maps)
    assert rcpt(postfix, "a@customer-a.example", "blocked@dest.example")[0] == 554
    assert cli(home, "policy", "blacklist", "remove", "bl-1").exit_code == 0
    assert cli(home, "policy", "deploy", GATEWAY).exit_code == 0
    assert rcpt(postfix, "a@customer-a.example", "blocked@dest.example")[0] == 250
    rolled = cli(home, "policy", "rollback", GATEWAY)
    assert rolled.exit_code == 0, rolled.output
    assert rcpt(postfix, "a@customer-a.example", "blocked@dest.example")[0] == 554
    assert json.loads(cli(home, "policy", "status", "--json").stdout)["pending"] is True


def test_a_failed_postmap_or_a_cut_connection_leaves_the_previous_maps_in_force(
    setup: tuple[Path, PostfixGateway, SshServer, Path],
) -> None:
    home, postfix, sshd, maps = setup
    cli(home, "policy", "blacklist", "add", "recipient", "first@dest.example")
    assert cli(home, "policy", "deploy", GATEWAY).exit_code == 0
    with_snippet(postfix, maps)
    in_force = (maps / "recipient_access").read_text()
    cli(home, "policy", "blacklist", "add", "recipient", "second@dest.example")

    config = home / "relaywatch.toml"
    good = config.read_text()
    config.write_text(good.replace(str(postfix.config_dir), str(maps / "no-such-instance")))
    failed = cli(home, "policy", "deploy", GATEWAY)
    assert failed.exit_code == 1
    assert "postmap" in failed.stderr and "the previous maps stay in force" in failed.stderr
    config.write_text(good)
    assert (maps / "recipient_access").read_text() == in_force
    assert not list(maps.glob(".*.new*")), "temporary uploads are cleaned up"

    def cut(step: str) -> None:
        if step == "uploaded recipient_access":
            sshd.stop()

    from acl import local_operator

    with pytest.raises(PolicyError, match="failed"):
        policy_deploy(home, local_operator(), GATEWAY, on_step=cut)
    assert (maps / "recipient_access").read_text() == in_force
    assert rcpt(postfix, "a@customer-a.example", "first@dest.example")[0] == 554
    assert rcpt(postfix, "a@customer-a.example", "second@dest.example")[0] == 250
    status = cli(home, "policy", "status", "--json")
    assert "cannot reach" in json.loads(status.stdout)["error"]

    sshd.start()
    assert cli(home, "policy", "deploy", GATEWAY).exit_code == 0
    assert rcpt(postfix, "a@customer-a.example", "second@dest.example")[0] == 554
