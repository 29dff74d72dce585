"""`relaywatch token create|list|revoke`: the token printed once (or written to a 0600 file), listed
without it, revoked by id."""

from __future__ import annotations

import json
from pathlib import Path

from acl import TokenInvalid, open_store, token_user
from tests.test_cli import home, run

__all__ = ["home"]  # the data home fixture, imported


def test_token_create_list_revoke(home: Path, tmp_path: Path) -> None:
    assert (
        run(
            "--home",
            str(home),
            "user",
            "add",
            "alice",
            "--role",
            "user",
            "--password",
            "correct horse 42",
        ).exit_code
        == 0
    )
    printed = run("--home", str(home), "token", "create", "alice", "--name", "ci", "--expires-days", "7")
    assert printed.exit_code == 0, printed.output
    secret = printed.stdout.strip()
    assert secret.startswith("rwt_") and "shown once" in printed.stderr
    written = run("--home", str(home), "token", "create", "alice", "--name", "cron", "--output", str(tmp_path / "t"))
    assert written.exit_code == 0 and "rwt_" not in written.output
    assert (tmp_path / "t").stat().st_mode & 0o777 == 0o600
    listed = [json.loads(line) for line in run("--home", str(home), "token", "list", "--json").stdout.splitlines()]
    assert [(t["name"], t["state"]) for t in listed] == [("cron", "active"), ("ci", "active")]
    assert secret not in run("--home", str(home), "token", "list").output
    ci = next(t["id"] for t in listed if t["name"] == "ci")
    assert run("--home", str(home), "token", "revoke", str(ci)).exit_code == 0
    store = open_store(home / "control.db")
    try:
        try:
            token_user(store, secret)
            raise AssertionError("a revoked token still works")
        except TokenInvalid:
            pass
        assert token_user(store, (tmp_path / "t").read_text().strip()).name == "alice"
    finally:
        store.close()
    refused = run("--home", str(home), "token", "create", "nobody", "--name", "x")
    assert refused.exit_code == 1 and "no user named" in refused.output
