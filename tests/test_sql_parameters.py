"""Named query parameters in user SQL (`$since`): values bound by DuckDB, never SQL text, through the
guard, `relaywatch sql --param`, the Python client and `POST /api/v1/sql`; the row filter still applies."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from acl import SqlRefused, check_user_sql
from relaywatch import connect
from relaywatch.cli import main
from tests.api_client import SQL_PATH, new_token, request, served
from tests.test_api import scoped
from tests.test_dashboards_data import ALICE_SENDER, DemoHome

__all__ = ["served"]  # the session fixture, imported
INJECTION = "x' OR sender IS NOT NULL OR 'a' = 'a"
COUNT = "SELECT count(*) AS n FROM deliveries WHERE sender = $sender OR sender = $other"


def test_the_guard_accepts_named_parameters_and_refuses_positional_ones() -> None:
    check_user_sql("SELECT * FROM deliveries WHERE ts >= $since::TIMESTAMPTZ AND sender = $sender", {"deliveries"})
    for query in ("SELECT * FROM deliveries WHERE sender = ?", "SELECT $1"):
        with pytest.raises(SqlRefused, match="positional parameters are not allowed"):
            check_user_sql(query, {"deliveries"})


def test_a_parameter_is_a_value_never_sql_text_on_the_command_line(served: tuple[str, DemoHome, object]) -> None:
    _, home, _ = served
    args = ["--home", str(home.path), "sql", COUNT, "--as", "alice", "--format", "csv"]
    mine = CliRunner().invoke(main, [*args, "--param", f"sender={ALICE_SENDER}", "--param", "other=none"])
    assert mine.exit_code == 0, mine.output
    expected = scoped(home, "alice", f"SELECT count(*) AS n FROM deliveries WHERE sender = '{ALICE_SENDER}'")
    assert mine.output.split() == ["n", str(expected["n"][0])] and expected["n"][0] > 0
    injected = CliRunner().invoke(main, [*args, "--param", f"sender={INJECTION}", "--param", "other=none"])
    assert injected.exit_code == 0, injected.output
    assert injected.output.split() == ["n", "0"]
    bad = CliRunner().invoke(main, [*args, "--param", "sender"])
    assert bad.exit_code != 0 and "is not NAME=VALUE" in bad.output


def test_the_api_binds_parameters_within_the_caller_s_scope(served: tuple[str, DemoHome, object]) -> None:
    base, home, _ = served
    token = new_token(home.path, "alice")
    client = connect(base, token)
    everyone = "SELECT count(*) AS n FROM deliveries WHERE sender <> $nobody"
    assert (
        client.sql(everyone, {"nobody": "nobody@nowhere.example"})["n"][0]
        == scoped(home, "alice", "SELECT count(*) AS n FROM deliveries")["n"][0]
    )
    assert client.sql(COUNT, {"sender": INJECTION, "other": INJECTION})["n"][0] == 0

    def post(body: object) -> tuple[int, dict]:
        answer = request(
            base,
            "POST",
            SQL_PATH,
            token=token,
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        return answer.status, answer.json()

    for wrong in (
        {"sql": COUNT, "params": ["x"]},
        {"sql": COUNT, "params": {"sender": {"a": 1}}},
        {"sql": COUNT, "x": 1},
    ):
        status, error = post(wrong)
        assert status == 400 and error["error"]["code"] == "invalid_body", error
    status, error = post({"sql": "SELECT ?", "params": {}})
    assert status == 400 and "positional parameters" in json.dumps(error)
