"""Every query the dashboards run, as functions of a scoped warehouse.

The pages call only these functions (and the benchmark times exactly them). Each one runs over the
warehouse's scoped views (`deliveries`, `messages`, `rejects`, later `queue`) and never adds a
permission predicate of its own: the Warehouse it is given was built with the signed-in user's Scope.
Every value a person types reaches DuckDB as a named parameter; the only SQL text chosen at run time
is the sort column and direction, both taken from an allow-list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import polars as pl
import pyarrow as pa

STATUSES = ("sent", "deferred", "bounced", "expired")
HIGHLIGHTED_REASONS = ("reputation", "rate_limited", "policy", "auth_policy")
LOG_COLUMNS = (
    "ts", "gateway", "queue_id", "sender", "recipient", "status", "qualification", "reason", "dsn",
    "relay", "delay", "response", "sasl_username", "message_id", "provider", "rule", "message_key",
)
EXPORT_COLUMNS = (*LOG_COLUMNS[:-1], "recipient_domain", "orig_to", "client_ip", "client_host", "size", "delays",
                  "message_key")
SORTS = {  # what a person may sort the Logs by -> the column (never user text in the SQL)
    "ts": "ts", "sender": "sender", "recipient": "recipient", "recipient_domain": "recipient_domain",
    "status": "status", "qualification": "qualification", "reason": "reason", "gateway": "gateway",
    "delay": "delay", "size": "size", "queue_id": "queue_id",
}
MAX_PAGE_SIZE = 1000


class Queryable(Protocol):
    """What the pages need of `warehouse.views.Warehouse`."""

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame: ...

    def batches(self, sql: str, params: dict[str, Any] | None = None, *, rows: int = 65536
                ) -> Iterator[pa.RecordBatch]: ...


@dataclass(frozen=True)
class Period:
    """A half-open UTC time range [start, end) and the chart bucket that suits its length."""

    start: datetime
    end: datetime

    @classmethod
    def last(cls, hours: float, *, now: datetime | None = None) -> Period:
        """The `hours` before now (rounded up to the minute, so reruns hit the same range)."""
        now = (now or datetime.now(UTC)).replace(second=0, microsecond=0) + timedelta(minutes=1)
        return cls(now - timedelta(hours=hours), now)

    @classmethod
    def days(cls, first: date, last: date) -> Period:
        """Whole UTC days from `first` to `last`, both included."""
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
        return cls(start, max(end, start + timedelta(days=1)))

    @property
    def bucket_minutes(self) -> int:
        hours = (self.end - self.start).total_seconds() / 3600
        for limit, minutes in ((3, 5), (12, 15), (48, 60), (8 * 24, 360)):
            if hours <= limit:
                return minutes
        return 1440

    def params(self) -> dict[str, Any]:
        """Bounds on ts, and on the `day` partition so DuckDB skips whole days."""
        return {
            "start": self.start, "end": self.end, "day0": self.start.date(),
            "day1": (self.end - timedelta(microseconds=1)).date(), "minutes": self.bucket_minutes,
        }


PERIOD_SQL = "ts >= $start AND ts < $end AND day BETWEEN $day0 AND $day1"
BUCKET_SQL = "time_bucket(to_minutes(CAST($minutes AS BIGINT)), timezone('UTC', ts))"


def _run(wh: Queryable, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run with exactly the parameters the statement names (DuckDB refuses extra ones)."""
    return wh.query(sql, _used(sql, params))


def _used(sql: str, params: dict[str, Any] | None) -> dict[str, Any]:
    names = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql))
    return {k: v for k, v in (params or {}).items() if k in names}


def _rate(numerator: str, denominator: str = "attempts") -> str:
    return f"round(100.0 * {numerator} / nullif({denominator}, 0), 2)"


def _counts(soft_is_error: bool) -> tuple[str, dict[str, Any]]:
    """Attempt counts by outcome; `errors` counts hard failures, and soft ones when the user says so."""
    sql = (
        "count(*) AS attempts, count(*) FILTER (WHERE status = 'sent') AS sent, "
        "count(*) FILTER (WHERE status = 'deferred') AS deferred, "
        "count(*) FILTER (WHERE status = 'bounced') AS bounced, "
        "count(*) FILTER (WHERE qualification = 'hard' OR ($soft AND qualification = 'soft')) AS errors"
    )
    return sql, {"soft": soft_is_error}


