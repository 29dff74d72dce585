"""The Account page's report preview in Debian's Chromium: a button renders the reader's report into a
sanitised file shown in an iframe (never through Markdown). Screenshot in tests/artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.test_browser import browser, page, server, shot, sign_in  # noqa: F401 - the browser tests' fixtures
from tests.test_dashboards_data import DemoHome

pytestmark = pytest.mark.server


def test_the_account_page_previews_the_report_in_an_iframe(server: tuple[str, DemoHome], page: Page) -> None:  # noqa: F811
    base, home = server
    sign_in(page, base, "alice")
    page.get_by_role("link", name="Account").click()
    page.get_by_role("button", name="Preview my report").click()
    frame = page.frame_locator("iframe").first
    expect(frame.get_by_role("heading", name="Deliverability report")).to_be_visible()
    expect(frame.locator("script")).to_have_count(0)
    shot(page, "account-report-preview")
    preview = (home.path / "previews" / "alice.html").read_text(encoding="utf-8")
    assert "<script" not in preview and "alice" in preview
