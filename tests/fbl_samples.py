"""Feedback-loop mails as providers send them, for the tests (raw bytes, CRLF line ends).

Shapes follow RFC 5965 (section 3 and the example of its Appendix B: multipart/report;
report-type=feedback-report, a human part, message/feedback-report, then message/rfc822 or
text/rfc822-headers) and the sample reports collected by Sisimai (github.com/sisimai/set-of-emails,
maildir/bsd/arf-*.eml: Yahoo's `User-Agent: Yahoo!-Mail-Feedback/2.0` with the full message, providers
sending only headers, a redacted recipient, quoted-printable report parts). Addresses and names are made
up (example domains, documentation IP ranges).
"""

from __future__ import annotations

import base64
import quopri
from datetime import datetime
from email.utils import format_datetime

BOUNDARY = "----=_Part_FBL_0001"


def reported_message(
    *,
    sender: str,
    rcpt: str,
    message_id: str | None,
    queue_id: str | None,
    gateway_host: str,
    when: datetime,
    body: str = "Hello, our November offers.\r\n",
) -> str:
    """The headers (and body) of a mail our gateway relayed, as the receiving provider stored it."""
    lines = [f"Received: from mx-in.example.net by mta7.mail.example.net with SMTP; {format_datetime(when)}"]
    if queue_id:
        lines.append(
            f"Received: from client.example.org (client.example.org [192.0.2.10])\r\n"
            f"\tby {gateway_host} (Postfix) with ESMTPSA id {queue_id}\r\n"
            f"\tfor <{rcpt}>; {format_datetime(when)}"
        )
    lines += [f"From: Shop <{sender}>", f"To: {rcpt}", "Subject: November offers", f"Date: {format_datetime(when)}"]
    if message_id:
        lines.append(f"Message-ID: <{message_id}>")
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    return "\r\n".join(lines) + "\r\n\r\n" + body


def arf(
    *,
    feedback_type: str = "abuse",
    sender: str,
    rcpt: str | None,
    message_id: str | None = None,
    queue_id: str | None = None,
    gateway_host: str = "gw.relay.example",
    when: datetime,
    user_agent: str = "Yahoo!-Mail-Feedback/2.0",
    part: str = "message",
    encoding: str | None = None,
    extra_body: str = "",
    report_message_id: str = "<fbl-1@feedback.example.net>",
) -> bytes:
    """One ARF report. part: `message` (message/rfc822), `headers` (text/rfc822-headers), `message-id`
    (a headers part holding only the Message-ID). encoding: None, `quoted-printable` or `base64` applied
    to the feedback and reported parts (folded Original-Rcpt-To too)."""
    fields = [
        f"Feedback-Type: {feedback_type}",
        f"User-Agent: {user_agent}",
        "Version: 1",
        f"Original-Mail-From: <{sender}>",
    ]
    if rcpt is not None:
        fields.append(f"Original-Rcpt-To:\r\n <{rcpt}>")  # folded, as some providers do
    fields += [
        f"Arrival-Date: {format_datetime(when)}",
        "Source-IP: 198.51.100.25",
        f"Reported-Domain: {sender.rpartition('@')[2]}",
        "Reporting-MTA: dns; mta7.mail.example.net",
        "Incidents: 1",
    ]
    feedback = "\r\n".join(fields) + "\r\n"
    if part == "message-id":
        reported, kind = f"Message-ID: <{message_id}>\r\n", "text/rfc822-headers"
    else:
        full = reported_message(
            sender=sender,
            rcpt=rcpt or "redacted@example.net",
            message_id=message_id,
            queue_id=queue_id,
            gateway_host=gateway_host,
            when=when,
            body=extra_body or "Hello, our November offers.\r\n",
        )
        reported = full if part == "message" else full.split("\r\n\r\n", 1)[0] + "\r\n"
        kind = "message/rfc822" if part == "message" else "text/rfc822-headers"

    def encoded(text: str) -> tuple[str, str]:
        if encoding == "quoted-printable":
            return "Content-Transfer-Encoding: quoted-printable\r\n", quopri.encodestring(
                text.encode()
            ).decode().replace("\n", "\r\n").replace("\r\r\n", "\r\n")
        if encoding == "base64":
            return "Content-Transfer-Encoding: base64\r\n", base64.encodebytes(text.encode()).decode().replace(
                "\n", "\r\n"
            )
        return "", text

    fb_cte, fb_body = encoded(feedback)
    rp_cte, rp_body = encoded(reported)
    return (
        f"From: Feedback Loop <feedback@feedback.example.net>\r\n"
        f"To: fbl@relay.example\r\n"
        f"Subject: FW: November offers\r\n"
        f"Date: {format_datetime(when)}\r\n"
        f"Message-ID: {report_message_id}\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=feedback-report;\r\n\tboundary="{BOUNDARY}"\r\n'
        f"\r\n"
        f"--{BOUNDARY}\r\n"
        f"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"This is an email abuse report for an email message received from IP 198.51.100.25.\r\n"
        f"--{BOUNDARY}\r\n"
        f"Content-Type: message/feedback-report\r\n{fb_cte}\r\n"
        f"{fb_body}"
        f"--{BOUNDARY}\r\n"
        f"Content-Type: {kind}\r\n{rp_cte}\r\n"
        f"{rp_body}"
        f"--{BOUNDARY}--\r\n"
    ).encode()