# ---------------------------------------------------------------- Logs


@dataclass(frozen=True)
class LogFilter:
    """The Logs page's filters. Text filters match case-insensitively as substrings, except the
    recipient domain and queue id (exact); list filters keep rows whose value is in the list."""

    period: Period
    sender: str = ""
    recipient: str = ""
    recipient_domain: str = ""
    statuses: tuple[str, ...] = ()
    qualifications: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    sasl_username: str = ""
    queue_id: str = ""
    message_id: str = ""
    text: str = ""

    def where(self) -> tuple[str, dict[str, Any]]:
        """(SQL condition, named parameters) on the deliveries view."""
        terms = [PERIOD_SQL]
        params = self.period.params()
        lowered = (("sender", self.sender), ("recipient", self.recipient), ("sasl_username", self.sasl_username))
        for column, value in lowered:  # the lake stores these lower-cased
            if value.strip():
                terms.append(f"contains({column}, $f_{column})")
                params[f"f_{column}"] = value.strip().lower()
        # Any case: a literal, escaped RE2 pattern (several times faster than lower() on long replies).
        for column, value in (("message_id", self.message_id.strip("<> ")), ("response", self.text)):
            if value.strip():
                terms.append(f"regexp_matches({column}, $f_{column})")
                params[f"f_{column}"] = "(?i)" + re.escape(value.strip())
        if self.recipient_domain.strip():
            terms.append("recipient_domain = $f_recipient_domain")
            params["f_recipient_domain"] = self.recipient_domain.strip().lower().lstrip("@")
        if self.queue_id.strip():
            terms.append("queue_id = $f_queue_id")
            params["f_queue_id"] = self.queue_id.strip().upper()
        lists = (("status", self.statuses), ("qualification", self.qualifications), ("reason", self.reasons),
                 ("gateway", self.gateways))
        for column, values in lists:
            if values:
                terms.append(f"list_contains(CAST($l_{column} AS VARCHAR[]), {column})")
                params[f"l_{column}"] = list(values)
        return " AND ".join(terms), params


def _order(sort: str, descending: bool) -> str:
    if sort not in SORTS:
        raise ValueError(f"cannot sort by {sort!r}")
    direction = "DESC" if descending else "ASC"
    return f"{SORTS[sort]} {direction} NULLS LAST, ts DESC, message_key, recipient"


def log_histogram(wh: Queryable, flt: LogFilter) -> pl.DataFrame:
    """Filtered attempts per time bucket and status (its sum is the size of the filtered result)."""
    where, params = flt.where()
    return _run(
        wh,
        f"SELECT {BUCKET_SQL} AS bucket, status, count(*) AS attempts FROM deliveries "  # noqa: S608
        f"WHERE {where} GROUP BY ALL ORDER BY bucket, status",
        params,
    )


def log_rows(wh: Queryable, flt: LogFilter, *, sort: str = "ts", descending: bool = True, limit: int = 100,
             offset: int = 0) -> pl.DataFrame:
    """One page of the filtered delivery attempts (server-side LIMIT/OFFSET, parameters).

    Two steps (late materialisation): the page is chosen on a few narrow columns, then only its rows'
    wide columns (replies, relays...) are read, from the days and times the page spans."""
    where, params = flt.where()
    params.update(limit=max(1, min(int(limit), MAX_PAGE_SIZE)), offset=max(0, int(offset)))
    if sort not in SORTS:
        raise ValueError(f"cannot sort by {sort!r}")
    column = SORTS[sort]
    narrow = ", ".join(dict.fromkeys(("ts", "message_key", "recipient", "status", column)))
    keys = _run(
        wh,
        f"SELECT {narrow} FROM deliveries WHERE {where} "  # noqa: S608
        f"ORDER BY {_order(sort, descending)} LIMIT $limit OFFSET $offset",
        params,
    ).with_row_index("_order")
    if not keys.height:
        return pl.DataFrame(schema=_log_schema(wh))
    first, last = keys["ts"].min(), keys["ts"].max()
    rows = _run(
        wh,
        f"SELECT {', '.join(LOG_COLUMNS)} FROM deliveries WHERE day BETWEEN $day0 AND $day1 "  # noqa: S608
        "AND ts BETWEEN $first AND $last AND list_contains(CAST($keys AS VARCHAR[]), message_key)",
        {"day0": first.date(), "day1": last.date(), "first": first, "last": last,  # type: ignore[union-attr]
         "keys": keys["message_key"].unique().to_list()},
    )
    on = ["message_key", "recipient", "ts", "status"]
    return (keys.select("_order", *on).join(rows, on=on, how="inner", nulls_equal=True)
            .unique(subset=[*on, "_order"], keep="first", maintain_order=True)
            .sort("_order").select(LOG_COLUMNS).head(len(keys)))


