"""A real Postfix relays mail to a sink with scripted replies; its real log, ingested, matches the sink.

Recipient by recipient: every RCPT the sink answered is one delivery row whose status and DSN follow the
sink's reply (2xx sent, 4xx deferred, 5xx bounced), and every message carries its SMTP sender.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl
from click.testing import CliRunner

from relaywatch.cli import main
from tests.servers.postfix import PostfixGateway
from tests.servers.sink import SmtpSink

STATUS = {2: "sent", 4: "deferred", 5: "bounced"}


def test_warehouse_counts_match_what_the_sink_did_recipient_by_recipient(
    postfix_gateway: PostfixGateway, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    sent = [
        postfix_gateway.send("alice@customer.example", ["ok1@gmail.test", "hard1@gmail.test", "full1@orange.test"]),
        postfix_gateway.send("bob@other.example", ["soft1@yahoo.test", "ok2@yahoo.test"]),
        postfix_gateway.send("carol@customer.example", ["spam1@outlook.test"]),
    ]
    postfix_gateway.wait_idle(timeout=30)
    postfix_gateway.wait_for_log(r"sender non-delivery notification", count=2)
    postfix_gateway.wait_for_log(r"status=deferred", count=1)
    postfix_gateway.stop()

    home = tmp_path / "home"
    runner = CliRunner()
    ingested = runner.invoke(
        main,
        [
            "--home",
            str(home),
            "ingest",
            "--gateway-name",
            "gw-test",
            "--file",
            str(postfix_gateway.log_path),
            "--quiet",
        ],
        obj={},
    )
    assert ingested.exit_code == 0, ingested.output
    result = runner.invoke(
        main,
        [
            "--home",
            str(home),
            "sql",
            "--format",
            "csv",
            "SELECT recipient, status, dsn, sender, queue_id FROM deliveries",
        ],
        obj={},
    )
    assert result.exit_code == 0, result.output
    rows = pl.read_csv(result.output.encode(), infer_schema=False)

    def refusal_dsn(code: int, dsn: str) -> str | None:
        """A refusal's DSN is the RCPT reply's; an acceptance's comes from the end of DATA."""
        return None if code < 300 else dsn

    expected = Counter(
        (r.rcpt.lower(), STATUS[r.code // 100], refusal_dsn(r.code, r.text.split()[0]))
        for t in smtp_sink.transactions
        for r in t.rcpts
    )
    actual = Counter(
        (recipient, status, None if status == "sent" else dsn)
        for recipient, status, dsn in zip(rows["recipient"], rows["status"], rows["dsn"], strict=True)
    )
    assert actual == expected

    senders = dict(zip(rows["queue_id"], rows["sender"], strict=True))
    for message in sent:
        assert senders[message.queue_id] == message.sender
    ndr_senders = {s for q, s in senders.items() if q not in {m.queue_id for m in sent}}
    assert {s or "" for s in ndr_senders} == {""}, "NDRs are sent with the null sender"