def non_arf_reply(when: datetime) -> bytes:
    """A person's answer to the feedback address: a plain mail, not a report."""
    return (
        f"From: someone@example.net\r\nTo: fbl@relay.example\r\nSubject: Re: your newsletter\r\n"
        f"Date: {format_datetime(when)}\r\nMessage-ID: <reply-1@example.net>\r\n\r\n"
        "Please stop writing to me.\r\n"
    ).encode()


def broken_mime(when: datetime) -> bytes:
    """A multipart/report whose declared boundary never appears (cut off in transit)."""
    return (
        f"From: feedback@feedback.example.net\r\nTo: fbl@relay.example\r\nSubject: report\r\n"
        f"Date: {format_datetime(when)}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="never-there"\r\n\r\n'
        "Feedback-Type: abuse\r\nUser-Agent: broken/1.0\r\n"
    ).encode()


def big_attachment(when: datetime, *, sender: str, rcpt: str, message_id: str, size: int = 5 * 1024 * 1024) -> bytes:
    """A full-message report whose reported mail carries a `size`-byte attachment."""
    blob = base64.encodebytes(bytes(range(256)) * (size // 256)).decode().replace("\n", "\r\n")
    body = (
        "This is the body.\r\n\r\n--att\r\nContent-Type: application/pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + blob + "--att--\r\n"
    )
    return arf(
        sender=sender,
        rcpt=rcpt,
        message_id=message_id,
        when=when,
        extra_body=body,
        report_message_id="<fbl-big@feedback.example.net>",
    )


def jmrp(when: datetime, *, sender: str, rcpt: str, message_id: str) -> bytes:
    """Microsoft's JMRP shape (after sisimai/set-of-emails maildir/bsd/arf-22.eml): multipart/mixed, the
    reported message as message/rfc822 with `X-HmXmrOriginalRecipient`, no feedback-report part."""
    return (
        "From: staff@hotmail.com\r\nTo: fbl@relay.example\r\n"
        "Subject: complaint about message from 192.0.2.222\r\n"
        f"Date: {format_datetime(when)}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="jmrp-1"\r\n\r\n'
        "--jmrp-1\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"
        f"X-HmXmrOriginalRecipient: {rcpt}\r\nX-SID-PRA: {sender}\r\n"
        f"Date: {format_datetime(when)}\r\nTo: {rcpt}\r\nFrom: Shop <{sender}>\r\nSubject: Offers\r\n"
        f"Message-ID: <{message_id}>\r\n\r\nHello\r\n--jmrp-1--\r\n"
    ).encode()
