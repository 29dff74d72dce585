"""Sign-up's proof of ownership reads the real lake: only an address that sent within `signup_days`
qualifies (the other sign-up tests replace this lookup; this one does not)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from acl import Hasher, flush_mail, open_store, start_signup
from dashboards import backend
from relaywatch.core import open_home
from warehouse import ingest, open_lake


def line_day(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%b %d").replace(" 0", "  ")


def message(days_ago: int, qid: str, sender: str) -> str:
    day = line_day(days_ago)
    return (
        f"{day} 10:00:00 gw postfix/qmgr[2]: {qid}: from=<{sender}>, size=100, nrcpt=1 (queue active)\n"
        f"{day} 10:00:01 gw postfix/smtp[3]: {qid}: to=<r@dest.example>, relay=mx.dest.example[192.0.2.9]:25,"
        " delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 OK)\n"
    )


def test_only_an_address_that_sent_within_signup_days_gets_a_code(tmp_path: Path) -> None:
    home = open_home(tmp_path / "home", create=True)
    with (home / "relaywatch.toml").open("a") as config:
        config.write("\n[dashboards]\nsignup_days = 30\n")
    log = tmp_path / "mail.log"
    log.write_text(
        message(40, "A000000001", "old@example.com")
        + message(29, "A000000002", "edge@example.com")
        + message(2, "A000000003", "new@example.com")
    )
    ingest(open_lake(home), "gw", log)
    proof = backend.has_sent(home)
    assert [proof(a) for a in ("new@example.com", "edge@example.com", "old@example.com", "no@example.com")] == [
        True,
        True,
        False,
        False,
    ]

    sent: list[str] = []
    store = open_store(home / "control.db", hasher=Hasher(fast=True))
    for address in ("new@example.com", "old@example.com"):
        start_signup(store, address, has_sent=proof, send_mail=lambda to, subject, body: sent.append(to))
    flush_mail(10)
    assert sent == ["new@example.com"]
