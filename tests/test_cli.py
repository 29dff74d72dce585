"""The `relaywatch` command as a user meets it: contracts of DESIGN.md and clear errors on bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from relaywatch.cli import main

DATA = Path(__file__).parent / "data"
DAY1 = DATA / "gw1-day1.log"


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, obj={})


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    log = tmp_path / "gw1.log"
    shutil.copy(DAY1, log)
    result = run("--home", str(home), "ingest", "--gateway-name", "gw1", "--file", str(log), "--quiet")
    assert result.exit_code == 0, result.output
    return home


def test_parse_prints_one_json_object_per_recognised_line_with_only_present_keys() -> None:
    result = run("parse", str(DAY1))
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    delivery = next(o for o in objects if o.get("to") == "bob@gmail.com")
    assert delivery["status"] == "sent" and delivery["dsn"] == "2.0.0" and delivery["queue_id"] == "4A1B2C3D4E"
    assert delivery["relay"] == "gmail-smtp-in.l.google.com[142.250.1.1]:25"
    assert "client_ip" not in delivery, "absent keys are omitted, not null"
    allowed = {
        "ts",
        "host",
        "syslog_name",
        "service",
        "pid",
        "queue_id",
        "event",
        "from",
        "to",
        "orig_to",
        "relay",
        "delay",
        "delays",
        "dsn",
        "status",
        "response",
        "client_host",
        "client_ip",
        "sasl_method",
        "sasl_username",
        "message_id",
        "size",
        "nrcpt",
        "ndr_queue_id",
    }
    assert set().union(*objects) <= allowed


def test_parse_reads_stdin_and_counts_unrecognised_lines_on_stderr() -> None:
    text = DAY1.read_text() + "this is not a postfix line\n"
    result = run("parse", stdin=text)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) >= 13
    assert "not recognised" in result.stderr


def test_classify_keeps_order_and_names_the_rule() -> None:
    lines = [
        {"dsn": "2.0.0", "status": "sent", "text": "250 2.0.0 OK"},
        {"dsn": "5.1.1", "status": "bounced", "text": "550 5.1.1 user unknown"},
        {"text": "421 4.7.0 Try again later"},
    ]
    result = run("classify", stdin="".join(json.dumps(x) + "\n" for x in lines))
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["qualification"] for o in out] == ["success", "hard", "soft"]
    assert all(set(o) == {"qualification", "reason", "suppressible", "rule"} for o in out)


def test_sql_formats_table_csv_json(home: Path) -> None:
    query = "SELECT recipient, status FROM deliveries ORDER BY recipient"
    as_json = run("--home", str(home), "sql", "--format", "json", query)
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert {"recipient": "bob@gmail.com", "status": "sent"} in rows
    as_csv = run("--home", str(home), "sql", "--format", "csv", query)
    assert as_csv.stdout.splitlines()[0] == "recipient,status"
    as_table = run("--home", str(home), "sql", query)
    assert "bob@gmail.com" in as_table.stdout
    assert as_json.exit_code == as_csv.exit_code == as_table.exit_code == 0


def test_csv_neutralises_spreadsheet_formulas(home: Path) -> None:
    result = run("--home", str(home), "sql", "--format", "csv", "SELECT '=HYPERLINK(\"x\")' AS evil, '-1' AS neg")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("\"'=HYPERLINK")
    assert result.stdout.splitlines()[1].endswith("'-1")


def test_sql_as_a_user_sees_only_its_own_rows_and_cannot_leave_its_scope(home: Path) -> None:
    assert (
        run(
            "--home",
            str(home),
            "user",
            "add",
            "alice",
            "--role",
            "user",
            "--password",
            "correct horse 42",
        ).exit_code
        == 0
    )
    assert run("--home", str(home), "user", "grant", "alice", "sender", "Alice@Customer.example").exit_code == 0
    own = run("--home", str(home), "sql", "--as", "alice", "--format", "json", "SELECT DISTINCT sender FROM deliveries")
    assert own.exit_code == 0, own.output
    assert [json.loads(x)["sender"] for x in own.stdout.splitlines()] == ["alice@customer.example"]
    rejects = run("--home", str(home), "sql", "--as", "alice", "--format", "json", "SELECT * FROM rejects")
    assert rejects.stdout.strip() == ""
    for escape in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM _lake_deliveries",
        "COPY deliveries TO '/tmp/x.csv'",
        "SET enable_external_access = true",
    ):
        refused = run("--home", str(home), "sql", "--as", "alice", escape)
        assert refused.exit_code != 0
        assert "refused" in refused.output.lower() or "not allowed" in refused.output.lower()


def test_a_user_without_grants_gets_zero_rows(home: Path) -> None:
    run("--home", str(home), "user", "add", "nobody", "--role", "user", "--password", "correct horse 42")
    result = run(
        "--home", str(home), "sql", "--as", "nobody", "--format", "csv", "SELECT count(*) AS n FROM deliveries"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["n", "0"]


def test_a_big_table_as_a_user_shows_its_first_rows_at_once_and_says_so(home: Path) -> None:
    run("--home", str(home), "user", "add", "carol", "--role", "root", "--password", "correct horse 42")
    started = time.monotonic()
    cross_join = "SELECT d.queue_id, r.range FROM deliveries d, range(100000) r"
    result = run("--home", str(home), "sql", "--as", "carol", cross_join)
    assert time.monotonic() - started < 30
    assert result.exit_code == 1
    assert "only the first 1000 rows are shown" in result.output
    assert result.stdout.count("\n") > 1000


def test_sql_as_a_user_stops_at_the_configured_time_limit(home: Path) -> None:
    with (home / "relaywatch.toml").open("a") as config:
        config.write("\n[sql]\nseconds = 2\n")
    run("--home", str(home), "user", "add", "dave", "--role", "user", "--password", "correct horse 42")
    started = time.monotonic()
    result = run("--home", str(home), "sql", "--as", "dave", "SELECT count(*) FROM range(100000000000)")
    assert result.exit_code == 1 and "took longer than 2 s" in result.output
    assert time.monotonic() - started < 10


def test_control_characters_in_log_text_never_reach_the_terminal_raw(home: Path) -> None:
    query = "SELECT 'evil\x1b]0;title\x07\x1b[31m' AS reply"
    for fmt in ("table", "csv", "json"):
        result = run("--home", str(home), "sql", "--format", fmt, query)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout


def test_missing_file_gives_a_clear_message(tmp_path: Path) -> None:
    result = run("--home", str(tmp_path / "h"), "ingest", "--gateway-name", "gw1", "--file", str(tmp_path / "nope"))
    assert result.exit_code != 0
    assert "does not exist" in result.output


def test_a_wrong_home_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    result = run("--home", str(a_file), "ingest", "--gateway-name", "gw1", "--file", str(DAY1))
    assert result.exit_code != 0 and "not a directory" in result.output
    someone_else = tmp_path / "docs"
    someone_else.mkdir()
    (someone_else / "thesis.txt").write_text("precious")
    result = run("--home", str(someone_else), "ingest", "--gateway-name", "gw1", "--file", str(DAY1))
    assert result.exit_code != 0 and "not empty" in result.output
    assert sorted(p.name for p in someone_else.iterdir()) == ["thesis.txt"]
    result = run("--home", str(tmp_path / "missing"), "sql", "SELECT 1")
    assert result.exit_code != 0 and "not a relaywatch data home" in result.output


def test_a_broken_config_is_a_clear_error_and_the_lake_is_untouched(home: Path) -> None:
    before = run("--home", str(home), "sql", "--format", "csv", "SELECT count(*) AS n FROM deliveries").stdout
    config = home / "relaywatch.toml"
    good = config.read_text()
    config.write_text("[parse\ntimezone = ")
    result = run("--home", str(home), "ingest", "--gateway-name", "gw1", "--file", str(DAY1))
    assert result.exit_code != 0 and "invalid configuration" in result.output
    config.write_text(good)
    assert run("--home", str(home), "sql", "--format", "csv", "SELECT count(*) AS n FROM deliveries").stdout == before


def test_the_console_script_runs_with_the_home_from_the_environment(home: Path) -> None:
    exe = Path(sys.executable).with_name("relaywatch")
    done = subprocess.run(
        [str(exe), "sql", "--format", "csv", "SELECT count(*) AS n FROM rejects"],
        env={**os.environ, "RELAYWATCH_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["n", "1"]


LOCAL_RULE = """
[[classify.rules]]
id = "orange-ofr-999"
pattern = "OFR_999"
qualification = "soft"
reason = "reputation"
"""


def test_local_rules_win_and_reclassify_rewrites_stored_rows_without_raw_logs(home: Path) -> None:
    query = "SELECT reason, rule FROM deliveries WHERE recipient = 'carol@orange.fr'"
    before = run("--home", str(home), "sql", "--format", "json", query).stdout
    assert "local:" not in before
    with (home / "relaywatch.toml").open("a") as config:
        config.write(LOCAL_RULE)
    result = run("--home", str(home), "reclassify")
    assert result.exit_code == 0, result.output
    assert "1 row(s) changed in 1 day partition(s)" in result.stdout
    after = json.loads(run("--home", str(home), "sql", "--format", "json", query).stdout)
    assert after == {"reason": "reputation", "rule": "local:orange-ofr-999"}
    again = run("--home", str(home), "reclassify")
    assert "0 row(s) changed" in again.stdout


def test_a_broken_local_rule_is_a_clear_error_naming_the_rule(home: Path) -> None:
    with (home / "relaywatch.toml").open("a") as config:
        config.write(LOCAL_RULE.replace("OFR_999", "OFR_(999"))
    result = run("--home", str(home), "reclassify")
    assert result.exit_code != 0
    assert "orange-ofr-999" in result.output and "regex" in result.output.lower()
