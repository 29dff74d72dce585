"""Grants: what rows a user may see, and the normalisation that makes grant values safe to compare.

A grant is (kind, value, include_subdomains):
- sender: a full envelope sender address, compared case-insensitively (stored lower-cased);
- domain: a sender domain, exact, or with `include_subdomains` also every domain below it;
- sasl: an SMTP-auth login;
- gateway: a gateway name, or "*" for every gateway (only root may grant "*").

Values are normalised once, at grant time, to the form the lake stores (lower-case; domains as IDNA
A-labels). Anything ambiguous is refused rather than guessed: control and invisible characters,
internal whitespace, text that Unicode NFKC would change (fullwidth letters, ligatures, compatibility
forms), labels mixing scripts (Latin with Cyrillic or Greek look-alikes), IDNA deviation characters (ß,
ς...) whose meaning differs between IDNA 2003 and 2008, and LIKE-style wildcards in domains. Non-ASCII
local parts are accepted only when already canonical (NFKC-stable, one script) and are then matched
exactly. Values are matched literally: `%`, `_`, quotes and backslashes in a sender or login have no
special meaning anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from acl.errors import InvalidValue

KINDS = ("sender", "domain", "sasl", "gateway")
ALL_GATEWAYS = "*"
MAX_VALUE_LENGTH = 320
_LDH_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}


@dataclass(frozen=True, order=True)
class Grant:
    """One normalised grant; build it with `make_grant` so the value is checked."""

    kind: str
    value: str
    include_subdomains: bool = False

    def describe(self) -> str:
        suffix = " (and subdomains)" if self.include_subdomains else ""
        return f"{self.kind}:{self.value}{suffix}"


def make_grant(kind: str, value: str, include_subdomains: bool = False) -> Grant:
    """Validate and normalise a grant; raises InvalidValue with the reason when refused."""
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        raise InvalidValue(f"unknown grant kind {kind!r}; expected one of {', '.join(KINDS)}")
    if include_subdomains and kind != "domain":
        raise InvalidValue("include_subdomains applies only to domain grants")
    if kind == "sender":
        return Grant(kind, normalise_address(value))
    if kind == "domain":
        return Grant(kind, normalise_domain(value), bool(include_subdomains))
    if kind == "gateway" and isinstance(value, str) and value.strip() == ALL_GATEWAYS:
        return Grant(kind, ALL_GATEWAYS)
    if kind == "gateway":
        return Grant(kind, normalise_gateway(value))
    return Grant(kind, normalise_token(value, kind))


def _clean(value: object, what: str) -> str:
    """Common checks: text, trimmed, bounded, no invisible characters, NFKC-stable, lower-cased."""
    if not isinstance(value, str):
        raise InvalidValue(f"{what} must be text")
    text = value.strip()
    if not text:
        raise InvalidValue(f"{what} is empty")
    if len(text) > MAX_VALUE_LENGTH:
        raise InvalidValue(f"{what} is longer than {MAX_VALUE_LENGTH} characters")
    for ch in text:
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            raise InvalidValue(f"{what} contains a control, invisible or space character (U+{ord(ch):04X})")
    canonical = unicodedata.normalize("NFKC", text)
    if canonical != text:
        raise InvalidValue(f"{what} {text!r} is not in canonical Unicode form (look-alike?); NFKC gives {canonical!r}")
    for before, ch in zip(text, text[1:], strict=False):
        if unicodedata.category(ch).startswith("M") and before.isascii():
            raise InvalidValue(f"{what} {text!r} puts a combining mark on a plain letter (look-alike?)")
    lowered = text.lower()
    if unicodedata.normalize("NFKC", lowered) != lowered or len(lowered) != len(text):
        raise InvalidValue(f"{what} {text!r} has no stable lower-case form")
    _refuse_mixed_scripts(lowered, what)
    return lowered


def _script(ch: str) -> str | None:
    """Coarse script of a letter (first word of its Unicode name), None for non-letters."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    if ch.isascii():
        return "LATIN"
    return unicodedata.name(ch, "UNKNOWN").split(" ")[0]


def _refuse_mixed_scripts(text: str, what: str) -> None:
    for part in re.split(r"[.@]", text):
        scripts = {s for s in map(_script, part) if s}
        if len(scripts) > 1:
            mixed = ", ".join(sorted(scripts))
            raise InvalidValue(f"{what} {text!r} mixes scripts ({mixed}): look-alike refused")


