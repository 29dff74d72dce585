"""An expired message keeps its final outcome and the cause: the reason of its last deferral."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from warehouse.correlate import empty_state
from warehouse.lake import Lake
from warehouse.pipeline import ingest, load_state

REFERENCE = datetime(2026, 11, 30, tzinfo=UTC).timestamp()
TIMED_OUT = "connect to mx.example.net[192.0.2.1]:25: Connection timed out"
GREYLISTED = "host mx.example.org[192.0.2.2] said: 451 4.7.1 Greylisted, see http://postgrey.schweikert.ch/help"


def log(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.utime(path, (REFERENCE, REFERENCE))
    return path


def queued(qid: str, ts: str, to: str) -> list[str]:
    return [
        f"Nov 24 {ts} gw1 postfix/pickup[10]: {qid}: uid=0 from=<app@sender.example>",
        f"Nov 24 {ts} gw1 postfix/qmgr[11]: {qid}: from=<app@sender.example>, size=900, nrcpt=1 (queue active)",
        f"Nov 24 {ts} gw1 postfix/smtp[12]: {qid}: to=<{to}>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, "
        f"status=deferred ({TIMED_OUT})",
    ]


def expired(qid: str, day: str) -> list[str]:
    return [
        f"Nov {day} 10:00:00 gw1 postfix/qmgr[11]: {qid}: from=<app@sender.example>, "
        "status=expired, returned to sender",
        f"Nov {day} 10:00:01 gw1 postfix/qmgr[11]: {qid}: removed",
    ]


def messages(lake: Lake) -> pl.DataFrame:
    return pl.from_arrow(lake.table("messages").to_pyarrow_table()).sort("queue_id")


def test_an_expired_message_carries_the_reason_of_its_last_deferral_across_files(tmp_path):
    lake = Lake(tmp_path / "lake")
    first = queued("AAAA1111", "08:00:00", "a@example.net") + queued("BBBB2222", "08:00:05", "b@example.org")
    ingest(lake, "gw1", log(tmp_path, "day1.log", first))
    later = [
        f"Nov 29 09:59:59 gw1 postfix/smtp[12]: BBBB2222: to=<b@example.org>, relay=mx.example.org[192.0.2.2]:25, "
        f"delay=5, delays=0/0/1/4, dsn=4.7.1, status=deferred ({GREYLISTED})",
        *expired("AAAA1111", "29"),
        *expired("BBBB2222", "29"),
        *queued("CCCC3333", "10:00:02", "c@example.com")[:2],
        "Nov 29 10:00:03 gw1 postfix/smtp[12]: CCCC3333: to=<c@example.com>, relay=mx.example.com[192.0.2.3]:25, "
        "delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4XyZ)",
        "Nov 29 10:00:04 gw1 postfix/qmgr[11]: CCCC3333: removed",
    ]
    ingest(lake, "gw1", log(tmp_path, "day2.log", later))
    rows = messages(lake)
    assert rows["final_status"].to_list() == ["expired", "expired", "delivered"]
    # A's only deferral was in the first file: the state carried it; B's last one was the greylisting
    assert rows["cause"].to_list() == ["network", "greylisted", None]
    assert rows["cause_dsn"].to_list() == ["4.4.1", "4.7.1", None]
    assert rows["cause_response"].to_list()[:2] == [TIMED_OUT, GREYLISTED]


def test_a_state_written_before_the_cause_columns_still_loads(tmp_path):
    lake = Lake(tmp_path / "lake")
    old = empty_state().drop("cause_dsn", "cause_response")
    lake.append("messages_open", old, app_id="process", app_version=0, mode="overwrite", partition_by=())
    state = load_state(lake)
    assert state.columns == empty_state().columns and state.height == 0
