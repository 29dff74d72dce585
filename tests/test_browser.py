"""The dashboards in a real browser: `relaywatch serve` on 127.0.0.1 driven by Debian's Chromium.

A user signs in, sees only its own rows, filters the Logs, opens a message's detail and downloads the
CSV export through the streamed route. Screenshots go to tests/artifacts/ (git-ignored). Never skipped:
in CI (CI=true) a missing browser or server is a failure.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.servers.serve import serving
from tests.test_dashboards_data import ALICE_SENDER, PASSWORD, DemoHome, copy_home

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.server
# A sign-in or a rerun on 2 busy cores can take longer than Playwright's 5 s: waits are for events
# (an element, a URL), so a longer bound costs nothing when things work.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, DemoHome]]:
    """`relaywatch serve` for a copy of the dashboards' test home, on a free port of 127.0.0.1."""
    home = copy_home(tmp_path_factory.mktemp("browser"))
    with serving(home.path) as (base, _):
        yield base, home


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def shot(page: Page, name: str) -> None:
    """The whole page at the page's width: Streamlit scrolls inside its own container, so grow the window
    until the content stops reflowing, let the charts draw at that size, then restore the viewport."""
    ARTIFACTS.mkdir(exist_ok=True)
    viewport = page.viewport_size or {"width": 1400, "height": 1000}
    size = viewport["height"]
    for _ in range(3):
        height = page.evaluate("document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight")
        wanted = max(viewport["height"], min(int(height) + 160, 8000))
        if wanted == size:
            break
        size = wanted
        page.set_viewport_size({"width": viewport["width"], "height": size})
        page.wait_for_timeout(250)
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.set_viewport_size(viewport)


def sign_in(page: Page, base: str, name: str) -> None:
    page.goto(base)
    page.get_by_label("Account (name or e-mail address)").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    submit_sign_in(page, "Sign in")
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()


def submit_sign_in(page: Page, button: str) -> None:
    """Press the sign-in button and wait until the page has loaded its cookie ticket: the session cookie
    is set by that image's response, a moment after the first page shows (a reload before it signs out)."""
    with page.expect_response(lambda r: "/auth/cookie/" in r.url and r.ok):
        page.get_by_role("button", name=button).click()


def choose_days(page: Page, first: str, last: str) -> None:
    """Pick whole days (YYYY-MM-DD) in the period picker, typing into the date segments."""
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Period").locator("input").click()
    page.get_by_role("option", name="Chosen days").click()
    for which, value in (("start", first), ("end", last)):
        for part, text in zip(("year", "month", "day"), value.split("-"), strict=True):
            page.get_by_role("spinbutton", name=f"{part}, Days (UTC) {which} date").click()
            page.keyboard.type(text)
    page.keyboard.press("Escape")


def expect_cells(page: Page, counts: dict[str, int]) -> None:
    """Wait until the Logs table (the grid's accessible DOM copy of its canvas, redrawn a moment after
    each rerun) has exactly `counts[text]` cells showing each text."""
    cells = page.locator('[data-testid="stDataFrame"] [role="gridcell"]')
    for text, count in counts.items():
        expect(cells.filter(has_text=re.compile(f"^{re.escape(text)}$"))).to_have_count(count)


