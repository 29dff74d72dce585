"""What the dashboards need from the data home, without Streamlit: store, warehouses, mail, config.

Used by the page scripts and by the HTTP routes (which run outside any Streamlit session). The
configuration is relaywatch.core's model (`[mail]`, `[dashboards]`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from acl import Mailer, Scope, Store, open_store, smtp_mailer
from relaywatch.core import control_db, load_config, resolve_home
from warehouse import Warehouse, open_lake

_stores: dict[Path, Store] = {}
_lock = threading.Lock()


def home_dir() -> Path:
    """The data home: RELAYWATCH_HOME (set by `relaywatch serve`), else ./var/home."""
    return resolve_home(None)


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


def mailer(home: Path) -> Mailer | None:
    """A mailer over the configured relay ([mail]), or None when no host is configured."""
    mail = load_config(home).mail
    if not mail.host.strip():
        return None
    return smtp_mailer(mail.host.strip(), mail.port, mail.sender, mail.starttls, mail.username or None, mail.password)


def signup_days(home: Path) -> int:
    """How recent an address's mail must be for it to sign up ([dashboards] signup_days)."""
    return load_config(home).dashboards.signup_days


def secure_cookie(home: Path) -> bool:
    """Whether the session cookie is always Secure ([dashboards] secure_cookie)."""
    return load_config(home).dashboards.secure_cookie


def stuck_hours(home: Path) -> float:
    """Age above which queued mail is flagged as stuck on the Queue page ([dashboards] stuck_hours)."""
    return load_config(home).dashboards.stuck_hours


def trusted_proxies(home: Path) -> tuple[str, ...]:
    """The reverse proxies whose X-Forwarded-For is believed ([dashboards] trusted_proxies)."""
    return load_config(home).dashboards.trusted_proxies


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
