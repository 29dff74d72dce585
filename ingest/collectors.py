"""One collector per gateway, whatever its transport: the only place that chooses SSH or local (for
collection and for the gateway check of `gateway add/test`)."""

from __future__ import annotations

import posixpath
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from ingest.collect import CollectError, Collector, rotation_set
from ingest.follow import LocalCollector, LocalFiles
from ingest.gateways import Gateway
from ingest.queue import local_runner
from ingest.ssh import CONNECT_TIMEOUT, SSHCollector, connect


def open_collector(home: Path, gateway: Gateway, *, timeout: float = CONNECT_TIMEOUT) -> Collector:
    """The collector of a registered gateway: local follow for a log on this machine, else SSH/SFTP."""
    if gateway.local:
        return LocalCollector(gateway)
    return SSHCollector(home, gateway, timeout=timeout)


def probe(home: Path, gateway: Gateway, *, accept_host_key: bool, queue: bool = False) -> dict[str, Any]:
    """What a gateway shows of itself: host key fingerprint (pinned on first contact with
    `accept_host_key`), the log's rotation set and, with `queue`, whether the queue command runs."""
    report: dict[str, Any] = {"gateway": gateway.name, "target": gateway.target, "log": gateway.log}
    directory = posixpath.dirname(gateway.log)
    session = None if gateway.local else connect(home, gateway, accept_host_key=accept_host_key)
    with session or nullcontext():
        files = LocalFiles() if session is None else session.files
        try:
            listing = files.listdir(directory)
        except OSError as exc:
            raise CollectError(f"gateway {gateway.name}: cannot list {directory}: {exc}") from exc
        report["files"] = [
            {"path": f.path, "size": f.size, "compressed": f.compressed} for f in rotation_set(gateway.log, listing)
        ]
        if session is not None:
            report["host_key"] = session.fingerprint
        if queue and not gateway.has_queue:
            report["queue"] = "none: no queue to snapshot"
        elif queue:
            run_command = local_runner() if session is None else session.run
            try:
                output = run_command(gateway.queue_command)
                report["queue"] = f"ok: {len(output.splitlines())} queued messages"
            except CollectError as exc:
                report["queue"] = f"failed: {exc}"
    return report
