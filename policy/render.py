"""Rendering a gateway's Postfix maps from the blacklist, and the one-time main.cf snippet that uses them.

Maps (Postfix access(5) tables, indexed with `postmap hash:`):
- `recipient_access`: recipients and recipient domains blocked for every sender;
- `sender_access`: blocked sender addresses and domains;
- `sender_scopes` + `scope_1..N`: entries for one sender domain only. Postfix refuses lookup tables inside
  access maps, so the snippet declares N restriction classes `relaywatch_scope_K = check_recipient_access
  hash:DIR/scope_K`; `sender_scopes` maps each sender domain with entries on this gateway to its class.
- `transport`, `sender_routes`, `sasl_routes`: routing rules (policy.routing);
- `sasl_passwd`: the Dovecot passwd-file of the SMTP-auth accounts (policy.accounts; not indexed).
Each blacklist action is `<code> <dsn> <text> (bl-<id>)`: Postfix answers RCPT with it, the log carries it, and the
warehouse classifies the refusal as `policy`, naming the entry that decided. A domain key also matches its
subdomains (Postfix's default parent_domain_matches_subdomains includes smtpd_access_maps).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

from policy.context import Context
from policy.errors import PolicyError
from policy.model import Account, Allowed, Entry, Route
from relaywatch.core import PolicySection

RECIPIENT_KINDS = ("recipient", "recipient_domain")
NOT_INDEXED = frozenset({"sasl_passwd"})
ROUTE_MAPS = {"recipient_domain": "transport", "sender_domain": "sender_routes", "sasl_login": "sasl_routes"}
SAMPLES_PER_MAP = 3
SASL_SCHEME = "ARGON2ID"


@dataclass(frozen=True)
class Rendered:
    """A gateway's maps: file name -> content, which of them `postmap` indexes, and keys to verify."""

    gateway: str
    files: dict[str, str]
    indexed: tuple[str, ...]
    samples: dict[str, tuple[tuple[str, str], ...]]

    @property
    def version(self) -> str:
        """Content hash of the whole set (what `policy status` compares)."""
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(f"{name}\0{self.files[name]}\0".encode())
        return digest.hexdigest()[:16]

    def manifest(self) -> dict[str, str]:
        """File name -> sha256 of its content."""
        return {name: hashlib.sha256(text.encode()).hexdigest() for name, text in sorted(self.files.items())}


def allowed_by(entry: Entry, allowed: list[Allowed]) -> bool:
    """True when the allow-list covers an entry's recipient (the address or its domain)."""
    if entry.kind not in RECIPIENT_KINDS:
        return False
    domain = entry.value.rpartition("@")[2]
    return any(a.value == entry.value or (a.kind == "recipient_domain" and a.value == domain) for a in allowed)


def live_entries(entries: list[Entry], allowed: list[Allowed], gateway: str, now: float) -> list[Entry]:
    """Entries in force on a gateway: not expired, for it or every gateway, automatic ones not allow-listed."""
    return [
        e
        for e in entries
        if e.active(now) and e.gateway in (None, gateway) and not (e.source != "manual" and allowed_by(e, allowed))
    ]


def action(entry: Entry, settings: PolicySection) -> str:
    return f"{settings.reject_code} {settings.reject_dsn} {settings.reject_text} (bl-{entry.id})"


def _table(entries: list[Entry], settings: PolicySection) -> tuple[str, tuple[tuple[str, str], ...]]:
    """An access table's text (one key per line, the oldest entry winning a shared key) and samples."""
    rows: dict[str, str] = {}
    for entry in sorted(entries, key=lambda e: e.id):
        rows.setdefault(entry.value, action(entry, settings))
    lines = [f"{key}\t{value}\n" for key, value in sorted(rows.items())]
    header = "# rendered by relaywatch: changes made here are reported as drift and replaced at the next deploy\n"
    return header + "".join(lines), tuple(sorted(rows.items())[:SAMPLES_PER_MAP])


