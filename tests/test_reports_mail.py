"""Acceptance: scheduled reports of three accounts with different grants, over a lake built by a real
ingest, received by a real SMTP server (aiosmtpd) and parsed back: structure, inline images, headers,
language, every figure equal to the warehouse query in that account's scope, nothing outside the scope
anywhere, hostile log text shown as text; the HTML rendered in Debian's Chromium (screenshots)."""

from __future__ import annotations

import base64
import html as html_text
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from babel.numbers import parse_decimal
from playwright.sync_api import sync_playwright

from acl import Scope, get_user, open_store, scope_for
from reports import load_settings, period_of, send_due_reports
from tests.reports_home import HOSTILE_REPLY, HOSTILE_SENDER, ReportHome, build
from tests.servers.sink import SmtpSink
from warehouse import Warehouse, bounces, open_lake, overview, queue, report_details

ARTIFACTS = Path(__file__).parent / "artifacts"
NOW = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)
"""08:30 in Paris, 07:30 UTC: the report of 21 November (local) is due for every account."""
LOCALES = {"fr": "fr_FR", "en": "en_GB"}
READERS = ("ops", "mallory", "carol")


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> ReportHome:
    return build(tmp_path_factory.mktemp("reports") / "home", mail_port=sink.port)


@pytest.fixture(scope="module")
def mails(home: ReportHome, sink: SmtpSink) -> dict[str, EmailMessage]:
    """The scheduler's pass at NOW, and what the sink received, by reader."""
    outcomes = send_due_reports(home.path, now=NOW)
    assert {(o.user, o.result) for o in outcomes} == {
        ("ops", "sent"),
        ("mallory", "sent"),
        ("carol", "sent"),
        ("nobody", "skipped"),
    }
    received = {}
    for transaction in sink.wait_until(lambda ts: sum(t.data is not None for t in ts) >= 3):
        message = transaction.message()
        received[transaction.rcpts[0].rcpt.partition("@")[0]] = message
    assert sorted(received) == sorted(READERS)  # nobody (no grant) gets no report at all
    return received


def parts(message: EmailMessage) -> tuple[str, str, dict[str, EmailMessage]]:
    """(text, html, images by Content-ID), checking the MIME structure on the way."""
    assert message.get_content_type() == "multipart/alternative"
    plain, related = message.get_payload()
    assert plain.get_content_type() == "text/plain" and related.get_content_type() == "multipart/related"
    html_part, *images = related.get_payload()
    assert html_part.get_content_type() == "text/html" and images
    by_cid = {}
    for image in images:
        assert image.get_content_type() == "image/png" and image.get_content().startswith(b"\x89PNG")
        by_cid[image["Content-ID"].strip("<>")] = image
    return plain.get_content(), html_part.get_content(), by_cid


def figure(html: str, key: str, locale: str) -> float:
    found = re.search(rf'id="{key}"[^>]*>([^<]*)<', html)
    assert found, key
    return float(parse_decimal(html_text.unescape(found.group(1)).replace("\u00a0%", "").strip(), locale=locale))


def scoped(home: ReportHome, name: str) -> tuple[Warehouse, Scope]:
    with open_store(home.path / "control.db") as store:
        scope = scope_for(get_user(store, name))
    return Warehouse(open_lake(home.path), scope), scope


def test_each_reader_gets_one_multipart_mail_with_inline_charts_and_headers(mails: dict[str, EmailMessage]) -> None:
    for name, message in mails.items():
        text, html, images = parts(message)
        referenced = set(re.findall(r'src="cid:([^"]+)"', html))
        assert referenced == set(images), name
        assert message["Message-ID"].startswith("<report.") and message["Message-ID"].endswith("@relaywatch.example>")
        assert message["Date"].datetime == NOW
        assert message["List-Unsubscribe"] == "<https://relaywatch.example/app/account>"
        assert message["To"] == f"{name}@readers.example"
        assert "<script" not in html.lower() and "https://relaywatch.example/app/overview" in html
        assert "https://relaywatch.example/app/account" in text
    assert mails["ops"]["Subject"] == "Rapport de délivrabilité du 21 novembre 2026"
    assert mails["ops"]["Content-Language"] == "fr" and 'lang="fr"' in parts(mails["ops"])[1]
    assert mails["mallory"]["Subject"] == "Deliverability report of 21 November 2026"
    assert "=?utf-8?" in mails["carol"].as_string()  # the French subject travels RFC 2047-encoded


@pytest.mark.parametrize("name", READERS)
def test_every_figure_equals_the_warehouse_query_in_the_readers_scope(
    home: ReportHome, mails: dict[str, EmailMessage], name: str
) -> None:
    prefs = load_settings(home.path, name)
    zone = "Europe/Paris" if name != "mallory" else "UTC"
    period = period_of("daily", datetime(2026, 11, 21).date(), ZoneInfo(zone))
    previous = period.previous(ZoneInfo(zone))
    warehouse, _ = scoped(home, name)
    try:
        now = overview(warehouse, period.window, soft_is_error=prefs.soft_is_error)
        before = overview(warehouse, previous.window, soft_is_error=prefs.soft_is_error)
        details = report_details(warehouse, period.window, soft_is_error=prefs.soft_is_error, views=warehouse.views)
        failing = bounces(warehouse, period.window, top=5)
        queued = queue(warehouse, period.window)
    finally:
        warehouse.close()
    _, html, _ = parts(mails[name])
    locale = LOCALES[prefs.language]
    assert now.totals["attempts"] > 0
    for key in ("attempts", "sent", "deferred", "bounced", "expired", "errors"):
        assert figure(html, f"fig-{key}", locale) == now.totals[key], key
    for key in ("attempts", "sent", "deferred", "bounced", "expired"):
        assert figure(html, f"prev-{key}", locale) == before.totals[key], key
    assert figure(html, "fig-error_rate", locale) == pytest.approx(now.error_rate, abs=0.005)
    for row in details.reasons.iter_rows(named=True):
        cells = re.search(rf'data-name="{row["reason"]}".*?class="num"[^>]*>([^<]*)<', html, re.S)
        assert cells and float(parse_decimal(html_text.unescape(cells.group(1)), locale=locale)) == row["attempts"]
    for row in failing.domains.iter_rows(named=True):
        assert f'data-name="{row["recipient_domain"]}"' in html
    if name == "ops":  # operators get the queue: the newest snapshot of gw-b, two messages, 4 h old
        cells = re.search(
            r'data-name="gw-b"><td[^>]*>gw-b</td><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>'
            r"<td[^>]*>([^<]*)</td>",
            html,
        )
        assert cells and [html_text.unescape(c) for c in cells.groups()] == [
            str(queued.summary["messages"][0]),
            "4,0",
            "1 → 2",
        ]
    else:
        assert 'id="queue"' not in html and 'id="reputation"' not in html


