"""How numbers and dates are written in the person's language (English or French), from babel's CLDR data.

One place for every figure the pages show: metrics and table cells (babel strings), the grid's date
format (a moment.js pattern for st.column_config), and the Vega locale of the charts (d3's
`formatLocale` and `timeFormatLocale` objects plus the axis' time formats), so "1 234,5", "12,3 %",
"2 déc." and "14:00" in French come from the same source as "1,234.5", "Dec 2" and "14:00" in English.
The lake is UTC; times are shown in the person's zone (`user_zone`): text with the zone named (`moment`),
grids from frames converted to it (`in_zone`), charts from its wall-clock times (`wall_clock`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import polars as pl
from babel import Locale
from babel.dates import format_datetime, get_period_names
from babel.numbers import format_decimal, format_percent, get_decimal_symbol, get_group_symbol, get_minus_sign_symbol

_TOKEN = re.compile(r"'[^']*'|([a-zA-Z])\1*")
# CLDR date-pattern fields -> d3 time-format directives (years always in four digits, 24-hour clock kept).
_D3 = {
    "y": "%Y",
    "yy": "%Y",
    "yyyy": "%Y",
    "M": "%-m",
    "MM": "%m",
    "MMM": "%b",
    "MMMM": "%B",
    "L": "%-m",
    "LL": "%m",
    "LLL": "%b",
    "LLLL": "%B",
    "d": "%-d",
    "dd": "%d",
    "E": "%a",
    "EEE": "%a",
    "EEEE": "%A",
    "H": "%-H",
    "HH": "%H",
    "h": "%-I",
    "hh": "%I",
    "a": "%p",
    "mm": "%M",
    "ss": "%S",
}
# CLDR date-pattern fields -> moment.js tokens (the format of st.column_config.DatetimeColumn).
_MOMENT = {
    "y": "YYYY",
    "yy": "YYYY",
    "yyyy": "YYYY",
    "M": "M",
    "MM": "MM",
    "MMM": "MMM",
    "d": "D",
    "dd": "DD",
    "H": "H",
    "HH": "HH",
    "mm": "mm",
    "ss": "ss",
}


def _convert(pattern: str, table: dict[str, str], quote: tuple[str, str]) -> str:
    """A CLDR pattern rewritten field by field; quoted text and punctuation kept as literals."""
    out = []
    position = 0
    for match in _TOKEN.finditer(pattern):
        out.append(pattern[position : match.start()])
        text = match.group(0)
        if text.startswith("'"):
            literal = text[1:-1] or "'"
            out.append(f"{quote[0]}{literal}{quote[1]}" if quote[0] else literal)
        else:
            out.append(table.get(text, text))
        position = match.end()
    out.append(pattern[position:])
    return "".join(out)


def d3_pattern(pattern: str) -> str:
    """A CLDR date pattern ("dd/MM/y") as a d3 time format ("%d/%m/%Y")."""
    return _convert(pattern, _D3, ("", ""))


def _locale(language: str) -> Locale:
    return Locale.parse(language if language in ("en", "fr") else "en")


def _date_pattern(language: str) -> str:
    return str(_locale(language).date_formats["short"].pattern)


def _clock_pattern(language: str) -> str:
    return str(_locale(language).datetime_skeletons["Hms"].pattern)


def grid_datetime(language: str) -> str:
    """The moment.js format of a timestamp column: the language's short date, 24-hour time."""
    return _convert(f"{_date_pattern(language)} {_clock_pattern(language)}", _MOMENT, ("[", "]"))


def grid_minutes(language: str) -> str:
    """Like grid_datetime, to the minute."""
    return grid_datetime(language).removesuffix(":ss")