def render(
    entries: list[Entry],
    allowed: list[Allowed],
    gateway: str,
    settings: PolicySection,
    now: float,
    *,
    routes: Sequence[Route] = (),
    accounts: Sequence[Account] = (),
) -> Rendered:
    """The maps of one gateway at time `now` (pure: the same inputs give the same files)."""
    live = live_entries(entries, allowed, gateway, now)
    files: dict[str, str] = {}
    samples: dict[str, tuple[tuple[str, str], ...]] = {}
    for name, chosen in (
        ("recipient_access", [e for e in live if e.kind in RECIPIENT_KINDS and e.for_sender_domain is None]),
        ("sender_access", [e for e in live if e.kind not in RECIPIENT_KINDS]),
    ):
        files[name], samples[name] = _table(chosen, settings)
    scoped = sorted({e.for_sender_domain for e in live if e.for_sender_domain})
    if len(scoped) > settings.scope_slots:
        raise PolicyError(
            f"gateway {gateway}: {len(scoped)} sender domains have their own entries but [policy] scope_slots "
            f"is {settings.scope_slots}; raise it and add the new main.cf snippet (`relaywatch policy snippet`)"
        )
    slot_rows = [(domain, f"relaywatch_scope_{i}") for i, domain in enumerate(scoped, 1)]
    files["sender_scopes"] = "".join(f"{d}\t{c}\n" for d, c in slot_rows)
    samples["sender_scopes"] = tuple(slot_rows[:SAMPLES_PER_MAP])
    for i in range(1, settings.scope_slots + 1):
        domain = scoped[i - 1] if i <= len(scoped) else None
        chosen = [e for e in live if domain and e.for_sender_domain == domain and e.kind in RECIPIENT_KINDS]
        files[f"scope_{i}"], samples[f"scope_{i}"] = _table(chosen, settings)
    for selector, name in ROUTE_MAPS.items():
        rows: dict[str, str] = {}
        for route in sorted(routes, key=lambda r: (r.priority, r.id)):
            if route.selector == selector and route.on_gateway in (None, gateway) and route.via_gateway != gateway:
                rows.setdefault(route.value, ("" if name == "transport" else "FILTER ") + f"smtp:{route.next_hop}")
        files[name] = "".join(f"{key}\t{value}\n" for key, value in sorted(rows.items()))
        samples[name] = tuple(sorted(rows.items())[:SAMPLES_PER_MAP])
    files["sasl_passwd"] = "".join(
        f"{a.login}:{a.password_hash}\n" for a in accounts if not a.disabled and a.gateway in (None, gateway)
    )
    return Rendered(gateway, files, tuple(n for n in files if n not in NOT_INDEXED), samples)


def render_state(ctx: Context, gateway: str, now: float | None) -> Rendered:
    """The maps of `gateway` from the store's current state."""
    with ctx.store.transaction(write=False) as tx:
        entries, allowed, routes, accounts = tx.entries(), tx.allowed(), tx.routes(), tx.accounts()
    return render(
        entries,
        allowed,
        gateway,
        ctx.config.policy,
        time.time() if now is None else now,
        routes=routes,
        accounts=accounts,
    )


def main_cf_snippet(directory: str, settings: PolicySection) -> dict[str, str]:
    """The main.cf parameters an operator adds once (`postfix reload` afterwards); map updates need none:
    smtpd notices a changed .db and reopens it for the next session."""
    classes = [f"relaywatch_scope_{i}" for i in range(1, settings.scope_slots + 1)]
    params = {"smtpd_restriction_classes": ", ".join(classes)}
    params.update({name: f"check_recipient_access hash:{directory}/scope_{i}" for i, name in enumerate(classes, 1)})
    params["smtpd_recipient_restrictions"] = ", ".join(restriction_checks(directory))
    params["transport_maps"] = f"hash:{directory}/transport"
    return params


def dovecot_snippet(directory: str) -> str:
    """The passdb an operator adds to the gateway's Dovecot (the auth service of smtpd_sasl_type = dovecot)."""
    return f"passdb {{\n  driver = passwd-file\n  args = scheme={SASL_SCHEME} {directory}/sasl_passwd\n}}\n"


def restriction_checks(directory: str) -> list[str]:
    """The checks that must open smtpd_recipient_restrictions, in this order."""
    return [
        f"check_sender_access hash:{directory}/sender_access",
        f"check_sender_access hash:{directory}/sender_scopes",
        f"check_recipient_access hash:{directory}/recipient_access",
        f"check_sender_access hash:{directory}/sender_routes",
        f"check_sasl_access hash:{directory}/sasl_routes",
    ]
