"""Per-user dashboard settings, one JSON file per account: DIR/settings/<user>.json.

The control store belongs to acl, so the dashboards keep their own small files. A file is replaced
atomically (written to a temporary file in the same folder, flushed, then renamed over the old one), so
a reader never sees half a file. Unknown keys are ignored and invalid values fall back to the default,
so a hand-edited or older file never breaks a page. The reports job reads the `report_*` keys.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from urllib.parse import quote

LANGUAGES = ("en", "fr")
REPORT_FREQUENCIES = ("off", "daily", "weekly", "monthly")
REFRESH_CHOICES = (0, 30, 60, 300)
PAGE_SIZES = (50, 100, 200, 500)


@dataclass(frozen=True)
class UserSettings:
    """What a person chooses for itself.

    language: "" follows the browser; soft_is_error: count soft failures (deferrals) in the error rate;
    warn_rate / critical_rate: error-rate thresholds (percent) coloured orange / red; refresh_seconds: the
    Overview's auto-refresh (0: off); page_size: rows per Logs page; report_frequency / report_email /
    report_soft_is_error: the mailed deliverability report (empty e-mail: the account's address).
    """

    language: str = ""
    soft_is_error: bool = False
    warn_rate: float = 5.0
    critical_rate: float = 15.0
    refresh_seconds: int = 60
    page_size: int = 100
    report_frequency: str = "weekly"
    report_email: str = ""
    report_soft_is_error: bool = False

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
        if self.report_frequency not in REPORT_FREQUENCIES:
            fixes["report_frequency"] = default.report_frequency
        if len(self.report_email) > 320 or any(c.isspace() for c in self.report_email):
            fixes["report_email"] = default.report_email
        return replace(self, **fixes)  # type: ignore[arg-type]


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
    path = settings_path(home, user_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(asdict(settings.checked()), indent=1, sort_keys=True, ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