def _log_schema(wh: Queryable) -> dict[str, pl.DataType]:
    """The Logs columns' types (for an empty page)."""
    return dict(_run(wh, f"SELECT {', '.join(LOG_COLUMNS)} FROM deliveries LIMIT 0").schema)  # noqa: S608


def total_of(histogram: pl.DataFrame) -> int:
    """The size of the filtered result, from its histogram."""
    return int(histogram["attempts"].sum()) if histogram.height else 0


def log_export(wh: Queryable, flt: LogFilter, *, sort: str = "ts", descending: bool = True,
               rows: int = 65536) -> Iterator[pa.RecordBatch]:
    """The whole filtered result in the page's order, as Arrow batches (for the streamed CSV)."""
    where, params = flt.where()
    sql = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM deliveries WHERE {where} ORDER BY {_order(sort, descending)}"  # noqa: S608
    return wh.batches(sql, _used(sql, params), rows=rows)


def gateways(wh: Queryable, period: Period) -> list[str]:
    """Gateways with traffic visible to this user in the period (options of the gateway filter)."""
    frame = _run(wh, "SELECT DISTINCT gateway FROM deliveries WHERE day BETWEEN $day0 AND $day1 "
                 "ORDER BY gateway", period.params())
    return [g for g in frame["gateway"].to_list() if g]


# ---------------------------------------------------------------- Overview


@dataclass(frozen=True)
class Overview:
    """Totals over the period and the same counts by time, gateway, sender and recipient domain."""

    totals: dict[str, int]
    timeline: pl.DataFrame
    by_gateway: pl.DataFrame
    top_senders: pl.DataFrame
    top_domains: pl.DataFrame

    @property
    def error_rate(self) -> float | None:
        attempts = self.totals.get("attempts", 0)
        return None if not attempts else round(100.0 * self.totals.get("errors", 0) / attempts, 2)


def overview(wh: Queryable, period: Period, *, soft_is_error: bool, top: int = 10) -> Overview:
    """One scan of the period's deliveries grouped four ways (GROUPING SETS), plus expired recipients."""
    counts, params = _counts(soft_is_error)
    params.update(period.params())
    grouped = _run(
        wh,
        f"SELECT GROUPING(bucket, status, gateway, sender, recipient_domain) AS g, bucket, status, gateway, "  # noqa: S608
        f"sender, recipient_domain, {counts} FROM "
        f"(SELECT *, {BUCKET_SQL} AS bucket FROM deliveries WHERE {PERIOD_SQL}) "
        "GROUP BY GROUPING SETS ((bucket, status), (gateway), (sender), (recipient_domain), ())",
        params,
    )
    expired = _run(
        wh,
        "SELECT coalesce(sum(expired_recipients), 0) AS expired FROM messages "
        "WHERE expired AND last_ts >= $start AND last_ts < $end",
        {"start": period.start, "end": period.end},
    )["expired"][0]

    def part(mask: int, keys: list[str]) -> pl.DataFrame:
        frame = grouped.filter(pl.col("g") == mask).select(
            *keys, "attempts", "sent", "deferred", "bounced", "errors")
        return frame.with_columns(error_rate=(100.0 * pl.col("errors") / pl.col("attempts")).round(2))

    # GROUPING() sets a bit for each column NOT grouped, first argument = highest bit.
    total = grouped.filter(pl.col("g") == 0b11111)
    totals = {k: int(total[k][0] or 0) if total.height else 0
              for k in ("attempts", "sent", "deferred", "bounced", "errors")}
    totals["expired"] = int(expired or 0)
    timeline = grouped.filter(pl.col("g") == 0b00111).select("bucket", "status", "attempts").sort("bucket")
    by_gateway = part(0b11011, ["gateway"]).sort("attempts", descending=True)
    senders = part(0b11101, ["sender"]).sort("attempts", "sender", descending=[True, False]).head(top)
    senders = senders.with_columns(sender=pl.when(pl.col("sender") == "").then(pl.lit("<>")).otherwise("sender"))
    domains = part(0b11110, ["recipient_domain"]).sort("attempts", "recipient_domain",
                                                       descending=[True, False]).head(top)
    return Overview(totals, timeline, by_gateway, senders, domains)


