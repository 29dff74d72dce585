"""How numbers and dates are written in the person's language (English or French), from babel's CLDR data.

One place for every figure the pages show: metrics and table cells (babel strings), the grid's date
format (a moment.js pattern for st.column_config), and the Vega locale of the charts (d3's
`formatLocale` and `timeFormatLocale` objects plus the axis' time formats), so "1 234,5", "12,3 %",
"2 déc." and "14:00" in French come from the same source as "1,234.5", "Dec 2" and "14:00" in English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

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


def moment(value: datetime, language: str) -> str:
    """A timestamp in text (captions, notices): the language's short date and 24-hour time, UTC."""
    day = re.sub("y+", "y", _date_pattern(language))  # four-digit years
    pattern = f"{day} {_locale(language).datetime_skeletons['Hm'].pattern}"
    return f"{format_datetime(value, pattern, tzinfo=value.tzinfo, locale=_locale(language))} UTC"


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
