"""What the dashboards need from the data home, without Streamlit: store, warehouses, mail, config.

Used by the page scripts and by the CSV export route (which runs outside any Streamlit session).

Configuration read from DIR/relaywatch.toml:

    [mail]                      # the relay that sends sign-up and password-reset codes
    host = "127.0.0.1"          # no host: sign-up and reset are not offered
    port = 25
    sender = "relaywatch@example.org"
    starttls = false
    username = ""               # SMTP AUTH, optional
    password_env = "RELAYWATCH_SMTP_PASSWORD"   # name of the environment variable holding the password

    [dashboards]
    signup_days = 30            # an address may sign up if it sent mail in the last N days
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from acl import Mailer, Scope, Store, open_store, smtp_mailer
from relaywatch.home import control_db, load_config, open_lake, resolve
from warehouse.views import Warehouse

_stores: dict[Path, Store] = {}
_lock = threading.Lock()


def home_dir() -> Path:
    """The data home: RELAYWATCH_HOME (set by `relaywatch serve`), else ./var/home."""
    return resolve(None)


def store(home: Path) -> Store:
    """The home's control store, opened once per process (the Store serialises its own access)."""
    with _lock:
        found = _stores.get(home)
        if found is None:
            found = _stores[home] = open_store(control_db(home))
        return found


def warehouse(home: Path, scope: Scope) -> Warehouse:
    """A new warehouse over the home's lake, filtered by `scope` (the caller closes it)."""
    return Warehouse(open_lake(home), scope)


@dataclass(frozen=True)
class MailSettings:
    """The [mail] section: how sign-up and reset codes are sent."""

    host: str
    port: int = 25
    sender: str = "relaywatch@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None


def mail_settings(home: Path) -> MailSettings | None:
    """The configured relay, or None when the home has no [mail] host (sign-up and reset disabled)."""
    section = load_config(home).get("mail") or {}
    host = str(section.get("host") or "").strip()
    if not host:
        return None
    password_env = str(section.get("password_env") or "")
    return MailSettings(
        host=host,
        port=int(section.get("port", 25)),
        sender=str(section.get("sender") or "relaywatch@localhost"),
        starttls=bool(section.get("starttls", False)),
        username=str(section["username"]) if section.get("username") else None,
        password=os.environ.get(password_env) if password_env else None,
    )


def mailer(home: Path) -> Mailer | None:
    """A mailer over the configured relay, or None when mail is not configured."""
    settings = mail_settings(home)
    if settings is None:
        return None
    return smtp_mailer(settings.host, settings.port, settings.sender, settings.starttls, settings.username,
                       settings.password)


def signup_days(home: Path) -> int:
    """How recent an address's mail must be for it to sign up ([dashboards] signup_days, default 30)."""
    section = load_config(home).get("dashboards") or {}
    return max(1, int(section.get("signup_days", 30)))


def has_sent(home: Path) -> Callable[[str], bool]:
    """The sign-up proof: did this address send through a gateway recently (unscoped lookup)?"""
    days = signup_days(home)

    def check(address: str) -> bool:
        root = warehouse(home, Scope.root())
        try:
            return root.has_sent(address, days=days)
        finally:
            root.close()

    return check
