"""Complaints linked to the deliveries a real ingest put in the lake (queue id in Received, Message-ID,
sender + recipient + time), seen only by the users whose grants cover them (the view, `sql --as`), and
notified by mail to the admins they concern, through a real SMTP sink."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from acl import ADMIN, ROOT, USER, Scope, get_user, local_operator, open_store, scope_for, user_add, user_grant
from relaywatch import core as homes
from relaywatch.cli import main
from relaywatch.core import control_db
from tests import fbl_samples as samples
from tests.servers.imap import ImapServer
from tests.servers.sink import SmtpSink
from tests.test_fbl_fetch import mailbox_toml, new_user
from warehouse import Period, Warehouse, complaint_rates, open_lake

pytestmark = pytest.mark.server
SENT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple 42"


def message(qid: str, when: datetime, sender: str, rcpt: str, message_id: str, sasl: str) -> list[str]:
    """The Postfix lines of one message relayed and delivered by the gateway."""

    def at(seconds: float) -> str:
        return (when + timedelta(seconds=seconds)).isoformat(timespec="microseconds")

    return [
        f"{at(0)} gw postfix/smtpd[10]: {qid}: client=client.example.org[192.0.2.10], sasl_method=PLAIN, "
        f"sasl_username={sasl}",
        f"{at(0.1)} gw postfix/cleanup[11]: {qid}: message-id=<{message_id}>",
        f"{at(0.2)} gw postfix/qmgr[12]: {qid}: from=<{sender}>, size=1200, nrcpt=1 (queue active)",
        f"{at(1)} gw postfix/smtp[13]: {qid}: to=<{rcpt}>, relay=mx.example.net[192.0.2.1]:25, delay=1, "
        "delays=0.1/0/0.4/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
        f"{at(1.1)} gw postfix/qmgr[12]: {qid}: removed",
    ]


@pytest.fixture
def home(tmp_path: Path, imap_server: ImapServer, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data home whose lake holds four messages (one an old message reusing a queue id), and a
    feedback mailbox holding a complaint for each linking path plus one about nothing we sent."""
    home = homes.open_home(tmp_path / "home", create=True)
    user = new_user(imap_server, monkeypatch)
    (home / homes.CONFIG_NAME).write_text(
        f'[mail]\nhost = "{smtp_sink.host}"\nport = {smtp_sink.port}\nsender = "relaywatch@relay.example"\n\n'
        f"[fbl]\ntimeout_seconds = 5\n\n{mailbox_toml('yahoo', imap_server, user)}"
    )
    log = tmp_path / "mail.log"
    lines = (
        message(
            "3F1A2B3C4D",
            SENT - timedelta(days=40),
            "old@elsewhere.example",
            "bob@yahoo.example",
            "old@elsewhere.example",
            "elsewhere",
        )  # same queue id, long before: never the one
        + message("3F1A2B3C4D", SENT, "news@shop.example", "bob@yahoo.example", "m1@shop.example", "shop")
        + message("5E6F7A8B9C", SENT, "promo@other.example", "ann@aol.example", "m2@other.example", "other")
        + message("7D8E9F0A1B", SENT, "news@shop.example", "cid@mail.example", "m3@shop.example", "shop")
    )
    log.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(
        main,
        ["--home", str(home), "ingest", "--gateway-name", "gw-paris", "--file", str(log), "--quiet"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    later = SENT + timedelta(hours=2)
    for mail in (
        # 1: queue id in Received (the provider dropped the Message-ID)
        samples.arf(
            sender="news@shop.example",
            rcpt="bob@yahoo.example",
            queue_id="3F1A2B3C4D",
            gateway_host="gw.relay.example",
            when=later,
        ),
        # 2: Message-ID only, recipient redacted
        samples.arf(
            sender="promo@other.example", rcpt=None, message_id="m2@other.example", part="message-id", when=later
        ),
        # 3: a Message-ID rewritten on the way: sender + recipient + time
        samples.arf(
            sender="news@shop.example",
            rcpt="cid@mail.example",
            message_id="rewritten@mx.example",
            part="headers",
            encoding="quoted-printable",
            when=later,
        ),
        # 4: about nothing we sent
        samples.arf(
            sender="stranger@nowhere.example", rcpt="zed@yahoo.example", message_id="x@nowhere.example", when=later
        ),
        # 5: not-spam about message 1: stored, never counted
        samples.arf(
            feedback_type="not-spam",
            sender="news@shop.example",
            rcpt="bob@yahoo.example",
            queue_id="3F1A2B3C4D",
            gateway_host="gw.relay.example",
            when=later,
        ),
    ):
        imap_server.append(user, "INBOX", mail)
    store = open_store(control_db(home))
    op = local_operator("test")
    for name, role, kind, value in (
        ("shop-admin@relay.example", ADMIN, "sender", "news@shop.example"),
        ("other-admin@relay.example", ADMIN, "domain", "other.example"),
        ("shop-user@relay.example", USER, "sasl", "shop"),
        ("root@relay.example", ROOT, None, None),
    ):
        user_add(store, op, name, role, PASSWORD)
        if kind:
            user_grant(store, op, name, kind, value)
    return home


def invoke(home: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_each_complaint_is_linked_to_its_delivery_by_the_first_path_that_finds_it(home: Path) -> None:
    invoke(home, "fbl", "fetch")
    rows = Warehouse(open_lake(home), Scope.root()).query(
        "SELECT uid, linked_by, gateway, queue_id, sender, sender_domain, sasl_username, recipient, "
        "counted, delivery_ts FROM complaints ORDER BY uid"
    )
    assert rows["linked_by"].to_list() == ["queue_id", "message_id", "sender_recipient_time", "unlinked", "queue_id"]
    assert rows["sender"].to_list() == [
        "news@shop.example",
        "promo@other.example",
        "news@shop.example",
        None,
        "news@shop.example",
    ]
    assert rows["recipient"].to_list()[:3] == ["bob@yahoo.example", "ann@aol.example", "cid@mail.example"]
    assert rows["gateway"].to_list()[:3] == ["gw-paris"] * 3 and rows["gateway"][3] is None
    assert rows["sasl_username"].to_list()[:3] == ["shop", "other", "shop"]
    assert rows["delivery_ts"][0].date() == SENT.date()  # not the message of 40 days before
    assert rows["counted"].to_list() == [True, True, True, True, False]


def test_a_user_sees_only_the_complaints_about_their_own_traffic(home: Path) -> None:
    invoke(home, "fbl", "fetch")
    lake = open_lake(home)
    store = open_store(control_db(home))

    def seen(name: str) -> list[int]:
        return (
            Warehouse(lake, scope_for(get_user(store, name)))
            .query("SELECT uid FROM complaints ORDER BY uid")["uid"]
            .to_list()
        )

    assert seen("shop-admin@relay.example") == [1, 3, 5]
    assert seen("other-admin@relay.example") == [2]
    assert seen("shop-user@relay.example") == [1, 3, 5]
    assert seen("root@relay.example") == [1, 2, 3, 4, 5]
    out = invoke(
        home, "sql", "SELECT uid FROM complaints ORDER BY uid", "--as", "other-admin@relay.example", "--format", "csv"
    )
    assert out.split() == ["uid", "2"]
    out = invoke(
        home, "sql", "SELECT count(*) AS n FROM complaints", "--as", "shop-user@relay.example", "--format", "csv"
    )
    assert out.split() == ["n", "3"]
    refused = CliRunner().invoke(
        main, ["--home", str(home), "sql", "SELECT * FROM complaints_unparsed", "--as", "shop-user@relay.example"]
    )
    assert refused.exit_code == 1


def test_rates_count_complaints_per_thousand_delivered_without_not_spam(home: Path) -> None:
    invoke(home, "fbl", "fetch")
    wh = Warehouse(open_lake(home), Scope.root())
    period = Period(SENT - timedelta(days=1), SENT + timedelta(days=1))
    by_sender = complaint_rates(wh, period, by="sender")
    shop = by_sender.filter(pl.col("sender") == "news@shop.example").row(0, named=True)
    assert (shop["complaints"], shop["not_spam"], shop["delivered"]) == (2, 1, 2)
    assert shop["per_thousand"] == 1000.0
    assert complaint_rates(wh, period, by="sasl_username").filter(pl.col("sasl_username") == "other")[
        "complaints"
    ].to_list() == [1]


def test_the_notification_reaches_only_the_admins_whose_grants_cover_the_complaints(
    home: Path, smtp_sink: SmtpSink
) -> None:
    invoke(home, "fbl", "fetch")
    settings = home / "settings"
    settings.mkdir(exist_ok=True)
    (settings / "other-admin@relay.example.json").write_text('{"language": "fr"}')
    out = invoke(home, "fbl", "notify")
    assert "3 notification(s) sent" in out
    mails = smtp_sink.wait_until(lambda t: len([x for x in t if x.data]) >= 3)
    by_rcpt = {t.accepted[0]: t.message() for t in mails if t.data}
    assert set(by_rcpt) == {"shop-admin@relay.example", "other-admin@relay.example", "root@relay.example"}
    shop = by_rcpt["shop-admin@relay.example"]
    assert shop["Subject"] == "relaywatch: 2 new complaint(s)"  # one batched mail; not-spam not counted
    body = shop.get_content()
    assert "bob@yahoo.example" in body and "cid@mail.example" in body and "ann@aol.example" not in body
    assert "4 new complaint(s)" in by_rcpt["root@relay.example"]["Subject"]
    assert by_rcpt["other-admin@relay.example"]["Subject"] == "relaywatch : 1 nouvelle(s) plainte(s)"
    smtp_sink.clear()
    out = invoke(home, "fbl", "notify")
    assert "0 notification(s) sent" in out  # nothing new: nothing sent again
    assert not [t for t in smtp_sink.transactions if t.data]


def test_a_complaint_fetched_before_its_delivery_reached_the_lake_is_linked_on_a_later_fetch(
    home: Path, imap_server: ImapServer, tmp_path: Path
) -> None:
    invoke(home, "fbl", "fetch")
    mailbox_user = [
        line.split('"')[1] for line in (home / "relaywatch.toml").read_text().splitlines() if line.startswith("user = ")
    ][0]
    imap_server.append(
        mailbox_user,
        "INBOX",
        samples.arf(
            sender="late@shop.example", rcpt="dora@yahoo.example", queue_id="9A8B7C6D5E", when=SENT + timedelta(hours=3)
        ),
    )
    invoke(home, "fbl", "fetch")
    wh = Warehouse(open_lake(home), Scope.root())
    assert wh.query("SELECT linked_by FROM complaints WHERE uid = 6")["linked_by"].to_list() == ["unlinked"]
    late = tmp_path / "late.log"
    late.write_text(
        "\n".join(message("9A8B7C6D5E", SENT, "late@shop.example", "dora@yahoo.example", "late@shop.example", "shop"))
        + "\n"
    )
    invoke(home, "ingest", "--gateway-name", "gw-paris", "--file", str(late), "--quiet")
    invoke(home, "fbl", "fetch")  # nothing new in the mailbox: the pending link is retried
    rows = wh.query("SELECT uid, linked_by, sender, gateway FROM complaints ORDER BY uid")
    assert rows.filter(pl.col("uid") == 6).row(0) == (6, "queue_id", "late@shop.example", "gw-paris")
    assert rows.height == 6 and rows["linked_by"].to_list()[3] == "unlinked"  # about nothing we sent
