"""Correlation: parsed log lines of one gateway -> deliveries, rejects and messages.

Queue ids are unique per gateway only for a while (short ids recycle), so a message is keyed by
gateway, queue id and the time of its first line. Messages still in the queue at the end of a batch are
carried to the next batch as the open-message state (`messages_open`): a message deferred today and
delivered in three days, from a later file, still gets its sender on the delivery row. The state also
carries the dsn and reply of each message's last deferral, so an expired message keeps both its final
outcome and its cause (`cause`: the reason of that deferral, classified as the deferral it was).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from warehouse.addresses import normal_addresses
from warehouse.classify import RuleSet, classify_cause, classify_frame
from warehouse.providers import provider_of

STALE_AFTER = timedelta(days=10)
NO_DAY = "1970-01-01"
TS = pl.Datetime("us", "UTC")
RECIPIENT = pl.Struct({"recipient": pl.String, "status": pl.String, "dsn": pl.String, "ts": TS})
STATE_SCHEMA = pl.Schema(
    {
        "gateway": pl.String,
        "message_key": pl.String,
        "queue_id": pl.String,
        "first_ts": TS,
        "last_ts": TS,
        "sender": pl.String,
        "sasl_method": pl.String,
        "sasl_username": pl.String,
        "client_host": pl.String,
        "client_ip": pl.String,
        "message_id": pl.String,
        "size": pl.Int64,
        "nrcpt": pl.Int64,
        "ndr_queue_id": pl.String,
        "ndr_ts": TS,
        "ndr_key": pl.String,
        "ndr_of": pl.String,
        "expired": pl.Boolean,
        "removed": pl.Boolean,
        "rejected": pl.Boolean,
        "recipients": pl.List(RECIPIENT),
        "cause_dsn": pl.String,
        "cause_response": pl.String,
    }
)
MESSAGE_EVENTS = ("client", "pickup", "message-id", "queued", "delivery", "removed", "expired", "ndr", "reject")
STARTS = ("client", "pickup")
REFUSALS = (
    "reject",
    "milter-reject",
    "proxy-reject",
    "defer",
    "defer_if_permit",
    "defer_if_reject",
    "discard",
    "milter-discard",
)
"""Access-control actions that refuse or drop mail (rows of `rejects`); hold, filter, redirect and
reject_warning lines stay in `lines` only: they refuse nothing."""
REFUSED = (pl.col("event") == "reject") & pl.col("status").is_in(REFUSALS)
DROPPED = (
    REFUSED
    & ~pl.col("status").str.starts_with("defer")
    & ((pl.col("service") == "cleanup") | pl.col("line").str.contains("END-OF-MESSAGE", literal=True))
)
"""A refusal that ends a queued message (header/body checks, milter at end of data); an RCPT reject after
the queue id was assigned only refuses that recipient."""
DEFERRAL = (pl.col("event") == "delivery") & (pl.col("status") == "deferred") & pl.col("response").is_not_null()
"""A delivery attempt that failed temporarily: the latest one is the cause if the message expires."""
ATTRIBUTES = (
    "sender",
    "sasl_method",
    "sasl_username",
    "client_host",
    "client_ip",
    "message_id",
    "size",
    "nrcpt",
    "ndr_queue_id",
    "ndr_ts",
    "ndr_key",
    "ndr_of",
)


@dataclass(frozen=True)
class Correlated:
    """What one batch of lines adds to the lake, and the open-message state after it."""

    deliveries: pl.DataFrame
    rejects: pl.DataFrame
    messages: pl.DataFrame
    state: pl.DataFrame


def empty_state() -> pl.DataFrame:
    """The open-message state before anything was processed."""
    return STATE_SCHEMA.to_frame()


def _day(ts: str) -> pl.Expr:
    """Partition of a row: its date, else the day its line was filed under (a line without a readable
    timestamp is filed under the day it was read)."""
    return pl.coalesce(pl.col(ts).dt.date().cast(pl.String), pl.col("line_day"), pl.lit(NO_DAY))


def _domain(column: str) -> pl.Expr:
    return pl.col(column).str.extract(r"@([^@]+)$")


def _message_events(lines: pl.DataFrame, gateway: str, state: pl.DataFrame) -> pl.DataFrame:
    """Lines that belong to a queued message, each with the key of its message instance.

    Sorted by queue id (stable), a queue id's lines are contiguous, so instances are found with shifts
    and forward fills instead of window functions: an instance starts at a queue id's first line, at a
    start event (smtpd client=, pickup) and after a line that ends a message (removed, dropped). The
    first instance continues the open message of the state unless it begins with a start event."""
    ev = lines.filter(pl.col("queue_id").is_not_null() & pl.col("event").is_in(MESSAGE_EVENTS))
    keys = ev.select("queue_id", "event", "ts", "offset", dropped=DROPPED).with_row_index("seq")
    keys = keys.sort("queue_id", "seq")
    first_of_queue = (pl.col("queue_id") != pl.col("queue_id").shift(1)).fill_null(True)
    closing = (pl.col("event") == "removed") | pl.col("dropped")
    is_start = pl.col("event").is_in(STARTS)
    stamp = pl.coalesce(pl.col("ts").dt.strftime("%Y%m%dT%H%M%S"), pl.col("offset").cast(pl.String))
    keys = keys.with_columns(first_of_queue=first_of_queue, start=first_of_queue | is_start | closing.shift(1))
    keys = keys.with_columns(
        continues=pl.when("start").then(pl.col("first_of_queue") & ~is_start).forward_fill(),
        stamp=pl.when("start").then(stamp).forward_fill(),
    )
    open_keys = state.filter(pl.col("gateway") == gateway).select("queue_id", state_key="message_key")
    keys = keys.join(open_keys, on="queue_id", how="left", maintain_order="left").with_columns(
        message_key=pl.when(pl.col("continues") & pl.col("state_key").is_not_null())
        .then(pl.col("state_key"))
        .otherwise(pl.lit(f"{gateway}/") + pl.col("queue_id") + "/" + pl.col("stamp"))
    )
    return ev.with_columns(keys.sort("seq").select("message_key", "dropped", "first_of_queue", "continues"))


def _batch_messages(ev: pl.DataFrame, gateway: str) -> pl.DataFrame:
    """Per message key, what this batch's lines say about the message."""

    def from_event(column: str, *events: str) -> pl.Expr:
        return pl.col(column).filter(pl.col("event").is_in(events)).drop_nulls().first()

    recipients = pl.struct(recipient=pl.col("to"), status="status", dsn="dsn", ts="ts").filter(
        pl.col("event") == "delivery"
    )
    return (
        ev.group_by("message_key", maintain_order=True)
        .agg(
            gateway=pl.lit(gateway),
            queue_id=pl.col("queue_id").first(),
            first_ts=pl.col("ts").min(),
            last_ts=pl.col("ts").max(),
            sender=pl.coalesce(from_event("from", "queued"), from_event("from", "pickup", "expired")),
            sasl_method=from_event("sasl_method", "client"),
            sasl_username=from_event("sasl_username", "client").str.to_lowercase(),
            client_host=from_event("client_host", "client"),
            client_ip=from_event("client_ip", "client"),
            message_id=from_event("message_id", "message-id"),
            size=from_event("size", "queued"),
            nrcpt=from_event("nrcpt", "queued"),
            ndr_queue_id=from_event("ndr_queue_id", "ndr"),
            ndr_ts=pl.col("ts").filter(pl.col("event") == "ndr").first(),
            ndr_key=pl.lit(None, pl.String),
            ndr_of=pl.lit(None, pl.String),
            expired=(pl.col("event") == "expired").any(),
            removed=((pl.col("event") == "removed") | pl.col("dropped")).any(),
            rejected=pl.col("dropped").any(),
            recipients=recipients,
            cause_dsn=pl.col("dsn").filter(DEFERRAL).last(),
            cause_response=pl.col("response").filter(DEFERRAL).last(),
        )
        .select(STATE_SCHEMA.names())
        .cast(dict(STATE_SCHEMA))
    )


