"""The rule table: warehouse/rules/rules.toml and the operator's [[classify.rules]], validated into
`Rule`s (conditions on the normalised reply, DSN, reply code and status) with their cited examples.

The taxonomy (qualifications, reasons, which reasons are suppressible) and the tiers' precedence live
here too; warehouse.classify matches the rules against deliveries.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from relaywatch.core import ClassifySection, RelaywatchError
from warehouse.providers import provider_ids

RULES_FILE = Path(__file__).with_name("rules") / "rules.toml"

QUALIFICATIONS = ("success", "soft", "hard", "unknown")
REASONS = (
    "delivered",
    "user_unknown",
    "domain_not_found",
    "mailbox_full",
    "mailbox_disabled",
    "spam_content",
    "reputation",
    "auth_policy",
    "policy",
    "rate_limited",
    "greylisted",
    "message_too_large",
    "content",
    "network",
    "tls",
    "dns_temporary",
    "remote_error",
    "expired",
    "complaint",
    "other",
)
SUPPRESSIBLE_REASONS = frozenset({"user_unknown", "domain_not_found", "mailbox_disabled", "complaint"})
TIERS = ("local", "provider", "text", "dsn", "reply", "status")

SUCCESS_STATUSES = ("sent", "deliverable", "delivered")
FINAL_STATUSES = (*SUCCESS_STATUSES, "expired")

_DSN_SPEC = re.compile(r"^(\*|x|[245])\.(\*|x|[0-9]{1,3}(?:-[0-9]{1,3})?)\.(\*|x|[0-9]{1,3}(?:-[0-9]{1,3})?)$", re.I)
_CODE_SPEC = re.compile(r"^(?:([2-5])([0-9x*])([0-9x*])|([0-9]{3})-([0-9]{3}))$", re.I)

_BUILTIN_KEYS = frozenset({"id", "provider", "pattern", "dsn", "code", "status", "reason", "qualification", "example"})
_EXAMPLE_KEYS = frozenset({"dsn", "status", "text", "source"})
_LOCAL_KEYS = frozenset({"id", "pattern", "dsn", "code", "status", "reason", "qualification"})


class RuleError(RelaywatchError, ValueError):
    """A rule of the table or of relaywatch.toml is invalid; the message names the rule."""


Range = tuple[int, int]


@dataclass(frozen=True)
class Example:
    """A cited input a built-in rule decides: what a server wrote (or a standard defines), and where from.

    The tests run every example through the classifier and expect its rule, so a rule that a later
    edit shadows or breaks is caught with the text it was written for."""

    source: str
    dsn: str | None = None
    status: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Rule:
    """One row of the rule table, validated and compiled."""

    name: str
    tier: str
    reason: str
    qualification: str | None
    provider: str | None
    pattern: str | None
    dsn: tuple[Range | None, Range | None, Range | None] | None
    code: Range | None
    status: tuple[str, ...] | None
    example: Example | None = None

    def condition(self) -> pl.Expr:
        """Polars predicate over the distinct-combination frame (columns norm, status_n, d_*, code)."""
        parts = []
        if self.pattern is not None:
            parts.append(pl.col("norm").str.contains("(?i)" + self.pattern))
        if self.dsn is not None:
            for column, bounds in zip(("d_cls", "d_sub", "d_det"), self.dsn, strict=True):
                if bounds is not None:
                    parts.append(pl.col(column).is_between(*bounds))
        if self.code is not None:
            parts.append(pl.col("code").is_between(*self.code))
        if self.status is not None:
            parts.append(pl.col("status_n").is_in(self.status))
        else:
            parts.append(~pl.col("status_n").is_in(FINAL_STATUSES))
        return pl.all_horizontal(parts).fill_null(False)


def _parse_range(text: str, low: int, high: int) -> Range | None:
    if text.lower() in ("*", "x"):
        return None
    first, _, last = text.partition("-")
    bounds = (int(first), int(last or first))
    if not low <= bounds[0] <= bounds[1] <= high:
        raise ValueError(f"range {text!r} out of bounds")
    return bounds


def _parse_dsn(spec: str) -> tuple[Range | None, Range | None, Range | None]:
    match = _DSN_SPEC.match(spec.strip())
    if not match:
        raise ValueError(f"invalid dsn condition {spec!r} (expected e.g. 5.1.1, 5.1.*, *.7.26, 5.7.606-649)")
    return (_parse_range(match[1], 2, 5), _parse_range(match[2], 0, 999), _parse_range(match[3], 0, 999))


def _parse_code(spec: str) -> Range:
    match = _CODE_SPEC.match(str(spec).strip())
    if not match:
        raise ValueError(f"invalid code condition {spec!r} (expected e.g. 550, 5xx, 45x, 450-452)")
    if match[4]:
        low, high = int(match[4]), int(match[5])
        if low > high:
            raise ValueError(f"invalid code range {spec!r}")
        return low, high
    digits = match[1] + match[2] + match[3]
    return int(re.sub(r"[x*]", "0", digits, flags=re.I)), int(re.sub(r"[x*]", "9", digits, flags=re.I))


def _check_regex(pattern: str) -> None:
    """Patterns must compile both for Python (explain) and Polars' Rust engine (classify_frame)."""
    try:
        re.compile(pattern, re.I)
    except re.error as exc:
        raise ValueError(f"invalid regex: {exc}") from None
    try:
        pl.Series([""], dtype=pl.String).str.contains("(?i)" + pattern)
    except Exception as exc:  # polars raises ComputeError for patterns its engine rejects
        raise ValueError(f"invalid regex: {str(exc).splitlines()[0]}") from None


