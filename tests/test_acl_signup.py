"""Self sign-up: a code mailed to the sender address, no enumeration, no replay, guessing throttled."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from acl import (
    USER,
    CodeInvalid,
    Grant,
    Hasher,
    InvalidValue,
    Throttled,
    WeakPassword,
    finish_signup,
    flush_mail,
    get_user,
    local_operator,
    login,
    open_store,
    scope_for,
    smtp_mailer,
    start_signup,
    user_add,
)
from acl import codes as acl_codes

PASSWORD = "my own long password"
T0 = 1_800_000_000.0
SENT = {"alice@example.com", "bob@example.com", "carol@example.com", "owner@example.com"}


def has_sent(address: str) -> bool:
    return address in SENT


class Outbox:
    """A mailer recording what it is asked to send."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, to: str, subject: str, body: str) -> None:
        with self._lock:
            self.mails.append((to, subject, body))

    def delivered(self) -> list[tuple[str, str, str]]:
        flush_mail(10)
        with self._lock:
            return list(self.mails)

    def code_for(self, address: str) -> str:
        bodies = [body for to, subject, body in self.delivered() if to == address and "code" in subject]
        return re.search(r"\b(\d{8})\b", bodies[-1]).group(1)


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "control.db", hasher=Hasher(fast=True))
    yield s
    s.close()


@pytest.fixture
def outbox():
    return Outbox()


def test_signup_creates_a_user_seeing_exactly_its_sender(store, outbox):
    assert start_signup(store, " Alice@EXAMPLE.com ", has_sent=has_sent, send_mail=outbox, now=T0) is None
    code = outbox.code_for("alice@example.com")
    user = finish_signup(store, "alice@example.com", code, PASSWORD, now=T0 + 60)
    assert (user.name, user.role, user.email) == ("alice@example.com", USER, "alice@example.com")
    assert get_user(store, "alice@example.com").grants == (Grant("sender", "alice@example.com"),)
    assert scope_for(user).predicate() == (
        "COALESCE((list_contains($scope_senders::VARCHAR[], sender)), FALSE)",
        {"scope_senders": ["alice@example.com"]},
    )
    assert login(store, "alice@example.com", PASSWORD, now=T0 + 61)[1].name == "alice@example.com"


def test_answer_is_the_same_whether_or_not_the_address_sent_or_has_an_account(store, outbox):
    user_add(store, local_operator("ops"), "owner@example.com", USER, PASSWORD)
    answers = [
        start_signup(store, address, has_sent=has_sent, send_mail=outbox, now=T0)
        for address in ("alice@example.com", "stranger@example.com", "owner@example.com")
    ]
    assert answers == [None, None, None]
    delivered = outbox.delivered()
    assert [(to, subject) for to, subject, _ in delivered] == [
        ("alice@example.com", "relaywatch sign-up code"),
        ("owner@example.com", "relaywatch sign-up request"),
    ]
    assert not re.search(r"\d{8}", delivered[1][2])


def test_code_cannot_be_replayed(store, outbox):
    start_signup(store, "bob@example.com", has_sent=has_sent, send_mail=outbox, now=T0)
    code = outbox.code_for("bob@example.com")
    finish_signup(store, "bob@example.com", code, PASSWORD, now=T0 + 10)
    with pytest.raises(CodeInvalid, match="invalid or expired code"):
        finish_signup(store, "bob@example.com", code, PASSWORD, now=T0 + 20)
    start_signup(store, "bob@example.com", has_sent=has_sent, send_mail=outbox, now=T0 + 30)
    with pytest.raises(CodeInvalid):
        finish_signup(store, "bob@example.com", outbox.code_for("bob@example.com"), PASSWORD, now=T0 + 40)


def test_guessing_burns_the_code_after_five_attempts(store, outbox):
    start_signup(store, "carol@example.com", has_sent=has_sent, send_mail=outbox, now=T0)
    code = outbox.code_for("carol@example.com")
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for i in range(5):
        with pytest.raises(CodeInvalid):
            finish_signup(store, "carol@example.com", wrong, PASSWORD, now=T0 + i)
    with pytest.raises(CodeInvalid):
        finish_signup(store, "carol@example.com", code, PASSWORD, now=T0 + 6)