# ---------------------------------------------------------------- Message detail


@dataclass
class MessageDetail:
    """Everything known about one message, if it is inside the caller's scope; `linked`: which of its
    notice (ndr_key) and original (ndr_of) the caller may open."""

    message: dict[str, Any] | None
    attempts: pl.DataFrame
    rejects: pl.DataFrame
    lines: pl.DataFrame
    timeline: pl.DataFrame = field(default_factory=pl.DataFrame)
    linked: frozenset[str] = frozenset()


def find_messages(wh: Queryable, text: str, *, limit: int = 50) -> pl.DataFrame:
    """Messages whose queue id or Message-ID is `text` (the detail page's search box)."""
    value = text.strip().strip("<>")
    return _run(
        wh,
        "SELECT message_key, gateway, queue_id, first_ts, sender, message_id, recipient_count, final_status "
        "FROM messages WHERE queue_id = upper($value) OR message_id = $value OR message_key = $value "
        "ORDER BY first_ts DESC LIMIT $limit",
        {"value": value, "limit": limit},
    )


def message_detail(wh: Any, message_key: str) -> MessageDetail:
    """The message row, its delivery attempts and rejects, its raw lines and one time-ordered timeline."""
    found = _run(wh, "SELECT * FROM messages WHERE message_key = $key ORDER BY last_ts DESC LIMIT 1",
                     {"key": message_key})
    if not found.height:
        empty = pl.DataFrame()
        return MessageDetail(None, empty, empty, empty)
    message = found.row(0, named=True)
    attempts = _run(
        wh,
        "SELECT ts, recipient, orig_to, relay, delay, delays, dsn, status, response, qualification, reason, "
        "suppressible, rule, provider FROM deliveries WHERE message_key = $key ORDER BY ts, recipient",
        {"key": message_key},
    )
    rejects = _run(
        wh,
        "SELECT ts, recipient, dsn, status, response, qualification, reason, rule FROM rejects "
        "WHERE message_key = $key ORDER BY ts", {"key": message_key},
    )
    lines = wh.message_lines(message_key)
    if lines.height:  # rotated files: the warehouse orders by file, the reader wants time (then file order)
        lines = lines.sort("ts", "file_id", "offset", nulls_last=True, maintain_order=True)
    links = [k for k in (message.get("ndr_key"), message.get("ndr_of")) if k]
    linked = frozenset(_run(wh, "SELECT message_key FROM messages WHERE list_contains(CAST($keys AS VARCHAR[]), "
                                "message_key)", {"keys": links})["message_key"]) if links else frozenset()
    return MessageDetail(message, attempts, rejects, lines, _timeline(message, attempts, rejects, lines), linked)