def _merge(state: pl.DataFrame, batch: pl.DataFrame) -> pl.DataFrame:
    """Fold the batch's view of each message into the state's (state first: it saw the earlier lines)."""
    both = pl.concat([state.filter(pl.col("message_key").is_in(batch["message_key"].implode())), batch])
    merged = both.group_by("message_key", maintain_order=True).agg(
        pl.col("gateway", "queue_id").first(),
        pl.col("first_ts").min(),
        pl.col("last_ts").max(),
        *[pl.col(c).drop_nulls().first() for c in ATTRIBUTES],
        pl.col("expired", "removed", "rejected").any(),
        pl.col("cause_dsn").filter(pl.col("cause_response").is_not_null()).last(),
        pl.col("cause_response").drop_nulls().last(),
    )
    latest = (
        both.select("message_key", "recipients")
        .explode("recipients")
        .drop_nulls("recipients")
        .unnest("recipients")
        .unique(["message_key", "recipient"], keep="last", maintain_order=True)
        .group_by("message_key", maintain_order=True)
        .agg(recipients=pl.struct("recipient", "status", "dsn", "ts"))
    )
    return merged.join(latest, on="message_key", how="left", maintain_order="left").select(STATE_SCHEMA.names())


def _link_ndrs(messages: pl.DataFrame) -> pl.DataFrame:
    """Point each bounced message to the (first) NDR it caused, and each NDR back to its message: the
    NDR is the instance of the announced queue id that began nearest the announcement (queue ids
    recycle)."""
    asking = messages.filter(pl.col("ndr_queue_id").is_not_null() & pl.col("ndr_key").is_null())
    if asking.is_empty():
        return messages
    candidates = messages.select("gateway", ndr_queue=pl.col("queue_id"), found="message_key", found_ts="first_ts")
    links = (
        asking.select("gateway", "message_key", "ndr_queue_id", asked_ts=pl.coalesce("ndr_ts", "last_ts"))
        .join(candidates, left_on=["gateway", "ndr_queue_id"], right_on=["gateway", "ndr_queue"])
        .with_columns(gap=(pl.col("found_ts") - pl.col("asked_ts")).abs())
        .filter(pl.col("gap") <= timedelta(hours=1))
        .sort("gap", "message_key")
        .unique("message_key", keep="first", maintain_order=True)
        .unique("found", keep="first", maintain_order=True)
    )
    forward = links.select("message_key", link_to="found")
    backward = links.select(message_key="found", link_from="message_key")
    return (
        messages.join(forward, on="message_key", how="left", maintain_order="left")
        .join(backward, on="message_key", how="left", maintain_order="left")
        .with_columns(
            ndr_key=pl.coalesce("ndr_key", "link_to"),
            ndr_of=pl.coalesce("ndr_of", "link_from"),
        )
        .drop("link_to", "link_from")
    )


