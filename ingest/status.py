"""Per-gateway collector status in DIR/collector-status.json, shared by `relaywatch run` and `status`.

Every update is a read-modify-write under a file lock, written to a temporary file and renamed, so
`relaywatch status` (another process) always reads a whole document, and gateway threads never lose each
other's updates.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.gateways import locked
from relaywatch.core import write_atomic

STATUS_NAME = "collector-status.json"
LINE_CHARS = 500


def now_iso() -> str:
    """Current UTC time as ISO 8601 with seconds precision (what the status file stores)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def status_path(home: Path) -> Path:
    return home / STATUS_NAME


def read_status(home: Path) -> dict[str, dict[str, Any]]:
    """Gateway name -> its last recorded status (empty before the first collection)."""
    path = status_path(home)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}
    return data.get("gateways", {}) if isinstance(data, dict) else {}


def update_status(home: Path, gateway: str, *, add: dict[str, int] | None = None, **fields: Any) -> dict[str, Any]:
    """Merge fields into one gateway's status (None removes a field) and add to its counters."""
    with locked(home, "collector-status"):
        gateways = read_status(home)
        entry = gateways.setdefault(gateway, {})
        for key, value in fields.items():
            if value is None:
                entry.pop(key, None)
            elif key == "last_line":
                entry[key] = str(value)[:LINE_CHARS]
            else:
                entry[key] = value
        for key, value in (add or {}).items():
            entry[key] = int(entry.get(key, 0)) + value
        document = {"updated_at": now_iso(), "gateways": gateways}
        write_atomic(status_path(home), json.dumps(document, indent=1, sort_keys=True) + "\n", durable=False)
    return entry


def record_success(
    home: Path,
    gateway: str,
    *,
    lines: int,
    bytes_read: int,
    bytes_behind: int,
    last_line: str | None,
    warnings: list[str],
    started: float,
) -> dict[str, Any]:
    """A pass reached the end of the log: the gateway is caught up as of the pass start."""
    fields: dict[str, Any] = {
        "state": "ok",
        "caught_up_at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "bytes_behind": bytes_behind,
        "failures": 0,
        "next_try_at": None,
        "warning": "; ".join(warnings) if warnings else None,
    }
    if lines:
        fields.update(last_line=last_line, last_line_at=now_iso())
    return update_status(home, gateway, add={"lines_total": lines, "bytes_total": bytes_read}, **fields)


def record_failure(home: Path, gateway: str, error: str, *, stopped: bool, retry_in: float | None) -> None:
    """A pass failed: keep the last good figures, record the error and when the next try is due."""
    next_try = None
    if retry_in is not None:
        next_try = datetime.fromtimestamp(time.time() + retry_in, UTC).isoformat(timespec="seconds")
    update_status(
        home,
        gateway,
        add={"failures": 1},
        state="stopped" if stopped else "error",
        last_error=error,
        last_error_at=now_iso(),
        next_try_at=next_try,
    )


def forget_status(home: Path, gateway: str) -> None:
    """Drop a removed gateway from the status file."""
    with locked(home, "collector-status"):
        gateways = read_status(home)
        if gateways.pop(gateway, None) is not None:
            document = {"updated_at": now_iso(), "gateways": gateways}
            write_atomic(status_path(home), json.dumps(document, indent=1, sort_keys=True) + "\n")


def lag_seconds(entry: dict[str, Any], now: datetime | None = None) -> float | None:
    """Seconds since the gateway was last seen caught up (None if it never was)."""
    stamp = entry.get("caught_up_at")
    if not stamp:
        return None
    now = now or datetime.now(UTC)
    return max(0.0, (now - datetime.fromisoformat(stamp)).total_seconds())
