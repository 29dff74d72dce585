"""Saved searches: named Logs views of one person, each a name and the Logs' URL query string.

They live in the data home beside the person's settings, one file per account:
DIR/settings/searches/<user>.json (the account name encoded as reports.settings_path encodes it; not
DIR/settings/<user>.searches.json, which is the settings file of an account named "<user>.searches").
A change is a read, modify and atomic replace (relaywatch.core.write_atomic) under a lock, so two
browser tabs saving at once lose nothing. A query is kept only if the Logs would write it themselves:
it is read with the Logs' own URL parser (dashboards.links.read), rebuilt by dashboards.links.logs_query,
and refused unless both agree and every value is one the page offers (no other key, no other value).
Names are plain text: the page shows them with st.text, never as Markdown or HTML.
"""

from __future__ import annotations

import json
import unicodedata
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import cast
from urllib.parse import parse_qsl, urlencode

from dashboards import links
from dashboards.filters import WHOLE_DAYS
from relaywatch.core import file_lock, write_atomic
from reports import settings_path
from warehouse import QUALIFICATIONS, REASONS, REJECT_SORTS, SORTS, STATUSES

MAX_SEARCHES = 50
MAX_NAME = 80
MAX_QUERY = 4000  # characters of query string: far more than every filter of the page filled in
_OPTIONS = {"status": STATUSES, "qualification": QUALIFICATIONS, "reason": REASONS}


class SearchRefused(ValueError):
    """A search that cannot be saved; `reason` says which rule it breaks: "name", "query" or "full"."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SavedSearch:
    """A name and the Logs' query string it opens (without the "?")."""

    name: str
    query: str

    def params(self) -> list[tuple[str, str]]:
        """The query as (key, value) pairs, repeated keys kept in order (for st.page_link)."""
        return parse_qsl(self.query, keep_blank_values=True)


def searches_path(home: Path, user_name: str) -> Path:
    """The saved searches of one account, in a folder of the settings folder."""
    settings = settings_path(home, user_name)
    return settings.parent / "searches" / settings.name


def checked_name(name: str) -> str:
    """The name as kept (NFC, outer spaces removed); SearchRefused unless 1 to MAX_NAME printable characters."""
    text = unicodedata.normalize("NFC", name).strip() if isinstance(name, str) else ""
    if not text or len(text) > MAX_NAME or not text.isprintable():
        raise SearchRefused("name", f"a search name is 1 to {MAX_NAME} printable characters")
    return text


def checked_query(query: str) -> str:
    """The query string as kept; SearchRefused unless it is a query the Logs page writes itself."""
    if not isinstance(query, str) or len(query) > MAX_QUERY:
        raise SearchRefused("query", f"a Logs query string is at most {MAX_QUERY} characters")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True, max_num_fields=200)
    except ValueError as error:
        raise SearchRefused("query", f"not a query string: {error}") from None
    given: dict[str, list[str]] = {}
    for key, value in pairs:
        given.setdefault(key, []).append(value)
    unknown = sorted(set(given) - links.KEYS)
    if unknown:
        raise SearchRefused("query", f"not a Logs choice: {', '.join(unknown)}")
    for key, options in _OPTIONS.items():
        if not set(given.get(key, ())) <= set(options):
            raise SearchRefused("query", f"unknown {key} in the query")
    kind = (given.get("kind") or ["attempts"])[0]
    if kind not in links.KINDS:
        raise SearchRefused("query", "unknown kind in the query")
    if (given.get("sort") or ["ts"])[0] not in (REJECT_SORTS if kind == "rejects" else SORTS):
        raise SearchRefused("query", "unknown sort in the query")
    rebuilt = _rebuilt(links.read(given))
    if rebuilt != given:
        raise SearchRefused("query", "the Logs page would not write this query")
    return urlencode(rebuilt, doseq=True)


def list_searches(home: Path, user_name: str) -> list[SavedSearch]:
    """The account's saved searches in the order they were first saved; a missing, unreadable or
    hand-broken file is no search, and an entry the rules refuse is left out."""
    try:
        raw = json.loads(searches_path(home, user_name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = raw.get("searches") if isinstance(raw, dict) else None
    kept: dict[str, SavedSearch] = {}
    for entry in entries if isinstance(entries, list) else []:
        try:
            search = SavedSearch(checked_name(entry["name"]), checked_query(entry["query"]))
        except (SearchRefused, KeyError, TypeError):
            continue
        kept.setdefault(search.name, search)
    return list(kept.values())[:MAX_SEARCHES]


def save_search(home: Path, user_name: str, name: str, query: str) -> SavedSearch:
    """Save `query` under `name`, replacing the search of that name if there is one (it keeps its place);
    SearchRefused for a bad name or query, or a new name when MAX_SEARCHES are saved already."""
    search = SavedSearch(checked_name(name), checked_query(query))
    with _locked(home, user_name):
        saved = list_searches(home, user_name)
        names = [s.name for s in saved]
        if search.name in names:
            saved[names.index(search.name)] = search
        elif len(saved) >= MAX_SEARCHES:
            raise SearchRefused("full", f"at most {MAX_SEARCHES} saved searches: delete one first")
        else:
            saved.append(search)
        _write(home, user_name, saved)
    return search


def delete_search(home: Path, user_name: str, name: str) -> bool:
    """Delete the search of this name; False when there was none."""
    with _locked(home, user_name):
        saved = list_searches(home, user_name)
        kept = [s for s in saved if s.name != name]
        if len(kept) == len(saved):
            return False
        _write(home, user_name, kept)
    return True


def _rebuilt(choices: dict[str, object]) -> dict[str, list[str]]:
    """The query the Logs page writes for the choices links.read found in a URL."""
    return links.logs_query(
        {field: choices[f"lf_{field}"] for field in (*links.TEXTS, *links.LISTS)},
        preset=str(choices.get("period_preset", "")),
        days=cast("tuple[date, date] | None", choices.get("period_days")),
        hours=cast("tuple[int, int]", choices.get("period_hours", WHOLE_DAYS)),
        sort=str(choices.get("logs_sort", "ts")),
        descending=bool(choices.get("logs_desc", True)),
        kind=str(choices.get("logs_kind", "attempts")),
    )


def _locked(home: Path, user_name: str) -> AbstractContextManager[bool]:
    """The account's lock, held across a read, modify and replace of its file."""
    path = searches_path(home, user_name)
    return file_lock(path.with_name(f".{path.name}.lock"))


def _write(home: Path, user_name: str, saved: list[SavedSearch]) -> None:
    """Replace the account's file in one rename."""
    document = {"searches": [{"name": s.name, "query": s.query} for s in saved]}
    text = json.dumps(document, indent=1, ensure_ascii=False)
    write_atomic(searches_path(home, user_name), text + "\n")