def with_outcome(messages: pl.DataFrame) -> pl.DataFrame:
    """Per-recipient counts and the message's final status, as the `messages` view shows them."""
    count = {
        s: pl.col("recipients").list.eval(pl.element().struct.field("status") == s).list.sum().fill_null(0)
        for s in ("sent", "bounced", "deferred")
    }
    n = pl.col("recipients").list.len().fill_null(0)
    return messages.with_columns(
        sender_domain=_domain("sender"),
        recipient_count=n,
        delivered=count["sent"],
        bounced=count["bounced"],
        deferred=pl.when(pl.col("expired")).then(0).otherwise(count["deferred"]),
        expired_recipients=pl.when(pl.col("expired")).then(count["deferred"]).otherwise(0),
    ).with_columns(
        final_status=pl.when(pl.col("rejected"))
        .then(pl.lit("rejected"))
        .when(pl.col("expired"))
        .then(pl.lit("expired"))
        .when(pl.col("recipient_count") == 0)
        .then(pl.when(pl.col("removed")).then(pl.lit("removed")).otherwise(pl.lit("queued")))
        .when(pl.col("delivered") == pl.col("recipient_count"))
        .then(pl.lit("delivered"))
        .when(pl.col("deferred") > 0)
        .then(pl.lit("deferred"))
        .when(pl.col("delivered") == 0)
        .then(pl.lit("bounced"))
        .otherwise(pl.lit("partial")),
        day=pl.col("first_ts").dt.date().cast(pl.String).fill_null(NO_DAY),
    )


