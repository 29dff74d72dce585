"""Queue snapshots in the lake: the `queue` view (scoped) and queue size over time with empty snapshots."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from acl import USER, Scope, User, make_grant, scope_for
from ingest.queue import parse_postqueue
from warehouse.lake import Lake
from warehouse.views import Warehouse

POSTQUEUE = (
    b'{"queue_name": "deferred", "queue_id": "4A1B2C3D4E", "arrival_time": 1795514400, "message_size": 2048, '
    b'"forced_expire": false, "sender": "Alice@Customer.example", "recipients": [{"address": "carol@orange.fr", '
    b'"delay_reason": "host smtp-in.orange.fr[193.252.22.1] said: 421 4.7.0 [OFR_999] try later"}]}\n'
    b'{"queue_name": "active", "queue_id": "5B2C3D4E5F", "arrival_time": 1795514500, "message_size": 100, '
    b'"forced_expire": false, "sender": "bob@other.example", "recipients": [{"address": "x@gmail.com"}]}\n'
)


def test_snapshots_are_views_and_empty_ones_count_as_zero(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    first = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    later = datetime(2026, 11, 24, 10, 5, tzinfo=UTC)
    lake.commit_queue("gw1", parse_postqueue(POSTQUEUE, "gw1", first))
    lake.commit_queue("gw1", parse_postqueue(b"", "gw1", later), at=later)
    root = Warehouse(lake, Scope.root())
    queued = root.query("SELECT queue_id, sender, sender_domain, queue_name FROM queue ORDER BY queue_id")
    assert queued.to_dicts() == [
        {
            "queue_id": "4A1B2C3D4E",
            "sender": "alice@customer.example",
            "sender_domain": "customer.example",
            "queue_name": "deferred",
        },
        {
            "queue_id": "5B2C3D4E5F",
            "sender": "bob@other.example",
            "sender_domain": "other.example",
            "queue_name": "active",
        },
    ]
    sizes = root.query("SELECT snapshot_ts, messages, bytes FROM queue_snapshots ORDER BY snapshot_ts")
    assert sizes["messages"].to_list() == [2, 0]
    assert sizes["bytes"].to_list() == [2148, 0]
    customer = User(1, "alice", USER, grants=(make_grant("domain", "customer.example"),))
    scoped = Warehouse(lake, scope_for(customer))
    assert scoped.query("SELECT queue_id FROM queue")["queue_id"].to_list() == ["4A1B2C3D4E"]
    assert scoped.query("SELECT sum(messages) AS n FROM queue_snapshots")["n"][0] == 1