@pytest.mark.parametrize("name", READERS)
def test_nothing_outside_the_readers_scope_appears_anywhere(
    home: ReportHome, mails: dict[str, EmailMessage], name: str
) -> None:
    root = Warehouse(open_lake(home.path), Scope.root())
    warehouse, _ = scoped(home, name)
    columns = "sender, sender_domain, gateway, sasl_username"
    try:
        everything = root.query(f"SELECT DISTINCT {columns} FROM deliveries")
        mine = warehouse.query(
            f"SELECT DISTINCT {columns}, recipient, recipient_domain, relay, response FROM deliveries"
        )
    finally:
        root.close()
        warehouse.close()
    inside = " ".join(str(v) for column in mine.columns for v in mine[column].drop_nulls().unique())
    outside = set()
    for column in ("sender", "sender_domain", "gateway", "sasl_username"):
        outside |= {v for v in everything[column].drop_nulls().unique() if len(v) > 3 and v not in inside}
    assert outside
    message = mails[name]
    text, html, images = parts(message)
    alts = " ".join(re.findall(r'alt="([^"]*)"', html))
    for where, body in (
        ("subject", message["Subject"]),
        ("text", text),
        ("html", html),
        ("alt", alts),
        ("headers", str(message.items())),
    ):
        leaked = sorted(v for v in outside if v in body)
        assert not leaked, f"{name}: {where} shows {leaked[:5]}"
    if name == "ops":
        assert "gw-b" in html and "gw-a" not in html and "gw-c" not in html
    assert pl.Series(list(outside)).str.contains("@").any()


def test_hostile_log_text_is_shown_as_text(mails: dict[str, EmailMessage]) -> None:
    text, html, _ = parts(mails["mallory"])
    assert HOSTILE_SENDER in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
    assert "&amp;amp;" in html and "{{ 7*7 }}" in html and "{% raw %}" in html
    assert "<script>alert(1)</script> &amp; {{ 7*7 }}" in text
    assert HOSTILE_REPLY.split(" ", 1)[1] in text


@pytest.mark.server
@pytest.mark.parametrize(("name", "language"), [("ops", "fr"), ("mallory", "en")])
def test_the_html_part_renders_in_chromium(mails: dict[str, EmailMessage], name: str, language: str) -> None:
    _, html, images = parts(mails[name])
    for cid, image in images.items():
        html = html.replace(f"cid:{cid}", "data:image/png;base64," + base64.b64encode(image.get_content()).decode())
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 720, "height": 900})
            page.set_content(html, wait_until="load")
            widths = page.eval_on_selector_all("img.chart", "els => els.map(e => e.naturalWidth)")
            assert len(widths) == len(images) and all(w > 500 for w in widths)
            page.screenshot(path=str(ARTIFACTS / f"report-{language}.png"), full_page=True)
            heading = page.inner_text("h1")
            assert heading == {"fr": "Rapport de délivrabilité", "en": "Deliverability report"}[language]
        finally:
            browser.close()


def test_the_blacklist_section_lists_the_period_s_entries_as_text(home: ReportHome) -> None:
    from dataclasses import replace

    from reports.content import gather, load_reader
    from reports.render import render
    from reports.settings import SECTIONS, ReportSettings

    user = load_reader(home.path, "mallory")
    tz = ZoneInfo("UTC")
    period = period_of("daily", datetime(2026, 11, 21).date(), tz)
    content = gather(home.path, user, ReportSettings("daily", 6, "UTC"), period, period.previous(tz))
    added = content.details.blacklist_added
    assert "blacklist" in content.sections and added is not None and added.height == 0  # policy's view, empty
    html = render(content, base_url="https://r.example").html
    assert 'id="blacklist"' in html and "victim@example.net" not in html
    entries = pl.DataFrame(
        {
            "kind": ["recipient"],
            "value": ["<b>victim@example.net</b>"],
            "reason": ["user_unknown"],
            "created_at": [period.start],
            "expires_at": [period.end],
        }
    )
    listed = replace(
        content,
        sections=SECTIONS[:5],
        details=replace(content.details, blacklist_added=entries, blacklist_expired=entries.clear()),
    )
    html = render(listed, base_url="https://r.example").html
    assert 'id="blacklist"' in html and "&lt;b&gt;victim@example.net&lt;/b&gt;" in html


def test_the_french_report_calls_bounces_rebonds_not_rejets(mails: dict[str, EmailMessage]) -> None:
    """ "Rejeté" is a Postfix reject (refused at SMTP time); a bounce is a "rebond"."""
    text, html, _ = parts(mails["ops"])
    assert "Rebondis" in text and "Rebondis" in html