def with_cause(messages: pl.DataFrame, rules: RuleSet | None) -> pl.DataFrame:
    """`cause` of each expired message: the reason of its last deferral (null for other messages)."""
    expired = messages.with_row_index("_row").filter(pl.col("expired"))
    causes = classify_cause(expired.select("_row", "cause_dsn", "cause_response"), rules=rules)
    found = causes.select("_row", cause="cause_reason")
    return messages.with_row_index("_row").join(found, on="_row", how="left", maintain_order="left").drop("_row")


def _classified(rows: pl.DataFrame, rules: RuleSet | None) -> pl.DataFrame:
    """Rows with qualification, reason, suppressible and the rule that decided."""
    verdict = classify_frame(rows.select("dsn", "status", "response"), rules=rules)
    return pl.concat([rows, verdict.select("qualification", "reason", "suppressible", "rule")], how="horizontal")


def _deliveries(ev: pl.DataFrame, messages: pl.DataFrame, rules: RuleSet | None) -> pl.DataFrame:
    attempts = ev.filter(pl.col("event") == "delivery").select(
        "gateway",
        "message_key",
        "queue_id",
        "ts",
        recipient="to",
        orig_to="orig_to",
        relay="relay",
        delay="delay",
        delays="delays",
        dsn="dsn",
        status="status",
        response="response",
        file_id="file_id",
        offset="offset",
        line_day="day",
    )
    info = messages.select("message_key", "sender", "sasl_username", "client_ip", "client_host", "message_id", "size")
    rows = attempts.join(info, on="message_key", how="left", maintain_order="left").with_columns(
        sender_domain=_domain("sender"),
        recipient_domain=_domain("recipient"),
    )
    rows = _classified(rows, rules)
    rows = rows.with_columns(provider=provider_of(rows.select("recipient_domain", "relay")))
    return rows.with_columns(day=_day("ts")).drop("line_day")


def _rejects(lines: pl.DataFrame, ev: pl.DataFrame, messages: pl.DataFrame, rules: RuleSet | None) -> pl.DataFrame:
    keyed = ev.filter(REFUSED).select("offset", "message_key")
    refused = lines.filter(REFUSED).join(keyed, on="offset", how="left", maintain_order="left")
    info = messages.select("message_key", sasl="sasl_username", msg_sender="sender")
    rows = (
        refused.join(info, on="message_key", how="left", maintain_order="left")
        .select(
            "gateway",
            "ts",
            "queue_id",
            "message_key",
            "service",
            sender=pl.coalesce("from", "msg_sender"),
            sasl_username="sasl",
            recipient="to",
            client_host="client_host",
            client_ip="client_ip",
            dsn="dsn",
            status="status",
            response="response",
            file_id="file_id",
            offset="offset",
            line_day="day",
        )
        .with_columns(sender_domain=_domain("sender"), recipient_domain=_domain("recipient"))
    )
    return _classified(rows, rules).with_columns(day=_day("ts")).drop("line_day")


def correlate(lines: pl.DataFrame, gateway: str, state: pl.DataFrame, rules: RuleSet | None = None) -> Correlated:
    """Turn one batch of parsed lines of `gateway` (in log order) into lake rows and the next state."""
    lines = normal_addresses(lines, "from", "to", "orig_to")
    ev = _message_events(lines, gateway, state)
    batch = _batch_messages(ev, gateway)
    touched = _merge(state, batch)
    untouched = state.filter(~pl.col("message_key").is_in(batch["message_key"].implode()))
    restarted = ev.filter(pl.col("first_of_queue") & ~pl.col("continues"))["queue_id"]
    latest = lines["ts"].max()
    stale = pl.col("queue_id").is_in(restarted.implode()) & (pl.col("gateway") == gateway)
    if latest is not None:
        stale = stale | (pl.col("last_ts") < latest - STALE_AFTER)
    untouched = untouched.with_columns(removed=pl.col("removed") | stale)
    everything = _link_ndrs(pl.concat([untouched, touched]))
    closed = everything.filter(pl.col("removed"))
    return Correlated(
        deliveries=_deliveries(ev, everything, rules),
        rejects=_rejects(lines, ev, everything, rules),
        messages=with_cause(with_outcome(closed), rules),
        state=everything.filter(~pl.col("removed")),
    )