def number(value: float | int | None, language: str, *, digits: int | None = None) -> str:
    """A count or a measure written the way the language writes it (1 234,5 / 1,234.5); blank for none."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if digits is None:
        return format_decimal(value, locale=_locale(language))
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_locale(language))


def percent(value: float | None, language: str, *, digits: int = 2) -> str:
    """A rate given in percent (12.3) written as the language writes percentages (12,3 % / 12.3%)."""
    if value is None or value != value:
        return "-"
    base = str(_locale(language).percent_formats[None].pattern)  # "#,##0 %" in French
    pattern = base.replace("#,##0", "#,##0" + ("." + "0" * digits if digits else ""), 1)
    return format_percent(value / 100, format=pattern, locale=_locale(language))


def plural(count: int, language: str) -> str:
    """The CLDR plural category of `count` in the language ("one" for 1 in English, 0 and 1 in French)."""
    return str(_locale(language).plural_form(count))


def user_zone(preference: str, browser: str | None) -> ZoneInfo:
    """The zone a person's times are shown in: its preference (already checked by reports), else the
    zone the browser reports (st.context.timezone, untrusted: any unknown name falls back), else UTC."""
    for name in (preference, browser):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                continue
    return ZoneInfo("UTC")


def moment(value: datetime, language: str, zone: ZoneInfo | None = None, *, seconds: bool = False) -> str:
    """A timestamp in text (captions, notices, facts): the language's short date and 24-hour time (to the
    second if asked) in `zone` (UTC by default; a naive value is taken as UTC, as the lake stores it),
    the zone named after it."""
    where = zone or ZoneInfo("UTC")
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    day = re.sub("y+", "y", _date_pattern(language))  # four-digit years
    pattern = f"{day} {_locale(language).datetime_skeletons['Hms' if seconds else 'Hm'].pattern}"
    return f"{format_datetime(aware.astimezone(where), pattern, tzinfo=where, locale=_locale(language))} {where.key}"


def instant(value: str | float | datetime | None, language: str, zone: ZoneInfo, *, seconds: bool = False) -> str:
    """A stored time (ISO 8601 text, epoch seconds or a datetime; UTC when naive) as `moment` writes it
    in `zone`: blank for none, a text that is no time kept as it is (status files are operator-editable)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float):
        parsed = datetime.fromtimestamp(value, UTC)
    else:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
    return moment(parsed, language, zone, seconds=seconds)


def _instants(frame: pl.DataFrame) -> list[str]:
    return [name for name, kind in frame.schema.items() if isinstance(kind, pl.Datetime)]


def in_zone(frame: pl.DataFrame, zone: ZoneInfo) -> pl.DataFrame:
    """The frame with every timestamp column converted to `zone` (same instants; naive ones taken as
    UTC), so a grid shows, and a download keeps, the time as the person reads it."""
    return frame.with_columns(
        (pl.col(c).dt.replace_time_zone("UTC") if frame.schema[c].time_zone is None else pl.col(c))  # type: ignore[attr-defined]
        .dt.convert_time_zone(zone.key)
        for c in _instants(frame)
    )


def wall_clock(frame: pl.DataFrame, column: str, zone: ZoneInfo) -> pl.DataFrame:
    """The frame with `column`'s instants replaced by their wall-clock time in `zone`, labelled UTC.

    Vega draws a time either in the browser's zone or in UTC, never in a named one: a chart on a UTC
    scale of these values shows the person's zone whatever the browser's (the hour skipped in spring is
    absent, the hour repeated in autumn drawn twice at the same place)."""
    converted = in_zone(frame.select(column), zone)[column]
    return frame.with_columns(converted.dt.replace_time_zone(None).dt.replace_time_zone("UTC").alias(column))


def from_wall_clock(epoch_ms: float, zone: ZoneInfo) -> datetime:
    """The instant a chart drawn by `wall_clock` shows at `epoch_ms` (e.g. a brushed interval's end):
    that wall-clock time in `zone` (the earlier of a repeated autumn hour), as UTC."""
    shown = datetime.fromtimestamp(epoch_ms / 1000, UTC).replace(tzinfo=None)
    return shown.replace(tzinfo=zone).astimezone(UTC)


