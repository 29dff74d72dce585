"""Realistic Postfix 3.7 (Debian 12) logs of outgoing gateways, for tests and benchmarks.

The command line of the generator: `python -m relaywatch.loggen --help`.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from relaywatch.loggen.common import FORMATS
from relaywatch.loggen.simulation import default_start, generate


def main(argv: list[str] | None = None) -> int:
    """Generate a log from command-line options; prints the stats as JSON."""
    p = argparse.ArgumentParser(prog="python -m relaywatch.loggen", description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=None, help="exact number of lines to write")
    p.add_argument("--days", type=float, default=7.0, help="time span of the log (default 7: mail expires after 5)")
    p.add_argument("--gateways", default="gw1", help="comma-separated gateway host names")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="combined log of all gateways")
    p.add_argument(
        "--format",
        dest="fmt",
        choices=FORMATS,
        default="syslog",
        help="syslog: 'Nov 24 15:55:01'; rfc3339: rsyslog high precision; journal: journalctl -o short-iso-precise",
    )
    p.add_argument("--per-gateway-dir", type=Path, default=None, help="also write DIR/<gateway>.log")
    p.add_argument(
        "--start",
        type=datetime.fromisoformat,
        default=None,
        help="ISO start time (default: midnight UTC, DAYS days ago)",
    )
    p.add_argument("--messages-per-day", type=float, default=4000.0, help="per gateway, without --lines")
    p.add_argument("--syslog-name", default="postfix")
    a = p.parse_args(argv)
    if a.out is None and a.per_gateway_dir is None:
        p.error("give --out or --per-gateway-dir")
    gws = [g.strip() for g in a.gateways.split(",") if g.strip()]
    stats = generate(
        a.out,
        lines=a.lines,
        days=a.days,
        gateways=gws,
        seed=a.seed,
        start=a.start or default_start(a.days),
        fmt=a.fmt,
        per_gateway_dir=a.per_gateway_dir,
        messages_per_day=a.messages_per_day,
        syslog_name=a.syslog_name,
    )
    json.dump(stats.as_dict(), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0
