"""`make run`'s embedded default: three gateways' history, a live demo gateway, accounts, dashboards.

    python -m relaywatch.demo --dir var/demo [--serve --port 8501]

Idempotent: logs are generated once (a rerun keeps them, so ingest adds nothing twice), accounts are
created once and their passwords kept in DIR/logins.txt (mode 0600) to be printed again.
With --serve, a live gateway `gw-live` writes Postfix lines in real time to DIR/logs/gw-live.log (replayed
from the generator at their own timestamps), the scheduler follows that file into the lake as a local
gateway would be followed, and the dashboards run until Ctrl-C. When Postfix is installed (and the demo
runs as root), a real Postfix gateway `gw-postfix` runs too (relaywatch.demo_postfix: its own config and
spool under DIR/postfix, relaying to a scripted SMTP sink, fed a message every few seconds); its log is
followed and its queue snapshotted (`postqueue -c DIR/postfix/conf -j`) every 30 s into the `queue` table.
"""

from __future__ import annotations

import argparse
import io
import secrets
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from acl import NotFound, Scope, get_user, local_operator, open_store, token_create, user_add, user_grant
from ingest import NO_QUEUE
from relaywatch.core import CONFIG_NAME, control_db, open_home, write_atomic
from relaywatch.demo_postfix import DemoPostfix
from relaywatch.demo_postfix import unavailable_reason as postfix_unavailable
from relaywatch.fblgen import seed_complaints
from relaywatch.loggen import generate
from relaywatch.output import ingest_summary
from reports import report_preview, report_settings
from warehouse import Lake, Warehouse, ingest, open_lake

GATEWAYS = ["gw-paris", "gw-lyon", "gw-lille"]
DAYS = 3
LIVE = "gw-live"
POSTFIX_GW = "gw-postfix"
DOMAIN_SQL = (
    "SELECT sender_domain FROM deliveries WHERE sender_domain IS NOT NULL "
    "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1 OFFSET 3"
)
"""The customer's sender domain: the fourth busiest."""
LIVE_CONFIG = """
[collect]
# gw-postfix's real queue is snapshotted every 30 s (gw-live, a generated log, has none: its snapshots fail).
queue_seconds = 30
"""
OLD_LIVE_CONFIG = "# The demo gateways have no Postfix queue to snapshot.\nqueue_seconds = 0\n"
"""What earlier demos wrote (queue snapshots off), replaced by LIVE_CONFIG's setting."""


def demo(directory: Path) -> list[tuple[str, str, str]]:
    """Build (or reuse) the demo home under `directory`; return the (login, password, role) accounts."""
    logs = directory / "logs"
    home = open_home(directory / "home", create=True)
    if not all((logs / f"{g}.log").is_file() for g in GATEWAYS):
        start = (datetime.now(UTC) - timedelta(days=DAYS)).replace(minute=0, second=0, microsecond=0)
        generate(
            None, days=DAYS, gateways=GATEWAYS, seed=2026, start=start, per_gateway_dir=logs, messages_per_day=3000
        )
    lake = open_lake(home)
    for gateway in GATEWAYS:
        print(ingest_summary(gateway, logs / f"{gateway}.log", ingest(lake, gateway, logs / f"{gateway}.log")))
    accounts = _accounts(home, directory / "logins.txt", lake)
    _reports(home, directory / "reports")
    _complaints(lake)
    _policy(home)
    return accounts


def _reports(home: Path, folder: Path) -> None:
    """Report settings of the demo accounts (shown on their Account page) and a preview of each one's
    last report in `folder` (the demo configures no [mail] relay, so none is mailed)."""
    for name, frequency in (("admin", "weekly"), ("customer", "daily")):
        if report_settings(home, name).frequency == "off":
            report_settings(home, name, frequency=frequency, hour=7, timezone="Europe/Paris")
        print(f"report preview of {name}: {report_preview(home, name, None, folder / f'{name}.html')}")


def _complaints(lake: Lake) -> None:
    """Feedback-loop complaints about 60 delivered mails, a third of them from the customer's domain."""
    warehouse = Warehouse(lake, Scope.root())
    sent = "SELECT gateway, queue_id, ts, sender, recipient, message_id FROM deliveries WHERE status = 'sent'"
    deliveries = warehouse.query(
        f"({sent} AND sender_domain = ({DOMAIN_SQL}) ORDER BY hash(queue_id) LIMIT 20) "  # noqa: S608 - our SQL
        f"UNION ALL ({sent} ORDER BY hash(queue_id, recipient) LIMIT 40)"
    )
    warehouse.close()
    count = seed_complaints(lake, deliveries)
    if count:
        print(f"demo-fbl: {count} feedback-loop mails committed to the complaints table")


def _policy(home: Path) -> None:
    """The policy the demo shows: the automatic rules over its traffic (idempotent) and, once, a manual
    entry scoped to the customer's sender domain (visible to the customer in the `blacklist` view)."""
    from policy import auto_blacklist, blacklist_add, blacklist_list

    operator = local_operator()
    changes = auto_blacklist(home, operator)
    print(f"policy: automatic rules created or extended {len(changes)} blacklist entries")
    if any(e.source == "manual" for e in blacklist_list(home, operator, expired=True)):
        return
    with open_store(control_db(home)) as store:
        domain = next(g.value for g in get_user(store, "customer").grants if g.kind == "domain")
    blacklist_add(
        home,
        operator,
        "recipient",
        "complaints@feedback-demo.example",
        for_sender_domain=domain,
        reason="FBL complaint (demo)",
        note="blocks this customer's mail only",
    )


