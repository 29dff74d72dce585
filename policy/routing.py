"""Routing rules (`relaywatch policy route add/list/remove`): mail from a sender domain, or authenticated as
a SASL login, or to a recipient domain, leaves through another gateway or next hop.

Rendered per gateway as Postfix tables: recipient domains into `transport` (transport_maps), sender domains
and SASL logins into `sender_routes` / `sasl_routes` (access maps answering `FILTER smtp:HOP`, which routes
the whole message). Postfix applies them in a fixed order, which is the rules' precedence: a SASL login rule
beats a sender domain rule (its FILTER comes last), both beat a recipient domain rule; `priority` (lowest
first) decides between rules on the same key. Before adding, a dry run shows from the warehouse how many of
the last `days` days' messages, by gateway, the rule would move (within the actor's own scope).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from acl import User, scope_for
from policy import values
from policy.access import may_manage, require_manage
from policy.blacklist import require_manage_any
from policy.context import opened
from policy.errors import PolicyError
from policy.model import Route
from warehouse import ROUTE_COLUMNS, Warehouse, open_lake, route_traffic

NEXT_HOP = re.compile(r"^(\[[A-Za-z0-9.:-]{1,253}\]|[A-Za-z0-9.-]{1,253})(:\d{1,5})?$")
LOGIN = re.compile(r"^[a-z0-9._@+-]{1,128}$")


@dataclass(frozen=True)
class RoutePlan:
    """A rule (added, or only proposed in a dry run) and the recent traffic it moves, by gateway."""

    route: Route
    traffic: pl.DataFrame
    added: bool


def selector_value(selector: str, value: str) -> str:
    """The normalised value a selector matches (domains as the lake stores them; logins lower-case)."""
    if selector not in ROUTE_COLUMNS:
        raise PolicyError(f"unknown selector {selector!r}; expected one of {', '.join(ROUTE_COLUMNS)}")
    if selector == "sasl_login":
        return login(value)
    return values.domain(value, selector.replace("_", " "))


def login(value: str) -> str:
    """A SASL login: lower-case letters, digits and . _ @ + - (no ':' for the passwd-file, no spaces)."""
    text = value.strip().lower()
    if not LOGIN.match(text):
        raise PolicyError(f"invalid SASL login {value!r}: use letters, digits and . _ @ + - (at most 128)")
    return text


def next_hop(text: str) -> str:
    """`[host]:port`, `[host]`, `host` (MX lookup) or `host:port`."""
    hop = text.strip()
    if not NEXT_HOP.match(hop) or int((hop.rpartition("]")[2] or hop).rpartition(":")[2] or 25) > 65535:
        raise PolicyError(f"next hop {text!r}: expected [host]:port, [host], host or host:port")
    return hop


def route_add(
    home: Path,
    actor: User,
    selector: str,
    value: str,
    *,
    via_gateway: str | None = None,
    hop: str | None = None,
    on_gateway: str | None = None,
    priority: int = 100,
    note: str | None = None,
    dry_run: bool = False,
    days: float = 7.0,
    now: float | None = None,
) -> RoutePlan:
    """Add a routing rule, or with `dry_run` only show what last week's traffic it would move."""
    now = time.time() if now is None else now
    value = selector_value(selector, value)
    if (via_gateway is None) == (hop is None):
        raise PolicyError("give exactly one of --via-gateway GATEWAY or --next-hop HOP")
    note = values.text(note, "--note")
    with opened(home, actor) as ctx:
        on_gateway = values.gateway(home, on_gateway)
        if via_gateway is not None:
            values.gateway(home, via_gateway)
            hop = ctx.config.policy.gateway(via_gateway).smtp
            if not hop:
                raise PolicyError(f"gateway {via_gateway} has no smtp address: set it in [[policy.gateways]]")
            if via_gateway == on_gateway:
                raise PolicyError(f"a rule on gateway {on_gateway} cannot route through itself")
        hop = next_hop(hop or "")
        require_manage(
            ctx.actor,
            gateway=on_gateway,
            sender_domain=value if selector == "sender_domain" else None,
            sasl=value if selector == "sasl_login" else None,
        )
        route = Route(0, selector, value, on_gateway, via_gateway, hop, priority, ctx.actor.name, now, note)
        since = datetime.fromtimestamp(now, UTC) - timedelta(days=days)
        traffic = route_traffic(Warehouse(open_lake(home), scope_for(ctx.actor)), selector, value, since=since)
        if on_gateway is not None:
            traffic = traffic.filter(pl.col("gateway") == on_gateway)
        if dry_run:
            return RoutePlan(route, traffic, False)
        with ctx.store.transaction() as tx:
            if any(
                (r.selector, r.value, r.on_gateway, r.priority) == (selector, value, on_gateway, priority)
                for r in tx.routes()
            ):
                raise PolicyError(f"a rule for {selector} {value} with priority {priority} exists already")
            route = replace(route, id=tx.insert_route(route))
            tx.audit(ctx.actor.name, "route_add", f"route-{route.id}", None, vars(route), now)
    return RoutePlan(route, traffic, True)


def route_list(home: Path, actor: User) -> list[Route]:
    """The rules the actor may manage, by priority."""
    with opened(home, actor) as ctx:
        require_manage_any(ctx)
        with ctx.store.transaction(write=False) as tx:
            routes = tx.routes()
    return [r for r in routes if may_manage(ctx.actor, gateway=r.on_gateway, **_scope(r))]


def route_remove(home: Path, actor: User, route_id: int, *, now: float | None = None) -> Route:
    """Delete a rule (it leaves the maps at the next deployment)."""
    now = time.time() if now is None else now
    with opened(home, actor) as ctx, ctx.store.transaction() as tx:
        route = next((r for r in tx.routes() if r.id == route_id), None)
        if route is None:
            raise PolicyError(f"no routing rule route-{route_id}")
        require_manage(ctx.actor, gateway=route.on_gateway, **_scope(route))
        tx.delete_route(route_id)
        tx.audit(ctx.actor.name, "route_remove", f"route-{route_id}", vars(route), None, now)
    return route


def _scope(route: Route) -> dict[str, str | None]:
    return {
        "sender_domain": route.value if route.selector == "sender_domain" else None,
        "sasl": route.value if route.selector == "sasl_login" else None,
    }
