"""Parsing ARF feedback reports (RFC 5965) with the standard library's `email` package.

A report is `multipart/report; report-type=feedback-report` with a human-readable part, a
`message/feedback-report` part (header-like fields: Feedback-Type, User-Agent, Version, Original-Mail-From,
Original-Rcpt-To (may repeat), Arrival-Date, Source-IP, Reported-Domain, Reporting-MTA, Incidents) and the
reported message as `message/rfc822` or only its headers as `text/rfc822-headers`. Real feeds bend this:
parts in quoted-printable or base64, folded fields, optional fields missing, a recipient redacted, only a
Message-ID left of the reported message, a top-level type that is not multipart/report. The parser is
lenient where providers differ and refuses (ArfError) what is not a feedback report at all: the caller
keeps those mails raw.

The reported message's own headers (Message-ID, Received, From, Subject) come from the third part only:
the report's outer Message-ID is the provider's, never the reported one.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.header
import email.policy
import quopri
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import parseaddr, parsedate_to_datetime

from relaywatch.core import RelaywatchError

FEEDBACK_TYPES = ("abuse", "fraud", "virus", "other", "not-spam", "auth-failure")
POLICY = email.policy.compat32
RECEIVED_ID = re.compile(r"\bby\s+(?P<host>[^\s;()]+).*?\bid\s+(?P<queue_id>[0-9A-Za-z]{6,})", re.S | re.I)
"""`... by HOST (Postfix) with ESMTPSA id QUEUEID ...`: the queue id a gateway gave the message."""


class ArfError(RelaywatchError):
    """A mail that is not a usable feedback report (kept raw by the caller, never dropped)."""


@dataclass(frozen=True)
class Report:
    """The fields of one feedback report and of the message it reports."""

    feedback_type: str
    user_agent: str | None = None
    version: str | None = None
    original_mail_from: str | None = None
    original_rcpt_to: tuple[str, ...] = ()
    arrival_ts: datetime | None = None
    source_ip: str | None = None
    reported_domain: tuple[str, ...] = ()
    reporting_mta: str | None = None
    incidents: int | None = None
    report_from: str | None = None
    """Address the report came from (the feedback-loop programme's sender)."""
    reported_part: str = "none"
    """What the provider sent of the message: `message`, `headers` or `none`."""
    reported_message_id: str | None = None
    reported_from: str | None = None
    reported_to: str | None = None
    reported_subject: str | None = None
    reported_date: datetime | None = None
    received_ids: tuple[tuple[str, str], ...] = field(default=())
    """(host, queue id) of each `Received: ... by HOST ... id QUEUEID` of the reported message."""


def _text(value: object) -> str | None:
    """A header value as clean text: folding removed, encoded words decoded, blanks as None."""
    if value is None:
        return None
    decoded = str(email.header.make_header(email.header.decode_header(str(value))))
    text = " ".join(decoded.split())
    return text or None


def _address(value: object) -> str | None:
    """The bare address of a header value (`<a@b>`, `Name <a@b>`, `a@b`), lower-cased."""
    text = _text(value)
    if text is None:
        return None
    address = parseaddr(text)[1] or text.strip("<> ")
    return address.lower() or None


def _when(value: object) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        stamp = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _message_id(value: object) -> str | None:
    """A Message-ID without its angle brackets (as the lake stores Postfix's message-id=)."""
    text = _text(value)
    if text is None:
        return None
    match = re.search(r"<([^<>\s]+)>", text)
    return match[1] if match else text.strip("<> ") or None


def _body(raw: bytes) -> bytes:
    """What follows the header block of a raw entity."""
    match = re.search(rb"\r?\n\r?\n", raw)
    return raw[match.end() :] if match else b""


def raw_parts(message: Message, raw: bytes) -> dict[int, bytes]:
    """id(part) -> the part's own raw bytes (headers and body), split along the MIME boundaries.

    The email package parses every `message/*` part into sub-messages, and serialising them back is lossy
    when the part is quoted-printable or base64 (which RFC 2046 forbids for message/*, and providers do
    anyway): the raw bytes are the only faithful source."""
    found: dict[int, bytes] = {}
    boundary = message.get_boundary()
    payload = message.get_payload()
    if not boundary or not isinstance(payload, list):
        return found
    delimiter = re.compile(
        rb"(?:^|\r?\n)--" + re.escape(boundary.encode(errors="replace")) + rb"(--)?[ \t]*(?:\r?\n|$)"
    )
    body = _body(raw)
    pieces, start = [], None
    for match in delimiter.finditer(body):
        if start is not None:
            pieces.append(body[start : match.start()])
        start = None if match[1] else match.end()
    for part, piece in zip(payload, pieces, strict=False):
        if isinstance(part, Message):
            found[id(part)] = piece
            if part.get_content_maintype() == "multipart":
                found.update(raw_parts(part, piece))
    return found


def part_bytes(part: Message, raw: bytes | None = None) -> bytes:
    """The decoded body of one part, from its raw bytes when known (see raw_parts), whatever its type."""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    payload = part.get_payload()
    if raw is not None:
        body = _body(raw)
    elif isinstance(payload, list):
        body = b"".join(sub.as_bytes(policy=POLICY) if isinstance(sub, Message) else b"" for sub in payload)
    else:
        return part.get_payload(decode=True) or b""
    if encoding == "quoted-printable":
        return quopri.decodestring(body)
    if encoding == "base64":
        try:
            return base64.b64decode(body, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise ArfError(f"undecodable base64 report part: {exc}") from exc
    return body


def _headers(part: Message, raws: dict[int, bytes]) -> Message:
    body = part_bytes(part, raws.get(id(part))).lstrip(b"\r\n")
    return BytesHeaderParser(policy=POLICY).parsebytes(body)


def _reported(parts: list[Message], raws: dict[int, bytes]) -> tuple[str, Message | None]:
    """The reported message's headers: from a message/rfc822 or text/rfc822-headers part, else none."""
    for part in parts:
        kind = part.get_content_type()
        if kind in ("message/rfc822", "text/rfc822-headers"):
            return ("message" if kind == "message/rfc822" else "headers"), _headers(part, raws)
    return "none", None


JMRP_SUBJECT = re.compile(r"^\s*complaint about message from ", re.I)


def _is_jmrp(message: Message) -> bool:
    """Microsoft's JMRP mails: the reported message as message/rfc822, no feedback-report part, sent by
    staff@hotmail.com with `Subject: complaint about message from IP` (as Sisimai recognises them,
    github.com/sisimai/set-of-emails maildir/bsd/arf-22.eml)."""
    sender = _address(message.get("From")) or ""
    return sender == "staff@hotmail.com" or bool(JMRP_SUBJECT.match(_text(message.get("Subject")) or ""))


def _jmrp_fields(parts: list[Message], raws: dict[int, bytes]) -> Message:
    """The fields a JMRP mail implies: an abuse report on the attached message, whose original recipient
    Microsoft writes in `X-HmXmrOriginalRecipient`."""
    fields = Message()
    fields["Feedback-Type"] = "abuse"
    fields["User-Agent"] = "JMRP"
    _, headers = _reported(parts, raws)
    if headers is not None:
        if headers.get("X-HmXmrOriginalRecipient"):
            fields["Original-Rcpt-To"] = str(headers["X-HmXmrOriginalRecipient"])
        sender = headers.get("Return-Path") or headers.get("X-SID-PRA") or headers.get("From")
        if sender:
            fields["Original-Mail-From"] = str(sender)
    return fields


def parse_report(raw: bytes) -> Report:
    """One feedback report from the raw mail, or ArfError saying why it is not one."""
    try:
        message = email.message_from_bytes(raw, policy=POLICY)
    except Exception as exc:  # the email package may raise nearly anything on hostile input
        raise ArfError(f"unreadable MIME: {exc}") from exc
    if not message.is_multipart():
        kind = message.get_content_type()
        if kind.startswith("multipart/"):
            raise ArfError(f"broken MIME: {kind} without its parts (boundary missing or cut off)")
        raise ArfError(f"not a feedback report: {kind}, not multipart/report")
    parts = list(message.walk())
    feedback = next((p for p in parts if p.get_content_type() == "message/feedback-report"), None)
    raws = raw_parts(message, raw)
    if feedback is not None:
        fields = _headers(feedback, raws)
    elif _is_jmrp(message):
        fields = _jmrp_fields(parts, raws)
    else:
        raise ArfError("not a feedback report: no message/feedback-report part")
    kind = (_text(fields.get("Feedback-Type")) or "").lower()
    if not kind:
        raise ArfError("feedback report without Feedback-Type")
    reported_part, headers = _reported([p for p in parts if p is not feedback], raws)
    incidents = _text(fields.get("Incidents"))
    received = []
    if headers is not None:
        for value in headers.get_all("Received") or []:
            match = RECEIVED_ID.search(" ".join(str(value).split()))
            if match:
                received.append((match["host"].lower(), match["queue_id"]))
    rcpts = tuple(a for a in (_address(v) for v in fields.get_all("Original-Rcpt-To") or []) if a)
    domains = tuple(d.lower() for d in (_text(v) for v in fields.get_all("Reported-Domain") or []) if d)
    mta = _text(fields.get("Reporting-MTA"))
    return Report(
        feedback_type=kind,
        user_agent=_text(fields.get("User-Agent")),
        version=_text(fields.get("Version")),
        original_mail_from=_address(fields.get("Original-Mail-From")),
        original_rcpt_to=rcpts,
        arrival_ts=_when(fields.get("Arrival-Date") or fields.get("Received-Date")),
        source_ip=_text(fields.get("Source-IP")),
        reported_domain=domains,
        reporting_mta=mta.split(";", 1)[-1].strip().lower() if mta else None,
        incidents=int(incidents) if incidents and incidents.isdigit() else None,
        report_from=_address(message.get("From")),
        reported_part=reported_part if headers is not None and len(headers) else "none",
        reported_message_id=_message_id(headers.get("Message-ID")) if headers is not None else None,
        reported_from=_address(headers.get("From")) if headers is not None else None,
        reported_to=_address(headers.get("To")) if headers is not None else None,
        reported_subject=_text(headers.get("Subject")) if headers is not None else None,
        reported_date=_when(headers.get("Date")) if headers is not None else None,
        received_ids=tuple(received),
    )
