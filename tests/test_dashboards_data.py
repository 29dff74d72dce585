"""The dashboards' test data home, shared by the dashboards and browser tests, and the per-user settings.

The home is built once per test run: the two hand-written day logs of gateway gw1 and a generated log
of gateway gw2 are ingested through the real pipeline, then accounts are created with acl. Tests that
change accounts or settings work on a copy (`copy_home`).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

os.environ.setdefault("RELAYWATCH_ARGON2", "fast")

import pytest  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from acl import local_operator, login, open_store, user_add, user_grant, user_list  # noqa: E402
from dashboards import backend  # noqa: E402
from dashboards.auth import TOKEN  # noqa: E402
from relaywatch.core import open_home  # noqa: E402
from relaywatch.loggen import generate  # noqa: E402
from reports import UserSettings, load_settings, save_settings, settings_path  # noqa: E402
from warehouse.lake import Lake  # noqa: E402
from warehouse.pipeline import ingest  # noqa: E402
from warehouse.views import Warehouse  # noqa: E402

DATA = Path(__file__).parent / "data"
REFERENCE = datetime(2026, 11, 26, tzinfo=UTC).timestamp()
PASSWORD = "correct horse battery"
FIRST_DAY, LAST_DAY = date(2026, 11, 19), date(2026, 11, 26)
ALICE_SENDER = "alice@customer.example"
MAIN = Path(__file__).parents[1] / "dashboards" / "pages" / "main.py"
# One more message of alice: its recipient and reply start like spreadsheet formulas (CSV export test),
# and the reply holds Markdown and HTML (never rendered).
EXTRA_LOG = """\
Nov 25 12:00:00 gw1 postfix/smtpd[400]: connect from client.example[192.0.2.10]
Nov 25 12:00:01 gw1 postfix/smtpd[400]: 7C1D2E3F4A: client=client.example[192.0.2.10], sasl_method=PLAIN, \
sasl_username=alice@customer.example
Nov 25 12:00:01 gw1 postfix/cleanup[401]: 7C1D2E3F4A: message-id=<m3@customer.example>
Nov 25 12:00:01 gw1 postfix/qmgr[102]: 7C1D2E3F4A: from=<alice@customer.example>, size=1024, nrcpt=1 (queue active)
Nov 25 12:00:02 gw1 postfix/smtp[403]: 7C1D2E3F4A: to=<-2+3@example.net>, relay=mx.example.net[192.0.2.98]:25, \
delay=1, delays=0/0/0.5/0.5, dsn=5.7.1, status=bounced \
(=cmd|' /C calc'!A0 blocked by **policy** <img src=x onerror=alert(1)>)
Nov 25 12:00:02 gw1 postfix/qmgr[102]: 7C1D2E3F4A: removed
"""


@dataclass(frozen=True)
class DemoHome:
    """A data home with deliveries on gw1 (hand-written) and gw2 (generated), and these accounts:
    root; ops (admin, gateway gw2); alice (user, sender alice@customer.example); bob (user, the busiest
    generated sender); nobody (user without grant); gwbot (mailgw)."""

    path: Path
    bob_sender: str


class _Root:
    def where(self) -> tuple[str, dict[str, object]]:
        return "TRUE", {}


def _build(path: Path) -> DemoHome:
    open_home(path, create=True)
    logs = path / "logs"
    logs.mkdir()
    lake = Lake(path / "lake")
    (logs / "gw1-extra.log").write_text(EXTRA_LOG, encoding="utf-8")
    for name in ("gw1-day1.log", "gw1-day2.log", "gw1-extra.log"):
        if name != "gw1-extra.log":
            shutil.copy(DATA / name, logs / name)
        os.utime(logs / name, (REFERENCE, REFERENCE))
        ingest(lake, "gw1", logs / name)
    generate(
        None,
        lines=12_000,
        days=2,
        gateways=["gw2"],
        seed=11,
        start=datetime(2026, 11, 21, tzinfo=UTC),
        per_gateway_dir=logs,
    )
    ingest(lake, "gw2", logs / "gw2.log")
    warehouse = Warehouse(lake, _Root())
    try:
        bob_sender = warehouse.query(
            "SELECT sender FROM deliveries WHERE gateway = 'gw2' AND sender <> '' GROUP BY sender "
            "ORDER BY count(*) FILTER (WHERE status = 'bounced') DESC, count(*) DESC, sender LIMIT 1"
        )["sender"][0]
    finally:
        warehouse.close()
    store = open_store(path / "control.db")
    root = local_operator("tests")
    user_add(store, root, "root", "root", PASSWORD)
    for name, role in (("ops", "admin"), ("alice", "user"), ("bob", "user"), ("nobody", "user"), ("gwbot", "mailgw")):
        user_add(store, root, name, role, PASSWORD, email=f"{name}@relay.example")
    user_grant(store, root, "ops", "gateway", "gw2")
    user_grant(store, root, "alice", "sender", ALICE_SENDER)
    user_grant(store, root, "bob", "sender", bob_sender)
    user_grant(store, root, "gwbot", "gateway", "gw1")
    store.close()
    return DemoHome(path, bob_sender)


_built: list[DemoHome] = []


def demo_home() -> DemoHome:
    """The shared home (built on first use, removed when the test process exits)."""
    if not _built:
        folder = Path(tempfile.mkdtemp(prefix="rw-dashboards-"))
        atexit.register(shutil.rmtree, folder, True)
        _built.append(_build(folder / "home"))
    return _built[0]


def copy_home(into: Path) -> DemoHome:
    """A private copy of the shared home, for tests that change accounts or settings."""
    shared = demo_home()
    target = into / "home"
    shutil.copytree(shared.path, target)
    return replace(shared, path=target)


def open_app(home: DemoHome, user: str | None, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app (main.py) for this home, signed in as `user` (None: signed out), after its first run."""
    monkeypatch.setenv("RELAYWATCH_HOME", str(home.path))
    at = AppTest.from_file(MAIN, default_timeout=60)
    if user is not None:
        token, _ = login(backend.store(home.path), user, PASSWORD)
        at.session_state[TOKEN] = token
    return at.run()


