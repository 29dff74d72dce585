"""A data home for the report tests: three gateways' generated logs and one hand-written hostile
message, ingested through the real pipeline; accounts with different grants; [mail] pointing at a sink."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from acl import local_operator, open_store, user_add, user_grant
from ingest import parse_postqueue
from relaywatch.core import open_home
from relaywatch.loggen import generate
from reports import ReportSettings, UserSettings, open_report_store, save_settings
from warehouse import Warehouse, open_lake
from warehouse.lake import Lake
from warehouse.pipeline import ingest

GATEWAYS = ["gw-a", "gw-b", "gw-c"]
START = datetime(2026, 11, 19, tzinfo=UTC)
HOSTILE_SENDER = "mallory@hostile.example"
HOSTILE_REPLY = "5.7.1 <script>alert(1)</script> &amp; {{ 7*7 }} {% raw %} blocked"
HOSTILE_LOG = f"""\
Nov 21 12:00:00 gw-a postfix/smtpd[400]: connect from client.example[192.0.2.10]
Nov 21 12:00:01 gw-a postfix/smtpd[400]: 7C1D2E3F4A: client=client.example[192.0.2.10], sasl_method=PLAIN, \
sasl_username=mallory
Nov 21 12:00:01 gw-a postfix/cleanup[401]: 7C1D2E3F4A: message-id=<m3@hostile.example>
Nov 21 12:00:01 gw-a postfix/qmgr[102]: 7C1D2E3F4A: from=<{HOSTILE_SENDER}>, size=1024, nrcpt=1 (queue active)
Nov 21 12:00:02 gw-a postfix/smtp[403]: 7C1D2E3F4A: to=<victim@example.net>, relay=mx.example.net[192.0.2.98]:25, \
delay=1, delays=0/0/0.5/0.5, dsn=5.7.1, status=bounced (host mx.example.net[192.0.2.98] said: 550 {HOSTILE_REPLY})
Nov 21 12:00:02 gw-a postfix/qmgr[102]: 7C1D2E3F4A: removed
"""
PASSWORD = "correct horse battery"
ENABLED = datetime(2026, 11, 1, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class ReportHome:
    """The home and the grant values chosen from the generated data."""

    path: Path
    domain: str


def build(path: Path, *, mail_port: int) -> ReportHome:
    """Ingest the logs, create accounts ops (admin, gateway gw-b, French, Paris), mallory (user, the hostile
    sender, English), carol (user, one generated sender domain, French, soft failures count) and nobody
    (user without grant), each with a daily report at 06:00."""
    open_home(path, create=True)
    logs = path / "logs"
    generate(None, days=4, gateways=GATEWAYS, seed=5, start=START, per_gateway_dir=logs, messages_per_day=250)
    lake = Lake(path / "lake")
    for gateway in GATEWAYS:
        ingest(lake, gateway, logs / f"{gateway}.log")
    hostile = logs / "gw-a-hostile.log"
    hostile.write_text(HOSTILE_LOG, encoding="utf-8")
    reference = datetime(2026, 11, 23, tzinfo=UTC).timestamp()
    os.utime(hostile, (reference, reference))
    ingest(lake, "gw-a", hostile)
    for hours, queued in ((10, 1), (14, 2)):  # two snapshots of gw-b's queue on 21 November (postqueue -j)
        taken = datetime(2026, 11, 21, hours, tzinfo=UTC)
        output = "".join(
            json.dumps(
                {
                    "queue_name": "deferred",
                    "queue_id": f"Q{i}",
                    "arrival_time": int(taken.timestamp()) - 7200 * (i + 1),
                    "message_size": 1000,
                    "sender": "queued@stuck.example",
                    "recipients": [{"address": f"r{i}@orange.fr", "delay_reason": "421 4.7.0 Temporarily rejected"}],
                }
            )
            + "\n"
            for i in range(queued)
        )
        lake.commit_queue("gw-b", parse_postqueue(output.encode(), "gw-b", taken), at=taken)
    with (path / "relaywatch.toml").open("a", encoding="utf-8") as config:
        config.write(
            f'\n[mail]\nhost = "127.0.0.1"\nport = {mail_port}\nsender = "reports@relaywatch.example"\n'
            '\n[reports]\nbase_url = "https://relaywatch.example/app"\nbackoff_seconds = 60\n'
        )
    root_scope = type("Root", (), {"where": lambda self: ("TRUE", {})})()
    warehouse = Warehouse(open_lake(path), root_scope)
    try:
        domain = warehouse.query(
            "SELECT sender_domain FROM deliveries WHERE gateway = 'gw-c' AND sender_domain IS NOT NULL "
            "GROUP BY ALL ORDER BY count(*) DESC, sender_domain LIMIT 1"
        )["sender_domain"][0]
    finally:
        warehouse.close()
    store = open_store(path / "control.db")
    root = local_operator("tests")
    for name, role in (("ops", "admin"), ("mallory", "user"), ("carol", "user"), ("nobody", "user")):
        user_add(store, root, name, role, PASSWORD, email=f"{name}@readers.example")
    user_grant(store, root, "ops", "gateway", "gw-b")
    user_grant(store, root, "mallory", "sender", HOSTILE_SENDER)
    user_grant(store, root, "carol", "domain", domain)
    store.close()
    save_settings(path, "ops", UserSettings(language="fr", warn_rate=1.0, critical_rate=5.0))
    save_settings(path, "mallory", UserSettings(language="en"))
    save_settings(path, "carol", UserSettings(language="fr", soft_is_error=True))
    reports = open_report_store(path / "control.db")
    zones = {"ops": "Europe/Paris", "mallory": "UTC", "carol": "Europe/Paris", "nobody": "UTC"}
    for name, zone in zones.items():
        reports.put_settings(name, ReportSettings("daily", 6, zone), now=ENABLED)
    reports.close()
    return ReportHome(path, domain)