def _build_rule(entry: Mapping[str, Any], *, local: bool, providers: frozenset[str]) -> Rule:
    label = f"local rule {entry.get('id')!r}" if local else f"rule {entry.get('id')!r}"
    try:
        allowed = _LOCAL_KEYS if local else _BUILTIN_KEYS
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}")
        rule_id = entry.get("id")
        if not isinstance(rule_id, str) or not rule_id:
            raise ValueError("missing id")
        reason = entry.get("reason")
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r} (expected one of {', '.join(REASONS)})")
        qualification = entry.get("qualification")
        if qualification is not None and qualification not in QUALIFICATIONS:
            raise ValueError(f"unknown qualification {qualification!r} (expected one of {', '.join(QUALIFICATIONS)})")
        pattern = entry.get("pattern")
        if pattern is not None:
            if not isinstance(pattern, str) or not pattern:
                raise ValueError("pattern must be a non-empty string")
            _check_regex(pattern)
        status = entry.get("status")
        if isinstance(status, str):
            status = [status]
        if status is not None and not (status and isinstance(status, list) and all(isinstance(s, str) for s in status)):
            raise ValueError("status must be a string or a non-empty list of strings")
        provider = entry.get("provider")
        if provider is not None and provider not in providers:
            raise ValueError(f"unknown provider {provider!r}")
        dsn = _parse_dsn(entry["dsn"]) if entry.get("dsn") is not None else None
        code = _parse_code(entry["code"]) if entry.get("code") is not None else None
        if pattern is None and dsn is None and code is None and status is None:
            raise ValueError("needs at least one of pattern, dsn, code, status")
        example = None if local else _build_example(entry.get("example"))
    except (ValueError, TypeError) as exc:
        raise RuleError(f"{label}: {exc}") from None
    if local:
        tier = "local"
    elif provider is not None:
        tier = "provider"
    else:
        tier = next(t for t, v in (("text", pattern), ("dsn", dsn), ("reply", code), ("status", status)) if v)
    return Rule(
        name=f"local:{rule_id}" if local else rule_id,
        tier=tier,
        reason=reason,
        qualification=qualification,
        provider=provider,
        pattern=pattern,
        dsn=dsn,
        code=code,
        status=tuple(s.strip().lower() for s in status) if status is not None else None,
        example=example,
    )


def _build_example(entry: object) -> Example:
    """A built-in rule's example: a table with a source and at least one of dsn, status, text."""
    if not isinstance(entry, dict):
        raise ValueError("needs an example table (example = { text = ..., source = ... })")
    unknown = sorted(set(entry) - _EXAMPLE_KEYS)
    if unknown:
        raise ValueError(f"example: unknown key(s) {', '.join(unknown)}")
    if not all(isinstance(v, str) and v for v in entry.values()):
        raise ValueError("example: values must be non-empty strings")
    if "source" not in entry or len(entry) < 2:
        raise ValueError("example: needs a source and at least one of dsn, status, text")
    return Example(**entry)


def _check_unique(rules: Iterable[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise RuleError(f"rule {rule.name!r}: duplicate id")
        seen.add(rule.name)


@lru_cache(maxsize=1)
def builtin_rules() -> tuple[Rule, ...]:
    """The shipped table, validated once per process and sorted by tier (stable inside a tier)."""
    with RULES_FILE.open("rb") as fh:
        entries = tomllib.load(fh).get("rule", [])
    rules = [_build_rule(e, local=False, providers=frozenset(provider_ids())) for e in entries]
    _check_unique(rules)
    return tuple(sorted(rules, key=lambda r: TIERS.index(r.tier)))


def local_rules(section: ClassifySection) -> tuple[Rule, ...]:
    """The operator's rules; the configuration model has already checked they are tables."""
    rules = tuple(_build_rule(e, local=True, providers=frozenset()) for e in section.rules)
    _check_unique(rules)
    return rules
