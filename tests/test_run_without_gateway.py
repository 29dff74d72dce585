"""`relaywatch run` needs something to do: a gateway or a feedback-loop mailbox, not necessarily both."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from relaywatch import core as homes
from relaywatch.cli import main
from tests import fbl_samples as samples
from tests.servers.imap import ImapServer

WHEN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def invoke(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args])
    return result.exit_code, result.output


def test_run_with_neither_gateway_nor_mailbox_says_there_is_nothing_to_run(tmp_path: Path) -> None:
    home = homes.open_home(tmp_path / "home", create=True)
    code, out = invoke(home, "run", "--once")
    assert code != 0
    assert "nothing to run" in out and "relaywatch gateway add" in out


@pytest.mark.server
def test_run_once_with_only_a_feedback_loop_mailbox_fetches_its_complaints(
    tmp_path: Path, imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = "fbl" + uuid.uuid4().hex[:10]
    password = uuid.uuid4().hex
    imap_server.add_user(user, password)
    monkeypatch.setenv(f"FBL_PW_{user.upper()}", password)
    imap_server.append(user, "INBOX", samples.arf(sender="news@shop.example", rcpt="bob@yahoo.example", when=WHEN))
    home = homes.open_home(tmp_path / "home", create=True)
    (home / homes.CONFIG_NAME).write_text(
        f'[[fbl.mailboxes]]\nname = "isp"\nhost = "{imap_server.host}"\nport = {imap_server.tls_port}\n'
        f'user = "{user}"\npassword_env = "FBL_PW_{user.upper()}"\nca_file = "{imap_server.ca_file}"\n'
    )
    code, out = invoke(home, "run", "--once")
    assert code == 0, out
    complaints = pl.read_delta(str(home / "lake" / "complaints"))
    assert complaints["recipient"].to_list() == ["bob@yahoo.example"]