def _accounts(home: Path, logins: Path, lake: Lake) -> list[tuple[str, str, str]]:
    """A root operator, a customer granted one sender domain seen in the demo traffic, and a reseller
    (role admin) holding that domain, who manages the customer's grants on the Admin page."""
    if logins.is_file():
        return [tuple(line.split("\t")) for line in logins.read_text().splitlines()]  # type: ignore[misc]
    warehouse = Warehouse(lake, Scope.root())
    domain = warehouse.query(DOMAIN_SQL)["sender_domain"][0]
    warehouse.close()
    store = open_store(control_db(home))
    operator = local_operator()
    accounts = [
        ("admin", secrets.token_urlsafe(12), "root"),
        ("customer", secrets.token_urlsafe(12), "user"),
        ("reseller", secrets.token_urlsafe(12), "admin"),
    ]
    for name, password, role in accounts:
        try:
            get_user(store, name)
        except NotFound:
            user_add(store, operator, name, role, password)
    user_grant(store, operator, "customer", "domain", domain)
    user_grant(store, operator, "reseller", "domain", domain)
    write_atomic(logins, "".join(f"{n}\t{p}\t{r}\n" for n, p, r in accounts))
    return accounts


def api_token(home: Path, path: Path) -> Path:
    """The customer's demo API token, created once and kept in `path` (mode 0600), never printed."""
    if not path.is_file():
        store = open_store(control_db(home))
        try:
            secret, _ = token_create(store, local_operator(), "demo", user="customer")
        finally:
            store.close()
        write_atomic(path, secret + "\n", mode=0o600)
    return path


def live_gateway(log: Path, stop: threading.Event) -> None:
    """Append generated Postfix lines to `log` as their timestamps come due (a real-time gateway)."""
    buffer = io.StringIO()
    generate(
        buffer,
        days=1,
        gateways=[LIVE],
        seed=int(datetime.now(UTC).timestamp()),
        start=datetime.now(UTC).replace(microsecond=0),
        messages_per_day=6000,
    )
    year = datetime.now(UTC).year
    with log.open("a", encoding="utf-8") as out:
        for line in buffer.getvalue().splitlines():
            due = datetime.strptime(f"{year} {line[:15]}", "%Y %b %d %H:%M:%S").replace(tzinfo=UTC)
            if stop.wait(max(0.0, (due - datetime.now(UTC)).total_seconds())):
                return
            out.write(line + "\n")
            out.flush()


def start_postfix(directory: Path, home: Path) -> DemoPostfix | None:
    """Start the real Postfix gateway under DIR/postfix and register it (None, said, when it cannot run)."""
    from relaywatch.registry import gateway_add, gateway_list

    why = postfix_unavailable()
    if why:
        print(f"{POSTFIX_GW}: not started ({why}); the demo runs without a real Postfix queue")
        return None
    instance = DemoPostfix(directory / "postfix").start()
    gateway = instance.gateway
    try:
        if POSTFIX_GW not in {g.name for g in gateway_list(home)}:
            gateway_add(home, POSTFIX_GW, log_path=str(gateway.log_path), queue_command=gateway.queue_command)
    except Exception:
        instance.stop()
        raise
    print(
        f"{POSTFIX_GW}: real Postfix on 127.0.0.1:{gateway.port} relaying to a sink on 127.0.0.1:{instance.sink.port}"
    )
    return instance


def serve(directory: Path, port: int) -> None:
    """Run the live gateways, their collector and the dashboards until interrupted."""
    from relaywatch.registry import gateway_add, gateway_list
    from relaywatch.scheduler import run as run_scheduler

    home = directory.absolute() / "home"
    log = directory.absolute() / "logs" / f"{LIVE}.log"
    log.touch()
    config = home / CONFIG_NAME
    text = config.read_text()
    if "[collect]" not in text:
        with config.open("a") as handle:
            handle.write(LIVE_CONFIG)
    elif OLD_LIVE_CONFIG in text:
        write_atomic(config, text.replace(OLD_LIVE_CONFIG, LIVE_CONFIG.split("[collect]\n", 1)[1]))
    if LIVE not in {g.name for g in gateway_list(home)}:
        gateway_add(home, LIVE, log_path=str(log), queue_command=NO_QUEUE)
    postfix = start_postfix(directory.absolute(), home)
    stop = threading.Event()
    threads = [
        threading.Thread(target=live_gateway, args=(log, stop), daemon=True),
        threading.Thread(target=run_scheduler, args=(home,), kwargs={"stop": stop}, daemon=True),
    ]
    for thread in threads:
        thread.start()
    command = [sys.executable, "-m", "relaywatch.cli", "--home", str(home), "serve", "--port", str(port)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the cleanup below on a plain kill too
    server = subprocess.Popen(command)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.terminate()
        server.wait(timeout=30)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        if postfix is not None:
            postfix.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("var/demo"))
    parser.add_argument("--serve", action="store_true", help="then run the live gateway and the dashboards")
    parser.add_argument("--port", type=int, default=8501)
    args = parser.parse_args()
    accounts = demo(args.dir)
    print(f"\nDashboards: http://127.0.0.1:{args.port}")
    for name, password, role in accounts:
        print(f"  login {name!r} password {password!r} ({role})")
    token = api_token(args.dir / "home", args.dir / "customer.token")
    base = f"http://127.0.0.1:{args.port}/api/v1"
    print(f"\nHTTP API as 'customer' (its token is in {token}, mode 0600):")
    print(f"  curl -H \"Authorization: Bearer $(cat {token})\" -H 'Accept: text/csv' '{base}/overview/by_gateway'")
    python = f"relaywatch.connect('{base[:-7]}', open('{token}').read().strip()).overview('top_domains')"
    print(f'  python -c "import relaywatch; print({python})"')
    print(f"  API description: {base}/openapi.json")
    if args.serve:
        serve(args.dir, args.port)


if __name__ == "__main__":
    main()
