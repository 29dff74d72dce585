"""Mailbox provider of a delivery, from its recipient domain or, failing that, from its relay host.

The table lives in warehouse/rules/providers.toml. provider_of() works on the distinct
(recipient_domain, relay) pairs of a frame and joins the answer back, so it stays cheap on large frames.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

PROVIDERS_FILE = Path(__file__).with_name("rules") / "providers.toml"
OTHER = "other"


@dataclass(frozen=True)
class Provider:
    """One provider: exact domains, domain families ("yahoo." for yahoo.fr...) and relay host suffixes."""

    id: str
    domains: tuple[str, ...]
    domain_prefixes: tuple[str, ...]
    relays: tuple[str, ...]


@lru_cache(maxsize=1)
def load_providers() -> tuple[Provider, ...]:
    """The provider table, in file order (the first provider claiming a name wins)."""
    with PROVIDERS_FILE.open("rb") as fh:
        entries = tomllib.load(fh).get("provider", [])
    providers = []
    for entry in entries:
        unknown = set(entry) - {"id", "domains", "domain_prefixes", "relays"}
        if unknown or not entry.get("id"):
            raise ValueError(f"{PROVIDERS_FILE.name}: provider {entry.get('id')!r}: bad keys {sorted(unknown)}")
        providers.append(
            Provider(
                id=entry["id"],
                domains=tuple(d.lower() for d in entry.get("domains", [])),
                domain_prefixes=tuple(d.lower() for d in entry.get("domain_prefixes", [])),
                relays=tuple(r.lower().lstrip(".") for r in entry.get("relays", [])),
            )
        )
    return tuple(providers)


def provider_ids() -> list[str]:
    """Known provider ids (the rule table's provider keys must be among them)."""
    return [p.id for p in load_providers()]


def _first_match(cases: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """The id of the first case whose condition holds, else null."""
    chain = None
    for provider_id, condition in cases:
        chain = (pl.when(condition) if chain is None else chain.when(condition)).then(pl.lit(provider_id))
    return chain.otherwise(pl.lit(None, pl.String)) if chain is not None else pl.lit(None, pl.String)


def _by_domain(domain: pl.Expr) -> pl.Expr:
    cases = []
    for provider in load_providers():
        conditions = [domain.str.starts_with(prefix) for prefix in provider.domain_prefixes]
        if provider.domains:
            conditions.append(domain.is_in(provider.domains))
        if conditions:
            cases.append((provider.id, pl.any_horizontal(conditions)))
    return _first_match(cases)


def _by_relay(host: pl.Expr) -> pl.Expr:
    cases = [
        (provider.id, pl.any_horizontal([(host == s) | host.str.ends_with("." + s) for s in provider.relays]))
        for provider in load_providers()
        if provider.relays
    ]
    return _first_match(cases)


def provider_of(frame: pl.DataFrame) -> pl.Series:
    """Series "provider" (same height and order as frame) from columns recipient_domain and relay.

    The recipient domain decides when it is a known provider domain; otherwise the relay host (Postfix
    writes "host[ip]:port", "none" or a transport name) tells who hosts the domain; else "other".
    """

    def column(name: str) -> pl.Expr:
        if name in frame.columns:
            return pl.col(name).cast(pl.String).fill_null("").str.strip_chars().str.to_lowercase().alias(name)
        return pl.lit("", dtype=pl.String).alias(name)

    keys = frame.with_columns(column("recipient_domain").alias("_domain"), column("relay").alias("_relay")).select(
        pl.col("_domain").alias("recipient_domain"), pl.col("_relay").alias("relay")
    )
    distinct = keys.unique()
    host = pl.col("relay").str.extract(r"^([^\[\]:\s]+)", 1).str.strip_chars_end(".")
    domain = pl.col("recipient_domain").str.strip_chars_end(".")
    distinct = distinct.with_columns(provider=pl.coalesce(_by_domain(domain), _by_relay(host), pl.lit(OTHER)))
    out = keys.join(distinct, on=["recipient_domain", "relay"], how="left", maintain_order="left")
    return out["provider"].alias("provider")
