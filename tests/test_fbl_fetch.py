"""`relaywatch fbl fetch` against a real Dovecot: every report stored once, a second fetch adds nothing,
SIGKILL at random points loses and duplicates nothing, bad mailboxes fail clearly and alone."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from ingest import fetch_mailbox
from relaywatch import core as homes
from relaywatch.cli import main
from relaywatch.core import load_config
from relaywatch.fbl import fbl_fetch
from tests import fbl_samples as samples
from tests.servers.imap import ImapServer, running_imap_server
from tests.servers.ports import free_port
from warehouse import ComplaintStore, open_lake

pytestmark = pytest.mark.server
WHEN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def invoke(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)
    return result.exit_code, result.output


def mailbox_toml(
    name: str,
    server: ImapServer,
    user: str,
    *,
    port: int | None = None,
    folder: str = "INBOX",
    after: str = "flag",
    host: str | None = None,
    ca_file: Path | None = None,
) -> str:
    return (
        f'[[fbl.mailboxes]]\nname = "{name}"\nhost = "{host or server.host}"\nport = {port or server.tls_port}\n'
        f'user = "{user}"\npassword_env = "FBL_PW_{user.upper()}"\nca_file = "{ca_file or server.ca_file}"\n'
        f'folder = "{folder}"\nafter = "{after}"\n'
    )


def new_user(server: ImapServer, monkeypatch: pytest.MonkeyPatch) -> str:
    user = "fbl" + uuid.uuid4().hex[:10]
    password = uuid.uuid4().hex
    server.add_user(user, password)
    monkeypatch.setenv(f"FBL_PW_{user.upper()}", password)
    return user


def make_home(tmp_path: Path, mailboxes: str, *, batch: int = 50) -> Path:
    home = homes.open_home(tmp_path / "home", create=True)
    (home / homes.CONFIG_NAME).write_text(f"[fbl]\nbatch = {batch}\ntimeout_seconds = 5\n\n{mailboxes}")
    return home


def feed() -> list[bytes]:
    """One of each shape the issue lists."""
    common = {"sender": "news@shop.example", "when": WHEN}
    return [
        samples.arf(rcpt="bob@yahoo.example", message_id="m1@shop.example", queue_id="4QwErTy1z2", **common),
        samples.arf(
            rcpt="ann@aol.example",
            message_id="m2@shop.example",
            part="headers",
            encoding="quoted-printable",
            user_agent="AOL SComp",
            **common,
        ),
        samples.arf(
            rcpt=None, message_id="m3@shop.example", part="message-id", user_agent="ReturnPathFBL/2.0", **common
        ),
        samples.arf(rcpt="cid@mail.example", message_id="m4@shop.example", encoding="base64", **common),
        samples.arf(feedback_type="not-spam", rcpt="dan@yahoo.example", message_id="m5@shop.example", **common),
        samples.non_arf_reply(WHEN),
        samples.broken_mime(WHEN),
        samples.big_attachment(
            WHEN, sender="news@shop.example", rcpt="eve@yahoo.example", message_id="m6@shop.example"
        ),
    ]


def complaints(home: Path) -> pl.DataFrame:
    path = home / "lake" / "complaints"
    return pl.read_delta(str(path)) if path.exists() else pl.DataFrame()


def test_fetch_stores_every_report_once_and_a_second_fetch_adds_nothing(
    imap_server: ImapServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = new_user(imap_server, monkeypatch)
    imap_server.append(user, "INBOX", *feed())
    home = make_home(tmp_path, mailbox_toml("yahoo", imap_server, user), batch=3)

    code, out = invoke(home, "fbl", "fetch")
    assert code == 0, out
    assert "yahoo: 6 report(s), 2 unparsed mail(s) kept aside, last UID 8" in out
    stored = complaints(home)
    assert stored.height == 8 and stored["uid"].sort().to_list() == list(range(1, 9))
    reports = stored.filter(pl.col("parse_error").is_null()).sort("uid")
    assert reports["feedback_type"].to_list() == ["abuse"] * 4 + ["not-spam", "abuse"]
    assert reports["counted"].to_list() == [True] * 4 + [False, True]
    assert reports["reported_message_id"].to_list() == [f"m{i}@shop.example" for i in range(1, 7)]
    assert reports["reported_part"].to_list() == ["message", "headers", "headers", "message", "message", "message"]
    assert reports["original_rcpt_to"][2].to_list() == []  # redacted by the provider
    assert reports["reported_queue_id"][0] == "4QwErTy1z2"
    unparsed = stored.filter(pl.col("parse_error").is_not_null()).sort("uid")
    assert "text/plain" in unparsed["parse_error"][0] and "broken MIME" in unparsed["parse_error"][1]
    assert unparsed["raw"][0] == feed()[5].replace(b"\r\n", b"\r\n")  # kept byte for byte
    assert stored.filter(pl.col("uid") == 8)["size"][0] > 5 * 1024 * 1024

    code, out = invoke(home, "fbl", "fetch")
    assert code == 0 and "yahoo: 0 report(s), 0 unparsed" in out
    assert complaints(home).height == 8

    client = imap_server.connect(user)
    client.select("INBOX")
    assert client.search(None, "UNSEEN")[1] == [b""]  # after = "flag": every committed mail marked \Seen
    client.logout()

    code, out = invoke(home, "sql", "SELECT count(*) AS n FROM complaints", "--format", "csv")
    assert out.split()[-1] == "6"  # reports only; unlinked ones are visible to root
    code, out = invoke(home, "sql", "SELECT count(*) AS n FROM complaints_unparsed", "--format", "csv")
    assert out.split()[-1] == "2"
    code, out = invoke(home, "status", "--json")
    assert '"mailbox": "yahoo"' in out and '"unparsed_total": 2' in out and '"state": "ok"' in out


def _fetch(home: Path, env: dict[str, str]) -> None:
    import os

    os.environ.update(env)
    fbl_fetch(home)


def test_fetch_killed_at_random_points_leaves_exactly_one_row_per_report(
    imap_server: ImapServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = new_user(imap_server, monkeypatch)
    home = make_home(tmp_path, mailbox_toml("crash", imap_server, user, after="move"), batch=1)
    env = {f"FBL_PW_{user.upper()}": imap_server.users[user]}
    rng = random.Random(20261202)
    spawn = multiprocessing.get_context("spawn")
    total = kills = mid_fetch = runs = 0
    low, high = 0.5, 2.5  # kill delays; adapted to how long this machine takes to start and to fetch
    while kills < 12 or mid_fetch < 3:
        runs += 1
        assert runs <= 60, f"only {kills} kills ({mid_fetch} mid-fetch) in {runs} runs"
        count = rng.randint(8, 20)  # new reports each round, so every run has work
        imap_server.append(
            user,
            "INBOX",
            *(
                samples.arf(
                    sender="news@shop.example",
                    rcpt=f"r{n}@yahoo.example",
                    message_id=f"k{n}@shop.example",
                    when=WHEN + timedelta(minutes=n),
                    report_message_id=f"<fbl-{n}@feedback.example.net>",
                )
                for n in range(total, total + count)
            ),
        )
        total += count
        before = complaints(home).height
        child = spawn.Process(target=_fetch, args=(home, env), daemon=True)
        child.start()
        time.sleep(rng.uniform(low, high))
        if child.is_alive():
            child.kill()
            kills += 1
            after = complaints(home).height
            mid_fetch += before < after < total
            if after == before:  # killed before its first commit: wait longer next time
                low, high = low + 0.3, high + 0.3
        else:  # finished before the kill: kill sooner
            high = max(low + 0.2, high * 0.8)
        child.join(30)
    print(f"{kills} kills ({mid_fetch} mid-fetch) in {runs} runs, {total} reports")  # shown with -s
    outcome = fbl_fetch(home)["crash"]
    assert not isinstance(outcome, Exception), outcome
    stored = complaints(home)
    assert stored.height == total, (kills, mid_fetch)
    assert stored["reported_message_id"].n_unique() == total and stored["uid"].n_unique() == total
    client = imap_server.connect(user)
    client.select("INBOX")
    assert client.search(None, "ALL")[1] == [b""]  # after = "move": every committed mail moved
    client.select("relaywatch-done")
    assert len(client.search(None, "ALL")[1][0].split()) == total
    client.logout()


def test_bad_mailboxes_fail_clearly_in_status_and_leave_the_others_alone(
    imap_server: ImapServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, other = new_user(imap_server, monkeypatch), new_user(imap_server, monkeypatch)
    imap_server.append(good, "INBOX", feed()[0])
    with running_imap_server(cert_names=("imap.other.example",)) as mismatched:
        boxes = "\n".join(
            [
                mailbox_toml("good", imap_server, good),
                mailbox_toml("wrong-password", imap_server, other).replace(f"FBL_PW_{other.upper()}", "FBL_PW_BAD"),
                mailbox_toml("unreachable", imap_server, good, port=free_port()),
                mailbox_toml("no-folder", imap_server, good, folder="Feedback-Missing"),
                mailbox_toml("cert-mismatch", mismatched, good, ca_file=mismatched.ca_file),
            ]
        )
        monkeypatch.setenv("FBL_PW_BAD", "not-the-password")
        home = make_home(tmp_path, boxes)
        code, out = invoke(home, "fbl", "fetch")
    assert code == 1
    assert "good: 1 report(s)" in out
    assert complaints(home).height == 1
    code, out = invoke(home, "status")
    lines = {line.split()[2]: line for line in out.splitlines() if line.startswith("feedback mailbox")}
    assert "ok" in lines["good"]
    assert "login refused (wrong user or password?)" in lines["wrong-password"]
    assert "unreachable" in lines["unreachable"] and "Connection refused" in lines["unreachable"]
    assert "folder 'Feedback-Missing' cannot be opened" in lines["no-folder"]
    assert "certificate refused" in lines["cert-mismatch"] and "mismatch" in lines["cert-mismatch"]


def test_a_recreated_folder_new_uidvalidity_refetches_nothing_already_stored_and_starttls_works(
    imap_server: ImapServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = new_user(imap_server, monkeypatch)
    old, new = feed()[:2], feed()[3]
    imap_server.append(user, "Feedback", *old)
    box = mailbox_toml("starttls", imap_server, user, port=imap_server.starttls_port, folder="Feedback")
    home = make_home(tmp_path, box.replace('after = "flag"', 'after = "flag"\nsecurity = "starttls"'))
    assert invoke(home, "fbl", "fetch")[0] == 0
    client = imap_server.connect(user)
    client.delete("Feedback")  # the operator recreates the folder: new UIDVALIDITY, UIDs from 1 again
    client.logout()
    imap_server.append(user, "Feedback", *old, new)
    stop = threading.Event()
    stop.set()  # one batch, then stop: as if the fetch had died after its first commit
    mailbox = load_config(home).fbl.mailboxes[0]
    first = fetch_mailbox(mailbox, ComplaintStore(open_lake(home)), batch=1, stop=stop)
    assert (first.commits, first.skipped, first.last_uid) == (1, 1, 1)
    code, out = invoke(home, "fbl", "fetch")
    assert code == 0 and "starttls: 1 report(s)" in out, out
    stored = complaints(home)
    assert stored.height == 3 and stored["uidvalidity"].n_unique() == 2


def test_the_scheduler_fetches_mailboxes_on_its_interval(
    imap_server: ImapServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relaywatch.registry import gateway_add
    from relaywatch.scheduler import run

    user = new_user(imap_server, monkeypatch)
    home = make_home(tmp_path, mailbox_toml("sched", imap_server, user))
    config = home / homes.CONFIG_NAME
    config.write_text(
        config.read_text().replace("[fbl]\n", "[fbl]\nfetch_seconds = 0.5\n", 1) + "\n[collect]\nqueue_seconds = 0\n"
    )
    log = tmp_path / "gw" / "mail.log"
    log.parent.mkdir()
    log.write_text("")
    gateway_add(home, "gw-local", log_path=str(log))
    stop = threading.Event()
    runner = threading.Thread(target=run, args=(home,), kwargs={"stop": stop}, daemon=True)
    runner.start()
    try:
        for expected in (1, 2):
            imap_server.append(user, "INBOX", feed()[expected - 1])
            deadline = time.monotonic() + 20
            while complaints(home).height < expected:
                assert time.monotonic() < deadline, f"the scheduler did not fetch report {expected}"
                time.sleep(0.2)
    finally:
        stop.set()
        runner.join(30)
    assert complaints(home).height == 2