def choose_days(at: AppTest, first: date = FIRST_DAY, last: date = LAST_DAY) -> AppTest:
    """Pick whole days in the period picker (kept for the rest of the session)."""
    at.selectbox(key="period_preset").set_value("custom").run()
    return at.date_input(key="period_days").set_value((first, last)).run()


def goto(at: AppTest, script: str) -> AppTest:
    """Open a page of the navigation, as a click in the sidebar would."""
    return at.switch_page(script).run()


def texts(elements: object) -> list[str]:
    return [str(e.value) for e in elements]  # type: ignore[attr-defined]


def test_settings_default_when_missing_and_round_trip(tmp_path: Path) -> None:
    assert load_settings(tmp_path, "alice") == UserSettings()
    chosen = UserSettings(
        language="fr", soft_is_error=True, warn_rate=2.5, critical_rate=9.0, refresh_seconds=30, page_size=50
    )
    save_settings(tmp_path, "alice", chosen)
    assert load_settings(tmp_path, "alice") == chosen
    assert not [p for p in settings_path(tmp_path, "alice").parent.iterdir() if p.suffix == ".tmp"]


def test_settings_file_names_cannot_leave_the_settings_folder(tmp_path: Path) -> None:
    path = settings_path(tmp_path, "../../etc/passwd")
    assert path.parent == tmp_path / "settings" and "/" not in path.name


def test_invalid_or_corrupt_settings_fall_back_to_defaults(tmp_path: Path) -> None:
    path = settings_path(tmp_path, "bob")
    path.parent.mkdir(parents=True)
    path.write_text('{"language": "de", "page_size": 7, "soft_is_error": "yes", "warn_rate": 3}')
    loaded = load_settings(tmp_path, "bob")
    assert loaded == UserSettings(warn_rate=3.0)
    path.write_text("{not json")
    assert load_settings(tmp_path, "bob") == UserSettings()


def test_demo_home_has_both_gateways_and_the_accounts() -> None:
    home = demo_home()
    warehouse = Warehouse(Lake(home.path / "lake"), _Root())
    try:
        counts = dict(warehouse.query("SELECT gateway, count(*) AS n FROM deliveries GROUP BY gateway").iter_rows())
    finally:
        warehouse.close()
    assert counts["gw1"] == 7 and counts["gw2"] > 500
    assert not home.bob_sender.endswith("@customer.example")
    store = open_store(home.path / "control.db")
    try:
        users = user_list(store, local_operator("t"))
        accounts = {u.name: (u.role, {(g.kind, g.value) for g in u.grants}) for u in users}
    finally:
        store.close()
    assert accounts == {
        "root": ("root", set()),
        "ops": ("admin", {("gateway", "gw2")}),
        "alice": ("user", {("sender", ALICE_SENDER.lower())}),
        "bob": ("user", {("sender", home.bob_sender)}),
        "nobody": ("user", set()),
        "gwbot": ("mailgw", {("gateway", "gw1")}),
    }
