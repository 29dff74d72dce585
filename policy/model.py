"""The policy records as the store hands them out: blacklist and allow-list entries, routing rules,
SMTP-auth accounts, deployments."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ENTRY_COLUMNS = (
    "id",
    "kind",
    "value",
    "gateway",
    "for_sender_domain",
    "reason",
    "source",
    "created_by",
    "created_at",
    "updated_at",
    "expires_at",
    "note",
    "explanation",
)


@dataclass(frozen=True)
class Entry:
    """One blacklist entry. `gateway` None: every gateway; `for_sender_domain` None: every sender."""

    id: int
    kind: str
    value: str
    gateway: str | None
    for_sender_domain: str | None
    reason: str
    source: str
    created_by: str
    created_at: float
    updated_at: float
    expires_at: float | None
    note: str | None
    explanation: str | None

    def active(self, now: float) -> bool:
        return self.expires_at is None or self.expires_at > now

    def snapshot(self) -> dict[str, Any]:
        """The audited state of the entry."""
        state = {name: getattr(self, name) for name in ENTRY_COLUMNS if name != "explanation"}
        state["explanation"] = None if self.explanation is None else json.loads(self.explanation)
        return state


@dataclass(frozen=True)
class Allowed:
    """One allow-list entry: automatic rules never block this recipient or domain."""

    id: int
    kind: str
    value: str
    created_by: str
    created_at: float
    note: str | None


@dataclass(frozen=True)
class Route:
    """One routing rule: mail matching `selector = value` on `on_gateway` (None: every gateway) leaves
    through `next_hop` (`via_gateway` names the gateway that hop is, when it is one)."""

    id: int
    selector: str
    value: str
    on_gateway: str | None
    via_gateway: str | None
    next_hop: str
    priority: int
    created_by: str
    created_at: float
    note: str | None


@dataclass(frozen=True)
class Account:
    """One SMTP-auth (SASL) login a gateway accepts, owned by an acl account (the customer)."""

    login: str
    customer: str
    gateway: str | None
    password_hash: str
    disabled: bool
    created_by: str
    created_at: float
    updated_at: float

    def snapshot(self) -> dict[str, Any]:
        """The audited state (never the hash)."""
        return {"login": self.login, "customer": self.customer, "gateway": self.gateway, "disabled": self.disabled}


@dataclass(frozen=True)
class Deployment:
    """One recorded deployment attempt of a gateway's maps."""

    id: int
    gateway: str
    at: float
    actor: str
    ok: bool
    version: str | None
    manifest: dict[str, str] | None
    error: str | None
