"""Numbers, dates and the charts' Vega locale are written the way French and English write them (CLDR via
babel), and every chart uses the app's one palette with legends in the person's language."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from dashboards import charts, formats
from warehouse import REASONS

NNBSP = "\u202f"  # French thousands separator in CLDR
NBSP = "\xa0"


def test_french_and_english_numbers() -> None:
    assert formats.number(1234.5, "fr") == f"1{NNBSP}234,5"
    assert formats.number(1234.5, "en") == "1,234.5"
    assert formats.number(1234, "fr", digits=2) == f"1{NNBSP}234,00"
    assert formats.number(0.1234, "en", digits=3) == "0.123"
    assert formats.number(None, "fr") == ""


def test_french_and_english_percentages() -> None:
    assert formats.percent(12.3, "fr", digits=1) == f"12,3{NBSP}%"
    assert formats.percent(12.3, "en", digits=1) == "12.3%"
    assert formats.percent(100, "fr") == f"100,00{NBSP}%"
    assert formats.percent(None, "en") == "-"


def test_dates_in_text_and_in_the_grid() -> None:
    moment = datetime(2026, 12, 2, 14, 5, tzinfo=UTC)
    assert formats.moment(moment, "fr") == "02/12/2026 14:05 UTC"
    assert formats.moment(moment, "en") == "12/2/2026 14:05 UTC"
    assert formats.grid_datetime("fr") == "DD/MM/YYYY HH:mm:ss"
    assert formats.grid_minutes("en") == "M/D/YYYY HH:mm"


@pytest.mark.parametrize(
    ("utc", "zone", "shown"),
    [
        (datetime(2026, 3, 29, 0, 59), "Europe/Paris", "29/03/2026 01:59 Europe/Paris"),  # CET, +1
        (datetime(2026, 3, 29, 1, 0), "Europe/Paris", "29/03/2026 03:00 Europe/Paris"),  # 02:00 skipped, CEST
        (datetime(2026, 10, 25, 0, 30), "Europe/Paris", "25/10/2026 02:30 Europe/Paris"),  # CEST, +2
        (datetime(2026, 10, 25, 1, 30), "Europe/Paris", "25/10/2026 02:30 Europe/Paris"),  # again, CET
        (datetime(2026, 3, 8, 6, 59), "America/New_York", "08/03/2026 01:59 America/New_York"),  # EST, -5
        (datetime(2026, 3, 8, 7, 0), "America/New_York", "08/03/2026 03:00 America/New_York"),  # EDT, -4
        (datetime(2026, 11, 1, 5, 30), "America/New_York", "01/11/2026 01:30 America/New_York"),  # EDT
        (datetime(2026, 11, 1, 6, 30), "America/New_York", "01/11/2026 01:30 America/New_York"),  # EST
        (datetime(2026, 12, 2, 14, 5), "UTC", "02/12/2026 14:05 UTC"),
    ],
)
def test_a_utc_time_is_written_in_the_persons_zone_across_dst(utc: datetime, zone: str, shown: str) -> None:
    assert formats.moment(utc.replace(tzinfo=UTC), "fr", ZoneInfo(zone)) == shown
    assert formats.moment(utc, "fr", ZoneInfo(zone)) == shown, "a naive time is a UTC time (the lake's)"


def test_a_moment_to_the_second_in_english() -> None:
    when = datetime(2026, 7, 1, 12, 0, 7, tzinfo=UTC)
    assert (
        formats.moment(when, "en", ZoneInfo("America/New_York"), seconds=True) == "7/1/2026 08:00:07 America/New_York"
    )


def test_grid_frames_keep_their_instants_in_the_persons_zone() -> None:
    utc = [datetime(2026, 3, 29, 0, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]
    frame = pl.DataFrame({"ts": utc, "naive": [datetime(2026, 11, 1, 6, 30), None], "n": [1, 2]})
    paris = formats.in_zone(frame, ZoneInfo("Europe/Paris"))
    assert paris.schema["ts"] == pl.Datetime("us", "Europe/Paris") and paris["n"].to_list() == [1, 2]
    assert [t.strftime("%H:%M %Z") for t in paris["ts"]] == ["01:59 CET", "03:00 CEST"]
    assert paris["ts"].dt.convert_time_zone("UTC").to_list() == utc, "same instants"
    york = formats.in_zone(frame, ZoneInfo("America/New_York"))
    assert york["naive"][0].strftime("%Y-%m-%d %H:%M %Z") == "2026-11-01 01:30 EST"


def test_chart_times_are_the_wall_clock_of_the_zone_on_a_utc_scale() -> None:
    frame = pl.DataFrame({"bucket": [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)], "status": ["sent"], "attempts": [1]})
    wall = formats.wall_clock(frame, "bucket", ZoneInfo("Europe/Paris"))
    assert wall["bucket"].to_list() == [datetime(2026, 10, 25, 2, 30, tzinfo=UTC)]
    spec = charts.stacked_bars(
        frame,
        x="bucket",
        y="attempts",
        colour="status",
        x_title="t",
        y_title="n",
        language="en",
        zone=ZoneInfo("America/New_York"),
    ).to_dict()
    [rows] = spec["datasets"].values()
    assert rows[0]["bucket"].startswith("2026-10-24T20:30:00"), "New York's wall clock (EDT, -4)"
    assert spec["encoding"]["x"]["scale"]["type"] == "utc", "drawn as UTC: the browser's zone plays no part"
    assert spec["encoding"]["tooltip"][0]["timeUnit"] == charts.UTC_MINUTE


def test_the_shown_zone_is_the_preference_else_the_browsers_else_utc() -> None:
    assert formats.user_zone("Europe/Paris", "America/New_York").key == "Europe/Paris"
    assert formats.user_zone("", "America/New_York").key == "America/New_York"
    assert formats.user_zone("", "Not/AZone").key == "UTC", "the browser's word is not trusted"
    assert formats.user_zone("", None).key == "UTC"


def test_plural_categories_follow_the_language() -> None:
    assert formats.plural(1, "en") == "one" and formats.plural(0, "en") == "other"
    assert formats.plural(0, "fr") == "one" and formats.plural(2, "fr") == "other"


def test_the_french_vega_locale_comes_from_cldr() -> None:
    locale = formats.vega_locale("fr")
    number, time = locale["number"], locale["time"]
    assert number["decimal"] == "," and number["thousands"] == NNBSP and number["grouping"] == [3]
    assert number["percent"] == f"{NBSP}%" and number["currency"] == ["", f"{NBSP}€"]
    assert time["date"] == "%d/%m/%Y" and time["time"] == "%H:%M:%S"
    assert time["days"][0] == "dimanche" and time["days"][3] == "mercredi"  # d3 weeks start on Sunday
    assert time["shortDays"][3] == "mer." and time["months"][11] == "décembre"
    assert time["shortMonths"][:2] == ["janv.", "févr."] and len(time["shortMonths"]) == 12


def test_the_english_vega_locale() -> None:
    locale = formats.vega_locale("en")
    assert locale["number"]["decimal"] == "." and locale["number"]["thousands"] == ","
    assert locale["time"]["days"][3] == "Wednesday" and locale["time"]["shortMonths"][11] == "Dec"


@pytest.mark.parametrize(("language", "day"), [("fr", "%-d %b"), ("en", "%b %-d")])
def test_time_axes_use_the_24_hour_clock_and_no_weekday(language: str, day: str) -> None:
    axis = formats.time_axis(language)
    assert axis["date"] == day and axis["hours"] == "%H:%M"
    assert not any("%p" in f or "%a" in f or "%I" in f for f in axis.values())


def test_cldr_patterns_become_d3_formats() -> None:
    assert formats.d3_pattern("dd/MM/y") == "%d/%m/%Y"
    assert formats.d3_pattern("EEEE d MMMM y 'à' HH:mm") == "%A %-d %B %Y à %H:%M"


def test_a_table_shows_french_figures_and_keeps_numbers_underneath() -> None:
    frame = pl.DataFrame({"domain": ["a.fr"], "attempts": [1234], "rate": [12.346]})
    styler = formats.styled(frame, "fr", percents=["rate"])
    html = styler.to_html()
    assert f"1{NNBSP}234" in html and f"12,35{NBSP}%" in html
    assert styler.data["attempts"].tolist() == [1234]


def test_a_french_chart_carries_the_french_locale_and_french_legend() -> None:
    frame = pl.DataFrame(
        {"bucket": [datetime(2026, 12, 2, tzinfo=UTC)] * 2, "status": ["sent", "deferred"], "attempts": [3, 1]}
    )
    spec = charts.stacked_bars(
        frame, x="bucket", y="attempts", colour="status", x_title="Heure", y_title="Tentatives", language="fr"
    ).to_dict()
    assert spec["config"]["locale"] == formats.vega_locale("fr")
    colour = spec["encoding"]["color"]
    assert colour["scale"]["domain"] == ["Envoyés", "Différés"]
    assert colour["scale"]["range"] == [charts.STATUS_COLOURS["sent"], charts.STATUS_COLOURS["deferred"]]
    assert colour["legend"]["labelLimit"] == 0
    assert spec["encoding"]["x"]["axis"]["format"] == formats.time_axis("fr")


def test_every_reason_has_one_colour_and_a_french_name_in_every_chart() -> None:
    assert set(charts.palette("reason") or {}) == set(REASONS)
    frame = pl.DataFrame({"provider": ["gmail", "gmail"], "reason": ["user_unknown", "rate_limited"], "n": [2, 1]})
    spec = charts.reasons_by(
        frame, category="provider", reason="reason", value="n", x_title="n", y_title="p", language="fr"
    ).to_dict()
    scale = spec["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "destinataire inconnu": charts.REASON_COLOURS["user_unknown"],
        "débit limité": charts.REASON_COLOURS["rate_limited"],
    }
    assert charts.palette("provider") is None
