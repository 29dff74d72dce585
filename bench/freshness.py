"""Freshness: a delivery line appended to a gateway's log -> visible in the `deliveries` view.

Runs `relaywatch run` (continuous, follow mode for a local gateway) in a subprocess on a fresh data home,
appends one delivered message at a time to the gateway's log, and times how long until its row shows up
in `deliveries` through the warehouse query API (a separate process, as a dashboard would see it).
Target: <= 10 s, median and worst.

    .venv/bin/python -m bench.freshness [--messages 20] [--pause 0.5] [--target 10]

Prints one JSON object (median, p90, worst, each sample) and exits 1 when the worst exceeds the target.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from relaywatch import core as homes
from relaywatch.registry import gateway_add
from warehouse.lake import Lake
from warehouse.views import Warehouse

CONFIG = """
[parse]
timezone = "UTC"

[collect]
follow_seconds = 1.0
process_delay = 0.2
process_seconds = 30
queue_seconds = 0
"""

RUN = "import sys; from pathlib import Path; from relaywatch.scheduler import run; run(Path(sys.argv[1]))"


class AllRows:
    """Root's scope: every row."""

    def predicate(self) -> tuple[str, dict[str, object]]:
        return "TRUE", {}


def message(n: int) -> str:
    """One delivered message as Postfix logs it (qmgr, smtp, qmgr removed), with a unique queue id."""
    qid = f"B{n:09X}"
    stamp = time.strftime("%b %d %H:%M:%S", time.gmtime())
    return (
        f"{stamp} gw-bench postfix/qmgr[101]: {qid}: from=<bench@example.com>, size=1200, nrcpt=1 "
        "(queue active)\n"
        f"{stamp} gw-bench postfix/smtp[202]: {qid}: to=<r{n}@example.net>, relay=mx.example.net"
        "[192.0.2.10]:25, delay=0.3, delays=0.1/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)\n"
        f"{stamp} gw-bench postfix/qmgr[101]: {qid}: removed\n"
    )


def wait_visible(warehouse: Warehouse, queue_id: str, timeout: float) -> float | None:
    """Seconds until the delivery of queue_id is in `deliveries` (None after timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        found = warehouse.query("SELECT count(*) AS n FROM deliveries WHERE queue_id = $q", {"q": queue_id})
        if found["n"][0]:
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between two messages")
    parser.add_argument("--target", type=float, default=10.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="relaywatch-freshness-") as tmp:
        home = homes.open_home(Path(tmp) / "home", create=True)
        (home / homes.CONFIG_NAME).write_text(CONFIG, encoding="utf-8")
        log = Path(tmp) / "gateway" / "mail.log"
        log.parent.mkdir()
        log.write_text(message(0), encoding="utf-8")
        gateway_add(home, "gw-bench", log_path=str(log))
        runner = subprocess.Popen(
            [sys.executable, "-c", RUN, str(home)],
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        warehouse = Warehouse(Lake(homes.lake_dir(home)), AllRows())
        samples: list[float | None] = []
        try:
            if wait_visible(warehouse, f"B{0:09X}", 60.0) is None:
                print("collector did not start within 60 s", file=sys.stderr)
                return 2
            for n in range(1, args.messages + 1):
                time.sleep(args.pause)
                with log.open("a", encoding="utf-8") as handle:
                    handle.write(message(n))
                appended = time.monotonic()
                seen = wait_visible(warehouse, f"B{n:09X}", args.target * 3)
                samples.append(None if seen is None else time.monotonic() - appended)
        finally:
            runner.send_signal(signal.SIGTERM)
            runner.wait(timeout=60)
            warehouse.close()
    measured = [s for s in samples if s is not None]
    worst = max(measured) if len(measured) == len(samples) else float("inf")
    report = {
        "mode": "follow (local gateway, relaywatch run)",
        "messages": len(samples),
        "median_s": round(statistics.median(measured), 3) if measured else None,
        "p90_s": round(statistics.quantiles(measured, n=10)[-1], 3) if len(measured) > 1 else None,
        "worst_s": round(worst, 3),
        "target_s": args.target,
        "samples_s": [None if s is None else round(s, 3) for s in samples],
    }
    print(json.dumps(report))
    return 0 if worst <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
