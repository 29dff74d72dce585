"""Dashboards sign-in, navigation by role, refusal of pages outside the role, sign-up and reset."""

from __future__ import annotations

import email
import email.policy
import re
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from streamlit.testing.v1 import AppTest

from acl import flush_mail, local_operator, open_store, user_disable
from dashboards.auth import PAGES_DIR, TOKEN, pages_for
from tests.servers.ports import free_port
from tests.test_dashboards_data import PASSWORD, DemoHome, copy_home, demo_home, goto, open_app, texts

ALL_SCRIPTS = sorted(p.name for p in PAGES_DIR.glob("*.py") if p.name not in ("signin.py", "main.py"))


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="signin_name").set_value(name)
    at.text_input(key="signin_password").set_value(password)
    return at.button(key="signin_submit").click().run()


def navigation(at: AppTest) -> list[str]:
    """The page scripts the navigation registered in the last run."""
    return sorted(
        Path(str(info["script_path"])).name for info in at._registered_pages.values() if info.get("script_path")
    )


def test_signed_out_people_see_only_the_sign_in_page(monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(demo_home(), None, monkeypatch)
    assert not at.exception
    assert set(navigation(at)) == {"signin.py"}, "every page URL leads to the sign-in form"
    with pytest.raises(ValueError):
        at.switch_page("logs.py")


def test_sign_in_opens_the_overview_with_the_role_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(demo_home(), None, monkeypatch)
    sign_in(at, "alice", PASSWORD)
    assert not at.exception
    assert isinstance(at.session_state[TOKEN], str)
    assert texts(at.title) == ["Overview"]
    assert navigation(at) == sorted(
        [
            "overview.py",
            "logs.py",
            "message.py",
            "bounces.py",
            "complaints.py",
            "gateway_policy.py",
            "account.py",
            "signin.py",
        ]
    )


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    home = demo_home()
    wrong = sign_in(open_app(home, None, monkeypatch), "alice", "not the password")
    unknown = sign_in(open_app(home, None, monkeypatch), "mallory", "not the password")
    assert texts(wrong.error) == texts(unknown.error) == ["Invalid name or password."]
    assert TOKEN not in wrong.session_state


def test_machine_accounts_cannot_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    at = sign_in(open_app(demo_home(), None, monkeypatch), "gwbot", PASSWORD)
    assert texts(at.error) == ["Invalid name or password."]
    assert set(navigation(at)) == {"signin.py"}, "every page URL leads to the sign-in form"


@pytest.mark.parametrize("role_user", ["root", "ops", "alice"])
def test_each_role_gets_exactly_its_pages(role_user: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(demo_home(), role_user, monkeypatch)
    role = {"root": "root", "ops": "admin", "alice": "user"}[role_user]
    expected = sorted([p.script for p in pages_for(role)] + ["signin.py"])
    assert navigation(at) == expected
    for script in ALL_SCRIPTS:
        if script in expected:
            goto(at, script)
            assert not at.exception, (script, at.exception)
        else:
            with pytest.raises(ValueError):
                at.switch_page(script)


@pytest.mark.parametrize("script", ["admin.py", "mailqueue.py", "reputation.py"])
def test_pages_outside_the_role_refuse_direct_access(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page script run on its own (not through the navigation) still checks the role."""
    home = demo_home()
    monkeypatch.setenv("RELAYWATCH_HOME", str(home.path))
    signed_in = open_app(home, "alice", monkeypatch)
    at = AppTest.from_file(PAGES_DIR / script, default_timeout=60)
    at.session_state[TOKEN] = signed_in.session_state[TOKEN]
    at.run()
    assert texts(at.error) == ["Your role does not give access to this page."]
    assert not at.dataframe and not at.exception


def test_pages_run_directly_without_a_session_ask_to_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAYWATCH_HOME", str(demo_home().path))
    for script in ALL_SCRIPTS:
        at = AppTest.from_file(PAGES_DIR / script, default_timeout=60).run()
        assert texts(at.warning) == ["Please sign in."], script
        assert not at.dataframe


def test_sign_out_and_a_disabled_account_end_the_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = copy_home(tmp_path)
    at = open_app(home, "alice", monkeypatch)
    at.button(key="sign_out").click().run()
    assert set(navigation(at)) == {"signin.py"} and TOKEN not in at.session_state
    at = open_app(home, "bob", monkeypatch)
    user_disable(open_store(home.path / "control.db"), local_operator("tests"), "bob")
    at.run()
    assert set(navigation(at)) == {"signin.py"}, "every page URL leads to the sign-in form"


def test_the_interface_follows_the_chosen_language(monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(demo_home(), None, monkeypatch)
    at.segmented_control(key="rw_language").set_value("fr").run()
    assert at.button(key="signin_submit").label == "Se connecter"
    sign_in(at, "alice", "wrong password!")
    assert texts(at.error) == ["Nom ou mot de passe incorrect."]


class Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201 - aiosmtpd hook
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def code_for(self, address: str) -> str:
        flush_mail(30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for message in self.messages:
                if message["To"] == address:
                    return re.search(r"\b(\d{8})\b", message.get_content()).group(1)  # type: ignore[union-attr]
            time.sleep(0.05)
        raise AssertionError(f"no mail for {address}")


@pytest.fixture
def mail_home(tmp_path: Path) -> tuple[DemoHome, Inbox]:
    """A home whose [mail] section points at a real SMTP server on 127.0.0.1."""
    home = copy_home(tmp_path)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    config = home.path / "relaywatch.toml"
    config.write_text(
        config.read_text() + f'\n[mail]\nhost = "127.0.0.1"\nport = {controller.port}\n'
        'sender = "relaywatch@relay.example"\n\n[dashboards]\nsignup_days = 100000\n'
    )
    yield home, inbox
    controller.stop()


@pytest.mark.server
def test_sign_up_by_mailed_code_gives_an_account_that_sees_its_sender(
    mail_home: tuple[DemoHome, Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, inbox = mail_home
    at = open_app(home, None, monkeypatch)
    at.text_input(key="signup_address").set_value(home.bob_sender.upper())
    at.button(key="signup_start_submit").click().run()
    assert texts(at.success) == ["If this address can sign up, a code is on its way to its mailbox."]
    code = inbox.code_for(home.bob_sender)
    at.text_input(key="signup_finish_address").set_value(home.bob_sender)
    at.text_input(key="signup_code").set_value(code)
    at.text_input(key="signup_password").set_value(PASSWORD)
    at.text_input(key="signup_password_again").set_value(PASSWORD)
    at.button(key="signup_finish_submit").click().run()
    assert not at.exception and texts(at.title) == ["Overview"]
    goto(at, "account.py")
    assert at.dataframe[0].value.iloc[:, 0].tolist() == [f"sender:{home.bob_sender}"]


@pytest.mark.server
def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    mail_home: tuple[DemoHome, Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, inbox = mail_home
    at = open_app(home, None, monkeypatch)
    at.text_input(key="signup_address").set_value("stranger@nowhere.example")
    at.button(key="signup_start_submit").click().run()
    assert texts(at.success) == ["If this address can sign up, a code is on its way to its mailbox."]
    flush_mail(30)
    assert not inbox.messages


@pytest.mark.server
def test_password_reset_by_mailed_code(mail_home: tuple[DemoHome, Inbox], monkeypatch: pytest.MonkeyPatch) -> None:
    home, inbox = mail_home
    at = open_app(home, None, monkeypatch)
    at.text_input(key="reset_name").set_value("alice")
    at.button(key="reset_start_submit").click().run()
    code = inbox.code_for("alice@relay.example")
    new_password = "a brand new passphrase"
    at.text_input(key="reset_finish_name").set_value("alice")
    at.text_input(key="reset_code").set_value(code)
    at.text_input(key="reset_password").set_value(new_password)
    at.text_input(key="reset_password_again").set_value(new_password)
    at.button(key="reset_finish_submit").click().run()
    assert texts(at.success)[-1] == "Password changed. You can sign in."
    sign_in(at, "alice", new_password)
    assert texts(at.title) == ["Overview"]


def test_without_mail_settings_only_sign_in_is_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(demo_home(), None, monkeypatch)
    assert [tab.label for tab in at.tabs] == ["Sign in"]


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    from dashboards.auth import forwarded_client

    proxy = ("10.0.0.1",)
    assert forwarded_client("203.0.113.7", "198.51.100.1", proxy) == "203.0.113.7", "a client cannot claim a source"
    assert forwarded_client("10.0.0.1", "198.51.100.1", proxy) == "198.51.100.1"
    assert forwarded_client("10.0.0.1", "6.6.6.6, 198.51.100.1", proxy) == "198.51.100.1", "left part is the client's"
    assert forwarded_client("10.0.0.1", "198.51.100.1, 10.0.0.1", proxy) == "198.51.100.1"
    assert forwarded_client("10.0.0.1", None, proxy) == "10.0.0.1"
    assert forwarded_client("127.0.0.1", "198.51.100.1", ()) == "127.0.0.1", "no proxy configured: header ignored"


def test_trusted_proxies_must_be_ip_addresses() -> None:
    from relaywatch.core import ConfigError, parse_config

    assert parse_config({"dashboards": {"trusted_proxies": ["127.0.0.1", "::1"]}}).dashboards.trusted_proxies
    with pytest.raises(ConfigError, match="trusted_proxies: 'proxy.local' is not an IP address"):
        parse_config({"dashboards": {"trusted_proxies": ["proxy.local"]}})
