"""Every notebook of notebooks/ runs with a real kernel (nbclient) against the real server (URL + token)
as two different users, and once on the host (home + user); its key figures equal the warehouse's for
that user's scope."""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import nbformat
import polars as pl
import pytest
from nbclient import NotebookClient

from acl import get_user, open_store, scope_for
from tests.api_client import new_token, served
from tests.test_api import FIXED_PERIOD
from warehouse import Warehouse, bounces, open_lake

pytestmark = pytest.mark.server
__all__ = ["served"]
NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
START, END = "2026-11-19", "2026-11-26"
RUNS = [("ops", "remote"), ("alice", "remote"), ("alice", "local")]


def execute(name: str, parameters: dict[str, object], workdir: Path) -> dict:
    """Run notebooks/<name>.py with `parameters` injected after its parameters cell (as papermill does);
    returns the key figures it wrote."""
    notebook = jupytext.read(NOTEBOOKS / f"{name}.py")
    results = workdir / f"{name}.json"
    values = {**parameters, "START": START, "END": END, "RESULTS": str(results)}
    position = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in values.items()))
    notebook.cells.insert(position + 1, injected)
    NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    ).execute()
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    charts = [
        o for c in notebook.cells for o in c.get("outputs", []) if "vega" in str(o.get("data", {}).get("text/html", ""))
    ]
    assert charts, "the notebook drew no chart"
    return json.loads(results.read_text())


def warehouse_of(home: Path, user: str) -> Warehouse:
    store = open_store(home / "control.db")
    try:
        scope = scope_for(get_user(store, user))
    finally:
        store.close()
    return Warehouse(open_lake(home), scope)


def parameters(served, user: str, mode: str) -> dict[str, object]:
    base, home, _ = served
    if mode == "remote":
        return {"URL": base, "TOKEN": new_token(home.path, user, "notebook")}
    return {"HOME": str(home.path), "USER": user}


PERIOD_SQL = "ts >= $start AND ts < $end"


@pytest.mark.parametrize(("user", "mode"), RUNS)
def test_provider_deliverability_figures_equal_the_warehouse(served, tmp_path: Path, user: str, mode: str) -> None:
    figures = execute("provider_deliverability", parameters(served, user, mode), tmp_path)
    warehouse = warehouse_of(served[1].path, user)
    try:
        expected = warehouse.query(
            "SELECT provider, count(*) AS attempts, count(*) FILTER (WHERE status = 'sent') AS sent, "
            f"count(*) FILTER (WHERE qualification = 'hard') AS hard FROM deliveries WHERE {PERIOD_SQL} "
            "GROUP BY provider",
            {"start": FIXED_PERIOD.start, "end": FIXED_PERIOD.end},
        )
        reasons = bounces(warehouse, FIXED_PERIOD).provider_reasons
    finally:
        warehouse.close()
    assert expected.height > 0
    assert figures["attempts"] == expected["attempts"].sum()
    assert figures["providers"] == {r.pop("provider"): r for r in expected.iter_rows(named=True)}
    assert figures["failed_by_reason"] == {f"{p}/{r}": n for p, r, n in reasons.iter_rows()}


@pytest.mark.parametrize(("user", "mode"), RUNS)
def test_smtp_auth_hunt_figures_equal_the_warehouse(served, tmp_path: Path, user: str, mode: str) -> None:
    figures = execute("smtp_auth_hunt", parameters(served, user, mode), tmp_path)
    warehouse = warehouse_of(served[1].path, user)
    params = {"start": FIXED_PERIOD.start, "end": FIXED_PERIOD.end}
    try:
        messages = warehouse.query(
            "SELECT sasl_username, count(*) AS messages, count(DISTINCT client_ip) AS client_ips FROM messages "
            "WHERE sasl_username IS NOT NULL AND first_ts >= $start AND first_ts < $end GROUP BY ALL",
            params,
        )
        unknown = warehouse.query(
            "SELECT sasl_username, count(*) AS user_unknown FROM deliveries WHERE sasl_username IS NOT NULL "
            f"AND reason = 'user_unknown' AND {PERIOD_SQL} GROUP BY ALL",
            params,
        )
    finally:
        warehouse.close()
    expected = messages.join(unknown, on="sasl_username", how="full", coalesce=True).fill_null(0)
    assert expected.height > 0
    got = {login: {k: v for k, v in row.items() if k != "score"} for login, row in figures["accounts"].items()}
    assert got == {
        r["sasl_username"]: {
            "messages": r["messages"],
            "client_ips": r["client_ips"],
            "user_unknown": r["user_unknown"],
        }
        for r in expected.iter_rows(named=True)
    }
    assert figures["logins"] == expected.height
    assert pl.Series(list(figures["accounts"].values())).len() == expected.height


@pytest.mark.parametrize(("user", "mode"), RUNS[:2])
def test_bounce_reasons_figures_equal_the_warehouse(served, tmp_path: Path, user: str, mode: str) -> None:
    figures = execute("bounce_reasons", parameters(served, user, mode), tmp_path)
    warehouse = warehouse_of(served[1].path, user)
    try:
        found = bounces(warehouse, FIXED_PERIOD)
    finally:
        warehouse.close()
    by_reason = found.timeline.group_by("qualification", "reason").agg(pl.col("attempts").sum())
    assert by_reason.height > 0
    assert figures["by_reason"] == {f"{q}/{r}": n for q, r, n in by_reason.iter_rows()}
    assert figures["unknown_recipients"] == sorted(found.unknown_recipients["recipient"].to_list())


@pytest.mark.parametrize(("user", "mode"), RUNS[:2])
def test_gateway_reputation_and_deferral_figures_equal_the_warehouse(
    served, tmp_path: Path, user: str, mode: str
) -> None:
    reputation = execute("gateway_reputation", parameters(served, user, mode), tmp_path)
    deferrals = execute("deferral_trends", parameters(served, user, mode), tmp_path)
    warehouse = warehouse_of(served[1].path, user)
    params = {"start": FIXED_PERIOD.start, "end": FIXED_PERIOD.end}
    try:
        grid = warehouse.query(
            "SELECT gateway, provider, count(*) AS n, count(*) FILTER (WHERE status = 'deferred') "
            f"AS d FROM deliveries WHERE {PERIOD_SQL} GROUP BY ALL",
            params,
        )
        deferred = warehouse.query(
            f"SELECT reason, count(*) AS n FROM deliveries WHERE status = 'deferred' AND {PERIOD_SQL} GROUP BY ALL",
            params,
        )
    finally:
        warehouse.close()
    assert grid.height > 0 and deferred.height > 0
    assert reputation == {f"{g}/{p}": [n, d] for g, p, n, d in grid.iter_rows()}
    assert deferrals["deferred_by_reason"] == dict(deferred.iter_rows())
    assert deferrals["snapshots"] == 0  # logs only: this lake has no queue snapshot


def test_a_notebook_connects_from_the_environment_as_relaywatch_notebook_sets_it(
    served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, home, _ = served
    monkeypatch.setenv("RELAYWATCH_URL", base)
    monkeypatch.setenv("RELAYWATCH_TOKEN", new_token(home.path, "alice", "from env"))
    from_env = execute("provider_deliverability", {}, tmp_path)
    remote = execute("provider_deliverability", parameters(served, "alice", "remote"), tmp_path)
    assert from_env == remote and from_env["attempts"] > 0