def _timeline(message: dict[str, Any], attempts: pl.DataFrame, rejects: pl.DataFrame, lines: pl.DataFrame
              ) -> pl.DataFrame:
    """Received, each attempt (numbered per recipient: retries), rejects, expiry and removal, by time."""
    schema = {"ts": pl.Datetime("us", "UTC"), "event": pl.String, "recipient": pl.String, "attempt": pl.Int64,
              "status": pl.String, "dsn": pl.String, "qualification": pl.String, "reason": pl.String,
              "rule": pl.String, "relay": pl.String, "reply": pl.String}
    first, last = message.get("first_ts"), message.get("last_ts")
    events: list[dict[str, Any]] = [{"ts": first, "event": "received"}]
    if attempts.height:
        numbered = attempts.with_columns(attempt=pl.int_range(1, pl.len() + 1).over("recipient"))
        events += [{"ts": r["ts"], "event": "attempt", "recipient": r["recipient"], "attempt": r["attempt"],
                    "status": r["status"], "dsn": r["dsn"], "qualification": r["qualification"],
                    "reason": r["reason"], "rule": r["rule"], "relay": r["relay"], "reply": r["response"]}
                   for r in numbered.iter_rows(named=True)]
    events += [{"ts": r["ts"], "event": "reject", "recipient": r["recipient"], "status": r["status"],
                "dsn": r["dsn"], "qualification": r["qualification"], "reason": r["reason"],
                "rule": r["rule"], "reply": r["response"]} for r in rejects.iter_rows(named=True)]
    # The notice, expiry and removal carry their own time in the raw lines; without lines, the last one seen.
    logged = {e: ts for ts, e in lines.select("ts", "event").iter_rows()} if lines.height else {}
    if message.get("ndr_queue_id"):
        events.append({"ts": logged.get("ndr", last), "event": "ndr", "reply": message["ndr_queue_id"]})
    if message.get("expired"):
        events.append({"ts": logged.get("expired", last), "event": "expired"})
    if message.get("removed"):
        events.append({"ts": logged.get("removed", last), "event": "removed"})
    order = {"received": 0, "attempt": 1, "reject": 1, "ndr": 2, "expired": 3, "removed": 4}
    frame = pl.DataFrame([{k: e.get(k) for k in schema} for e in events], schema=schema, orient="row")
    return frame.with_columns(_o=pl.col("event").replace_strict(order, return_dtype=pl.Int64)).sort(
        "ts", "_o", nulls_last=True, maintain_order=True).drop("_o")


# ---------------------------------------------------------------- Bounces


@dataclass(frozen=True)
class Bounces:
    """Failures over time by qualification and reason, and where they come from."""

    timeline: pl.DataFrame
    domains: pl.DataFrame
    providers: pl.DataFrame
    provider_reasons: pl.DataFrame
    unknown_recipients: pl.DataFrame


def bounces(wh: Queryable, period: Period, *, top: int = 15, repeated: int = 2) -> Bounces:
    """Failed attempts (soft, hard, unknown) of the period, by time, domain, provider and reason; and
    recipients refused as unknown in `repeated` or more messages (candidates for suppression)."""
    params = period.params()
    failed = "qualification IN ('soft', 'hard', 'unknown')"
    timeline = _run(
        wh,
        f"SELECT {BUCKET_SQL} AS bucket, qualification, reason, count(*) AS attempts FROM deliveries "  # noqa: S608
        f"WHERE {PERIOD_SQL} AND {failed} GROUP BY ALL ORDER BY bucket", params)

    def top_by(column: str) -> pl.DataFrame:
        return _run(
        wh,
            f"SELECT {column}, count(*) AS attempts, count(*) FILTER (WHERE {failed}) AS failures, "  # noqa: S608
            f"count(*) FILTER (WHERE qualification = 'hard') AS hard, "
            f"{_rate(f'count(*) FILTER (WHERE {failed})', 'count(*)')} AS failure_rate "
            f"FROM deliveries WHERE {PERIOD_SQL} GROUP BY {column} HAVING failures > 0 "
            f"ORDER BY failures DESC, {column} LIMIT $top", {**params, "top": top})

    provider_reasons = _run(
        wh,
        f"SELECT provider, reason, count(*) AS attempts FROM deliveries WHERE {PERIOD_SQL} AND {failed} "  # noqa: S608
        "GROUP BY ALL ORDER BY provider, attempts DESC", params)
    unknown = _run(
        wh,
        f"SELECT recipient, count(DISTINCT message_key) AS messages, count(*) AS attempts, "  # noqa: S608
        "count(DISTINCT sender) AS senders, min(ts) AS first_seen, max(ts) AS last_seen, "
        "any_value(response) AS reply FROM deliveries "
        f"WHERE {PERIOD_SQL} AND reason = 'user_unknown' GROUP BY recipient "
        "HAVING count(DISTINCT message_key) >= $repeated ORDER BY messages DESC, recipient LIMIT 500",
        {**params, "repeated": repeated})
    return Bounces(timeline, top_by("recipient_domain"), top_by("provider"), provider_reasons, unknown)


# ---------------------------------------------------------------- Reputation


