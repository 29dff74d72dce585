"""The `delivery_hours` rollup: what the pipeline, reclassify and compact keep in it equals the deliveries
counted afresh, and the Overview read from it equals the Overview read from `deliveries`, for any scope."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acl import Scope
from warehouse import Period, compact, overview, rebuild_rollups, reclassify
from warehouse.correlate import Correlated, correlate, empty_state
from warehouse.lake import Lake
from warehouse.parse import parse_lines
from warehouse.pipeline import IngestStats, ingest, write_derived
from warehouse.queries.overview import Overview
from warehouse.rollups import ROLLUP, roll_up
from warehouse.views import Warehouse

DATA = Path(__file__).parent / "data"
START = datetime(2026, 11, 20, tzinfo=UTC)
DAYS = 4
GATEWAYS = ("gw1", "gw2", "gw3")
DOMAINS = ("example.com", "examp1e.com", "example.com.evil", "sub.example.com", "xn--exmple-cua.com", "other.org")
LOCALS = ("alice", "bob", "news")
SASL = ("alice@example.com", "shop", None)
RECIPIENT_DOMAINS = ("gmail.com", "orange.fr", "example.com", "yahoo.fr")
OUTCOMES = (
    ("sent", "success", "delivered", "2.0.0", "250 2.0.0 OK"),
    ("deferred", "soft", "greylisted", "4.7.1", "450 4.7.1 greylisted, try again later"),
    ("deferred", "soft", "network", "4.4.1", "connect to mx: Connection timed out"),
    ("bounced", "hard", "user_unknown", "5.1.1", "550 5.1.1 user unknown"),
    ("bounced", "hard", "spam_content", "5.7.1", "550 5.7.1 message looks like spam"),
    ("bounced", "unknown", "other", "5.0.0", "554 5.0.0 huh"),
)


MINUTES = st.sampled_from((0, 6, 7, 8, 30, 58, 59))
"""Minutes in the hour of rows and period bounds: often the same, so rows fall on and around the edges."""
SECONDS = st.sampled_from((0, 0, 1, 59))


@st.composite
def deliveries(draw: st.DrawFn) -> pl.DataFrame:
    """A few dozen delivery rows over several days, gateways, senders, logins and outcomes."""
    n = draw(st.integers(min_value=1, max_value=80))
    rows: list[dict[str, Any]] = []
    for _ in range(n):
        domain = draw(st.sampled_from(DOMAINS))
        sender = draw(st.sampled_from([*(f"{local}@{domain}" for local in LOCALS), ""]))
        status, qualification, reason, dsn, response = draw(st.sampled_from(OUTCOMES))
        ts = START + timedelta(hours=draw(st.integers(0, DAYS * 24 - 1)), minutes=draw(MINUTES), seconds=draw(SECONDS))
        recipient_domain = draw(st.sampled_from(RECIPIENT_DOMAINS))
        rows.append(
            {
                "gateway": draw(st.sampled_from(GATEWAYS)),
                "ts": ts,
                "sender": sender,
                "sender_domain": sender.partition("@")[2] or None,
                "sasl_username": draw(st.sampled_from(SASL)),
                "recipient": f"rcpt@{recipient_domain}",
                "recipient_domain": recipient_domain,
                "provider": draw(st.sampled_from(("gmail", "orange", None))),
                "status": status,
                "qualification": qualification,
                "reason": reason,
                "dsn": dsn,
                "response": response,
                "day": ts.date().isoformat(),
            }
        )
    return pl.DataFrame(rows, schema_overrides={"ts": pl.Datetime("us", "UTC")})


@st.composite
def scopes(draw: st.DrawFn) -> Scope:
    """Root, nothing, or a union of sender, domain (with or without subdomains), login and gateway grants."""
    if draw(st.booleans()):
        return draw(st.sampled_from((Scope.root(), Scope.nothing())))
    domains = draw(st.frozensets(st.sampled_from(DOMAINS), max_size=2))
    return Scope(
        senders=draw(st.frozensets(st.sampled_from([f"{lo}@{d}" for lo in LOCALS for d in DOMAINS]), max_size=2)),
        domains=domains,
        subtrees=draw(st.frozensets(st.sampled_from(sorted(domains)), max_size=2)) if domains else frozenset(),
        sasl=draw(st.frozensets(st.sampled_from([s for s in SASL if s]), max_size=1)),
        gateways=draw(st.frozensets(st.sampled_from(GATEWAYS), max_size=1)),
    )


@st.composite
def periods(draw: st.DrawFn) -> Period:
    """Periods longer than 12 hours (hour buckets or wider), hour-aligned or not, inside or across the data."""
    start = START + timedelta(hours=draw(st.integers(-6, DAYS * 24)), minutes=draw(MINUTES))
    length = timedelta(hours=draw(st.integers(13, 24 * (DAYS + 1))), minutes=draw(MINUTES))
    return Period(start, start + length)


def nothing_correlated() -> Correlated:
    """What correlating no line gives: every derived table's exact schema, with no row."""
    lines = parse_lines(pl.Series("line", [], dtype=pl.String), reference=START).with_columns(
        gateway=pl.lit("", pl.String),
        file_id=pl.lit("", pl.String),
        offset=pl.lit(0, pl.Int64),
        line=pl.lit("", pl.String),
        day=pl.lit("", pl.String),
    )
    return correlate(lines.clear(), "", empty_state())


