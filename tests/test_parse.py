"""Behaviour of the Postfix log parser (warehouse.parse)."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse import parse
from warehouse.parse import SCHEMA, parse_counts, parse_lines

DATA = Path(__file__).parent / "data" / "postfix_lines.tsv"
REFERENCE = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HEADER_FIELDS = ("host", "syslog_name", "service", "pid")
# An independent reading of the syslog header, to check the header fields of every data line.
HEADER = re.compile(
    r"^(?:[A-Z][a-z]{2} +\d+ [\d:]+|\d{4}-\d\d-\d\dT\S+) (?P<host>\S+) "
    r"(?P<syslog_name>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: "
)


def _rows() -> list[tuple[str, str, dict]]:
    rows = []
    for raw in DATA.read_text(encoding="utf-8").splitlines():
        if raw and not raw.startswith("#"):
            source, line, expected = raw.split("\t")
            rows.append((source, line, json.loads(expected)))
    return rows


ROWS = _rows()


def _parse(lines: list[str | None], **kwargs) -> pl.DataFrame:
    return parse_lines(pl.Series(lines, dtype=pl.Utf8), reference=kwargs.pop("reference", REFERENCE), **kwargs)


def _expected_header(line: str) -> dict:
    match = HEADER.match(line)
    assert match, f"data line without a standard header: {line}"
    name = match["syslog_name"]
    return {
        "host": match["host"],
        "syslog_name": name,
        "service": name.rsplit("/", 1)[-1],
        "pid": int(match["pid"]) if match["pid"] else None,
    }


def _same(actual, expected) -> bool:
    if isinstance(expected, float) and actual is not None:
        return math.isclose(actual, expected)
    return actual == expected


@pytest.fixture(scope="module")
def parsed_rows() -> pl.DataFrame:
    return _parse([line for _, line, _ in ROWS])


def test_data_file_has_at_least_150_real_world_variants():
    assert len(ROWS) >= 150
    assert len({line for _, line, _ in ROWS}) == len(ROWS)


@pytest.mark.parametrize("index", range(len(ROWS)), ids=[f"{s}-{i}" for i, (s, _, _) in enumerate(ROWS)])
def test_real_world_line_gives_expected_fields(parsed_rows, index):
    source, line, expected = ROWS[index]
    row = parsed_rows.row(index, named=True)
    wanted = {name: None for name in SCHEMA if name not in ("ts", *HEADER_FIELDS)}
    wanted.update(_expected_header(line))
    wanted.update(expected)
    if "ts" in wanted:
        wanted["ts"] = datetime.fromisoformat(wanted["ts"])
    else:
        assert row["ts"] is not None, line
    wrong = {name: (row[name], value) for name, value in wanted.items() if not _same(row[name], value)}
    assert not wrong, f"{source}: {line}\n(actual, expected): {wrong}"


def _regex_only(lines: list[str]) -> pl.DataFrame:
    """Every line through the regex path, the reference the offset path must agree with."""
    frame = pl.DataFrame({"line": lines}).with_row_index("_row")
    head = parse._regex_header(frame, REFERENCE, "UTC")
    blocks = parse._regex_path(head.select("_row", "syslog_name", "_msg"))
    return parse._assemble(head.drop("_msg"), [head.drop("_msg"), *blocks])


def test_offset_path_agrees_with_regex_path_on_every_data_line(parsed_rows):
    lines = [line for _, line, _ in ROWS]
    reference = _regex_only(lines)
    for index, line in enumerate(lines):
        fast, slow = parsed_rows.row(index, named=True), reference.row(index, named=True)
        assert fast == slow, line


def test_output_has_contract_columns_and_dtypes_in_order():
    frame = _parse(["Nov 24 15:53:08 gw postfix/qmgr[9]: 3F2A1B0C9D: removed"])
    assert frame.schema == pl.Schema(SCHEMA)
    empty = _parse([])
    assert empty.height == 0 and empty.schema == pl.Schema(SCHEMA)


def test_rows_come_back_in_input_order_whatever_their_kind():
    lines = [line for _, line, _ in ROWS][::-1] * 3
    frame = _parse(lines)
    assert frame.height == len(lines)
    again = _parse(lines[: len(ROWS)])
    assert frame.head(len(ROWS)).equals(again)
    assert frame["pid"].to_list()[:3] == [_expected_header(line)["pid"] for line in lines[:3]]


def test_classic_year_rolls_back_over_new_year():
    lines = [
        "Dec 31 23:59:58 gw postfix/qmgr[1]: 3F2A1B0C9D: removed",
        "Jan  1 00:00:01 gw postfix/qmgr[1]: 3F2A1B0C9E: removed",
        "Jan  3 00:00:01 gw postfix/qmgr[1]: 3F2A1B0C9F: removed",
        "Jan  4 00:00:01 gw postfix/qmgr[1]: 3F2A1B0CA0: removed",
    ]
    frame = _parse(lines, reference=datetime(2027, 1, 2, 10, 0, tzinfo=UTC))
    assert frame["ts"].to_list() == [
        datetime(2026, 12, 31, 23, 59, 58, tzinfo=UTC),
        datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC),
        datetime(2027, 1, 3, 0, 0, 1, tzinfo=UTC),  # one day after the reference: same year
        datetime(2026, 1, 4, 0, 0, 1, tzinfo=UTC),  # more than a day ahead: last year's
    ]


def test_reference_on_new_years_eve_keeps_every_date_in_its_year():
    frame = _parse(
        ["Jan  1 00:00:01 gw postfix/qmgr[1]: 3F2A1B0C9D: removed"],
        reference=datetime(2026, 12, 31, 22, 0, tzinfo=UTC),
    )
    assert frame["ts"].item() == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_february_29_outside_a_leap_year_gives_null_timestamp_but_parses():
    frame = _parse(
        ["Feb 29 10:00:00 gw postfix/qmgr[1]: 3F2A1B0C9D: removed"],
        reference=datetime(2027, 3, 1, tzinfo=UTC),
    )
    row = frame.row(0, named=True)
    assert row["ts"] is None and row["event"] == "removed" and row["queue_id"] == "3F2A1B0C9D"


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("Nov  4 05:06:07", datetime(2026, 11, 4, 4, 6, 7, tzinfo=UTC)),
        ("Nov 24 15:53:08", datetime(2026, 11, 24, 14, 53, 8, tzinfo=UTC)),
        ("2026-11-24T15:53:08.123456+01:00", datetime(2026, 11, 24, 14, 53, 8, 123456, tzinfo=UTC)),
        ("2026-11-24T15:53:08+0100", datetime(2026, 11, 24, 14, 53, 8, tzinfo=UTC)),
        ("2026-11-24T15:53:08-0500", datetime(2026, 11, 24, 20, 53, 8, tzinfo=UTC)),
        ("2026-11-24T15:53:08Z", datetime(2026, 11, 24, 15, 53, 8, tzinfo=UTC)),
        ("2026-11-24T15:53:08.5", datetime(2026, 11, 24, 14, 53, 8, 500000, tzinfo=UTC)),
        ("2026-07-24T15:53:08", datetime(2026, 7, 24, 13, 53, 8, tzinfo=UTC)),
    ],
)
def test_three_timestamp_formats_convert_to_utc(stamp, expected):
    line = f"{stamp} gw postfix/qmgr[812]: 3F2A1B0C9D: removed"
    row = _parse([line], tz="Europe/Paris").row(0, named=True)
    assert row["ts"] == expected
    assert (row["host"], row["service"], row["event"]) == ("gw", "qmgr", "removed")


def test_unreadable_timestamp_gives_null_ts_and_the_rest_of_the_line():
    lines = [
        "Nov 31 10:00:00 gw postfix/qmgr[1]: 3F2A1B0C9D: removed",
        "2026/11/24 15:53:08 gw postfix/qmgr[1]: 3F2A1B0C9D: removed",
        "gw postfix/qmgr[1]: 3F2A1B0C9D: removed",
        "Nov 8 05:26:24 mail1 postfix/smtpd[1685599]: connect from s2bulkseg.ato.gov.au[103.151.87.18]",
    ]
    frame = _parse(lines)
    assert frame["ts"].to_list()[:3] == [None, None, None]
    assert frame["event"].to_list() == ["removed", "removed", "removed", "connect"]
    assert frame["queue_id"].to_list()[:3] == ["3F2A1B0C9D"] * 3
    assert frame["host"].to_list() == ["gw", "gw", "gw", "mail1"]
    assert frame["ts"][3] == datetime(2026, 11, 8, 5, 26, 24, tzinfo=UTC)
    assert frame["client_ip"][3] == "103.151.87.18"


def test_unknown_time_zone_is_refused():
    with pytest.raises(Exception, match="Nowhere/Atlantis"):
        _parse(["x"], tz="Nowhere/Atlantis")


@pytest.mark.parametrize(
    ("name", "service"),
    [
        ("postfix/smtp", "smtp"),
        ("postfix-out/smtp", "smtp"),
        ("postfix/submission/smtpd", "smtpd"),
        ("postfix/smtps/smtpd", "smtpd"),
        ("postfix-in/postscreen", "postscreen"),
        ("postfix/trivial-rewrite", "trivial-rewrite"),
        ("postfix/postfix-script", "postfix-script"),
        ("postfix", "postfix"),
    ],
)
def test_multi_instance_and_nested_program_names(name, service):
    line = f"Nov 24 15:53:08 gw {name}[77]: 3F2A1B0C9D: removed"
    row = _parse([line]).row(0, named=True)
    assert (row["syslog_name"], row["service"], row["pid"], row["event"]) == (name, service, 77, "removed")


def test_lines_of_other_programs_are_unparsed_under_their_own_name():
    lines = [
        "Nov 24 15:53:08 gw dovecot: imap-login: Login: user=<a@b>",
        "Nov 24 15:53:08 gw opendkim[12]: 3F2A1B0C9D: DKIM-Signature field added",
        "Nov 24 15:53:08 gw CRON[3]: (root) CMD (true)",
        "Nov 24 15:53:08 gw kernel: [1.0] x",
        "Nov 24 15:53:08 gw amavis[4]: (04-1) Passed CLEAN, to=<a@b>, status=sent (x)",
    ]
    frame = _parse(lines)
    assert frame["event"].to_list() == ["unparsed"] * 5
    assert frame["service"].to_list() == ["dovecot", "opendkim", "CRON", "kernel", "amavis"]
    assert frame["queue_id"].null_count() == 5 and frame["to"].null_count() == 5


JUNK = [
    "",
    " ",
    "\x00\x00\x00",
    "Nov 24 15:53:08 gw postfix/smtp[1]: 3F2A1B0C9D: to=<56597@con",
    "Nov 24 15:53:08 gw postfix/smtp[1]: 3F2A1B0C9D: to=<a@b>, relay=x[1.2.3.4]:25, delay=1, "
    "delays=1/1/1/1, dsn=2.0.0, stat",
    "Nov 24 15:53:08 gw postfix/smtpd[1]: connect from",
    "Nov 24 15:53:08 gw postfix/qmgr[1]: 3F2A1B0C9D: from=<a@b>, size=12",
    "Nov 24 15:53:08 gw postfix/smtpd[1]: 3F2A1B0C9D: client=",
    "Nov 24 15:53:08 gw postfix/smtpd[",
    "Nov 24 15:53:08",
    "\ufffd\ufffd\ufffd postfix/smtp[1]: \ufffd",
    "Nov 24 15:53:08 gw postfix/smtp[1]: 3F2A1B0C9D: to=<\ufffd@b>, relay=\x00, delay=\ufffd, status=sent (\x00)",
    "\x1b[31m\x07\x08 \t\r",
    "::::: : : :",
    "[[[[]]]] ]] [[",
    "Nov 24 15:53:08 gw postfix/smtp[x]: removed",
    None,
]


def test_junk_and_truncated_lines_are_kept_as_rows_and_never_raise():
    frame = _parse(JUNK)
    assert frame.height == len(JUNK)
    assert frame["event"][0] == "unparsed" and frame["event"][-1] == "unparsed"
    truncated = frame.slice(3, 5)
    assert truncated["event"].to_list() == ["unparsed"] * 5
    assert truncated["service"].to_list() == ["smtp", "smtp", "smtpd", "qmgr", "smtpd"]


def test_a_one_megabyte_line_is_one_unparsed_row():
    huge = "Nov 24 15:53:08 gw postfix/smtp[1]: 3F2A1B0C9D: " + "x" * 1_000_000
    binary = "".join(chr(c) for c in range(1, 256)) * 4000
    frame = _parse([huge, binary, "Nov 24 15:53:08 gw postfix/qmgr[1]: 3F2A1B0C9D: removed"])
    assert frame["event"].to_list() == ["unparsed", "unparsed", "removed"]
    assert frame["queue_id"][0] == "3F2A1B0C9D"


def test_a_one_megabyte_response_is_kept_whole():
    response = "550 " + "y" * 1_000_000
    line = (
        "Nov 24 15:53:08 gw postfix/smtp[1]: 3F2A1B0C9D: to=<a@example.org>, relay=mx[192.0.2.1]:25, "
        f"delay=1, delays=0/0/0/1, dsn=5.0.0, status=bounced ({response})"
    )
    row = _parse([line]).row(0, named=True)
    assert row["event"] == "delivery" and row["response"] == response


def test_unparsed_counts_per_service_with_dash_for_headerless_lines():
    lines = [
        "Nov 24 15:53:08 gw dovecot: imap-login: x",
        "Nov 24 15:53:08 gw dovecot: imap-login: y",
        "Nov 24 15:53:08 gw postfix/smtpd[1]: something new",
        "garbage",
        "",
        "Nov 24 15:53:08 gw postfix/qmgr[1]: 3F2A1B0C9D: removed",
    ]
    assert parse_counts(_parse(lines)) == {"-": 2, "dovecot": 2, "smtpd": 1}


def test_noqueue_is_not_a_queue_id():
    row = _parse(["Nov 24 15:53:08 gw postfix/smtpd[1]: NOQUEUE: client=h[192.0.2.1]"]).row(0, named=True)
    assert row["event"] == "client" and row["queue_id"] is None and row["client_ip"] == "192.0.2.1"


def test_queue_id_like_words_do_not_make_a_delivery():
    line = "Nov 24 15:53:08 gw postfix/smtp[1]: warning: to=<a@b>, relay=x, delay=1, status=sent (ok)"
    row = _parse([line]).row(0, named=True)
    assert row["event"] == "warning" and row["queue_id"] is None and row["to"] is None


# --- properties ----------------------------------------------------------------------------------

SAMPLE_LINES = [line for _, line, _ in ROWS]


@st.composite
def damaged_lines(draw) -> str:
    line = draw(st.sampled_from(SAMPLE_LINES))
    cut = draw(st.integers(0, len(line)))
    noise = draw(st.text(max_size=8))
    return draw(st.sampled_from([line[:cut], line[:cut] + noise + line[cut:], noise + line]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(), st.none(), damaged_lines()), max_size=30))
def test_any_text_gives_one_row_per_line_and_never_raises(lines):
    frame = _parse(lines)
    assert frame.height == len(lines)
    assert frame.schema == pl.Schema(SCHEMA)
    assert frame["event"].null_count() == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(damaged_lines(), min_size=1, max_size=20))
def test_offset_path_agrees_with_regex_path_on_damaged_lines(lines):
    assert _parse(lines).equals(_regex_only(lines))


ATOM = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-_+=", min_size=1, max_size=12)
RESPONSE = st.text(alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=60).filter(
    lambda text: text == text.rstrip()
)


@st.composite
def deliveries(draw) -> tuple[str, dict]:
    to = f"{draw(ATOM)}@{draw(ATOM)}"
    orig_to = draw(st.none() | st.builds(lambda a, b: f"{a}@{b}", ATOM, ATOM))
    relay = draw(
        st.sampled_from(["none", "local", "dovecot"])
        | st.builds(lambda host, port: f"{host}[192.0.2.{port % 250}]:{port}", ATOM, st.integers(1, 65535))
    )
    delay = draw(st.sampled_from(["0", "0.1", "1.2", "27077", "3146377"]))
    delays = draw(st.none() | st.sampled_from(["0.05/0.01/0.3/0.69", "0/0/0/0", "27077/0/0.57/0"]))
    dsn = draw(st.none() | st.sampled_from(["2.0.0", "4.4.1", "5.7.26", "5.1.1"]))
    status = draw(st.sampled_from(["sent", "deferred", "bounced", "undeliverable", "deliverable"]))
    response = draw(RESPONSE)
    conn_use = draw(st.none() | st.integers(2, 99))
    qid = draw(st.sampled_from(["3F2A1B0C9D", "4XvQ1q0Zz3z9tKx", "C8103B94"]))
    parts = [f"to=<{to}>"]
    parts += [f"orig_to=<{orig_to}>"] if orig_to else []
    parts += [f"relay={relay}"]
    parts += [f"conn_use={conn_use}"] if conn_use else []
    parts += [f"delay={delay}"]
    parts += [f"delays={delays}"] if delays else []
    parts += [f"dsn={dsn}"] if dsn else []
    parts += [f"status={status} ({response})"]
    line = f"Nov 24 15:53:08 gw postfix/smtp[4242]: {qid}: " + ", ".join(parts)
    fields = {
        "queue_id": qid,
        "to": to,
        "orig_to": orig_to,
        "relay": relay,
        "delay": float(delay),
        "delays": delays,
        "dsn": dsn,
        "status": status,
        "response": response,
        "event": "delivery",
    }
    return line, fields


@settings(max_examples=200, deadline=None)
@given(st.lists(deliveries(), min_size=1, max_size=10))
def test_well_formed_delivery_lines_round_trip_their_fields(cases):
    lines = [line for line, _ in cases]
    frame = _parse(lines)
    for row, (line, fields) in zip(frame.iter_rows(named=True), cases, strict=True):
        assert {name: row[name] for name in fields} == fields, line
    assert frame.equals(_regex_only(lines))


def test_timestamps_read_the_same_whether_repeated_or_distinct():
    repeated = ["Nov 24 15:53:08 gw postfix/qmgr[1]: 3F2A1B0C9D: removed"] * 50
    distinct = [
        f"2026-11-24T15:53:{s:02d}.{s * 1001:06d}+01:00 gw postfix/qmgr[1]: 3F2A1B0C9D: removed" for s in range(50)
    ]
    alone = {line: _parse([line])["ts"].item() for line in set(repeated + distinct)}
    for lines in (repeated, distinct, repeated + distinct, distinct + repeated):
        assert _parse(lines)["ts"].to_list() == [alone[line] for line in lines]
    assert _parse(distinct[7:8])["ts"].item() == datetime(2026, 11, 24, 14, 53, 7, 7007, tzinfo=UTC)
