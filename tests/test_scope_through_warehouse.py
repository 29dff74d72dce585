"""The one row filter, end to end: random users with random grants, random filters, through the public
query API (`Warehouse` over a real lake), never see a row outside their grants.

Besides the generated traffic the lake holds the senders a careless filter would leak: look-alike and
suffix-sharing domains (`evilexample.com`, `example.com.evil.org` for `example.com`), subdomains, an IDN
domain logged as its U-label and as its A-label, capitals and a trailing dot, SASL logins that differ by
a LIKE wildcard, and queue snapshots of all of them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from acl import USER, Scope, User, make_grant, scope_for
from ingest import QUEUE_SCHEMA
from relaywatch.loggen import generate
from warehouse import PUBLIC_VIEWS, Lake, Warehouse, ingest

GATEWAYS = ["gw-a", "gw-b", "gw-c"]
TRICKY_SENDERS = [
    ("b@example.com", "alice"),
    ("c@sub.example.com", "alice_"),
    ("d@EXAMPLE.com.", "alicex"),
    ("x@evilexample.com", "al%ce"),
    ("y@example.com.evil.org", None),
    ("z@notexample.com", "bob"),
    ("u@bücher.example", "bob"),
    ("v@xn--bcher-kva.example", None),
    ("w@sub.bücher.example", "Bob"),
]
TRICKY_DOMAINS = [
    "example.com",
    "sub.example.com",
    "xample.com",
    "com",
    "bücher.example",
    "xn--bcher-kva.example",
    "evilexample.com",
    "example.com.evil.org",
]
TRICKY_SASL = ["alice", "alice_", "al_ce", "al%ce", "bob"]


def tricky_log() -> str:
    """One message per tricky sender on gateway gw-c (classic syslog lines, today)."""
    day = datetime.now(UTC).strftime("%b %d").replace(" 0", "  ")
    lines = []
    for n, (sender, sasl) in enumerate(TRICKY_SENDERS):
        qid = f"C{n:09X}"
        login = f", sasl_method=PLAIN, sasl_username={sasl}" if sasl else ""
        lines += [
            f"{day} 09:00:{n:02d} gw-c postfix/smtpd[1]: {qid}: client=c.example[192.0.2.1]{login}",
            f"{day} 09:00:{n:02d} gw-c postfix/qmgr[2]: {qid}: from=<{sender}>, size=100, nrcpt=1 (queue active)",
            f"{day} 09:00:{n:02d} gw-c postfix/smtp[3]: {qid}: to=<r{n}@dest.example>, relay=mx.dest.example"
            "[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 OK)",
            f"{day} 09:01:{n:02d} gw-c postfix/smtpd[1]: NOQUEUE: reject: RCPT from c.example[192.0.2.1]: 554 5.7.1"
            f" <s{n}@dest.example>: Relay access denied; from=<{sender}> to=<s{n}@dest.example> proto=ESMTP"
            " helo=<c.example>",
        ]
    return "\n".join(lines) + "\n"


def tricky_queue(lake: Lake) -> None:
    """A queue snapshot of gw-c holding one message of each tricky sender."""
    now = datetime.now(UTC)
    rows = pl.DataFrame(
        {
            "snapshot_ts": [now] * len(TRICKY_SENDERS),
            "gateway": ["gw-c"] * len(TRICKY_SENDERS),
            "queue_name": ["deferred"] * len(TRICKY_SENDERS),
            "queue_id": [f"Q{n:09X}" for n in range(len(TRICKY_SENDERS))],
            "arrival_time": [now] * len(TRICKY_SENDERS),
            "message_size": [100] * len(TRICKY_SENDERS),
            "sender": [sender for sender, _ in TRICKY_SENDERS],
            "recipients": [["r@dest.example"]] * len(TRICKY_SENDERS),
            "delay_reasons": [["connect timed out"]] * len(TRICKY_SENDERS),
        },
        schema=QUEUE_SCHEMA,
    )
    lake.commit_queue("gw-c", rows, at=now)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("scope")
    logs = root / "logs"
    generate(
        None,
        days=1,
        gateways=GATEWAYS[:2],
        seed=7,
        start=datetime(2026, 11, 20, tzinfo=UTC),
        per_gateway_dir=logs,
        messages_per_day=400,
    )
    (logs / "gw-c.log").write_text(tricky_log(), encoding="utf-8")
    lake = Lake(root / "lake")
    for gateway in GATEWAYS:
        ingest(lake, gateway, logs / f"{gateway}.log")
    tricky_queue(lake)
    return lake


@pytest.fixture(scope="module")
def everything(lake: Lake) -> dict[str, pl.DataFrame]:
    root = Warehouse(lake, Scope.root())
    return {view: root.query(f"SELECT * FROM {view}") for view in PUBLIC_VIEWS if view != "queue_snapshots"}


def allowed(row: dict, grants: list[tuple[str, str, bool]]) -> bool:
    """Reference semantics of grants, in plain Python, over the normal forms the lake and grants store
    (lower case, no trailing dot, A-label domains: tests/test_names.py checks both sides of that)."""
    for kind, value, subdomains in ((k, make_grant(k, v, s).value, s) for k, v, s in grants):
        domain = row.get("sender_domain") or ""
        if kind == "sender" and row.get("sender") == value:
            return True
        if kind == "domain" and (domain == value or (subdomains and domain.endswith("." + value))):
            return True
        if kind == "sasl" and row.get("sasl_username") == value:
            return True
        if kind == "gateway" and row.get("gateway") == value:
            return True
    return False


TRICKY = {"domain": TRICKY_DOMAINS, "sasl": TRICKY_SASL, "sender": [s for s, _ in TRICKY_SENDERS]}
FILTER_COLUMN = {"deliveries": "status", "rejects": "reason", "messages": "final_status", "queue": "queue_name"}


@st.composite
def grants_and_filter(draw: st.DrawFn, values: dict[str, list[str]]) -> tuple[list, str, str]:
    kinds = draw(st.lists(st.sampled_from(["sender", "domain", "sasl", "gateway"]), max_size=4))
    grants = []
    for kind in kinds:
        tricky = TRICKY.get(kind)
        use_tricky = tricky and draw(st.integers(0, 3)) > 0  # three times in four: where leaks hide
        value = draw(st.sampled_from(tricky if use_tricky else values[kind]))
        grants.append((kind, value, kind == "domain" and draw(st.booleans())))
    view = draw(st.sampled_from(["deliveries", "rejects", "messages", "queue"]))
    column = FILTER_COLUMN[view]
    choice = draw(st.just("%") | st.sampled_from(sorted(values[column])))
    return grants, view, choice


def test_every_scoped_view_is_filtered(lake: Lake, everything: dict[str, pl.DataFrame]) -> None:
    """Each public view, for a user granted one domain, holds exactly root's rows of that domain."""
    user = User(1, "u", USER, grants=(make_grant("domain", "example.com"),))
    warehouse = Warehouse(lake, scope_for(user))
    for view in PUBLIC_VIEWS:
        got = warehouse.query(f"SELECT * FROM {view}")
        if view == "queue_snapshots":
            queued = everything["queue"].filter(pl.col("sender_domain") == "example.com")
            assert got["messages"].sum() == queued.height == 2, view
            continue
        expected = everything[view].filter(pl.col("sender_domain") == "example.com")
        assert got.height == expected.height, view
        assert set(got["sender_domain"]) <= {"example.com"}, view
        assert got.height > 0 or view in ("complaints", "blacklist"), f"{view}: the lake holds rows for this test"


