"""Issue 16 in a real browser (`relaywatch serve` + Debian's Chromium): a deep link opened signed out
lands on its page after sign-in, a filtered Logs URL shows the same rows in a second browser context of
the same user, rejects and the empty-period hint. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import test_browser
from tests.test_browser import choose_days, expect_cells, session_cookie, shot, sign_in
from tests.test_dashboards_data import ALICE_SENDER, PASSWORD, DemoHome
from tests.test_dashboards_pages import alice_message_key

pytestmark = pytest.mark.server
server, browser, page = test_browser.server, test_browser.browser, test_browser.page  # the same fixtures
WEEK = "days=2026-11-19,2026-11-26"


def fill_sign_in(page: Page, name: str) -> None:
    page.get_by_label("Account (name or e-mail address)").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_deep_link_opened_signed_out_lands_on_its_page_after_sign_in(
    server: tuple[str, DemoHome], page: Page
) -> None:
    base, _ = server
    key = alice_message_key()
    page.goto(f"{base}/message?key={key}")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    fill_sign_in(page, "alice")
    expect(page.get_by_role("heading", name="Message 4A1B2C3D4E on gw1")).to_be_visible()
    assert parse_qs(urlsplit(page.url).query)["key"] == [key]
    assert urlsplit(page.url).path.endswith("/message")
    shot(page, "deep-link-message-alice")

    page.context.clear_cookies()
    second = page.context.new_page()
    second.goto(f"{base}/logs?{WEEK}&recipient_domain=gmail.com")
    fill_sign_in(second, "alice")
    expect(second.get_by_text("2 delivery attempts match")).to_be_visible()
    second.close()


def test_a_filtered_logs_url_shows_the_same_rows_in_another_context(
    server: tuple[str, DemoHome], page: Page, browser: Browser
) -> None:
    base, _ = server
    sign_in(page, base, "alice")
    assert session_cookie(page) is not None, "the cookie is set before the next page load"
    page.goto(f"{base}/logs?{WEEK}")
    expect(page.get_by_text("5 delivery attempts match")).to_be_visible()
    page.get_by_label("Recipient domain").fill("gmail.com")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("2 delivery attempts match")).to_be_visible()
    expect(page).to_have_url(re.compile(r"recipient_domain=gmail\.com"))
    shared = page.url
    shot(page, "logs-filtered-alice")

    other = browser.new_context(viewport={"width": 1440, "height": 900})
    other.set_default_timeout(20_000)
    try:
        tab = other.new_page()
        tab.goto(shared)
        fill_sign_in(tab, "alice")
        expect(tab.get_by_text("2 delivery attempts match")).to_be_visible()
        expect_cells(tab, {"nobody@gmail.com": 1, "bob@gmail.com": 1, "carol@orange.fr": 0, ALICE_SENDER: 2})
        expect(tab.get_by_label("Recipient domain")).to_have_value("gmail.com")
    finally:
        other.close()


def test_rejects_and_the_empty_period_for_root(server: tuple[str, DemoHome], page: Page) -> None:
    base, _ = server
    sign_in(page, base, "root")
    assert session_cookie(page) is not None, "the cookie is set before the next page load"
    expect(page.get_by_text("The newest data you may see is of")).to_be_visible()
    expect(page.get_by_text("No data", exact=True)).to_be_visible()
    shot(page, "overview-empty-period-root")
    page.get_by_role("button", name="Show 2026-11-19 → 2026-11-25").click()
    expect(page.get_by_test_id("stMetricValue").first).not_to_have_text("0")
    page.goto(f"{base}/logs?{WEEK}&kind=rejects")
    expect(page.get_by_text(re.compile("rejects? match"))).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    shot(page, "logs-rejects-root")


def test_overview_counts_and_rows_drill_down_to_the_logs(server: tuple[str, DemoHome], page: Page) -> None:
    base, _ = server
    sign_in(page, base, "alice")
    choose_days(page, "2026-11-19", "2026-11-26")
    page.get_by_role("heading", name="Overview", exact=True).click()
    expect(page.get_by_text("Nothing delivered")).to_have_count(0)
    shot(page, "overview-alice")
    page.get_by_role("link", name="See in Logs").nth(2).click()  # under Bounced
    expect(page.get_by_role("heading", name="Logs", exact=True)).to_be_visible()
    expect(page.get_by_text("2 delivery attempts match")).to_be_visible()
    expect(page).to_have_url(re.compile(r"status=bounced"))
    expect_cells(page, {"nobody@gmail.com": 1, "-2+3@example.net": 1, "carol@orange.fr": 0})

    page.get_by_role("link", name="Overview").click()
    domains = page.get_by_test_id("stDataFrame").nth(1)
    expect(domains).to_contain_text("gmail.com")
    domains.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)  # let the page settle (chart drawn) before clicking into the grid
    box = domains.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row (gmail.com): its selection box
    expect(page.get_by_role("heading", name="Logs", exact=True)).to_be_visible()
    expect(page.get_by_text("2 delivery attempts match")).to_be_visible()
    expect(page).to_have_url(re.compile(r"recipient_domain=gmail\.com"))
    shot(page, "logs-drilled-alice")


def test_root_pages_changed_by_issue_16(server: tuple[str, DemoHome], page: Page) -> None:
    base, _ = server
    sign_in(page, base, "root")
    choose_days(page, "2026-11-19", "2026-11-26")
    page.get_by_role("heading", name="Overview", exact=True).click()
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible()
    shot(page, "overview-days-root")
    for link, heading, name in (("Gateways", "Gateways", "gateways-root"), ("Admin", "Administration", "admin-root")):
        page.get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        if link == "Admin":
            page.get_by_role("tab", name="Audit log").click()
            expect(page.get_by_text("Select an entry to see")).to_be_visible()
        shot(page, name)


def test_brushing_the_histogram_sets_an_hour_period_in_the_url(server: tuple[str, DemoHome], page: Page) -> None:
    base, _ = server
    sign_in(page, base, "root")
    page.goto(f"{base}/logs?days=2026-11-21,2026-11-22")
    expect(page.get_by_text("Drag across the histogram")).to_be_visible()
    before = page.get_by_text(re.compile(r"delivery attempts match")).inner_text()
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.scroll_into_view_if_needed()
    box = page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first
    area = box.bounding_box()
    assert area is not None
    y = area["y"] + area["height"] * 0.6
    page.mouse.move(area["x"] + area["width"] * 0.35, y)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * 0.55, y, steps=8)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"hours=\d+(,|%2C)\d+"))
    query = parse_qs(urlsplit(page.url).query)
    first, last = query["days"][0].split(",")
    since, until = (int(h) for h in query["hours"][0].split(","))
    assert "2026-11-21" <= first <= last <= "2026-11-22", query
    assert (first, since) < (last, until) and (since, until) != (0, 24), "some hours, not the whole days"
    after = page.get_by_text(re.compile(r"delivery attempts match"))
    expect(after).not_to_have_text(before)
    expect(page.get_by_role("combobox", name="From (UTC)")).to_have_value(f"{since:02d}:00")
    expect(page.get_by_role("combobox", name="To (UTC)")).to_have_value(f"{until:02d}:00")
    shot(page, "logs-brushed-root")