def test_wrong_codes_from_one_source_lock_that_source(store, outbox):
    for address in ("alice@example.com", "bob@example.com", "carol@example.com"):
        start_signup(store, address, has_sent=has_sent, send_mail=outbox, now=T0)
    for i in range(10):
        with pytest.raises(CodeInvalid):
            finish_signup(store, "alice@example.com", "12345678", PASSWORD, source="203.0.113.5", now=T0 + i)
    with pytest.raises(Throttled):
        code = outbox.code_for("bob@example.com")
        finish_signup(store, "bob@example.com", code, PASSWORD, source="203.0.113.5", now=T0 + 11)


def test_code_expires_after_fifteen_minutes(store, outbox):
    start_signup(store, "alice@example.com", has_sent=has_sent, send_mail=outbox, now=T0)
    with pytest.raises(CodeInvalid):
        finish_signup(store, "alice@example.com", outbox.code_for("alice@example.com"), PASSWORD, now=T0 + 901)


def test_a_new_request_replaces_the_previous_code(store, outbox):
    start_signup(store, "alice@example.com", has_sent=has_sent, send_mail=outbox, now=T0)
    first = outbox.code_for("alice@example.com")
    start_signup(store, "alice@example.com", has_sent=has_sent, send_mail=outbox, now=T0 + 1)
    second = outbox.code_for("alice@example.com")
    if first != second:
        with pytest.raises(CodeInvalid):
            finish_signup(store, "alice@example.com", first, PASSWORD, now=T0 + 2)
    assert finish_signup(store, "alice@example.com", second, PASSWORD, now=T0 + 3).name == "alice@example.com"


def test_an_address_that_did_not_send_never_gets_an_account_even_with_the_right_code(store, outbox, monkeypatch):
    monkeypatch.setattr(acl_codes.secrets, "randbelow", lambda _: 4242)
    start_signup(store, "stranger@example.com", has_sent=has_sent, send_mail=outbox, now=T0)
    assert outbox.delivered() == []
    with pytest.raises(CodeInvalid):
        finish_signup(store, "stranger@example.com", "00004242", PASSWORD, now=T0 + 1)


def test_requests_are_throttled_per_address_and_per_source(store, outbox):
    def ask(address: str, now: float, source: str | None = None) -> None:
        start_signup(store, address, has_sent=has_sent, send_mail=outbox, source=source, now=now)

    for i in range(5):
        ask("alice@example.com", T0 + i)
    with pytest.raises(Throttled):
        ask("alice@example.com", T0 + 10)
    ask("bob@example.com", T0 + 10)
    for i in range(20):
        ask(f"x{i}@example.org", T0 + 20, source="192.0.2.8")
    with pytest.raises(Throttled):
        ask("carol@example.com", T0 + 21, source="192.0.2.8")
    ask("carol@example.com", T0 + 21, source="192.0.2.9")
    ask("alice@example.com", T0 + 3700)


def test_malformed_or_look_alike_addresses_are_refused(store, outbox):
    for address in ("not an address", "аlice@example.com", "alice@exa_mple.com", "alice\u200b@example.com"):
        with pytest.raises(InvalidValue):
            start_signup(store, address, has_sent=has_sent, send_mail=outbox, now=T0)


def test_weak_password_does_not_spend_the_code(store, outbox):
    start_signup(store, "alice@example.com", has_sent=has_sent, send_mail=outbox, now=T0)
    code = outbox.code_for("alice@example.com")
    with pytest.raises(WeakPassword):
        finish_signup(store, "alice@example.com", code, "short", now=T0 + 1)
    assert finish_signup(store, "alice@example.com", code, PASSWORD, now=T0 + 2).name == "alice@example.com"


