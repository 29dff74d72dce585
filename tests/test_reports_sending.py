"""Sending reports with a clock we control: each period exactly once across scheduler restarts and
period boundaries, retries with back-off when the relay refuses or is down, the state in `relaywatch
status`, and bad input (time zone, frequency, recipients, an account without grant)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from relaywatch.cli import main
from reports import (
    NoGrant,
    ReportError,
    ReportSettings,
    open_report_store,
    report_preview,
    report_settings,
    send_due_reports,
)
from tests.reports_home import ReportHome, build
from tests.servers.sink import SmtpSink


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> ReportHome:
    return build(tmp_path_factory.mktemp("sending") / "home", mail_port=sink.port)


@pytest.fixture
def home(built: ReportHome, tmp_path: Path, sink: SmtpSink) -> Iterator[Path]:
    """A private copy of the home where only mallory (UTC, daily at 06:00, since 19 Nov) has a report."""
    path = tmp_path / "home"
    shutil.copytree(built.path, path)
    store = open_report_store(path / "control.db")
    for name in ("ops", "carol", "nobody"):
        store.put_settings(name, ReportSettings("off"))
    store.put_settings("mallory", ReportSettings("off"))
    store.put_settings("mallory", ReportSettings("daily", 6, "UTC"), now=datetime(2026, 11, 19, tzinfo=UTC).timestamp())
    store.close()
    sink.clear()
    sink.script = None
    yield path


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def sent_periods(sink: SmtpSink) -> list[str]:
    return [t.message()["Subject"] for t in sink.transactions if t.data is not None]


def test_a_restarted_scheduler_sends_each_period_exactly_once(home: Path, sink: SmtpSink) -> None:
    # Every call is a fresh start (nothing is kept in memory between runs): what was sent is in control.db.
    assert [o.period for o in send_due_reports(home, now=at(21, 5))] == ["daily:2026-11-19"]
    assert send_due_reports(home, now=at(21, 5, 59)) == []  # 20 Nov is due at 06:00 on the 21st
    assert [o.period for o in send_due_reports(home, now=at(21, 6))] == ["daily:2026-11-20"]
    assert send_due_reports(home, now=at(21, 9)) == []
    # Down from the 21st 09:00 until the 23rd 07:00: both missed periods are sent, none twice.
    assert [o.period for o in send_due_reports(home, now=at(23, 7))] == ["daily:2026-11-21", "daily:2026-11-22"]
    assert send_due_reports(home, now=at(23, 8)) == []
    assert sent_periods(sink) == [f"Deliverability report of {d} November 2026" for d in (19, 20, 21, 22)]
    store = open_report_store(home / "control.db")
    assert [s.period for s in store.sent_reports("mallory")] == [f"daily:2026-11-{d}" for d in (19, 20, 21, 22)]
    store.close()


def test_a_crash_after_the_relay_accepted_sends_the_same_message_id_again(
    home: Path, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports.settings import ReportStore

    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed between the relay's acceptance and the record")

    with monkeypatch.context() as patch:
        patch.setattr(ReportStore, "record_sent", crash)
        with pytest.raises(SystemExit):
            send_due_reports(home, now=at(21, 5))
    assert [o.result for o in send_due_reports(home, now=at(21, 5, 1))] == ["sent"]
    first, again = (t.message()["Message-ID"] for t in sink.transactions)
    assert first == again  # at least once, recognisably the same report


def test_a_refusing_relay_is_retried_with_back_off_and_shows_in_status(home: Path, sink: SmtpSink) -> None:
    sink.script = {"mallory@readers.example": (550, "5.7.1 Relaying refused")}
    [outcome] = send_due_reports(home, now=at(20, 7))
    assert outcome.result == "failed" and "Relaying refused" in outcome.detail
    assert send_due_reports(home, now=at(20, 7, 0) + timedelta(seconds=59)) == []  # backoff_seconds = 60
    [outcome] = send_due_reports(home, now=at(20, 7, 1))
    assert outcome.result == "failed"
    assert send_due_reports(home, now=at(20, 7, 2)) == []  # doubled: next try two minutes later
    result = CliRunner().invoke(main, ["--home", str(home), "status", "--json"])
    report = [json.loads(line) for line in result.output.splitlines() if '"user": "mallory"' in line]
    assert report[0]["failing"][0]["attempts"] == 2 and "Relaying refused" in report[0]["failing"][0]["error"]
    sink.script = None
    assert [o.result for o in send_due_reports(home, now=at(20, 7, 3))] == ["sent"]
    result = CliRunner().invoke(main, ["--home", str(home), "status"])
    assert "mallory" in result.output and "daily:2026-11-19" in result.output


def test_a_relay_that_is_down_is_retried_until_it_comes_back(home: Path, sink: SmtpSink) -> None:
    sink.stop()
    try:
        [outcome] = send_due_reports(home, now=at(20, 7))
        assert outcome.result == "failed" and "Connection refused" in outcome.detail
    finally:
        sink.start()
    assert [o.result for o in send_due_reports(home, now=at(20, 8))] == ["sent"]
    assert len(sent_periods(sink)) == 1


def test_bad_settings_are_refused_with_their_name(home: Path) -> None:
    with pytest.raises(ReportError, match="Mars/Olympus"):
        report_settings(home, "mallory", timezone="Mars/Olympus")
    with pytest.raises(ReportError, match="hourly"):
        report_settings(home, "mallory", frequency="hourly")
    with pytest.raises(ReportError, match="hour 24"):
        report_settings(home, "mallory", hour=24)
    with pytest.raises(ReportError, match="only root and admin"):
        report_settings(home, "mallory", recipients=("boss@example.com",))
    with pytest.raises(ReportError, match="not an e-mail address"):
        report_settings(home, "ops", recipients=("nobody at example",))
    assert report_settings(home, "ops", recipients=("Boss@Example.com",)).recipients == ("boss@example.com",)
    runner = CliRunner()
    result = runner.invoke(
        main, ["--home", str(home), "report", "settings", "--user", "mallory", "--timezone", "Nowhere"]
    )
    assert result.exit_code == 1 and "Nowhere" in result.output and "Traceback" not in result.output
    result = runner.invoke(
        main,
        [
            "--home",
            str(home),
            "report",
            "settings",
            "--user",
            "mallory",
            "--hour",
            "9",
            "--timezone",
            "Europe/Paris",
            "--sections",
            "traffic,reasons",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "hour: 9" in result.output and "sections: traffic, reasons" in result.output
    result = runner.invoke(
        main,
        [
            "--home",
            str(home),
            "report",
            "settings",
            "--user",
            "mallory",
            "--soft-is-error",
            "--warn-rate",
            "2",
            "--critical-rate",
            "8",
        ],
    )
    assert result.exit_code == 0 and "soft failures count: yes" in result.output and "2 % / 8 %" in result.output
    result = runner.invoke(main, ["--home", str(home), "report", "settings", "--user", "mallory", "--warn-rate", "9"])
    assert result.exit_code == 1 and "thresholds 9.0 / 8.0" in result.output


def test_an_account_without_grant_gets_no_report(home: Path, tmp_path: Path, sink: SmtpSink) -> None:
    store = open_report_store(home / "control.db")
    store.put_settings("nobody", ReportSettings("daily", 6, "UTC"), now=at(19, 0).timestamp())
    store.close()
    outcomes = {o.user: o.result for o in send_due_reports(home, now=at(20, 7))}
    assert outcomes == {"mallory": "sent", "nobody": "skipped"}
    assert [t.rcpts[0].rcpt for t in sink.transactions] == ["mallory@readers.example"]
    with pytest.raises(NoGrant, match="no grant"):
        report_preview(home, "nobody", "2026-11-19", tmp_path / "x.html")
    result = CliRunner().invoke(main, ["--home", str(home), "report", "send", "--user", "nobody"])
    assert result.exit_code == 1 and "no grant" in result.output
    result = CliRunner().invoke(main, ["--home", str(home), "status", "--json"])
    assert '"state": "no grant"' in result.output


def test_preview_and_send_on_request(home: Path, tmp_path: Path, sink: SmtpSink) -> None:
    out = tmp_path / "preview.html"
    runner = CliRunner()
    result = runner.invoke(
        main, ["--home", str(home), "report", "preview", "--user", "mallory", "--period", "2026-W47", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "week of 16 November 2026 to 22 November 2026" in html and "data:image/png;base64," in html
    assert "cid:" not in html and "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    result = runner.invoke(main, ["--home", str(home), "report", "send", "--user", "mallory", "--period", "2026-11"])
    assert result.exit_code == 0 and "mallory@readers.example" in result.output
    assert sent_periods(sink) == ["Deliverability report for November 2026"]
    result = runner.invoke(main, ["--home", str(home), "report", "send", "--user", "mallory", "--period", "2026-13"])
    assert result.exit_code == 1 and "--period" in result.output


def test_an_operator_report_goes_to_its_own_and_its_extra_addresses(home: Path, sink: SmtpSink) -> None:
    report_settings(home, "ops", frequency="daily", hour=6, timezone="UTC", recipients=("noc@operator.example",))
    store = open_report_store(home / "control.db")
    chosen = store.settings("ops")
    store.put_settings("ops", ReportSettings("off"))
    store.put_settings("ops", chosen, now=at(19, 0).timestamp())  # switched on since 19 November
    store.close()
    outcomes = send_due_reports(home, now=datetime.now(UTC))
    assert {o.user for o in outcomes if o.result == "sent"} == {"mallory", "ops"}
    ops = [t for t in sink.transactions if t.message()["To"].startswith("ops@")]
    assert ops and all(sorted(t.accepted) == ["noc@operator.example", "ops@readers.example"] for t in ops)


def test_relaywatch_run_once_sends_the_due_reports(home: Path, sink: SmtpSink) -> None:
    from relaywatch.registry import gateway_add

    log = home / "logs" / "gw-a.log"
    gateway_add(home, "gw-a", log_path=str(log))
    result = CliRunner().invoke(main, ["--home", str(home), "run", "--once"])
    assert result.exit_code == 0, result.output
    periods = [t.message()["Subject"] for t in sink.transactions]
    assert len(periods) == 3 and len(set(periods)) == 3  # the last three days, up to CATCH_UP, once each
    result = CliRunner().invoke(main, ["--home", str(home), "run", "--once"])
    assert result.exit_code == 0 and len(sink.transactions) == 3


def test_the_run_loop_report_thread_sends_and_stops(home: Path, sink: SmtpSink) -> None:
    import threading

    from reports import ReportScheduler

    stop = threading.Event()
    worker = ReportScheduler(home, stop)
    worker.start()
    try:
        sink.wait_until(lambda ts: sum(t.data is not None for t in ts) >= 3, timeout=60)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive() and len(sink.transactions) == 3


def test_the_reports_section_of_the_configuration_is_checked() -> None:
    from relaywatch.core import ConfigError, parse_config

    assert (
        parse_config({"reports": {"base_url": "https://rw.example/app"}}).reports.base_url == "https://rw.example/app"
    )
    with pytest.raises(ConfigError, match="unknown keys base"):
        parse_config({"reports": {"base": "x"}})
    with pytest.raises(ConfigError, match="base_url"):
        parse_config({"reports": {"base_url": "javascript:alert(1)"}})
    with pytest.raises(ConfigError, match="reports.attempts"):
        parse_config({"reports": {"attempts": "3"}})