def commit_in_batches(lake: Lake, rows: pl.DataFrame, batches: int) -> None:
    """Write the rows as the pipeline does, one deliveries commit per batch (and the rollup after each)."""
    empty = nothing_correlated()
    schema = empty.deliveries.schema
    full = rows.with_columns(pl.lit(None, dtype).alias(c) for c, dtype in schema.items() if c not in rows.columns)
    full = full.select(schema.keys()).cast(dict(schema))
    size = -(-full.height // batches)
    for version, start in enumerate(range(0, full.height, size)):
        result = Correlated(full.slice(start, size), empty.rejects, empty.messages, empty.state)
        write_derived(lake, version, result, IngestStats())


class FromDeliveries:
    """The same warehouse seen without its rollup: the reference the Overview must equal."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.query = warehouse.query
        self.batches = warehouse.batches


def same_overview(got: Overview, want: Overview) -> None:
    assert got.totals == want.totals
    for name in ("timeline", "by_gateway", "top_senders", "top_domains"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.schema == b.schema, name
        assert a.sort(a.columns).equals(b.sort(b.columns)), name


def rollup_is_recount(lake: Lake) -> None:
    """The maintained rollup holds exactly what counting the current deliveries gives."""
    kept = pl.read_delta(str(lake.path(ROLLUP)))
    fresh = roll_up(pl.scan_delta(str(lake.path("deliveries"))))
    order = list(fresh.columns)
    assert kept.select(order).sort(order, nulls_last=True).equals(fresh.sort(order, nulls_last=True))


def check(lake: Lake, scope: Scope, period: Period) -> None:
    rollup_is_recount(lake)
    warehouse = Warehouse(lake, scope)
    try:
        assert warehouse.rollups_current()
        for soft in (False, True):
            same_overview(
                overview(warehouse, period, soft_is_error=soft, top=3),
                overview(FromDeliveries(warehouse), period, soft_is_error=soft, top=3),
            )
    finally:
        warehouse.close()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=deliveries(), batches=st.integers(1, 4), scope=scopes(), period=periods())
def test_overview_from_rollups_equals_overview_from_deliveries_also_after_reclassify_and_compact(
    rows: pl.DataFrame, batches: int, scope: Scope, period: Period
) -> None:
    root = Path(tempfile.mkdtemp(prefix="rollups-"))
    try:
        lake = Lake(root / "lake")
        commit_in_batches(lake, rows, batches)
        check(lake, scope, period)
        reclassify(lake)  # the generated verdicts are not the rules' verdicts: days get rewritten
        check(lake, scope, period)
        compact(lake)
        check(lake, scope, period)
    finally:
        shutil.rmtree(root)


def test_ingest_keeps_the_rollup_equal_to_a_recount_and_a_rebuild_gives_the_same(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    for gateway, name in (("gw1", "gw1-day1.log"), ("gw1", "gw1-day2.log"), ("gw2", "gw1-day1.log")):
        shutil.copy(DATA / name, tmp_path / f"{gateway}-{name}")
        ingest(lake, gateway, tmp_path / f"{gateway}-{name}", chunk_bytes=512)
    rollup_is_recount(lake)
    kept = pl.read_delta(str(lake.path(ROLLUP)))
    assert kept["attempts"].sum() == pl.read_delta(str(lake.path("deliveries")))["ts"].count()
    shutil.copytree(tmp_path / "lake", tmp_path / "home" / "lake")
    rebuild_rollups(tmp_path / "home")
    rebuilt = pl.read_delta(str(tmp_path / "home" / "lake" / ROLLUP))
    assert rebuilt.sort(rebuilt.columns, nulls_last=True).equals(kept.sort(kept.columns, nulls_last=True))


def test_overview_reads_deliveries_while_the_rollup_is_behind_them(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    rows = pl.DataFrame({"ts": [START], "status": ["sent"]}, schema_overrides={"ts": pl.Datetime("us", "UTC")})
    commit_in_batches(lake, rows.with_columns(day=pl.lit(START.date().isoformat())), 1)
    extra = nothing_correlated().deliveries.schema
    more = pl.DataFrame({"ts": [START + timedelta(hours=1)], "status": ["bounced"], "day": [START.date().isoformat()]})
    more = more.cast({"ts": pl.Datetime("us", "UTC")})
    full = more.with_columns(pl.lit(None, t).alias(c) for c, t in extra.items() if c not in more.columns)
    lake.append("deliveries", full.select(extra.keys()).cast(dict(extra)), app_id="around", app_version=1)
    warehouse = Warehouse(lake, Scope.root())
    try:
        assert not warehouse.rollups_current()
        figures = overview(warehouse, Period(START, START + timedelta(days=1)), soft_is_error=False)
        assert (figures.totals["attempts"], figures.totals["bounced"]) == (2, 1)
    finally:
        warehouse.close()
