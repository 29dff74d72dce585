"""`make run`'s embedded default: a demo data home with three gateways' history and demo accounts.

    python -m relaywatch.demo --dir var/demo

Idempotent: logs are generated once (a rerun keeps them, so ingest adds nothing twice), accounts are
created once and their passwords kept in DIR/logins.txt (mode 0600) to be printed again.
"""

from __future__ import annotations

import argparse
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from acl import NotFound, get_user, local_operator, open_store, user_add, user_grant
from bench.generate import generate
from relaywatch import home as homes
from relaywatch.output import ingest_summary
from warehouse.lake import Lake
from warehouse.pipeline import ingest

GATEWAYS = ["gw-paris", "gw-lyon", "gw-lille"]
DAYS = 3


def demo(directory: Path) -> list[tuple[str, str, str]]:
    """Build (or reuse) the demo home under `directory`; return the (login, password, role) accounts."""
    logs = directory / "logs"
    home = homes.open_home(directory / "home", create=True)
    if not all((logs / f"{g}.log").is_file() for g in GATEWAYS):
        start = (datetime.now(UTC) - timedelta(days=DAYS)).replace(minute=0, second=0, microsecond=0)
        generate(None, days=DAYS, gateways=GATEWAYS, seed=2026, start=start, per_gateway_dir=logs,
                 messages_per_day=3000)
    lake = Lake(homes.lake_dir(home))
    for gateway in GATEWAYS:
        print(ingest_summary(gateway, logs / f"{gateway}.log", ingest(lake, gateway, logs / f"{gateway}.log")))
    return _accounts(home, directory / "logins.txt", lake)


def _accounts(home: Path, logins: Path, lake: Lake) -> list[tuple[str, str, str]]:
    """A root operator and a customer granted one sender domain seen in the demo traffic."""
    if logins.is_file():
        return [tuple(line.split("\t")) for line in logins.read_text().splitlines()]  # type: ignore[misc]
    from acl import Scope
    from warehouse.views import Warehouse

    warehouse = Warehouse(lake, Scope.root())
    domain = warehouse.query(
        "SELECT sender_domain FROM deliveries WHERE sender_domain IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1 OFFSET 3"
    )["sender_domain"][0]
    warehouse.close()
    store = open_store(homes.control_db(home))
    operator = local_operator()
    accounts = [("admin", secrets.token_urlsafe(12), "root"), ("customer", secrets.token_urlsafe(12), "user")]
    for name, password, role in accounts:
        try:
            get_user(store, name)
        except NotFound:
            user_add(store, operator, name, role, password)
    user_grant(store, operator, "customer", "domain", domain)
    tmp = logins.with_suffix(".tmp")
    tmp.write_text("".join(f"{n}\t{p}\t{r}\n" for n, p, r in accounts))
    os.chmod(tmp, 0o600)
    tmp.replace(logins)
    return accounts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("var/demo"))
    args = parser.parse_args()
    accounts = demo(args.dir)
    print("\nDashboards: http://127.0.0.1:8501")
    for name, password, role in accounts:
        print(f"  login {name!r} password {password!r} ({role})")


if __name__ == "__main__":
    main()
