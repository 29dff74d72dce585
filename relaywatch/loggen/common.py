"""Units, timing constants, line kinds and Postfix's delay format, shared by every part of the generator."""

from __future__ import annotations

from typing import Literal

Format = Literal["syslog", "rfc3339", "journal"]
FORMATS: tuple[str, ...] = ("syslog", "rfc3339", "journal")

US = 1_000_000
PID_MAX = 4_194_304  # Debian 12 kernel.pid_max
MAX_QUEUE_LIFETIME = 5 * 86400 * US  # maximal_queue_lifetime / bounce_queue_lifetime
MIN_BACKOFF = 300 * US
MAX_BACKOFF = 4000 * US
QUEUE_RUN_DELAY = 300 * US
DELAY_WARNING = 4 * 3600 * US  # delay_warning_time on gateways with an odd index
BUCKET_SHIFT = 26  # lines are bucketed by ~67 s of time before sorting and writing
P_RECYCLE = 0.005  # a new message takes the queue id of one that just left the queue
POSTFIX_VERSION = "3.7.11"

# Line kinds, counted when written.
(
    K_OTHER,
    K_RECEIVED,
    K_MESSAGE,
    K_SENT,
    K_DEFERRED,
    K_BOUNCED,
    K_EXPIRED,
    K_NDR,
    K_DELAY_NOTICE,
    K_REJECT,
    K_REMOVED,
    K_SASL_FAIL,
) = range(12)
KIND_FIELDS = (
    "other",
    "received",
    "messages",
    "sent",
    "deferred",
    "bounced",
    "expired",
    "ndrs",
    "delay_notifications",
    "rejects",
    "removed",
    "sasl_failures",
)
NK = len(KIND_FIELDS)

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Relative arrival rate per local hour, Monday..Friday; weekends are quieter.
HOURLY = (
    0.25,
    0.2,
    0.15,
    0.15,
    0.15,
    0.2,
    0.4,
    0.8,
    1.4,
    1.7,
    1.8,
    1.7,
    1.3,
    1.4,
    1.6,
    1.6,
    1.5,
    1.3,
    1.0,
    0.8,
    0.7,
    0.6,
    0.45,
    0.35,
)
WEEKEND = 0.4

# Delay values as Postfix prints them: 2 significant digits, at most 2 decimals, trailing zeros dropped.
_CENTI = ["0"] + [(f"0.{v:02d}".rstrip("0")) for v in range(1, 100)]
_DECI = [f"{v // 10}.{v % 10}" if v % 10 else str(v // 10) for v in range(100)]


def fmt_delay(x: float) -> str:
    """Format a delay in seconds the way Postfix's format_tv() does (delay=, delays=)."""
    if x >= 9.95:
        return str(int(x + 0.5))
    if x >= 0.995:
        return _DECI[int(x * 10 + 0.5)]
    return _CENTI[int(x * 100 + 0.5)]