@dataclass(frozen=True)
class Reputation:
    """Acceptance, deferral and reject rates per gateway x receiving provider, in total and over time."""

    table: pl.DataFrame
    timeline: pl.DataFrame


def reputation(wh: Queryable, period: Period) -> Reputation:
    """Rates per gateway x provider; counts of the reasons that point at the sending IP's standing."""
    params = period.params()
    params["highlighted"] = list(HIGHLIGHTED_REASONS)
    highlighted = ", ".join(f"count(*) FILTER (WHERE reason = '{r}') AS {r}" for r in HIGHLIGHTED_REASONS)
    rates = (f"{_rate('sent')} AS accepted_rate, {_rate('deferred')} AS deferred_rate, "
             f"{_rate('bounced')} AS rejected_rate")
    base = ("count(*) AS attempts, count(*) FILTER (WHERE status = 'sent') AS sent, "
            "count(*) FILTER (WHERE status = 'deferred') AS deferred, "
            "count(*) FILTER (WHERE status = 'bounced') AS bounced")
    table = _run(
        wh,
        f"SELECT *, {rates} FROM (SELECT gateway, provider, {base}, {highlighted}, "  # noqa: S608
        "count(*) FILTER (WHERE list_contains(CAST($highlighted AS VARCHAR[]), reason)) AS flagged "
        f"FROM deliveries WHERE {PERIOD_SQL} GROUP BY gateway, provider) "
        "ORDER BY attempts DESC, gateway, provider", params)
    timeline = _run(
        wh,
        f"SELECT *, {rates} FROM (SELECT {BUCKET_SQL} AS bucket, gateway, "  # noqa: S608
        f"provider, {base}, count(*) FILTER (WHERE list_contains(CAST($highlighted AS VARCHAR[]), reason)) "
        f"AS flagged FROM deliveries WHERE {PERIOD_SQL} GROUP BY ALL) ORDER BY bucket", params)
    return Reputation(table, timeline)


# ---------------------------------------------------------------- Queue


@dataclass(frozen=True)
class QueueView:
    """The newest snapshot per gateway, its messages, grouped delay reasons and the size over time."""

    summary: pl.DataFrame
    messages: pl.DataFrame
    reasons: pl.DataFrame
    history: pl.DataFrame


def queue(wh: Queryable, period: Period) -> QueueView:
    """The newest snapshot of each gateway (an empty newest snapshot means an empty queue, not the
    previous one) and the queue size over time, zeros included, from the scoped queue views."""
    latest = ("WITH latest AS (SELECT gateway, max(snapshot_ts) AS snapshot_ts FROM queue_snapshots "
              "GROUP BY gateway), q AS (SELECT queue.* FROM queue JOIN latest USING (gateway, snapshot_ts))")
    summary = _run(
        wh,
        f"{latest} SELECT gateway, snapshot_ts, count(*) AS messages, sum(len(recipients)) AS recipients, "  # noqa: S608
        "sum(message_size) AS bytes, max(date_diff('second', arrival_time, snapshot_ts)) / 3600 AS oldest_hours "
        "FROM q GROUP BY ALL ORDER BY gateway")
    messages = _run(
        wh,
        f"{latest} SELECT gateway, queue_name, queue_id, arrival_time, "  # noqa: S608
        "date_diff('second', arrival_time, snapshot_ts) / 3600 AS age_hours, message_size, sender, recipients, "
        "delay_reasons FROM q ORDER BY arrival_time LIMIT 5000")
    reasons = _run(  # the same reason from different MX addresses counts once: addresses are masked
        wh,
        f"{latest} SELECT gateway, regexp_replace(reason, '\\[[0-9A-Fa-f.:]+\\]', '[...]', 'g') AS reason, "  # noqa: S608
        "count(*) AS recipients FROM (SELECT gateway, unnest(delay_reasons) AS reason FROM q) "
        "WHERE reason IS NOT NULL GROUP BY ALL ORDER BY recipients DESC LIMIT 200")
    history = _run(
        wh,
        "SELECT snapshot_ts, gateway, messages FROM queue_snapshots "
        "WHERE snapshot_ts >= $start AND snapshot_ts < $end ORDER BY snapshot_ts, gateway",
        {"start": period.start, "end": period.end})
    return QueueView(summary, messages, reasons, history)