def normalise_domain(value: object, what: str = "domain") -> str:
    """Lower-case IDNA A-label form of a domain (trailing dot dropped); refuses wildcards and look-alikes."""
    text = _clean(value, what).removesuffix(".")
    if not text or len(text) > 253:
        raise InvalidValue(f"{what} {value!r} is not a valid domain name")
    labels = []
    for label in text.split("."):
        ascii_label = _ascii_label(label, value, what)
        if not _LDH_LABEL.match(ascii_label):
            raise InvalidValue(
                f"{what} {value!r}: label {label!r} is not a host name label (letters, digits, hyphens;"
                " no wildcards; use include_subdomains for a whole subtree)"
            )
        labels.append(ascii_label)
    domain = ".".join(labels)
    if len(domain) > 253:
        raise InvalidValue(f"{what} {value!r} is longer than 253 characters once IDNA-encoded")
    return domain


def _ascii_label(label: str, original: object, what: str) -> str:
    """A-label of one label; refuses labels IDNA 2003 would silently remap and bogus xn-- labels."""
    try:
        if label.isascii():
            if label.startswith("xn--"):
                unicode_label = label.encode("ascii").decode("idna")
                _clean(unicode_label, what)
                if unicode_label.encode("idna").decode("ascii") != label:
                    raise InvalidValue(f"{what} {original!r}: label {label!r} is not a canonical A-label")
            return label
        ascii_label = label.encode("idna").decode("ascii")
        if ascii_label.encode("ascii").decode("idna") != label:
            raise InvalidValue(
                f"{what} {original!r}: label {label!r} is ambiguous under IDNA (deviation character);"
                " give its A-label (xn--...)"
            )
        return ascii_label
    except UnicodeError as exc:
        raise InvalidValue(f"{what} {original!r}: label {label!r} is not valid IDNA") from exc


def unicode_domain(domain: str) -> str | None:
    """The U-label spelling of an A-label domain when it differs (logs may carry either form)."""
    if "xn--" not in domain:
        return None
    try:
        return ".".join(label.encode("ascii").decode("idna") for label in domain.split("."))
    except UnicodeError:
        return None


def normalise_address(value: object, what: str = "sender address") -> str:
    """local@domain with a lower-cased local part and an A-label domain."""
    text = _clean(value, what)
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise InvalidValue(f"{what} {value!r} is not of the form local@domain")
    if len(local) > 256:
        raise InvalidValue(f"{what} {value!r}: local part too long")
    if "@" in local and not (len(local) > 1 and local.startswith('"') and local.endswith('"')):
        raise InvalidValue(f"{what} {value!r}: '@' in a local part must be quoted")
    return f"{local}@{normalise_domain(domain, what)}"


def normalise_token(value: object, what: str) -> str:
    """An SMTP-auth login or a user name: lower-cased, no spaces, no invisible characters."""
    return _clean(value, what)


_GATEWAY_NAME = re.compile(r"[a-z0-9](?:[a-z0-9_-]|\.(?!\.)){0,62}")
"""The rule ingest applies to gateway names at ingest and registration (acl imports no other package:
tests/test_names.py holds the two to the same answers)."""


def normalise_gateway(value: object) -> str:
    """A gateway name as the lake stores it: lower case; letters, digits, '.', '_', '-', no '..'."""
    text = _clean(value, "gateway")
    if not _GATEWAY_NAME.fullmatch(text):
        raise InvalidValue(f"gateway {value!r}: use letters, digits, '.', '_' or '-' (at most 63, no '..')")
    return text


def address_variants(address: str) -> tuple[str, ...]:
    """The address as granted, plus its spelling with a U-label domain when that differs."""
    local, _, domain = address.rpartition("@")
    udomain = unicode_domain(domain)
    return (address, f"{local}@{udomain}") if udomain else (address,)


def domain_variants(domain: str) -> tuple[str, ...]:
    """The A-label domain, plus its U-label spelling when that differs."""
    udomain = unicode_domain(domain)
    return (domain, udomain) if udomain else (domain,)


def _domain_covers(holder: str, subtree: bool, domain: str) -> bool:
    return domain == holder or (subtree and domain.endswith("." + holder))


def grant_within(grant: Grant, held: tuple[Grant, ...] | list[Grant]) -> bool:
    """True when every row `grant` allows is also allowed by one grant in `held` (used for admins).

    Conservative: a sender is covered by the same sender or its domain; a domain (or subtree) by the
    same domain or an enclosing subtree; a login or gateway only by the same value; everything by the
    all-gateways grant.
    """
    for h in held:
        if (h.kind == "gateway" and h.value == ALL_GATEWAYS) or h == grant:
            return True
        if h.kind != "domain":
            continue
        sender_domain = grant.value.rpartition("@")[2]
        if grant.kind == "sender" and _domain_covers(h.value, h.include_subdomains, sender_domain):
            return True
        if (
            grant.kind == "domain"
            and _domain_covers(h.value, h.include_subdomains, grant.value)
            and (h.include_subdomains or not grant.include_subdomains)
        ):
            return True
    return False
