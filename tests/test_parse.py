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

from warehouse.parse import SCHEMA, common, offsets, parse_counts, parse_lines, regex
from warehouse.parse import frame as parse_frame

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
# Fields issue 11 reads on purpose differently from the data file: the queue ID that follows
# "warning: " and the envelope of a header-check warning.


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
    head = regex.read_header(frame, REFERENCE, "UTC")
    blocks = regex.read_messages(head.select("_row", "syslog_name", "_msg"))
    return parse_frame.assemble(head.drop("_msg"), [head.drop("_msg"), *blocks])


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


# --- issue 11: lines real gateways write (hand-written lines in the formats of Postfix 3.x) -------


def _read(line: str) -> dict:
    """The row of one line, after checking that both paths read it the same way."""
    frame = _parse([line])
    assert frame.equals(_regex_only([line])), line
    return frame.row(0, named=True)


@pytest.mark.parametrize(
    ("action", "event", "status"),
    [
        ("warning", "warning", None),
        ("info", "other", None),
        ("prepend", "other", None),
        ("replace", "other", None),
        ("hold", "reject", "hold"),
        ("discard", "reject", "discard"),
        ("filter", "reject", "filter"),
        ("redirect", "reject", "redirect"),
        ("reject", "reject", "reject"),
        ("milter-header-redirect", "reject", "milter-header-redirect"),
    ],
)
def test_header_check_actions_give_sender_recipient_and_client(action, event, status):
    line = (
        f"Nov 24 15:53:08 gw postfix/cleanup[7]: 3F2A1B0C9D: {action}: header Subject: Invoice 42 from "
        "mail.example.org[192.0.2.7]; from=<billing@example.org> to=<ann@example.net> proto=ESMTP "
        "helo=<mail.example.org>: X-Flag: yes"
    )
    row = _read(line)
    assert (row["event"], row["status"], row["queue_id"]) == (event, status, "3F2A1B0C9D")
    assert (row["from"], row["to"]) == ("billing@example.org", "ann@example.net")
    assert (row["client_host"], row["client_ip"]) == ("mail.example.org", "192.0.2.7")


def test_body_check_of_a_local_submission_has_an_envelope_but_no_client_address():
    line = (
        "Nov 24 15:53:08 gw postfix/cleanup[7]: 3F2A1B0C9D: info: body Unsubscribe here from local; "
        "from=<news@example.org> to=<ann@example.net>"
    )
    row = _read(line)
    assert (row["event"], row["from"], row["to"], row["client_ip"]) == (
        "other",
        "news@example.org",
        "ann@example.net",
        None,
    )


def test_header_check_reject_keeps_its_reply_and_enhanced_code():
    line = (
        "Nov 24 15:53:08 gw postfix/cleanup[7]: 3F2A1B0C9D: reject: header Subject: WIN from "
        "unknown[198.51.100.4]; from=<a@example.org> to=<b@example.net> proto=SMTP helo=<x>: 5.7.1 Content rejected"
    )
    row = _read(line)
    assert (row["event"], row["status"], row["dsn"], row["response"]) == (
        "reject",
        "reject",
        "5.7.1",
        "5.7.1 Content rejected",
    )


def test_queue_id_after_the_warning_keyword_belongs_to_the_message():
    line = (
        "Nov 24 15:53:08 gw postfix/cleanup[7]: warning: 3F2A1B0C9D: milter unix:/run/spamass.sock: "
        "can't read SMFIC_BODYEOB reply"
    )
    row = _read(line)
    assert (row["event"], row["queue_id"]) == ("warning", "3F2A1B0C9D")
    assert row["response"] == "milter unix:/run/spamass.sock: can't read SMFIC_BODYEOB reply"


def test_words_after_the_warning_keyword_are_not_queue_ids():
    row = _read(
        "Nov 24 15:53:08 gw postfix/smtpd[7]: warning: database /etc/postfix/access.db is older than source file"
    )
    assert (row["event"], row["queue_id"]) == ("warning", None)


@pytest.mark.parametrize(
    ("item", "where"),
    [
        ("tls=may", "delays"),
        ("tls=dane!verify", "delays"),
        ("tls=encrypt/(requiretls)", "delays"),
        ("requiretls=no", "delays"),
        ("tls=may", "relay"),
        ("newfield=1.5/2", "dsn"),
    ],
)
def test_unknown_delivery_items_leave_the_known_fields(item, where):
    items = {
        "relay": "relay=mx.example.net[203.0.113.9]:25",
        "delays": "delays=0.06/0.05/0.07/0.12",
        "dsn": "dsn=2.0.0",
    }
    items[where] += f", {item}"
    line = (
        f"Nov 24 15:53:08 gw postfix/smtp[7]: 4c8vgk2lXhzNcrX: to=<ann@example.net>, {items['relay']}, delay=0.31, "
        f"{items['delays']}, {items['dsn']}, status=sent (250 2.0.0 Ok: queued as 4c8vgk3xlZzJrNm)"
    )
    row = _read(line)
    assert {name: row[name] for name in ("event", "to", "relay", "delay", "delays", "dsn", "status", "response")} == {
        "event": "delivery",
        "to": "ann@example.net",
        "relay": "mx.example.net[203.0.113.9]:25",
        "delay": 0.31,
        "delays": "0.06/0.05/0.07/0.12",
        "dsn": "2.0.0",
        "status": "sent",
        "response": "250 2.0.0 Ok: queued as 4c8vgk3xlZzJrNm",
    }