def test_a_request_does_the_same_work_whoever_the_address_is(tmp_path):
    """Counted, not timed: the same argon2 work and the same lookups whether the address sent, did not,
    or already has an account, and the mail leaves from a background thread (a slow relay cannot tell
    either). A wall-clock median would flake under load and prove less."""
    from tests.test_acl_accounts import CountingArgon2

    argon2 = CountingArgon2()
    store = open_store(tmp_path / "c.db", hasher=Hasher(hasher=argon2))
    user_add(store, local_operator("ops"), "owner@example.com", USER, None)
    relay_free = threading.Event()
    outbox = Outbox()

    def slow_mailer(to: str, subject: str, body: str) -> None:
        relay_free.wait(30)
        outbox(to, subject, body)

    work, lookups = {}, []
    for kind, address in (("sent", "s@example.com"), ("stranger", "n@example.com"), ("account", "owner@example.com")):
        argon2.calls.clear()

        def proof(a: str) -> bool:
            lookups.append(a)
            return not a.startswith("n")

        start_signup(store, address, has_sent=proof, send_mail=slow_mailer, now=T0)
        work[kind] = list(argon2.calls)
    assert work["sent"] == work["stranger"] == work["account"] == [("hash", "1/8192/1")]
    assert lookups == ["s@example.com", "n@example.com", "owner@example.com"]
    assert outbox.mails == [], "start_signup returned before the (blocked) relay took any mail"
    relay_free.set()
    flush_mail(30)
    assert sorted(to for to, _, _ in outbox.mails) == ["owner@example.com", "s@example.com"]
    store.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collect:
    """aiosmtpd handler keeping every received message."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server():
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.mark.server
def test_signup_end_to_end_through_a_real_smtp_server(store, smtp_server):
    controller, handler = smtp_server
    mailer = smtp_mailer("127.0.0.1", controller.port, "relaywatch@relay.example")
    start_signup(store, "Alice@Example.com", has_sent=has_sent, send_mail=mailer, source="192.0.2.1")
    flush_mail(30)
    deadline = time.monotonic() + 10
    while not handler.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    [message] = handler.messages
    assert message["To"] == "alice@example.com" and message["From"] == "relaywatch@relay.example"
    code = re.search(r"\b(\d{8})\b", message.get_content()).group(1)
    user = finish_signup(store, "alice@example.com", code, PASSWORD, source="192.0.2.1")
    assert user.grants == (Grant("sender", "alice@example.com"),)
    token, logged_in = login(store, "alice@example.com", PASSWORD, source="192.0.2.1")
    assert token and logged_in.name == "alice@example.com"
    with pytest.raises(CodeInvalid):
        finish_signup(store, "alice@example.com", code, PASSWORD, source="192.0.2.1")


def test_re_requesting_codes_all_day_allows_only_a_few_dozen_guesses(store, outbox):
    """Before: 5 requests an hour x 5 attempts per code = 600 guesses a day on one address."""
    accepted = 0
    now = T0
    while now < T0 + 86400:
        try:
            start_signup(store, "carol@example.com", has_sent=has_sent, send_mail=outbox, now=now)
        except Throttled:
            now += 60
            continue
        for _ in range(5):
            try:
                finish_signup(store, "carol@example.com", "00000000", PASSWORD, now=now)
            except CodeInvalid:
                accepted += 1
            except Throttled:
                break
        now += 60
    assert accepted <= 20, f"{accepted} guesses in a day"


def test_a_locked_address_is_locked_again_for_longer_after_its_window(store, outbox):
    def ask(now: float) -> None:
        start_signup(store, "alice@example.com", has_sent=has_sent, send_mail=outbox, now=now)

    for i in range(5):
        ask(T0 + i)
    with pytest.raises(Throttled) as first:
        ask(T0 + 10)
    ask(T0 + 10 + first.value.retry_after + 1)  # the window and the lock are over: one more request...
    with pytest.raises(Throttled) as second:
        ask(T0 + 20 + first.value.retry_after)  # ...locks it again, for longer
    assert second.value.retry_after > first.value.retry_after
