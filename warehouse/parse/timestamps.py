"""Syslog, RFC 3339 and short-iso timestamps to UTC, each distinct text read once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

# Timestamps: classic syslog ("Nov  4 05:06:07", no year), rsyslog RFC 3339
# ("2026-11-24T15:53:08.123456+01:00") and `journalctl -o short-iso` ("...T15:53:08+0100").
_TIMESTAMP = (
    r"^(?:(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<hms>\d{2}:\d{2}:\d{2})"
    r"|(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?)$"
)

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def timestamps(text: pl.Series, reference: datetime, tz: str) -> pl.Series:
    """UTC timestamps of classic, RFC 3339 and short-iso texts; null where a text cannot be read.

    Each run of equal texts is read once: a log has about one distinct timestamp per second.
    Fractions of a second (rsyslog writes microseconds, making every text distinct) are taken
    off first and added back line by line.
    """
    if text.len() == 0:
        return pl.Series("ts", [], pl.Datetime("us", "UTC"))
    if _runs(text).sum() * 4 < text.len():
        return _read_runs(text, reference, tz)
    tail = pl.col("text").str.slice(19)  # ".123456+01:00" after "2026-11-24T15:53:08"
    digits, count = pl.col("_digits"), pl.col("_count")
    fraction = pl.col("_fraction") & (count > 0)
    split = (
        pl.DataFrame({"text": text})
        .lazy()
        .with_columns(_fraction=tail.str.starts_with("."), _digits=tail.str.slice(1))
        .with_columns(_count=pl.coalesce(digits.str.find(r"\D"), digits.str.len_bytes()))
        .select(
            seconds=pl.when(fraction)
            .then(pl.col("text").str.slice(0, 19) + digits.str.slice(count))
            .otherwise(pl.col("text")),
            micros=pl.when(fraction)
            .then(digits.str.slice(0, pl.min_horizontal(count, 6)).str.pad_end(6, "0").cast(pl.Int64, strict=False))
            .otherwise(0),
        )
        .collect()
    )
    return (_read_runs(split["seconds"], reference, tz) + split["micros"].cast(pl.Duration("us"))).alias("ts")


def _runs(text: pl.Series) -> pl.Series:
    """True where a text differs from the one before it (a run of equal texts starts)."""
    return text.ne_missing(text.shift(1)).scatter(0, True)


def _read_runs(text: pl.Series, reference: datetime, tz: str) -> pl.Series:
    """`timestamps` of texts without fractions of a second, reading each run of equal texts once.

    Classic timestamps have no year: it is the reference's year unless that puts the date more
    than a day after the reference (in `tz`), then the year before. Texts without an offset are
    local time in `tz`.
    """
    changed = _runs(text)
    ref = reference.replace(tzinfo=UTC) if reference.tzinfo is None else reference.astimezone(UTC)
    ref_local = ref.astimezone(ZoneInfo(tz))
    next_day = (ref_local + timedelta(days=1)).date()
    parts = text.filter(changed).str.extract_groups(_TIMESTAMP).struct.unnest()
    month = pl.col("mon").replace_strict(_MONTHS, range(1, 13), default=None, return_dtype=pl.Int32)
    day = pl.col("day").cast(pl.Int32)
    year = pl.lit(ref_local.year)
    if next_day.year == ref_local.year:
        year = year - (month * 100 + day > next_day.month * 100 + next_day.day).cast(pl.Int32)
    classic = pl.format(
        "{}-{}-{} {}", year, month.cast(pl.Utf8).str.zfill(2), pl.col("day").str.zfill(2), pl.col("hms")
    ).str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
    iso = pl.format("{} {}.{}", pl.col("date"), pl.col("time"), pl.col("frac").fill_null("0")).str.to_datetime(
        "%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us"
    )
    offset = pl.col("offset").str.replace(":", "", literal=True)
    sign = pl.when(offset.str.starts_with("-")).then(-1).otherwise(1)
    minutes = (
        pl.when(offset == "Z")
        .then(0)
        .otherwise(sign * (offset.str.slice(1, 2).cast(pl.Int32) * 60 + offset.str.slice(3, 2).cast(pl.Int32)))
    )
    naive = pl.coalesce(classic, iso)
    local = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    shifted = (naive - pl.duration(minutes=minutes)).dt.replace_time_zone("UTC")
    ts = parts.select(
        pl.when(offset.is_not_null()).then(shifted).otherwise(local.dt.convert_time_zone("UTC"))
    ).to_series()
    return ts.gather(changed.cum_sum() - 1).alias("ts")
