"""An SMTP sink standing in for the Internet's MX (Gmail, Outlook, ...), with scripted replies.

A real SMTP server (aiosmtpd) on 127.0.0.1:<free port>. Its reply to each RCPT TO is scripted per
recipient, so one multi-recipient message from a real Postfix gets a mix of accepted, deferred and
bounced recipients, exactly as the gateway would see from remote MXs. Every transaction is recorded
(sender, each RCPT with the reply given, the message data) so a test can compare the sink's truth with
what the Postfix log says.
"""

import email
import email.policy
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.servers.ports import free_port

Reply = tuple[int, str]
"""An SMTP reply: code and text (the text starts with the enhanced status code, e.g. "5.1.1 ...")."""

Script = Mapping[str, Reply] | Callable[[str], Reply | None]
"""Recipient address -> reply, as a mapping (matched case-insensitively) or a callable (None: default)."""

ACCEPTED: Reply = (250, "2.1.5 OK")
DEFAULT_REPLIES: dict[str, Reply] = {
    "ok": ACCEPTED,
    "soft": (451, "4.3.0 Temporary failure, please try again later"),
    "hard": (550, "5.1.1 The email account that you tried to reach does not exist"),
    "full": (552, "5.2.2 The recipient's mailbox is full"),
    "spam": (550, "5.7.1 Message rejected as spam"),
}
"""Default reply by prefix of the recipient's local part ("soft3@x" -> 451); anything else is accepted."""


def default_reply(rcpt: str) -> Reply:
    """The default scripted reply for a recipient, chosen by the prefix of its local part."""
    local = rcpt.rpartition("@")[0].lower()
    for prefix, reply in DEFAULT_REPLIES.items():
        if local.startswith(prefix):
            return reply
    return ACCEPTED


@dataclass(frozen=True)
class RcptReply:
    """One RCPT TO and the reply the sink gave to it."""

    rcpt: str
    code: int
    text: str

    @property
    def line(self) -> str:
        """The reply as sent on the wire, e.g. "550 5.1.1 ..."."""
        return f"{self.code} {self.text}"


@dataclass
class Transaction:
    """One SMTP transaction (MAIL FROM ... end of DATA, or until RSET/QUIT when no RCPT was accepted)."""

    peer: str
    helo: str
    mail_from: str
    started: float
    rcpts: list[RcptReply] = field(default_factory=list)
    data: bytes | None = None
    sink_id: str | None = None

    @property
    def accepted(self) -> list[str]:
        """Recipients the sink accepted (2xx at RCPT)."""
        return [r.rcpt for r in self.rcpts if 200 <= r.code < 300]

    def message(self) -> EmailMessage:
        """The received message, parsed (raises when no DATA was received)."""
        if self.data is None:
            raise ValueError("no DATA in this transaction")
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


class _Handler:
    """aiosmtpd handler: scripted RCPT replies, every transaction recorded in the sink."""

    def __init__(self, sink: "SmtpSink") -> None:
        self.sink = sink

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        envelope.mail_from = address  # "<>" for the null sender: aiosmtpd needs it non-empty
        envelope.mail_options.extend(options)
        session.transaction = self.sink._record(
            Transaction(
                peer=str(session.peer[0]),
                helo=session.host_name or "",
                mail_from="" if address == "<>" else address,
                started=time.time(),
            )
        )
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        code, text = self.sink.reply_for(address)
        with self.sink._changed:
            session.transaction.rcpts.append(RcptReply(address, code, text))
            self.sink._changed.notify_all()
        if 200 <= code < 300:
            envelope.rcpt_tos.append(address)
        return f"{code} {text}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.sink._changed:
            self.sink._received += 1
            sink_id = f"sink-{self.sink._received}"
            session.transaction.data = envelope.original_content or envelope.content
            session.transaction.sink_id = sink_id
            self.sink._changed.notify_all()
        return f"250 2.0.0 OK queued as {sink_id}"


class SmtpSink:
    """A running SMTP sink on 127.0.0.1:port with per-recipient scripted replies.

    ``script`` may be replaced at any time (e.g. make "soft" recipients succeed on the retry).
    """

    def __init__(self, script: Script | None = None, server_hostname: str = "mx.sink.test") -> None:
        self.script = script
        self.host = "127.0.0.1"
        self.port = free_port()
        self.server_hostname = server_hostname
        self._transactions: list[Transaction] = []
        self._received = 0
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    def reply_for(self, rcpt: str) -> Reply:
        """The reply scripted for a recipient: the script's answer, else the default by local part."""
        if callable(self.script):
            reply = self.script(rcpt)
        elif self.script is not None:
            lowered = {k.lower(): v for k, v in self.script.items()}
            reply = lowered.get(rcpt.lower())
        else:
            reply = None
        return reply or default_reply(rcpt)

    def _record(self, transaction: Transaction) -> Transaction:
        with self._changed:
            self._transactions.append(transaction)
            self._changed.notify_all()
        return transaction

    @property
    def transactions(self) -> list[Transaction]:
        """A snapshot of every transaction so far, in arrival order."""
        with self._changed:
            return list(self._transactions)

    def rcpt_replies(self, rcpt: str) -> list[RcptReply]:
        """Every reply given to this recipient (one per delivery attempt), oldest first."""
        return [r for t in self.transactions for r in t.rcpts if r.rcpt.lower() == rcpt.lower()]

    def wait_until(self, predicate: Callable[[list[Transaction]], bool], timeout: float = 20.0) -> list[Transaction]:
        """Block until predicate(transactions) is true; return the transactions or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self._transactions)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"sink condition not met in {timeout}s: {self._transactions!r}")
                self._changed.wait(left)
            return list(self._transactions)

    def clear(self) -> None:
        """Forget the recorded transactions."""
        with self._changed:
            self._transactions.clear()

    def start(self) -> "SmtpSink":
        """Start listening (on the same port after a stop(), to simulate an MX coming back)."""
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            server_hostname=self.server_hostname,
            enable_SMTPUTF8=True,
            ready_timeout=10.0,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are then refused, like an MX that is down)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A started SmtpSink with the default script (ok*/soft*/hard*/full*/spam* local parts)."""
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()
