"""The core pipeline: lines -> lake -> deliveries, messages, rejects; exactly once, nothing lost."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from warehouse.lake import Lake
from warehouse.pipeline import ingest, process
from warehouse.views import Warehouse

DATA = Path(__file__).parent / "data"
REFERENCE = datetime(2026, 11, 26, tzinfo=UTC).timestamp()


class Root:
    def where(self) -> tuple[str, dict[str, object]]:
        return "TRUE", {}


def copy_log(name: str, into: Path) -> Path:
    target = into / name
    shutil.copy(DATA / name, target)
    os.utime(target, (REFERENCE, REFERENCE))
    return target


def query(lake: Lake, sql: str) -> pl.DataFrame:
    warehouse = Warehouse(lake, Root())
    try:
        return warehouse.query(sql)
    finally:
        warehouse.close()


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


def test_delivery_rows_carry_their_message_sender_login_and_client(lake: Lake, tmp_path: Path) -> None:
    ingest(lake, "gw1", copy_log("gw1-day1.log", tmp_path))
    rows = query(
        lake,
        "SELECT recipient, status, sender, sender_domain, sasl_username, client_ip, message_id,"
        " size, gateway FROM deliveries WHERE sender <> '' ORDER BY ts, recipient",
    )
    assert rows["recipient"].to_list() == ["bob@gmail.com", "nobody@gmail.com", "carol@orange.fr"]
    assert rows["status"].to_list() == ["sent", "bounced", "deferred"]
    assert set(rows["sender"]) == {"alice@customer.example"}
    assert set(rows["sender_domain"]) == {"customer.example"}
    assert set(rows["sasl_username"]) == {"alice@customer.example"}
    assert set(rows["client_ip"]) == {"192.0.2.10"}
    assert set(rows["message_id"]) == {"m1@customer.example"}
    assert set(rows["size"]) == {2048}
    assert set(rows["gateway"]) == {"gw1"}


def test_deliveries_are_classified_with_the_rule_that_matched(lake: Lake, tmp_path: Path) -> None:
    ingest(lake, "gw1", copy_log("gw1-day1.log", tmp_path))
    rows = query(
        lake,
        "SELECT recipient, qualification, reason, rule, provider FROM deliveries "
        "WHERE sender <> '' ORDER BY ts, recipient",
    )
    assert rows["qualification"].to_list() == ["success", "hard", "soft"]
    assert rows["reason"].to_list()[:2] == ["delivered", "user_unknown"]
    assert rows["rule"].null_count() == 0
    assert rows["provider"].to_list() == ["google", "google", "orange"]


def test_a_deferred_message_retried_in_a_later_file_keeps_its_sender(lake: Lake, tmp_path: Path) -> None:
    ingest(lake, "gw1", copy_log("gw1-day1.log", tmp_path))
    ingest(lake, "gw1", copy_log("gw1-day2.log", tmp_path))
    retry = query(
        lake,
        "SELECT sender, sasl_username, client_ip, status FROM deliveries "
        "WHERE recipient = 'carol@orange.fr' ORDER BY ts",
    )
    assert retry["status"].to_list() == ["deferred", "sent"]
    assert retry["sender"].to_list() == ["alice@customer.example"] * 2
    assert retry["sasl_username"].to_list() == ["alice@customer.example"] * 2
    assert retry["client_ip"].to_list() == ["192.0.2.10"] * 2


def test_messages_have_final_per_recipient_outcome_and_recycled_queue_ids_are_distinct(
    lake: Lake, tmp_path: Path
) -> None:
    ingest(lake, "gw1", copy_log("gw1-day1.log", tmp_path))
    ingest(lake, "gw1", copy_log("gw1-day2.log", tmp_path))
    messages = query(
        lake,
        "SELECT message_key, queue_id, sender, delivered, bounced, deferred, final_status "
        "FROM messages WHERE queue_id = '4A1B2C3D4E' ORDER BY first_ts",
    )
    assert messages.height == 2
    assert messages["message_key"].n_unique() == 2
    first, second = messages.to_dicts()
    assert (first["delivered"], first["bounced"], first["deferred"]) == (2, 1, 0)
    assert first["final_status"] == "partial"
    assert second["sender"] == "root@gw1.example"
    assert second["final_status"] == "deferred"


def test_an_ndr_is_linked_to_the_message_that_caused_it(lake: Lake, tmp_path: Path) -> None:
    ingest(lake, "gw1", copy_log("gw1-day1.log", tmp_path))
    ingest(lake, "gw1", copy_log("gw1-day2.log", tmp_path))
    links = query(
        lake,
        "SELECT o.message_key AS original, o.ndr_key, n.message_key AS ndr, n.ndr_of, n.sender "
        "FROM messages o JOIN messages n ON n.message_key = o.ndr_key",
    )
    assert links.height == 1
    row = links.to_dicts()[0]
    assert row["ndr_of"] == row["original"]
    assert row["sender"] == ""


def test_noqueue_rejects_land_in_rejects(lake: Lake, tmp_path: Path) -> None:
    ingest(lake, "gw1", copy_log("gw1-day1.log", tmp_path))
    rejects = query(lake, "SELECT sender, recipient, client_ip, dsn, reason FROM rejects")
    assert rejects.to_dicts() == [
        {
            "sender": "spam@bad.example",
            "recipient": "x@elsewhere.example",
            "client_ip": "203.0.113.9",
            "dsn": "5.7.1",
            "reason": "policy",
        }
    ]


def test_the_same_file_twice_changes_nothing(lake: Lake, tmp_path: Path) -> None:
    log = copy_log("gw1-day1.log", tmp_path)
    first = ingest(lake, "gw1", log)
    versions = {t: lake.version(t) for t in ("lines", "deliveries", "messages", "rejects")}
    second = ingest(lake, "gw1", log)
    assert first.lines == 14 and second.lines == 0
    assert {t: lake.version(t) for t in versions} == versions


def test_a_file_that_grew_adds_only_the_new_part(lake: Lake, tmp_path: Path) -> None:
    log = copy_log("gw1-day1.log", tmp_path)
    ingest(lake, "gw1", log)
    with log.open("ab") as handle:
        handle.write((DATA / "gw1-day2.log").read_bytes())
    os.utime(log, (REFERENCE, REFERENCE))
    grown = ingest(lake, "gw1", log)
    assert grown.lines == 6
    counts = query(
        lake, "SELECT (SELECT count(*) FROM lines) AS lines, (SELECT count(*) FROM deliveries) AS deliveries"
    )
    assert counts.to_dicts() == [{"lines": 20, "deliveries": 6}]


def test_a_partial_last_line_waits_for_its_newline(lake: Lake, tmp_path: Path) -> None:
    log = copy_log("gw1-day1.log", tmp_path)
    with log.open("ab") as handle:
        handle.write(b"Nov 24 10:00:07 gw1 postfix/qmgr[102]: 4A1B2C3D4E: rem")
    first = ingest(lake, "gw1", log)
    assert (first.lines, first.waiting_bytes) == (14, 54)
    with log.open("ab") as handle:
        handle.write(b"oved\n")
    assert ingest(lake, "gw1", log).lines == 1
    lines = query(lake, 'SELECT line FROM lines ORDER BY "offset" DESC LIMIT 1')
    assert lines["line"][0].endswith("4A1B2C3D4E: removed")


def test_junk_binary_and_huge_lines_are_kept_and_counted_never_dropped(lake: Lake, tmp_path: Path) -> None:
    log = tmp_path / "junk.log"
    junk = [
        b"\x00\xff\xfe binary \x80\x81 junk",
        b"Nov 24 10:00:00 gw1 postfix/smtp[1]: " + b"A" * 1_048_576,
        b"Nov 24 10:00:00 gw1 postfix/sm",
        b"",
        b"Nov 24 10:00:01 gw1 postfix/qmgr[102]: 4A1B2C3D4E: removed",
    ]
    log.write_bytes(b"\n".join(junk) + b"\n")
    stats = ingest(lake, "gw1", log)
    assert stats.lines == len(junk)
    assert sum(stats.unparsed.values()) >= 3
    kept = query(lake, "SELECT count(*) AS n, max(length(line)) AS longest FROM lines")
    assert kept.to_dicts() == [{"n": 5, "longest": len(junk[1])}]


def test_process_after_a_crash_between_lines_and_derived_commits_catches_up_once(lake: Lake, tmp_path: Path) -> None:
    from ingest.chunks import file_chunks

    log = copy_log("gw1-day1.log", tmp_path)
    for chunk in file_chunks(log, "gw1", lake):
        lake.commit(chunk)
    assert lake.version("deliveries") == -1
    assert process(lake).lines == 14
    assert process(lake).lines == 0
    assert query(lake, "SELECT count(*) AS n FROM deliveries")["n"][0] == 4
    assert ingest(lake, "gw1", log).lines == 0


def test_an_rcpt_reject_after_the_queue_id_does_not_end_the_message_but_a_cleanup_reject_does(
    lake: Lake, tmp_path: Path
) -> None:
    log = tmp_path / "rejects.log"
    log.write_text(
        "Nov 24 11:00:00 gw1 postfix/smtpd[7]: 1A2B3C4D5E: client=a.example[192.0.2.1]\n"
        "Nov 24 11:00:00 gw1 postfix/smtpd[7]: 1A2B3C4D5E: reject: RCPT from a.example[192.0.2.1]: 550 5.1.1 "
        "<no@b.example>: Recipient address rejected: User unknown; from=<s@a.example> to=<no@b.example> "
        "proto=ESMTP helo=<a>\n"
        "Nov 24 11:00:01 gw1 postfix/qmgr[9]: 1A2B3C4D5E: from=<s@a.example>, size=10, nrcpt=1 (queue active)\n"
        "Nov 24 11:00:02 gw1 postfix/smtp[8]: 1A2B3C4D5E: to=<yes@b.example>, relay=mx.b.example[192.0.2.2]:25, "
        "delay=2, delays=1/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n"
        "Nov 24 11:00:02 gw1 postfix/qmgr[9]: 1A2B3C4D5E: removed\n"
        "Nov 24 11:01:00 gw1 postfix/smtpd[7]: 2B3C4D5E6F: client=a.example[192.0.2.1]\n"
        "Nov 24 11:01:01 gw1 postfix/cleanup[6]: 2B3C4D5E6F: reject: header Subject: win big from "
        "a.example[192.0.2.1]; from=<s@a.example> to=<x@b.example> proto=ESMTP helo=<a>: 5.7.1 spam\n"
    )
    os.utime(log, (REFERENCE, REFERENCE))
    ingest(lake, "gw1", log)
    messages = query(lake, "SELECT queue_id, final_status FROM messages ORDER BY queue_id")
    assert messages.to_dicts() == [
        {"queue_id": "1A2B3C4D5E", "final_status": "delivered"},
        {"queue_id": "2B3C4D5E6F", "final_status": "rejected"},
    ]
    assert query(lake, "SELECT count(*) AS n FROM rejects")["n"][0] == 2


def test_compaction_keeps_every_row_and_an_older_snapshot_readable(lake: Lake, tmp_path: Path) -> None:
    from warehouse.compaction import compact

    log = copy_log("gw1-day1.log", tmp_path)
    ingest(lake, "gw1", log)
    with log.open("ab") as handle:
        handle.write(b"Nov 24 10:00:07 gw1 postfix/smtpd[106]: disconnect from unknown[203.0.113.9] commands=1\n")
    ingest(lake, "gw1", log)
    reader = Warehouse(lake, Root())
    before = reader.query("SELECT count(*) AS n FROM lines")["n"][0]
    stats = compact(lake)
    assert stats.tables["lines"][:2] == (2, 1)
    assert reader.con.sql("SELECT count(*) FROM lines").fetchall()[0][0] == before, "old snapshot intact"
    assert query(lake, "SELECT count(*) AS n FROM lines")["n"][0] == before == 15
    assert process(lake).lines == 0, "compaction adds no data to process"
    assert ingest(lake, "gw1", log).lines == 0, "offsets survive compaction"


def test_hold_filter_and_warning_actions_are_not_rejects(lake: Lake, tmp_path: Path) -> None:
    log = tmp_path / "actions.log"
    log.write_text(
        "Nov 24 12:00:00 gw1 postfix/cleanup[6]: 3C4D5E6F7A: hold: header Subject: check me from "
        "a.example[192.0.2.1]; from=<s@a.example> to=<x@b.example> proto=ESMTP helo=<a>: hold for review\n"
        "Nov 24 12:00:01 gw1 postfix/smtpd[7]: NOQUEUE: reject_warning: RCPT from a.example[192.0.2.1]: 554 5.7.1 "
        "<x@b.example>: Relay access denied; from=<s@a.example> to=<x@b.example> proto=ESMTP helo=<a>\n"
        "Nov 24 12:00:02 gw1 postfix/smtpd[7]: NOQUEUE: reject: RCPT from a.example[192.0.2.1]: 450 4.1.8 "
        "<s@a.example>: Sender address rejected: Domain not found; from=<s@a.example> to=<x@b.example> "
        "proto=ESMTP helo=<a>\n"
    )
    os.utime(log, (REFERENCE, REFERENCE))
    assert ingest(lake, "gw1", log).lines == 3
    rejects = query(lake, "SELECT status, dsn, qualification FROM rejects")
    assert rejects.to_dicts() == [{"status": "reject", "dsn": "4.1.8", "qualification": "soft"}]


def test_results_do_not_depend_on_how_the_log_is_cut_into_chunks(tmp_path: Path) -> None:
    from relaywatch.loggen import generate

    log = tmp_path / "gw1.log"
    generate(log, days=2, gateways=["gw1"], seed=11, start=datetime(2026, 11, 20, tzinfo=UTC), messages_per_day=500)
    results = []
    for chunk_bytes in (32 * 1024 * 1024, 64 * 1024):
        lake = Lake(tmp_path / f"lake-{chunk_bytes}")
        ingest(lake, "gw1", log, chunk_bytes=chunk_bytes)
        results.append(
            {
                "deliveries": query(
                    lake,
                    "SELECT message_key, recipient, status, sender, sasl_username, reason FROM deliveries ORDER BY ALL",
                ),
                "messages": query(
                    lake,
                    "SELECT message_key, final_status, delivered, bounced, deferred, ndr_key, "
                    "ndr_of, sender FROM messages ORDER BY ALL",
                ),
            }
        )
    whole, cut = results
    assert lake.version("lines") > 5, "the small chunks really cut the log"
    assert whole["messages"]["ndr_key"].is_not_null().sum() > 10
    for view in ("deliveries", "messages"):
        assert whole[view].equals(cut[view]), view
