"""Feedback-loop reports for the demo: ARF mails (RFC 5965) about deliveries the lake holds, committed to the
`complaints` table as a fetch would commit them (mailbox `demo-fbl`, so a rerun adds nothing).

The reports take the shapes real feeds use, in turn: the full message with the gateway's `Received` (linked
by queue id), only a Message-ID (linked by Message-ID), headers without either (linked by sender, recipient
and time); one in ten is `not-spam`, and a few mails are not reports at all (kept aside).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import format_datetime

import polars as pl

from ingest import read_mail
from warehouse import ComplaintStore, Lake

MAILBOX = "demo-fbl"
UIDVALIDITY = 1
BOUNDARY = "demo-fbl-boundary"


def arf_mail(delivery: dict, *, shape: int, feedback_type: str, arrival: datetime) -> bytes:
    """One ARF report about a delivery row (gateway, queue_id, sender, recipient, message_id, ts)."""
    reported = [
        f"From: <{delivery['sender']}>",
        f"To: <{delivery['recipient']}>",
        "Subject: Our newsletter",
        f"Date: {format_datetime(delivery['ts'])}",
    ]
    if shape == 0:
        reported.insert(
            0,
            f"Received: from client.example.org (client.example.org [192.0.2.10])\r\n"
            f"\tby {delivery['gateway']}.relay.example (Postfix) with ESMTPSA id {delivery['queue_id']}"
            f"\r\n\tfor <{delivery['recipient']}>; {format_datetime(delivery['ts'])}",
        )
        kind, body = "message/rfc822", "\r\n".join(reported) + "\r\n\r\nHello!\r\n"
    elif shape == 1:
        kind, body = "text/rfc822-headers", f"Message-ID: <{delivery['message_id']}>\r\n"
    else:
        kind, body = "text/rfc822-headers", "\r\n".join(reported) + "\r\n"
    fields = [
        f"Feedback-Type: {feedback_type}",
        "User-Agent: Yahoo!-Mail-Feedback/2.0",
        "Version: 1",
        f"Original-Mail-From: <{delivery['sender']}>",
        f"Arrival-Date: {format_datetime(arrival)}",
        "Reporting-MTA: dns; mta1.feedback.example.net",
    ]
    if shape != 1:
        fields.append(f"Original-Rcpt-To: <{delivery['recipient']}>")
    return (
        "From: feedback@feedback.example.net\r\nTo: fbl@relay.example\r\nSubject: Abuse report\r\n"
        f"Date: {format_datetime(arrival)}\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=feedback-report; boundary="{BOUNDARY}"\r\n\r\n'
        f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nA complaint about a message you sent.\r\n"
        f"--{BOUNDARY}\r\nContent-Type: message/feedback-report\r\n\r\n" + "\r\n".join(fields) + "\r\n"
        f"--{BOUNDARY}\r\nContent-Type: {kind}\r\n\r\n{body}--{BOUNDARY}--\r\n"
    ).encode()


def seed_complaints(lake: Lake, deliveries: pl.DataFrame, *, seed: int = 2026, unparsed: int = 2) -> int:
    """Commit one report per delivery row (plus `unparsed` non-reports) unless the demo mailbox already
    holds them; the number of mails committed."""
    store = ComplaintStore(lake)
    if store.fbl_committed(MAILBOX, UIDVALIDITY) or not deliveries.height:
        return 0
    rng = random.Random(seed)
    mails = []
    for uid, row in enumerate(deliveries.iter_rows(named=True), start=1):
        arrival = row["ts"] + timedelta(hours=rng.uniform(0.2, 30))
        kind = "not-spam" if rng.random() < 0.1 else "abuse"
        raw = arf_mail(row, shape=uid % 3, feedback_type=kind, arrival=arrival)
        mails.append(read_mail(MAILBOX, UIDVALIDITY, uid, raw, arrival))
    for extra in range(unparsed):
        uid = len(mails) + 1
        raw = f"From: someone@example.net\r\nSubject: Re: newsletter {extra}\r\n\r\nPlease stop.\r\n".encode()
        mails.append(read_mail(MAILBOX, UIDVALIDITY, uid, raw, None))
    store.commit_reports(MAILBOX, UIDVALIDITY, len(mails), mails)
    return len(mails)
