"""`lake/blacklist`: the blacklist mirrored as a small Delta table, so the warehouse (which must not
import policy) serves it as the scoped `blacklist` view over the same confined connection as every view.

One row per entry and gateway it applies to (an all-gateways entry is repeated for every registered
gateway), so a user granted a gateway sees the entries of that gateway; `sender`/`sender_domain` carry the
sender scope, so a user granted a sender or domain sees the entries made for it. Entries for every
sender on every gateway are visible to root and to holders of the gateways; each row's explanation keeps
only the deliveries of its gateway.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import polars as pl

from ingest import load_gateways
from policy.context import Context
from relaywatch.core import file_lock, locks_dir
from warehouse import BLACKLIST_SCHEMA, open_lake


def mirror_blacklist(ctx: Context) -> int:
    """Rewrite `lake/blacklist` from the store in one Delta commit; returns the table version. Read and
    write happen under one lock, so concurrent changes never leave an older state as the last commit."""
    with file_lock(locks_dir(ctx.home) / "policy-blacklist-mirror"):
        return _mirror(ctx)


def _evidence_of(explanation: str | None, gateway: str | None) -> str | None:
    """An explanation with only the deliveries of one gateway: a row is seen by that gateway's holders,
    who must not learn message keys of other gateways' traffic (the count stays the rule's total)."""
    if explanation is None or gateway is None:
        return explanation
    state = json.loads(explanation)
    if "deliveries" in state:
        state["deliveries"] = [d for d in state["deliveries"] if d.get("gateway") == gateway]
    return json.dumps(state, sort_keys=True)


def _mirror(ctx: Context) -> int:
    with ctx.store.transaction(write=False) as tx:
        entries = tx.entries()
    gateways = sorted(load_gateways(ctx.home)) or [None]
    rows = []
    for e in entries:
        sender = e.value if e.kind == "sender" else None
        sender_domain = e.value if e.kind == "sender_domain" else e.for_sender_domain
        created = datetime.fromtimestamp(e.created_at, UTC)
        for gateway in [e.gateway] if e.gateway else gateways:
            rows.append(
                {
                    "id": e.id,
                    "kind": e.kind,
                    "value": e.value,
                    "gateway": gateway,
                    "all_gateways": e.gateway is None,
                    "sender": sender,
                    "sender_domain": sender_domain,
                    "sasl_username": None,
                    "reason": e.reason,
                    "source": e.source,
                    "created_by": e.created_by,
                    "created_at": created,
                    "expires_at": None if e.expires_at is None else datetime.fromtimestamp(e.expires_at, UTC),
                    "note": e.note,
                    "explanation": _evidence_of(e.explanation, gateway),
                    "day": created.date().isoformat(),
                }
            )
    frame = pl.DataFrame(rows, schema=BLACKLIST_SCHEMA)
    lake = open_lake(ctx.home)
    return lake.append(
        "blacklist",
        frame,
        app_id="policy",
        app_version=time.time_ns() // 1000,
        mode="overwrite",
        partition_by=(),
    )
