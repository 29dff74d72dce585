"""The gateway commands: `gateway add/list/remove/test` and `status` (the registry and what the collectors
recorded), each a library function of the command's name."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest import (
    Gateway,
    GatewayError,
    delete_gateway,
    forget_status,
    get_gateway,
    lag_seconds,
    load_gateways,
    make_gateway,
    probe,
    read_status,
    save_gateway,
)
from relaywatch.core import open_home


def gateway_add(
    home: Path,
    name: str,
    *,
    log_path: str,
    ssh: str | None = None,
    key: str | None = None,
    ips: tuple[str, ...] = (),
    accept_host_key: bool = False,
    queue_command: str | None = None,
) -> dict[str, Any]:
    """Register a gateway after checking it: SSH ones are contacted (host key pinned with
    `accept_host_key` on first contact, key authentication, log folder readable); local ones need a
    readable log folder."""
    open_home(home, create=True)
    extra = {"queue_command": queue_command} if queue_command else {}
    gateway = make_gateway(name, log=log_path, ssh=ssh, key=key, ips=ips, **extra)
    if gateway.name in load_gateways(home):
        raise GatewayError(f"gateway {gateway.name} already exists (remove it first)")
    report = probe(home, gateway, accept_host_key=accept_host_key)
    save_gateway(home, gateway)
    return report


def gateway_list(home: Path) -> list[Gateway]:
    """Registered gateways, by name."""
    open_home(home, create=False)
    return [gateway for _, gateway in sorted(load_gateways(home).items())]


def gateway_remove(home: Path, name: str) -> Gateway:
    """Unregister a gateway (and its pinned key and status); what it collected stays in the lake."""
    open_home(home, create=False)
    gateway = delete_gateway(home, name)
    forget_status(home, name)
    return gateway


def gateway_test(home: Path, name: str, *, accept_host_key: bool = False) -> dict[str, Any]:
    """Check a registered gateway end to end: host key, login, log files, queue command."""
    open_home(home, create=False)
    return probe(home, get_gateway(home, name), accept_host_key=accept_host_key, queue=True)


def status(home: Path) -> list[dict[str, Any]]:
    """Per registered gateway: state, last line collected, lag, bytes behind, last error, queue size."""
    open_home(home, create=False)
    recorded = read_status(home)
    now = datetime.now(UTC)
    rows = []
    for name, gateway in sorted(load_gateways(home).items()):
        entry = recorded.get(name, {})
        lag = lag_seconds(entry, now)
        rows.append(
            {
                "gateway": name,
                "target": gateway.target,
                "log": gateway.log,
                "state": entry.get("state", "never collected"),
                "last_line": entry.get("last_line"),
                "last_line_at": entry.get("last_line_at"),
                "lag_seconds": None if lag is None else round(lag, 1),
                "bytes_behind": entry.get("bytes_behind"),
                "last_error": entry.get("last_error"),
                "last_error_at": entry.get("last_error_at"),
                "next_try_at": entry.get("next_try_at"),
                "lines_total": entry.get("lines_total", 0),
                "queue_messages": entry.get("queue_messages"),
                "queue_at": entry.get("queue_at"),
                "queue_error": entry.get("queue_error"),
            }
        )
    return rows
