"""Feedback loops for the CLI and the scheduler: fetch every configured mailbox into the lake, record how
each went (DIR/fbl-status.json, read by `relaywatch status`), and notify the people a complaint concerns.

One mailbox failing (wrong password, unreachable, missing folder, certificate refused) is recorded and
reported for that mailbox only; the others are fetched all the same. A per-mailbox lock keeps two
processes from fetching the same mailbox at once.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from deltalake.exceptions import DeltaError
from imapclient.exceptions import IMAPClientError

from ingest import FblError, FetchResult, fetch_mailbox
from relaywatch.core import file_lock, load_config, locks_dir, open_home, write_atomic
from relaywatch.jsonlog import event, failure
from warehouse import ComplaintStore, open_lake
from warehouse import relink_complaints as relink

STATUS_NAME = "fbl-status.json"


def read_fbl_status(home: Path) -> dict[str, dict[str, Any]]:
    """Mailbox name -> what its last fetch recorded."""
    path = home / STATUS_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _record(home: Path, name: str, *, add: dict[str, int] | None = None, **fields: Any) -> None:
    with file_lock(locks_dir(home) / "fbl-status"):
        status = read_fbl_status(home)
        entry = status.setdefault(name, {})
        entry.update({k: v for k, v in fields.items() if v is not None})
        for key in [k for k, v in fields.items() if v is None]:
            entry.pop(key, None)
        for key, value in (add or {}).items():
            entry[key] = int(entry.get(key, 0)) + value
        write_atomic(home / STATUS_NAME, json.dumps(status, indent=1, sort_keys=True) + "\n", durable=False)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def fbl_fetch(
    home: Path, *, mailbox: str | None = None, stop: threading.Event | None = None
) -> dict[str, FetchResult | Exception | None]:
    """Fetch every configured mailbox (or one): name -> its result, its error, or None when another
    process is fetching it."""
    open_home(home, create=False)
    config = load_config(home).fbl
    boxes = [box for box in config.mailboxes if mailbox is None or box.name == mailbox]
    if not boxes:
        raise FblError(
            f"no feedback mailbox {mailbox!r} in [[fbl.mailboxes]]"
            if mailbox
            else "no feedback mailbox configured ([[fbl.mailboxes]] in relaywatch.toml)"
        )
    store = ComplaintStore(open_lake(home), window=timedelta(hours=config.link_window_hours))
    outcomes: dict[str, FetchResult | Exception | None] = {}
    for box in boxes:
        with file_lock(locks_dir(home) / f"fbl-{box.name}", wait=False) as mine:
            if not mine:
                outcomes[box.name] = None
                continue
            try:
                result = fetch_mailbox(
                    box,
                    store,
                    batch=config.batch,
                    batch_bytes=config.batch_bytes,
                    timeout=config.timeout_seconds,
                    stop=stop,
                )
            except (FblError, IMAPClientError, OSError) as exc:
                error = exc if isinstance(exc, FblError) else FblError(f"mailbox {box.name}: {exc}")
                _record(home, box.name, add={"failures": 1}, state="error", last_error=str(error), last_error_at=_now())
                outcomes[box.name] = error
                continue
            _record(
                home,
                box.name,
                add={"reports_total": result.reports, "unparsed_total": result.unparsed},
                state="ok",
                last_fetch_at=_now(),
                uidvalidity=result.uidvalidity,
                last_uid=result.last_uid,
                failures=0,
                last_error=None,
                last_error_at=None,
            )
            outcomes[box.name] = result
    try:
        relink(store.lake, window=store.window)
    except DeltaError as exc:  # a concurrent commit won the race: the next fetch tries again
        event(logging.WARNING, "fbl_relink_failed", error=str(exc))
    return outcomes


def fbl_status(home: Path) -> list[dict[str, Any]]:
    """Per configured mailbox: state, last fetch, position, totals, last error."""
    open_home(home, create=False)
    recorded = read_fbl_status(home)
    rows = []
    for box in load_config(home).fbl.mailboxes:
        entry = recorded.get(box.name, {})
        rows.append(
            {
                "mailbox": box.name,
                "target": f"{box.user}@{box.host}:{box.port}/{box.folder}",
                "state": entry.get("state", "never fetched"),
                "last_fetch_at": entry.get("last_fetch_at"),
                "uidvalidity": entry.get("uidvalidity"),
                "last_uid": entry.get("last_uid"),
                "reports_total": entry.get("reports_total", 0),
                "unparsed_total": entry.get("unparsed_total", 0),
                "last_error": entry.get("last_error"),
                "last_error_at": entry.get("last_error_at"),
            }
        )
    return rows


def fbl_notify(home: Path, *, force: bool = True) -> dict[str, int]:
    """Mail new complaints to the root/admin accounts whose grants cover them, through `[mail]`; account
    -> complaints mailed. `force` ignores `[fbl] notify_seconds` (the command); the scheduler does not."""
    from acl import local_operator, open_store, smtp_mailer, user_list
    from relaywatch.core import control_db
    from reports import notify_complaints

    open_home(home, create=False)
    config = load_config(home)
    if not config.mail.host:
        return {}
    mailer = smtp_mailer(
        config.mail.host,
        config.mail.port,
        config.mail.sender,
        config.mail.starttls,
        config.mail.username or None,
        config.mail.password,
    )
    users = user_list(open_store(control_db(home)), local_operator())
    return notify_complaints(
        home,
        open_lake(home),
        users,
        mailer,
        interval_seconds=0.0 if force else config.fbl.notify_seconds,
        language_of=lambda name: _language(home, name),
    )


def _language(home: Path, name: str) -> str:
    """The account's language from its dashboard settings (DIR/settings/<user>.json), English by default."""
    try:
        settings = json.loads((home / "settings" / f"{quote(name, safe='@.+-_')}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "en"
    return settings.get("language") or "en" if isinstance(settings, dict) else "en"


def fbl_pass(home: Path, *, stop: threading.Event | None = None) -> None:
    """One scheduled step: fetch every mailbox, then notify (within `[fbl] notify_seconds`); failures are
    recorded per mailbox and logged, never raised (the scheduler keeps going)."""
    if not load_config(home).fbl.mailboxes:
        return
    try:
        for name, outcome in fbl_fetch(home, stop=stop).items():
            if isinstance(outcome, Exception):
                event(logging.WARNING, "fbl_failed", mailbox=name, error=str(outcome))
            elif outcome is not None and (outcome.reports or outcome.unparsed):
                event(logging.INFO, "fbl_fetched", mailbox=name, reports=outcome.reports, unparsed=outcome.unparsed)
        sent = fbl_notify(home, force=False)
        if sent:
            event(logging.INFO, "fbl_notified", accounts=sorted(sent))
    except Exception as exc:  # a feedback-loop failure must not stop collection
        failure("fbl_failed", exc)


def start_fbl_worker(home: Path, stop: threading.Event) -> threading.Thread | None:
    """`relaywatch run`'s feedback-loop thread: a pass every `[fbl] fetch_seconds` until `stop` (None when
    no mailbox is configured or fetching is disabled)."""
    config = load_config(home).fbl
    if not config.mailboxes or not config.fetch_seconds:
        return None

    def loop() -> None:
        while not stop.is_set():
            fbl_pass(home, stop=stop)
            stop.wait(config.fetch_seconds)

    worker = threading.Thread(target=loop, name="fbl", daemon=True)
    worker.start()
    return worker
