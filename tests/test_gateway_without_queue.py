"""A gateway registered with `--queue-command none` is collected but its queue is never snapshotted."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from relaywatch import core as homes
from relaywatch.cli import main
from relaywatch.registry import gateway_test, status

LINE = "Nov 30 10:00:00 gw postfix/qmgr[1]: 4ABC12: from=<a@shop.example>, size=100, nrcpt=1 (queue active)\n"


def test_a_gateway_without_a_queue_is_collected_and_never_fails_a_queue_snapshot(tmp_path: Path) -> None:
    home = homes.open_home(tmp_path / "home", create=True)
    (home / homes.CONFIG_NAME).write_text("[collect]\nqueue_seconds = 1\n")
    log = tmp_path / "logs" / "mail.log"
    log.parent.mkdir()
    log.write_text(LINE)
    runner = CliRunner()
    added = runner.invoke(
        main, ["--home", str(home), "gateway", "add", "shipped", "--log", str(log), "--queue-command", "none"]
    )
    assert added.exit_code == 0, added.output
    ran = runner.invoke(main, ["--home", str(home), "run", "--once"])
    assert ran.exit_code == 0, ran.output
    (row,) = status(home)
    assert row["gateway"] == "shipped" and row["lines_total"] == 1, row
    assert row["queue_error"] is None and row["queue_at"] is None, row
    assert gateway_test(home, "shipped")["queue"] == "none: no queue to snapshot"
