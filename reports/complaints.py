"""Complaint notifications: the root and admin accounts whose grants cover a new complaint get one plain-text
mail listing them (batched: everything new since the last notification, at most once per interval).

Who sees which complaint is decided by the `complaints` view of a Warehouse built with each account's own
Scope, never here. What was notified is remembered as the `complaints` table version reached
(DIR/fbl-notified.json, written atomically after the mails went out: a crash re-sends rather than loses).
Report fields are attacker-controlled text: they only ever go into a text/plain body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from acl import ADMIN, ROOT, Mailer, User, scope_for
from relaywatch.core import write_atomic
from warehouse import Lake, Warehouse

STATE_NAME = "fbl-notified.json"
COLUMNS = (
    "arrival_ts",
    "feedback_type",
    "provider",
    "gateway",
    "sender",
    "recipient",
    "linked_by",
    "message_key",
    "reported_subject",
)
TEXT = {
    "en": {
        "subject": "relaywatch: {n} new complaint(s)",
        "intro": "{n} new complaint(s) about mail you are responsible for:",
        "outro": "Details: the Complaints page of the dashboards.",
    },
    "fr": {
        "subject": "relaywatch : {n} nouvelle(s) plainte(s)",
        "intro": "{n} nouvelle(s) plainte(s) concernant du courrier dont vous avez la charge :",
        "outro": "Détails : page Plaintes des tableaux de bord.",
    },
}


def _state(home: Path) -> dict[str, Any]:
    try:
        data = json.loads((home / STATE_NAME).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def render(rows: pl.DataFrame, language: str) -> tuple[str, str]:
    """(subject, plain-text body) of one person's notification."""
    text = TEXT.get(language, TEXT["en"])
    lines = [text["intro"].format(n=rows.height), ""]
    for row in rows.iter_rows(named=True):
        values = [str(row[c]) if row[c] is not None else "-" for c in COLUMNS]
        lines.append("- " + " | ".join(" ".join(v.split()) for v in values))
    lines += ["", text["outro"]]
    return text["subject"].format(n=rows.height), "\n".join(lines) + "\n"


def notify_complaints(
    home: Path,
    lake: Lake,
    users: list[User],
    mailer: Mailer,
    *,
    interval_seconds: float = 0.0,
    language_of: Callable[[str], str] = lambda _name: "en",
    now: datetime | None = None,
) -> dict[str, int]:
    """Mail each root/admin account with an e-mail address the counted complaints committed since the last
    run that its scope covers; account name -> complaints mailed. Nothing is sent before
    `interval_seconds` have passed since the last notification."""
    now = now or datetime.now(UTC)
    state = _state(home)
    last = int(state.get("version", -1))
    current = lake.version("complaints")
    previous = state.get("sent_at")
    if current <= last or (previous and (now - datetime.fromisoformat(previous)).total_seconds() < interval_seconds):
        return {}
    through = _newest_fetch(lake) or now  # fixed first: what a fetch commits meanwhile waits for next time
    since = datetime.fromisoformat(state["through"]) if "through" in state else datetime.min.replace(tzinfo=UTC)
    sent: dict[str, int] = {}
    for user in users:
        if user.disabled or user.role not in (ROOT, ADMIN) or not user.email:
            continue
        warehouse = Warehouse(lake, scope_for(user))
        try:
            rows = warehouse.query(
                f"SELECT {', '.join(COLUMNS)} FROM complaints WHERE counted "  # noqa: S608 - fixed columns
                "AND fetched_at > $since AND fetched_at <= $through ORDER BY arrival_ts",
                {"since": since, "through": through},
            )
        finally:
            warehouse.close()
        if rows.height:
            subject, body = render(rows, language_of(user.name))
            mailer(user.email, subject, body)
            sent[user.name] = rows.height
    write_atomic(
        home / STATE_NAME,
        json.dumps({"version": current, "through": through.isoformat(), "sent_at": now.isoformat()}) + "\n",
    )
    return sent


def _newest_fetch(lake: Lake) -> datetime | None:
    """The latest fetched_at in the table: complaints up to it are notified."""
    table = lake.table("complaints")
    if table is None:
        return None
    newest = pl.scan_delta(table).select(pl.col("fetched_at").max()).collect().item()
    return newest
