"""SMTP-auth accounts end to end: relaywatch creates a login (hash only, ARGON2ID), deploys the Dovecot
passwd-file, a real Dovecot auth service verifies it for a real Postfix (`smtpd_sasl_type = dovecot`), and
the login can AUTH and send; after `disable` and a deployment it cannot. The customer gets the sasl grant,
and a routing rule on one SASL login sends that login's mail (only) to a second sink.
"""

from __future__ import annotations

import smtplib
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from acl import get_user, local_operator, open_store, user_add
from ingest import make_gateway, save_gateway
from policy import main_cf_snippet
from relaywatch.cli import main
from relaywatch.core import PolicySection, control_db, open_home
from tests.servers.dovecot_auth import DovecotAuth
from tests.servers.postfix import PostfixGateway
from tests.servers.sink import SmtpSink

PASSWORD = "s3cret-app-password-1"


def cli(home: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], obj={}, input=stdin)


@pytest.fixture
def maps_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="relaywatch-maps-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


def auth_and_send(gateway: PostfixGateway, login: str, password: str) -> tuple[int, str]:
    """AUTH PLAIN then one message from `login`@customer-a.example; (code, text) of the AUTH reply, or of
    the refusal."""
    with smtplib.SMTP(gateway.host, gateway.port, timeout=30) as smtp:
        smtp.ehlo("client.relaywatch.test")
        try:
            code, text = smtp.login(login, password)
        except smtplib.SMTPAuthenticationError as exc:
            return exc.smtp_code, exc.smtp_error.decode()
        sender = f"{login}@customer-a.example"
        smtp.sendmail(sender, ["someone@dest.example"], b"Subject: hi\r\n\r\nhello\r\n")
    return code, text.decode()


def refused_soon(gateway: PostfixGateway, login: str, password: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while auth_and_send(gateway, login, password)[0] != 535:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def test_a_created_login_can_auth_and_send_and_after_disable_and_deploy_it_cannot(
    make_postfix_gateway: Callable[..., PostfixGateway],
    make_dovecot_auth: Callable[..., DovecotAuth],
    smtp_sink: SmtpSink,
    maps_dir: Path,
    tmp_path: Path,
) -> None:
    other = SmtpSink(server_hostname="mx.other-gateway.test").start()
    try:
        run_scenario(make_postfix_gateway, make_dovecot_auth, smtp_sink, other, maps_dir, tmp_path)
    finally:
        other.stop()


def run_scenario(
    make_postfix_gateway: Callable[..., PostfixGateway],
    make_dovecot_auth: Callable[..., DovecotAuth],
    smtp_sink: SmtpSink,
    other: SmtpSink,
    maps_dir: Path,
    tmp_path: Path,
) -> None:
    postfix = make_postfix_gateway(smtp_sink.port, mynetworks="127.0.0.2/32")
    home = open_home(tmp_path / "home", create=True)
    (home / "relaywatch.toml").write_text(
        f'[[policy.gateways]]\nname = "gw-pf"\ndirectory = "{maps_dir}"\nconfig_directory = "{postfix.config_dir}"\n'
    )
    save_gateway(home, make_gateway("gw-pf", log=str(postfix.log_path)))
    with open_store(control_db(home)) as store:
        user_add(store, local_operator(), "cust-a", "user", "correct horse battery staple 42")

    created = cli(home, "policy", "sasl", "add", "app1", "--customer", "cust-a", "--password-stdin", stdin=PASSWORD)
    assert created.exit_code == 0, created.output
    generated = cli(home, "policy", "sasl", "add", "app2", "--customer", "cust-a")
    assert generated.exit_code == 0, generated.output
    app2_password = generated.output.split("password: ")[1].strip()
    routed = cli(home, "policy", "route", "add", "--sasl-login", "app2", "--next-hop", f"[127.0.0.1]:{other.port}")
    assert routed.exit_code == 0, routed.output
    assert cli(home, "policy", "deploy", "gw-pf").exit_code == 0
    passwd = (maps_dir / "sasl_passwd").read_text()
    assert passwd.startswith("app1:{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$") and PASSWORD not in passwd

    dovecot = make_dovecot_auth(maps_dir / "sasl_passwd")
    params = main_cf_snippet(str(maps_dir), PolicySection())
    params["smtpd_recipient_restrictions"] += ", permit_sasl_authenticated, reject_unauth_destination"
    postfix.postconf(
        smtpd_sasl_auth_enable="yes", smtpd_sasl_type="dovecot", smtpd_sasl_path=str(dovecot.socket_path), **params
    )

    assert auth_and_send(postfix, "app1", PASSWORD)[0] == 235
    assert auth_and_send(postfix, "app2", app2_password)[0] == 235
    assert auth_and_send(postfix, "app1", "wrong-password-000")[0] == 535
    smtp_sink.wait_until(lambda ts: sum(1 for t in ts if t.data) >= 1)
    other.wait_until(lambda ts: sum(1 for t in ts if t.data) >= 1)
    assert [t.mail_from for t in other.transactions if t.data] == ["app2@customer-a.example"], (
        "the SASL login's routing rule sends its mail to the other gateway, and only its mail"
    )
    assert [t.mail_from for t in smtp_sink.transactions if t.data] == ["app1@customer-a.example"]
    postfix.wait_for_log(r"sasl_method=PLAIN, sasl_username=app1")
    with open_store(control_db(home)) as store:
        assert ("sasl", "app1") in {(g.kind, g.value) for g in get_user(store, "cust-a").grants}

    assert cli(home, "policy", "sasl", "disable", "app1").exit_code == 0
    assert auth_and_send(postfix, "app1", PASSWORD)[0] == 235, "nothing changes until the deployment"
    assert cli(home, "policy", "deploy", "gw-pf").exit_code == 0
    assert "app1:" not in (maps_dir / "sasl_passwd").read_text(), (maps_dir / "sasl_passwd").read_text()
    assert refused_soon(postfix, "app1", PASSWORD), "Dovecot re-reads a changed passwd-file (at most once a second)"
    assert auth_and_send(postfix, "app2", app2_password)[0] == 235

    assert cli(home, "policy", "sasl", "delete", "app2").exit_code == 0
    with open_store(control_db(home)) as store:
        assert ("sasl", "app2") not in {(g.kind, g.value) for g in get_user(store, "cust-a").grants}
