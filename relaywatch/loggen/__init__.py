"""Realistic Postfix 3.7 (Debian 12) logs of outgoing gateways, for tests and benchmarks.

    python -m relaywatch.loggen --lines 2000000 --days 7 --gateways gw1,gw2,gw3 --seed 1 --out mail.log \
        [--format syslog|rfc3339|journal] [--per-gateway-dir DIR] [--start 2026-11-16T00:00:00+01:00]

The generator simulates what a relay really logs: SMTP sessions from applications and SASL users
(port 25 and submission), cleanup/qmgr/smtp lines of every message, deliveries to real providers'
MX hosts with their real reply styles, retries with Postfix's back-off over days, expiry after five
days, non-delivery notifications that are messages of their own, NOQUEUE rejects, SASL brute force,
queue ids that recycle, and the noise around them (anvil, scache, TLS, CRON, dovecot, opendkim).
Lines of all processes and gateways are interleaved in time order.

Every line is counted as it is written, so `GenerateStats` is the exact truth about the file
(a log cut at N lines leaves messages in flight, as a real log does).

Timestamp formats: syslog is rsyslog's traditional "Nov  4 15:55:01"; rfc3339 is rsyslog's high
precision "2026-11-04T15:55:01.123456+01:00" (Debian 12's default); journal is `journalctl -o
short-iso-precise`, "2026-11-04T15:55:01.123456+0100". The host field is the gateway name.
"""

from relaywatch.loggen.cli import main
from relaywatch.loggen.common import FORMATS, Format, fmt_delay
from relaywatch.loggen.simulation import default_start, generate
from relaywatch.loggen.writer import GenerateStats

__all__ = ["FORMATS", "Format", "GenerateStats", "default_start", "fmt_delay", "generate", "main"]