def test_random_grants_and_filters_never_leak_a_row(lake: Lake, everything: dict[str, pl.DataFrame]) -> None:
    deliveries = everything["deliveries"]
    values = {
        "sender": deliveries.filter(pl.col("sender") != "")["sender"].unique().sort().to_list()[:40]
        + ["nobody@nowhere.example"],
        "domain": deliveries["sender_domain"].drop_nulls().unique().sort().to_list()[:40] + TRICKY_DOMAINS,
        "sasl": deliveries["sasl_username"].drop_nulls().unique().sort().to_list()[:20] + TRICKY_SASL,
        "gateway": [*GATEWAYS, "GW-C"],
        "status": deliveries["status"].unique().to_list(),
        "reason": everything["rejects"]["reason"].unique().to_list(),
        "final_status": everything["messages"]["final_status"].unique().to_list(),
        "queue_name": ["deferred", "active"],
    }
    values["sender"] += [sender for sender, _ in TRICKY_SENDERS]
    counter = itertools.count()

    @settings(max_examples=80, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(grants_and_filter(values))
    # besides the drawn cases, always the look-alikes (a suffix without its dot, a LIKE wildcard, IDN):
    # 80 derandomised draws did not happen to pair a subtree grant of example.com with evilexample.com
    @example(([("domain", "example.com", True)], "deliveries", "%"))
    @example(([("domain", "example.com", True)], "queue", "%"))
    @example(([("domain", "xample.com", True)], "messages", "%"))
    @example(([("domain", "example.com", False)], "rejects", "%"))
    @example(([("domain", "bücher.example", True)], "deliveries", "%"))
    @example(([("sasl", "al_ce", False)], "deliveries", "%"))
    @example(([("sender", "d@example.com", False)], "messages", "%"))
    def check(case: tuple[list, str, str]) -> None:
        grants, view, choice = case
        user = User(next(counter), "u", USER, grants=tuple(make_grant(k, v, s) for k, v, s in grants))
        column = FILTER_COLUMN[view]
        warehouse = Warehouse(lake, scope_for(user))
        try:
            got = warehouse.query(f"SELECT * FROM {view} WHERE {column} LIKE $choice", {"choice": choice})
        finally:
            warehouse.close()
        reference = everything[view].filter(
            pl.col(column).cast(pl.String).str.contains("^" + choice.replace("%", ".*") + "$")
        )
        expected = [r for r in reference.iter_rows(named=True) if allowed(r, grants)]
        assert got.height == len(expected)
        assert all(allowed(r, grants) for r in got.iter_rows(named=True))
        if not grants:
            assert got.height == 0

    check()


@pytest.mark.parametrize("subdomains", [False, True])
@pytest.mark.parametrize("domain", TRICKY_DOMAINS)
def test_look_alike_and_suffix_sharing_domains_never_leak(
    lake: Lake, everything: dict[str, pl.DataFrame], domain: str, subdomains: bool
) -> None:
    user = User(1, "u", USER, grants=(make_grant("domain", domain, subdomains),))
    got = Warehouse(lake, scope_for(user)).query("SELECT sender FROM deliveries ORDER BY sender")["sender"]
    grants = [("domain", domain, subdomains)]
    expected = sorted(r["sender"] for r in everything["deliveries"].iter_rows(named=True) if allowed(r, grants))
    assert got.to_list() == expected


def test_a_user_with_no_grant_gets_zero_rows_in_every_view(lake: Lake) -> None:
    warehouse = Warehouse(lake, scope_for(User(1, "nobody", USER)))
    for view in PUBLIC_VIEWS:
        assert warehouse.query(f"SELECT count(*) AS n FROM {view}")["n"][0] == 0, view


def test_root_sees_everything(lake: Lake, everything: dict[str, pl.DataFrame]) -> None:
    """Root's views hold every row of the lake's tables (read here directly from the Delta tables)."""
    for view in ("deliveries", "rejects"):
        stored = pl.read_delta(str(lake.root / view))
        assert everything[view].height == stored.height > 0, view
    stored_messages = (
        pl.read_delta(str(lake.root / "messages")).height + pl.read_delta(str(lake.root / "messages_open")).height
    )
    assert everything["messages"].height == stored_messages
    assert everything["queue"].height == len(TRICKY_SENDERS)
