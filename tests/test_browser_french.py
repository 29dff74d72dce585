"""French charts and a tall Logs grid in a real browser (`relaywatch serve` + Debian's Chromium at
1440x900): a French chart's axis and legend are French (month names, 24-hour clock, no AM/PM, no English
weekday), the Logs grid shows 25 rows and more without scrolling, and every page of the navigation is
shot in French and English for root and a customer to tests/artifacts/ (git-ignored)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import test_browser
from tests.test_browser import shot, submit_sign_in
from tests.test_dashboards_data import PASSWORD, DemoHome

pytestmark = pytest.mark.server
server, browser = test_browser.server, test_browser.browser  # the same fixtures
WIDTH, HEIGHT = 1440, 900
WEEK = "days=2026-11-19,2026-11-26"
SIGN_IN = {
    "en": ("Account (name or e-mail address)", "Password", "Sign in", "Overview"),
    "fr": ("Compte (nom ou adresse e-mail)", "Mot de passe", "Se connecter", "Vue d'ensemble"),
}
ENGLISH_TIME = re.compile(r"\b(AM|PM|Mon|Tue|Wed|Thu|Fri|Sat|Sun|Nov|Dec)\b")


def in_language(browser: Browser, language: str) -> Iterator[Page]:
    """A page of a new context whose browser asks for `language` (the app's language before sign-in)."""
    context = browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, locale="fr-FR" if language == "fr" else "en-US"
    )
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def french(browser: Browser) -> Iterator[Page]:
    yield from in_language(browser, "fr")


@pytest.fixture
def english(browser: Browser) -> Iterator[Page]:
    yield from in_language(browser, "en")


def sign_in(page: Page, base: str, name: str, language: str) -> None:
    account, password, button, heading = SIGN_IN[language]
    page.goto(base)
    page.get_by_label(account).fill(name)
    page.get_by_label(password, exact=True).fill(PASSWORD)
    submit_sign_in(page, button)
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def chart_texts(page: Page) -> list[str]:
    """The text nodes of the first chart's SVG (axis labels, titles and legend)."""
    chart = page.get_by_test_id("stVegaLiteChart").first
    expect(chart.locator("svg text").first).to_be_attached()
    page.wait_for_timeout(500)  # the axis is laid out after the marks
    return [t.strip() for t in chart.locator("svg text").all_text_contents() if t.strip()]


def test_a_french_chart_has_french_axis_and_legend(server: tuple[str, DemoHome], french: Page) -> None:
    base, _ = server
    sign_in(french, base, "root", "fr")
    french.goto(f"{base}/logs?{WEEK}")
    expect(french.get_by_text("tentatives de remise correspondent")).to_be_visible()
    french.get_by_role("link", name="Vue d'ensemble").click()
    texts = chart_texts(french)
    assert {"Envoyés", "Différés"} <= set(texts), texts
    assert any(re.fullmatch(r"\d{1,2} nov\.", t) for t in texts), texts
    assert not [t for t in texts if ENGLISH_TIME.search(t)], texts

    french.goto(f"{base}/logs?days=2026-11-25,2026-11-25&hours=8,20")
    expect(french.get_by_text("tentatives de remise correspondent")).to_be_visible()
    hours = chart_texts(french)
    assert any(re.fullmatch(r"(0[89]|1\d):00", t) for t in hours), hours
    assert not [t for t in hours if ENGLISH_TIME.search(t)], hours


def test_an_english_chart_keeps_english_dates(server: tuple[str, DemoHome], english: Page) -> None:
    base, _ = server
    sign_in(english, base, "root", "en")
    english.goto(f"{base}/logs?{WEEK}")
    texts = chart_texts(english)
    assert {"Sent", "Deferred"} <= set(texts), texts
    assert any(re.fullmatch(r"Nov \d{1,2}", t) for t in texts), texts


def test_the_logs_grid_shows_25_rows_and_more_at_1440_by_900(server: tuple[str, DemoHome], english: Page) -> None:
    base, _ = server
    sign_in(english, base, "root", "en")
    english.goto(f"{base}/logs?{WEEK}")
    grid = english.get_by_test_id("stDataFrame").first
    expect(grid.locator('[role="gridcell"]').first).to_be_attached()
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None and box["height"] <= HEIGHT, box
    rows = english.evaluate(
        """() => {
            const grid = document.querySelector('[data-testid="stDataFrame"]').getBoundingClientRect();
            return [...document.querySelectorAll('[data-testid="stDataFrame"] [role="row"][aria-rowindex]')]
                .map(r => Number(r.getAttribute('aria-rowindex')))
                .filter(i => i > 1 && 35 + (i - 1) * 26 <= grid.height).length;
        }"""
    )
    assert rows >= 25, rows


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("name", ["root", "alice"])
def test_every_page_of_the_role_renders_and_is_shot(
    server: tuple[str, DemoHome], browser: Browser, language: str, name: str
) -> None:
    """Each page of the navigation, for root and a customer, in English and French: it opens on its own
    URL, shows its title and no exception, and is shot to tests/artifacts/<page>-<language>-<name>.png."""
    base, _ = server
    page = next(in_language(browser, language))
    try:
        sign_in(page, base, name, language)
        page.goto(f"{base}/logs?{WEEK}")  # the period the other pages then keep
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
        links = page.get_by_test_id("stSidebarNav").get_by_role("link")
        targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert len(targets) == (11 if name == "root" else 7), targets
        for index, href in enumerate(targets):
            assert href is not None
            links.nth(index).click()
            expect(page).to_have_url(re.compile(re.escape(href) + r"(\?.*)?$"))  # the Logs keep their query
            expect(page.locator("h1").first).to_be_visible()
            expect(page.get_by_test_id("stException")).to_have_count(0)
            expect(page.get_by_text(re.compile("does not give access|ne donne pas accès"))).to_have_count(0)
            shot(page, f"{urlsplit(href).path.strip('/') or 'overview'}-{language}-{name}")
    finally:
        page.context.close()
