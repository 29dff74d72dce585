"""relaywatch's logs: one JSON object per line on stderr (for journald, files and log shippers)."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("relaywatch")


class JsonLines(logging.Handler):
    """Log records as one JSON object per line on the current sys.stderr (so rich's progress bar,
    which swaps sys.stderr while it draws, keeps log lines above the bar)."""

    def emit(self, record: logging.LogRecord) -> None:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        try:
            sys.stderr.write(json.dumps(entry, default=str) + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            self.handleError(record)


def setup_logging(level: int = logging.INFO) -> None:
    """Send relaywatch's logs to stderr as JSON lines (once per process)."""
    if not any(isinstance(handler, JsonLines) for handler in log.handlers):
        log.addHandler(JsonLines())
        log.propagate = False
    log.setLevel(level)


def event(level: int, name: str, **values: Any) -> None:
    """Log one structured event."""
    log.log(level, name, extra={"fields": values})


def failure(name: str, exc: BaseException, **values: Any) -> None:
    """Log an unexpected exception with its traceback as one structured event."""
    log.error(name, exc_info=exc, extra={"fields": values})
