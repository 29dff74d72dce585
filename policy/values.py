"""Validation of what a person types into a policy command: addresses, domains, gateways, expiries, text.

Addresses and domains are normalised as acl normalises grants (lower-case, IDNA A-labels, look-alikes
and invisible characters refused), so an entry matches exactly what the lake and Postfix see. Anything
that would block far more than one address or domain (a bare top-level domain, a wildcard) is refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from acl import InvalidValue, make_grant
from ingest import load_gateways
from policy.errors import PolicyError

KINDS = ("recipient", "recipient_domain", "sender", "sender_domain")
ALLOW_KINDS = ("recipient", "recipient_domain")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([dhm])$")
MAX_TEXT = 500


def address(value: str, what: str) -> str:
    """A normalised mail address, or PolicyError naming what was wrong."""
    try:
        normalised = make_grant("sender", value).value
    except InvalidValue as exc:
        raise PolicyError(f"invalid {what} {value!r}: {_detail(exc)}") from None
    _refuse_comment(normalised, what)
    domain(normalised.rpartition("@")[2], f"domain of {what}")
    return normalised


def domain(value: str, what: str) -> str:
    """A normalised domain of at least two labels (a bare TLD would block a whole registry)."""
    try:
        normalised = make_grant("domain", value).value
    except InvalidValue as exc:
        raise PolicyError(f"invalid {what} {value!r}: {_detail(exc)}") from None
    if "." not in normalised:
        raise PolicyError(f"{what} {value!r} would block every address under .{normalised}: refused")
    return normalised


def entry_value(kind: str, value: str) -> str:
    """The normalised value of an entry of `kind`."""
    if kind not in KINDS:
        raise PolicyError(f"unknown entry kind {kind!r}; expected one of {', '.join(KINDS)}")
    if kind in ("recipient", "sender"):
        return address(value, f"{kind} address")
    return domain(value, kind.replace("_", " "))


def gateway(home: Path, name: str | None) -> str | None:
    """A registered gateway name (None: every gateway)."""
    if name is None:
        return None
    known = load_gateways(home)
    if name not in known:
        raise PolicyError(f"unknown gateway {name!r} ({', '.join(sorted(known)) or 'none registered'})")
    return name


def expiry(text: str | None, now: float) -> float | None:
    """`30d`, `12h`, `90m` from now, or an ISO date/time (UTC when no offset); None: never expires."""
    if text is None or not text.strip():
        return None
    match = DURATION.match(text.strip().lower())
    if match:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[match[2]]
        return now + timedelta(**{unit: float(match[1])}).total_seconds()
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise PolicyError(f"--expires {text!r}: expected 30d, 12h, 90m or an ISO date such as 2027-01-31") from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if when.timestamp() <= now:
        raise PolicyError(f"--expires {text!r} is in the past")
    return when.timestamp()


def text(value: str | None, what: str) -> str | None:
    """A one-line printable reason or note (shown in tables only, never rendered as markup)."""
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_TEXT or not value.isprintable():
        raise PolicyError(f"{what}: at most {MAX_TEXT} printable characters on one line")
    return value or None


def _refuse_comment(value: str, what: str) -> None:
    if value.startswith("#"):
        raise PolicyError(f"{what} {value!r}: a leading '#' would be a comment in a Postfix map")


def _detail(exc: Exception) -> str:
    """acl's message without its own naming of the value (it calls every address a sender address)."""
    return str(exc).replace("sender address", "address")