def test_a_user_signs_in_filters_opens_a_message_and_exports_its_rows(server: tuple[str, DemoHome], page: Page) -> None:
    base, home = server
    sign_in(page, base, "alice")
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link", name="Logs")).to_be_visible()
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)
    expect(nav.get_by_role("link", name="Reputation")).to_have_count(0)

    page.get_by_role("link", name="Logs").click()
    expect(page.get_by_role("heading", name="Logs", exact=True)).to_be_visible()
    choose_days(page, "2026-11-19", "2026-11-26")
    page.get_by_role("heading", name="Logs", exact=True).click()
    expect(page.get_by_text("5 delivery attempts match")).to_be_visible()
    expect_cells(page, {ALICE_SENDER: 5, "-2+3@example.net": 1, home.bob_sender: 0})
    shot(page, "logs-alice")

    page.get_by_label("Recipient domain").fill("gmail.com")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("2 delivery attempts match")).to_be_visible()
    expect_cells(page, {"nobody@gmail.com": 1, "bob@gmail.com": 1, "carol@orange.fr": 0, ALICE_SENDER: 2})

    grid = page.get_by_test_id("stDataFrame").first
    grid.scroll_into_view_if_needed()  # the histogram above may push the grid below the window
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 13)  # the first row's selection box (26 px rows)
    page.get_by_role("button", name="Open message 4A1B2C3D4E").click()
    expect(page.get_by_role("heading", name="Message 4A1B2C3D4E on gw1")).to_be_visible()
    raw = page.get_by_test_id("stCode")
    expect(raw).to_contain_text("4A1B2C3D4E: to=<nobody@gmail.com>")
    expect(raw).to_contain_text("status=deferred")
    shot(page, "message-detail")

    page.get_by_role("link", name="Logs").click()
    expect(page.get_by_text("2 delivery attempts match")).to_be_visible()
    page.get_by_role("button", name="Export 2 rows as CSV").click()
    link = page.get_by_role("link", name="Download the CSV")
    expect(link).to_be_visible()
    shot(page, "logs-export")
    with page.context.expect_page() as opened:
        with page.expect_download() as downloading:
            link.click()
        download = downloading.value
    opened.value.close()
    body = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["recipient"] for r in rows} == {"nobody@gmail.com", "bob@gmail.com"}
    assert {r["sender"] for r in rows} == {ALICE_SENDER}
    again = page.context.request.get(base + link.get_attribute("href"))  # type: ignore[operator]
    assert again.status == 404, "an export link works once"


def test_overview_and_bounces_render_for_an_operator(server: tuple[str, DemoHome], page: Page) -> None:
    base, _ = server
    sign_in(page, base, "root")
    choose_days(page, "2026-11-19", "2026-11-26")
    page.get_by_role("heading", name="Overview", exact=True).click()
    expect(page.get_by_test_id("stMetricValue").first).not_to_have_text("0")
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible()
    shot(page, "overview-root")
    for link, heading, name in (
        ("Bounces", "Bounces", "bounces-root"),
        ("Reputation", "Reputation", "reputation"),
        ("Admin", "Administration", "admin"),
    ):
        page.get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        shot(page, name)


def session_cookie(page: Page) -> dict | None:
    """The session cookie once the page has loaded its cookie ticket (waits for it)."""
    for _ in range(100):
        found = [c for c in page.context.cookies() if c["name"] == "rw_session"]
        if found:
            return dict(found[0])
        page.wait_for_timeout(100)
    return None


def test_a_reload_or_a_new_tab_keeps_the_user_signed_in_and_sign_out_ends_it(
    server: tuple[str, DemoHome], page: Page
) -> None:
    base, _ = server
    sign_in(page, base, "alice")
    cookie = session_cookie(page)
    assert cookie is not None, "sign-in sets the session cookie"
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.goto(base + "/account")
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
    other_tab = page.context.new_page()
    other_tab.goto(base + "/logs")
    expect(other_tab.get_by_role("heading", name="Logs", exact=True)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    for _ in range(100):
        if not [c for c in page.context.cookies() if c["name"] == "rw_session"]:
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("sign-out clears the session cookie")
    other_tab.get_by_role("link", name="Overview").click()
    expect(other_tab.get_by_role("button", name="Sign in")).to_be_visible()
    other_tab.close()


def test_an_export_link_works_only_in_the_browser_that_signed_in(
    server: tuple[str, DemoHome], page: Page, browser: Browser
) -> None:
    base, _ = server
    sign_in(page, base, "alice")
    assert session_cookie(page) is not None
    page.get_by_role("link", name="Logs").click()
    expect(page.get_by_role("heading", name="Logs", exact=True)).to_be_visible()
    choose_days(page, "2026-11-19", "2026-11-26")
    page.get_by_role("heading", name="Logs", exact=True).click()
    expect(page.get_by_text("5 delivery attempts match")).to_be_visible()
    page.get_by_role("button", name="Export 5 rows as CSV").click()
    href = page.get_by_role("link", name="Download the CSV").get_attribute("href")
    assert href
    stranger = browser.new_context()
    try:
        assert stranger.request.get(base + href).status == 404, "the link alone is no bearer URL"
    finally:
        stranger.close()
    owner = page.context.request.get(base + href)
    assert owner.status == 200 and ALICE_SENDER in owner.text()