def test_offset_path_reads_the_postfix_3_11_tls_item_itself():
    line = (
        "Nov 24 15:53:08 gw postfix/smtp[7]: 3F2A1B0C9D: to=<ann@example.net>, relay=mx.example.net[203.0.113.9]:25, "
        "delay=0.31, delays=0.06/0.05/0.07/0.12, tls=may, dsn=2.0.0, status=sent (250 2.0.0 Ok)"
    )
    frame = offsets.locate(pl.Series([line]), REFERENCE, "UTC")
    block = offsets._delivery(frame.lazy().select("_row", _body=common.line_from("_b"))).collect()
    assert block["_ok"].to_list() == [True] and block["delays"].item() == "0.06/0.05/0.07/0.12"


def test_a_delivery_without_delay_items_is_still_a_delivery():
    row = _read("Nov 24 15:53:08 gw postfix/smtp[7]: 3F2A1B0C9D: to=<ann@example.net>, relay=none, status=deferred (x)")
    assert (row["event"], row["relay"], row["delay"], row["status"]) == ("delivery", "none", None, "deferred")


@pytest.mark.parametrize("service", ["local", "virtual"])
def test_local_and_virtual_deliveries_without_angle_brackets(service):
    line = (
        f"Nov 24 15:53:08 gw postfix/{service}[7]: 3F2A1B0C9D: to=ann@example.net, orig_to=root@localhost, "
        "relay=local, delay=0.07, delays=0.04/0/0/0.03, dsn=2.0.0, status=sent (delivered to mailbox)"
    )
    row = _read(line)
    assert (row["event"], row["to"], row["orig_to"], row["relay"], row["dsn"]) == (
        "delivery",
        "ann@example.net",
        "root@localhost",
        "local",
        "2.0.0",
    )


@pytest.mark.parametrize("action", ["filter", "hold", "discard"])
def test_noqueue_access_actions_on_rcpt_give_client_and_envelope(action):
    line = (
        f"Nov 24 15:53:08 gw postfix/smtpd[7]: NOQUEUE: {action}: RCPT from unknown[192.0.2.8]: <a@example.org>: "
        f"Sender address triggers {action.upper()} smtp-amavis:[127.0.0.1]:10024; from=<a@example.org> "
        "to=<b@example.net> proto=ESMTP helo=<x>"
    )
    row = _read(line)
    assert (row["event"], row["status"], row["queue_id"], row["client_ip"], row["from"], row["to"]) == (
        "reject",
        action,
        None,
        "192.0.2.8",
        "a@example.org",
        "b@example.net",
    )


@pytest.mark.parametrize(
    ("action", "event", "reply", "dsn"),
    [
        ("proxy-accept", "other", "250 2.0.0 Ok: queued as 4c8vgk3xlZzJrNm", "2.0.0"),
        ("proxy-reject", "reject", "554 5.7.0 Reject, id=31619-02 - spam", "5.7.0"),
    ],
)
def test_before_queue_filter_verdicts_at_end_of_message(action, event, reply, dsn):
    line = (
        f"Nov 24 15:53:08 gw postfix/smtpd[7]: NOQUEUE: {action}: END-OF-MESSAGE: {reply}; from=<a@example.org> "
        "to=<b@example.net> proto=ESMTP helo=<x>"
    )
    row = _read(line)
    assert (row["event"], row["status"], row["response"], row["dsn"]) == (event, action, reply, dsn)
    assert (row["from"], row["to"]) == ("a@example.org", "b@example.net")


@pytest.mark.parametrize(
    "text",
    [
        "bare <LF> received after DATA from mail.example.org[192.0.2.7]",
        "lost connection after AUTH from mail.example.org[192.0.2.7]",
        "timeout after DATA (0 bytes) from mail.example.org[192.0.2.7]",
    ],
)
def test_smtpd_session_ends_name_the_client(text):
    row = _read(f"Nov 24 15:53:08 gw postfix/smtpd[7]: {text}")
    assert (row["event"], row["client_host"], row["client_ip"]) == ("other", "mail.example.org", "192.0.2.7")


@pytest.mark.parametrize(("tag", "service"), [("postfix", "postfix"), ("/postfix-script", "postfix-script")])
def test_programs_without_a_service_part_or_with_a_leading_slash(tag, service):
    row = _read(f"Nov 24 15:53:08 gw {tag}[1234]: the Postfix mail system is running: PID: 95072")
    assert (row["event"], row["service"], row["pid"]) == ("other", service, 1234)


@pytest.mark.parametrize(
    "text", ["initializing the client-side TLS engine", "open smtpd TLS cache btree:/var/lib/postfix/smtpd_scache"]
)
def test_tls_engine_start_lines_are_recognised(text):
    assert _read(f"Nov 24 15:53:08 gw postfix/tlsmgr[7]: {text}")["event"] == "other"


UNKNOWN_ITEM = st.tuples(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10).filter(
        lambda key: key not in ("to", "orig_to", "relay", "conn_use", "delay", "delays", "dsn", "status")
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789./!?:()-", max_size=16),
)


@settings(max_examples=150, deadline=None)
@given(deliveries(), UNKNOWN_ITEM, st.integers(0, 10))
def test_any_unknown_item_after_the_relay_leaves_the_known_fields(case, item, slot):
    line, fields = case
    head, _, status = line.partition(", status=")  # the generated items hold no ", "
    items = head.split(", ")
    after_relay = next(index for index, part in enumerate(items) if part.startswith("relay=")) + 1
    items.insert(min(after_relay + slot, len(items)), f"{item[0]}={item[1]}")
    changed = f"{', '.join(items)}, status={status}"
    frame = _parse([changed])
    assert {name: frame.row(0, named=True)[name] for name in fields} == fields, changed
    assert frame.equals(_regex_only([changed]))
