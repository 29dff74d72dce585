"""Per-account preferences shared by the dashboards and the mailed reports: DIR/settings/<user>.json.

Language, the error-rate definition (whether soft failures count) and the threshold colours are one
setting per person: a report shows the same rate, in the same colour, as the Overview it links to. The
model lives here, below the dashboards, because reports may not import the dashboards (DESIGN.md).
A file is replaced atomically (relaywatch.core.write_atomic). Unknown keys are ignored and invalid
values fall back to the default, so a hand-edited or older file never breaks a page or a report.
The report's own settings (frequency, hour, time zone, sections, recipients) are in control.db
(reports.settings).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from relaywatch.core import write_atomic

LANGUAGES = ("en", "fr")
REFRESH_CHOICES = (0, 30, 60, 300)
PAGE_SIZES = (50, 100, 200, 500)


@dataclass(frozen=True)
class UserSettings:
    """What a person chooses for itself.

    language: "" follows the browser (reports: English); soft_is_error: count soft failures (deferrals)
    in the error rate; warn_rate / critical_rate: error-rate thresholds (percent) coloured orange / red;
    refresh_seconds: the Overview's auto-refresh (0: off); page_size: rows per Logs page;
    timezone: the IANA zone the dashboards show times in ("" follows the browser, else UTC).
    """

    language: str = ""
    soft_is_error: bool = False
    warn_rate: float = 5.0
    critical_rate: float = 15.0
    refresh_seconds: int = 60
    page_size: int = 100
    timezone: str = ""

    def checked(self) -> UserSettings:
        """The same settings with every out-of-range value replaced by its default."""
        default = UserSettings()
        fixes: dict[str, object] = {}
        if self.language not in ("", *LANGUAGES):
            fixes["language"] = default.language
        if not 0 <= self.warn_rate <= 100:
            fixes["warn_rate"] = default.warn_rate
        if not 0 <= self.critical_rate <= 100:
            fixes["critical_rate"] = default.critical_rate
        if self.refresh_seconds not in REFRESH_CHOICES:
            fixes["refresh_seconds"] = default.refresh_seconds
        if self.page_size not in PAGE_SIZES:
            fixes["page_size"] = default.page_size
        if self.timezone and not known_zone(self.timezone):
            fixes["timezone"] = default.timezone
        return replace(self, **fixes)  # type: ignore[arg-type]

    def level(self, error_rate: float | None) -> str:
        """ "ok", "warn" or "critical" for an error rate against this person's thresholds."""
        if error_rate is None or error_rate < self.warn_rate:
            return "ok"
        return "critical" if error_rate >= self.critical_rate else "warn"


def known_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone zoneinfo can load ("Europe/Paris"; not "Mars/Olympus", not a path)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def settings_path(home: Path, user_name: str) -> Path:
    """The file of one account; the name is percent-encoded so it can never leave the folder."""
    return home / "settings" / f"{quote(user_name, safe='@.+-_')}.json"


def load_settings(home: Path, user_name: str) -> UserSettings:
    """The account's settings, or the defaults when the file is missing or unreadable."""
    try:
        raw = json.loads(settings_path(home, user_name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return UserSettings()
    if not isinstance(raw, dict):
        return UserSettings()
    default = UserSettings()
    values: dict[str, object] = {}
    for f in fields(UserSettings):
        value = raw.get(f.name)
        expected = type(getattr(default, f.name))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, expected) and (expected is bool or not isinstance(value, bool)):
            values[f.name] = value
    return UserSettings(**values).checked()  # type: ignore[arg-type]


def save_settings(home: Path, user_name: str, settings: UserSettings) -> None:
    """Write the account's settings atomically (temporary file + rename in the same folder)."""
    text = json.dumps(asdict(settings.checked()), indent=1, sort_keys=True, ensure_ascii=False)
    write_atomic(settings_path(home, user_name), text + "\n")
