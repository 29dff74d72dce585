"""Saved searches: a per-account store of named Logs queries, and the Logs page that saves, lists and
deletes them (issue 16)."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from dashboards.searches import (
    MAX_NAME,
    MAX_SEARCHES,
    SavedSearch,
    SearchRefused,
    delete_search,
    list_searches,
    save_search,
    searches_path,
)
from reports import UserSettings, load_settings, save_settings
from tests.test_dashboards_data import choose_days, copy_home, goto, open_app, texts
from tests.test_dashboards_links import logs_with
from tests.test_dashboards_logs import apply, total

WEEK = "days=2026-11-19%2C2026-11-26"
BOUNCED = f"{WEEK}&status=bounced"
SENDER = "period=24h&sender=alice%40customer.example&sort=recipient&order=asc"


# ---------------------------------------------------------------- the store


def test_a_saved_search_is_listed_with_its_name_and_query(tmp_path: Path) -> None:
    assert list_searches(tmp_path, "alice") == []
    save_search(tmp_path, "alice", "Bounced this week", BOUNCED)
    save_search(tmp_path, "alice", "  Mine, by recipient  ", SENDER)
    assert list_searches(tmp_path, "alice") == [
        SavedSearch("Bounced this week", BOUNCED),
        SavedSearch("Mine, by recipient", SENDER),
    ]
    assert list_searches(tmp_path, "alice")[0].params() == [
        ("days", "2026-11-19,2026-11-26"),
        ("status", "bounced"),
    ]


def test_saving_under_a_saved_name_replaces_its_query_in_place(tmp_path: Path) -> None:
    save_search(tmp_path, "alice", "first", BOUNCED)
    save_search(tmp_path, "alice", "second", SENDER)
    save_search(tmp_path, "alice", "first", "period=1h&kind=rejects")
    assert list_searches(tmp_path, "alice") == [
        SavedSearch("first", "period=1h&kind=rejects"),
        SavedSearch("second", SENDER),
    ]


def test_delete_removes_only_that_search(tmp_path: Path) -> None:
    save_search(tmp_path, "alice", "first", BOUNCED)
    save_search(tmp_path, "alice", "second", SENDER)
    assert delete_search(tmp_path, "alice", "first")
    assert not delete_search(tmp_path, "alice", "first"), "nothing left of that name"
    assert list_searches(tmp_path, "alice") == [SavedSearch("second", SENDER)]


def test_another_user_never_sees_them(tmp_path: Path) -> None:
    save_search(tmp_path, "alice", "mine", BOUNCED)
    assert list_searches(tmp_path, "bob") == []
    save_search(tmp_path, "bob", "mine", SENDER)
    assert not delete_search(tmp_path, "bob", "other")
    assert list_searches(tmp_path, "alice") == [SavedSearch("mine", BOUNCED)]
    assert list_searches(tmp_path, "bob") == [SavedSearch("mine", SENDER)]
    assert searches_path(tmp_path, "alice") != searches_path(tmp_path, "bob")


def test_the_account_named_like_the_file_keeps_its_own_settings_and_others_their_searches(tmp_path: Path) -> None:
    """`<user>.searches.json` beside the settings would be the settings file of the account `<user>.searches`."""
    save_search(tmp_path, "alice", "mine", BOUNCED)
    save_settings(tmp_path, "alice.searches", UserSettings(language="fr"))
    assert list_searches(tmp_path, "alice") == [SavedSearch("mine", BOUNCED)]
    assert load_settings(tmp_path, "alice.searches").language == "fr"
    assert list_searches(tmp_path, "alice.searches") == []


def test_file_names_cannot_leave_the_searches_folder(tmp_path: Path) -> None:
    path = searches_path(tmp_path, "../../etc/passwd")
    assert path.parent == tmp_path / "settings" / "searches" and "/" not in path.name


@pytest.mark.parametrize(
    "query",
    [
        "",
        "period=7d&admin=1",  # a key the Logs do not read
        "period=7d&sql=select+1",
        "status=bounced",  # no period
        "period=99d",
        "period=custom",
        "days=2026-11-26%2C2026-11-19",  # days the page writes in order
        "days=2026-11-19%2C2026-11-26&hours=99%2C1",
        "days=2026-02-30%2C2026-03-01",
        "period=7d&period=24h",
        "period=7d&sender=",
        "period=7d&status=bogus",
        "period=7d&reason=%3Cscript%3E",
        "period=7d&sort=sender%3B+drop+table",
        "period=7d&kind=rejects&sort=dsn",  # a sort of attempts, not of rejects
        "period=7d&kind=messages",
        "period=7d&order=up",
        "period=7d&&sender=x",
        "period=7d&sender=" + "x" * 5000,
    ],
)
def test_a_query_the_logs_page_would_not_write_is_refused(tmp_path: Path, query: str) -> None:
    with pytest.raises(SearchRefused) as refused:
        save_search(tmp_path, "alice", "bad", query)
    assert refused.value.reason == "query"
    assert not searches_path(tmp_path, "alice").exists()


@pytest.mark.parametrize("name", ["", "   ", "two\nlines", "tab\there", "x" * (MAX_NAME + 1)])
def test_a_name_is_one_line_of_at_most_80_characters(tmp_path: Path, name: str) -> None:
    with pytest.raises(SearchRefused) as refused:
        save_search(tmp_path, "alice", name, BOUNCED)
    assert refused.value.reason == "name"
    save_search(tmp_path, "alice", "é" * MAX_NAME, BOUNCED)
    assert [s.name for s in list_searches(tmp_path, "alice")] == ["é" * MAX_NAME]


def test_at_most_50_searches_and_a_saved_name_can_still_be_replaced(tmp_path: Path) -> None:
    for n in range(MAX_SEARCHES):
        save_search(tmp_path, "alice", f"search {n}", BOUNCED)
    with pytest.raises(SearchRefused) as refused:
        save_search(tmp_path, "alice", "one more", BOUNCED)
    assert refused.value.reason == "full"
    save_search(tmp_path, "alice", "search 7", SENDER)
    saved = list_searches(tmp_path, "alice")
    assert len(saved) == MAX_SEARCHES and saved[7] == SavedSearch("search 7", SENDER)


def test_a_save_replaces_the_file_in_one_rename(tmp_path: Path) -> None:
    save_search(tmp_path, "alice", "first", BOUNCED)
    path = searches_path(tmp_path, "alice")
    with path.open(encoding="utf-8") as reader:  # a reader that opened the old file
        before = os.fstat(reader.fileno()).st_ino
        save_search(tmp_path, "alice", "second", SENDER)
        assert "second" not in reader.read(), "the old file was not rewritten in place"
    assert path.stat().st_ino != before
    assert [s.name for s in list_searches(tmp_path, "alice")] == ["first", "second"]
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(".lock")) == [path.name]


def _save_many(home: str, prefix: str, ready: Event) -> None:
    ready.wait()
    for n in range(MAX_SEARCHES // 2):
        save_search(Path(home), "alice", f"{prefix} {n}", BOUNCED)


def test_two_processes_saving_at_once_lose_no_search(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Event()
    workers = [spawn.Process(target=_save_many, args=(str(tmp_path), who, ready)) for who in ("tab A", "tab B")]
    for worker in workers:
        worker.start()
    ready.set()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert len(list_searches(tmp_path, "alice")) == MAX_SEARCHES


def test_a_hand_broken_file_is_no_search_and_a_refused_entry_is_left_out(tmp_path: Path) -> None:
    path = searches_path(tmp_path, "alice")
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    assert list_searches(tmp_path, "alice") == []
    path.write_text(
        '{"searches": [{"name": "ok", "query": "period=1h"}, {"name": "evil", "query": "period=1h&x=1"},'
        ' {"name": 3, "query": "period=1h"}, {"query": "period=1h"}, "junk"]}',
        encoding="utf-8",
    )
    assert list_searches(tmp_path, "alice") == [SavedSearch("ok", "period=1h")]


# ---------------------------------------------------------------- the Logs page

MARKDOWN_NAME = "**Bounced** <b>this</b> [week](https://evil.example) :red[x]"


def test_the_logs_page_saves_a_search_and_links_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = copy_home(tmp_path)
    at = goto(choose_days(open_app(home, "alice", monkeypatch)), "logs.py")
    assert "No saved search yet." in texts(at.caption)
    apply(at, statuses=["bounced"])
    at.text_input(key="logs_search_name").set_value(MARKDOWN_NAME)
    at.button(key="logs_search_save").click().run()
    assert not at.exception and "Search saved." in texts(at.success)
    assert MARKDOWN_NAME in texts(at.text), "the name is shown as plain text"
    rendered = [e.value for kind in ("markdown", "caption", "success", "error") for e in at.get(kind)]
    assert not any("evil.example" in str(v) for v in rendered)
    [link] = at.get("page_link")
    assert link.proto.page == "logs" and link.proto.query_string == BOUNCED
    assert list_searches(home.path, "alice") == [SavedSearch(MARKDOWN_NAME, BOUNCED)]

    opened = logs_with("alice", {"days": "2026-11-19,2026-11-26", "status": "bounced"}, monkeypatch)
    assert total(opened) == 2, "the link's query is the bounced view it was saved from"

    bob = goto(open_app(home, "bob", monkeypatch), "logs.py")
    assert not bob.get("page_link") and "No saved search yet." in texts(bob.caption)

    at.button(key=f"logs_search_delete_{MARKDOWN_NAME}").click().run()
    assert not at.get("page_link") and list_searches(home.path, "alice") == []


def test_the_logs_page_refuses_a_blank_name_in_french(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = copy_home(tmp_path)
    save_settings(home.path, "alice", UserSettings(language="fr"))
    at = goto(open_app(home, "alice", monkeypatch), "logs.py")
    at.text_input(key="logs_search_name").set_value("   ")
    at.button(key="logs_search_save").click().run()
    assert texts(at.error) == [f"Un nom fait de 1 à {MAX_NAME} caractères, sur une ligne."]
    assert list_searches(home.path, "alice") == []