def styled(
    frame: pl.DataFrame | pd.DataFrame,
    language: str,
    *,
    percents: Iterable[str] = (),
    styler: pd.io.formats.style.Styler | None = None,
) -> pd.io.formats.style.Styler:
    """A table for st.dataframe whose numeric cells show the language's numbers (`percents`: rate
    columns in percent); the values underneath stay numbers, so the grid still sorts them."""
    table = styler if styler is not None else (frame.to_pandas() if isinstance(frame, pl.DataFrame) else frame).style
    data = table.data
    rates = [c for c in percents if c in data.columns]
    counts = [c for c in data.columns if c not in rates and pd.api.types.is_numeric_dtype(data[c])]
    integral = [c for c in counts if pd.api.types.is_integer_dtype(data[c])]
    formatters: dict[str, Any] = {c: (lambda v: percent(None if pd.isna(v) else float(v), language)) for c in rates}
    for column in counts:
        digits = None if column in integral else 2
        formatters[column] = lambda v, d=digits: "" if pd.isna(v) else number(v, language, digits=d)
    return table.format(formatters, na_rep="")


def vega_locale(language: str) -> dict[str, dict[str, Any]]:
    """The Vega `config.locale` of a chart: d3 number and time locales from CLDR (French: decimal comma,
    narrow no-break space between thousands, French month and day names, dd/mm/yyyy dates)."""
    where = _locale(language)
    days = where.days["format"]
    months = where.months["format"]
    sunday_first = [6, 0, 1, 2, 3, 4, 5]  # CLDR counts from Monday, d3 from Sunday
    periods = get_period_names(width="abbreviated", context="format", locale=where)
    date = d3_pattern(_date_pattern(language))
    clock = d3_pattern(_clock_pattern(language))
    joined = str(where.datetime_formats["medium"]).replace("{1}", "%x").replace("{0}", "%X")
    percent_pattern = str(where.percent_formats[None].pattern)
    currency = str(where.currency_formats["standard"].pattern).split(";")[0]
    symbol = where.currency_symbols.get("EUR", "€")
    before, _, after = currency.partition("#,##0.00")
    return {
        "number": {
            "decimal": get_decimal_symbol(where),
            "thousands": get_group_symbol(where),
            "grouping": [3],
            "currency": [before.replace("¤", symbol), after.replace("¤", symbol)],
            "percent": percent_pattern[percent_pattern.rindex("0") + 1 :],
            "minus": get_minus_sign_symbol(where),
        },
        "time": {
            "dateTime": joined,
            "date": date,
            "time": clock,
            "periods": [periods["am"], periods["pm"]],
            "days": [days["wide"][i] for i in sunday_first],
            "shortDays": [days["abbreviated"][i] for i in sunday_first],
            "months": [months["wide"][i] for i in range(1, 13)],
            "shortMonths": [months["abbreviated"][i] for i in range(1, 13)],
        },
    }


def time_axis(language: str) -> dict[str, str]:
    """The multi-format of a time axis (Vega's per-unit specifiers): day labels as the language writes a
    day and month ("2 déc." / "Dec 2"), hours on the 24-hour clock, no AM/PM and no weekday."""
    where = _locale(language)
    day = d3_pattern(str(where.datetime_skeletons["MMMd"].pattern))
    clock = d3_pattern(str(where.datetime_skeletons["Hm"].pattern))
    return {
        "year": "%Y",
        "quarter": "%B",
        "month": "%B",
        "week": day,
        "date": day,
        "hours": clock,
        "minutes": clock,
        "seconds": f"{clock}:%S",
        "milliseconds": f"{clock}:%S.%L",
    }


def time_tooltip(language: str) -> str:
    """The d3 format of a time in a tooltip: the language's date and 24-hour time to the minute."""
    return f"%x {d3_pattern(str(_locale(language).datetime_skeletons['Hm'].pattern))}"
