"""ARF parsing (ingest.arf): the shapes real feeds send, and hostile input never raising anything but
ArfError (property tests)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import ArfError, parse_report
from tests import fbl_samples as samples

WHEN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
BASE = samples.arf(
    sender="News@Shop.example", rcpt="Bob@Yahoo.example", message_id="m1@shop.example", queue_id="4QwErTy1z2", when=WHEN
)


@pytest.mark.parametrize("encoding", [None, "quoted-printable", "base64"])
@pytest.mark.parametrize("part", ["message", "headers"])
def test_every_encoding_and_part_gives_the_same_fields(encoding: str | None, part: str) -> None:
    report = parse_report(
        samples.arf(
            sender="News@Shop.example",
            rcpt="Bob@Yahoo.example",
            message_id="m1@shop.example",
            queue_id="4QwErTy1z2",
            when=WHEN,
            part=part,
            encoding=encoding,
        )
    )
    assert report.feedback_type == "abuse"
    assert report.original_mail_from == "news@shop.example"
    assert report.original_rcpt_to == ("bob@yahoo.example",)  # folded in the report, unfolded here
    assert report.arrival_ts == WHEN
    assert report.reported_message_id == "m1@shop.example"  # the reported part's, not the report's own
    assert report.received_ids == (("gw.relay.example", "4QwErTy1z2"),)
    assert report.reported_part == part
    assert (report.source_ip, report.reporting_mta, report.incidents) == ("198.51.100.25", "mta7.mail.example.net", 1)
    assert report.user_agent == "Yahoo!-Mail-Feedback/2.0" and report.version == "1"


def test_repeated_recipients_missing_fields_and_received_date_are_read() -> None:
    raw = BASE.replace(
        b"Original-Rcpt-To:\r\n <Bob@Yahoo.example>",
        b"Original-Rcpt-To: <a@x.example>\r\nOriginal-Rcpt-To: b@x.example",
    )
    raw = raw.replace(b"Arrival-Date:", b"Received-Date:").replace(b"Incidents: 1\r\n", b"Incidents: many\r\n")
    raw = raw.replace(b"Source-IP: 198.51.100.25\r\n", b"")
    report = parse_report(raw)
    assert report.original_rcpt_to == ("a@x.example", "b@x.example")
    assert report.arrival_ts == WHEN and report.incidents is None and report.source_ip is None


def test_a_message_id_only_report_with_a_redacted_recipient() -> None:
    report = parse_report(
        samples.arf(sender="a@shop.example", rcpt=None, message_id="only@shop.example", part="message-id", when=WHEN)
    )
    assert report.reported_message_id == "only@shop.example"
    assert report.original_rcpt_to == () and report.reported_to is None and report.received_ids == ()


@pytest.mark.parametrize("kind", ["abuse", "fraud", "virus", "other", "not-spam", "auth-failure", "Abuse"])
def test_feedback_types_are_kept_lower_case(kind: str) -> None:
    assert (
        parse_report(BASE.replace(b"Feedback-Type: abuse", f"Feedback-Type: {kind}".encode())).feedback_type
        == kind.lower()
    )


@pytest.mark.parametrize(
    "raw",
    [
        samples.non_arf_reply(WHEN),
        samples.broken_mime(WHEN),
        b"",
        b"\xff\xfe\x00",
        BASE.replace(b"message/feedback-report", b"text/plain"),
    ],
)
def test_what_is_not_a_report_is_refused_with_a_reason(raw: bytes) -> None:
    with pytest.raises(ArfError):
        parse_report(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_anything_but_arf_error(raw: bytes) -> None:
    with contextlib.suppress(ArfError):
        parse_report(raw)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(BASE)), st.integers(0, len(BASE)), st.binary(max_size=40))
def test_damaged_reports_never_raise_anything_but_arf_error(cut: int, at: int, noise: bytes) -> None:
    raw = BASE[:at] + noise + BASE[at:cut] if at < cut else BASE[:cut]
    with contextlib.suppress(ArfError):
        parse_report(raw)


def test_microsoft_jmrp_mails_are_read_as_abuse_reports() -> None:
    report = parse_report(
        samples.jmrp(WHEN, sender="news@shop.example", rcpt="kim@outlook.example", message_id="j1@shop.example")
    )
    assert (report.feedback_type, report.user_agent) == ("abuse", "JMRP")
    assert report.original_rcpt_to == ("kim@outlook.example",)
    assert report.original_mail_from == "news@shop.example"
    assert report.reported_message_id == "j1@shop.example" and report.arrival_ts is None
