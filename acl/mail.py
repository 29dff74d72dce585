"""Sending the mails of sign-up and password reset.

A mailer is any callable `send_mail(to, subject, body)`; `smtp_mailer` builds one over smtplib for
the configured relay. Mails are handed to a background thread (`send_later`) so that a request that
sends a mail takes as long as one that does not: the caller's answer and timing reveal nothing.
`flush_mail()` waits for pending mails (tests, or a CLI before it exits; worker threads are also
joined at interpreter exit).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

Mailer = Callable[[str, str, str], None]
log = logging.getLogger(__name__)
_lock = threading.Lock()
_pending: set[Future[None]] = set()
_executor: ThreadPoolExecutor | None = None


def smtp_mailer(
    host: str,
    port: int,
    sender: str,
    starttls: bool = False,
    username: str | None = None,
    password: str | None = None,
    *,
    timeout: float = 30.0,
) -> Mailer:
    """A mailer that submits plain-text mails through an SMTP relay (STARTTLS verified when asked)."""

    def send_mail(to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
        message.set_content(body)
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
            if username is not None:
                smtp.login(username, password or "")
            smtp.send_message(message)

    return send_mail


def _deliver(send_mail: Mailer, to: str, subject: str, body: str) -> None:
    try:
        send_mail(to, subject, body)
    except Exception:
        log.exception("could not send %r to %s", subject, to)


def send_later(send_mail: Mailer, to: str, subject: str, body: str) -> None:
    """Queue one mail on the background sender; failures are logged, never raised to the requester."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="acl-mail")
        future = _executor.submit(_deliver, send_mail, to, subject, body)
        _pending.add(future)
    future.add_done_callback(_forget)


def _forget(future: Future[None]) -> None:
    with _lock:
        _pending.discard(future)


def flush_mail(timeout: float | None = None) -> None:
    """Wait until every queued mail has been handed to its mailer (or `timeout` seconds passed)."""
    with _lock:
        pending = set(_pending)
    wait(pending, timeout=timeout)
