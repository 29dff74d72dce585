"""Every page speaks English and French, and no log text is ever rendered as Markdown or HTML."""

from __future__ import annotations

import re
import string
from pathlib import Path

import polars as pl
import pytest

from acl import KINDS, ROLES
from dashboards.auth import PAGES, SIGNIN
from dashboards.filters import PRESETS, plain
from dashboards.i18n import STRINGS, translate
from reports import LANGUAGES, REPORT_FREQUENCIES, SECTIONS, UserSettings, save_settings
from tests.test_dashboards_data import choose_days, copy_home, demo_home, goto, open_app
from warehouse import REASONS, SORTS, STATUSES
from warehouse.ruletable import QUALIFICATIONS

SOURCES = sorted((Path(__file__).parents[1] / "dashboards").rglob("*.py"))
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_]+)["']""")
DYNAMIC = {
    "status": STATUSES,
    "qualification": QUALIFICATIONS,
    "period": tuple(PRESETS),
    "language": (*LANGUAGES, "browser"),
    "role": ROLES,
    "level": ("ok", "warn", "critical", "none", "undelivered"),
    "reputation": ("accepted_rate", "deferred_rate", "rejected_rate"),
    "reason": REASONS,  # chart legends name every reason
    "frequency": REPORT_FREQUENCIES,
    "grant": KINDS,
    "nav": tuple(p.id for p in (*PAGES, SIGNIN)),
    "col": (*SORTS, "qualification", "reason"),
    "rsection": SECTIONS,
    "logs": (
        "kind_attempts",
        "kind_rejects",
        *(f"{key}_{form}" for key in ("count", "reject_count") for form in ("one", "none")),
        "export_prepare",
        "export_prepare_one",
    ),
    "gateways": ("state_ok", "state_error", "state_stopped", "state_never"),
}
NOTICES = ("account.saved", "account.password_changed", "admin.done")


def used_keys() -> set[str]:
    keys = set(NOTICES)
    for source in SOURCES:
        text = source.read_text(encoding="utf-8")
        keys.update(LITERAL_KEY.findall(text))
        keys.update(re.findall(r"""["']([a-z_]+\.[a-z0-9_]+)["']\s+(?:if|else)\b""", text))
        keys.update(re.findall(r"""\belse\s+["']([a-z_]+\.[a-z0-9_]+)["']""", text))
    keys.update(f"{family}.{member}" for family, members in DYNAMIC.items() for member in members)
    return keys


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_the_pages_use_exists_in_english_and_french() -> None:
    missing = sorted(used_keys() - set(STRINGS))
    assert not missing
    for key, (english, french) in STRINGS.items():
        assert english.strip() and french.strip(), key
        assert fields(english) == fields(french), key


def test_no_unused_strings() -> None:
    assert not sorted(set(STRINGS) - used_keys())


def test_unknown_keys_show_themselves_and_unknown_languages_fall_back_to_english() -> None:
    assert translate("no.such_key", "fr") == "no.such_key"
    assert translate("nav.logs", "de") == "Logs" and translate("nav.logs", "fr") == "Journaux"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_no_markdown_or_html_rendering_of_arbitrary_text(source: Path) -> None:
    text = source.read_text(encoding="utf-8")
    for forbidden in ("st.markdown(", "st.write(", "st.html(", "unsafe_allow_html", "components.html"):
        assert forbidden not in text


def test_plain_escapes_markdown_and_html() -> None:
    assert plain("**x** <b>[a](b)</b> :red[y] $z$") == (r"\*\*x\*\* \<b\>\[a\]\(b\)\</b\> \:red\[y\] \$z\$")


def test_a_reply_holding_markdown_and_html_is_shown_only_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    at = goto(choose_days(open_app(demo_home(), "alice", monkeypatch)), "logs.py")
    assert any("onerror" in str(v) for d in at.dataframe for v in d.value["response"])
    goto(at, "message.py")
    at.text_input(key="message_search").set_value("7C1D2E3F4A")
    at.button(key="message_find").click().run()
    assert "onerror" in at.code[0].value
    rendered = [
        e.value
        for kind in ("markdown", "caption", "title", "subheader", "info", "warning", "error", "success")
        for e in at.get(kind)
    ]
    assert rendered and not any("onerror" in str(v) or "**policy**" in str(v) for v in rendered)


def test_french_says_rebond_for_a_bounce_and_rejet_for_a_reject_as_postfix_operators_do() -> None:
    bounce = {k: fr for k, (en, fr) in STRINGS.items() if re.search(r"\bbounce[sd]?\b", en, re.IGNORECASE)}
    reject = {k: fr for k, (en, fr) in STRINGS.items() if re.search(r"\breject(s|ed)?\b", en, re.IGNORECASE)}
    assert bounce and reject
    assert all("rebond" in fr.lower() and "rejet" not in fr.lower() for fr in bounce.values()), bounce
    assert all("rejet" in fr.lower() and "rebond" not in fr.lower() for fr in reject.values()), reject


def test_the_logs_grid_names_statuses_and_reasons_in_french(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = copy_home(tmp_path)
    save_settings(home.path, "alice", UserSettings(language="fr"))
    at = goto(choose_days(open_app(home, "alice", monkeypatch)), "logs.py")
    assert not at.exception
    [grid] = [pl.from_pandas(d.value) for d in at.dataframe if "status" in d.value.columns]
    assert set(grid["status"]) <= {translate(f"status.{s}", "fr") for s in STATUSES} and "Rebondis" in set(
        grid["status"]
    )
    assert "destinataire inconnu" in set(grid["reason"])
    assert not set(grid["reason"]) & set(REASONS), "no raw code left"
