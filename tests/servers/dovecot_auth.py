"""A real Dovecot auth service (Debian's /usr/sbin/dovecot) from a temp directory, for Postfix's
`smtpd_sasl_type = dovecot`.

``dovecot -F -c <tmp>/dovecot.conf`` with no mail protocol at all: only the master, its auth service and a
UNIX listener ``auth-postfix`` in the instance directory, a passwd-file passdb given by the test, its own
base_dir, state_dir and log; nothing in /etc/dovecot is read or written. The instance directory is a
mkdtemp made 0711, like Postfix's, because the auth process runs as the `dovecot` user and smtpd as
`postfix`, and both must reach their files.
"""

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers import adopting_orphans, descendants, require_executable, require_root, terminate

DOVECOT = "/usr/sbin/dovecot"

CONFIG = """\
protocols =
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme={scheme} {passwd_file}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  unix_listener {socket} {{
    path = {root}/{socket}
    mode = 0666
  }}
}}
"""


class DovecotAuth:
    """One Dovecot auth service: `socket_path` is what smtpd_sasl_path names."""

    def __init__(self, root: Path, passwd_file: Path, scheme: str = "ARGON2ID") -> None:
        self.root = root
        self.config_path = root / "dovecot.conf"
        self.log_path = root / "dovecot.log"
        self.socket_path = root / "auth-postfix"
        self.config_path.write_text(
            CONFIG.format(root=root, passwd_file=passwd_file, scheme=scheme, socket=self.socket_path.name)
        )
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> "DovecotAuth":
        """Start the master in the foreground; returns once the auth listener exists."""
        with adopting_orphans():
            self._process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=(self.root / "dovecot.stderr").open("wb"),
            )
        deadline = time.monotonic() + timeout
        while not self.socket_path.exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"dovecot did not start: {self.log_text()}")
            time.sleep(0.05)
        return self

    def log_text(self) -> str:
        parts = [p.read_text(errors="replace") for p in (self.log_path, self.root / "dovecot.stderr") if p.exists()]
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop the master by PID and every process it started."""
        if self._process is None:
            return
        with adopting_orphans():
            procs = descendants(self._process.pid)
            terminate(procs, timeout=10)
            self._process.wait(timeout=10)
        self._process = None


@pytest.fixture
def make_dovecot_auth(tmp_path: Path) -> Iterator[Callable[..., DovecotAuth]]:
    """Factory: make_dovecot_auth(passwd_file, scheme="ARGON2ID") -> started DovecotAuth (stopped at teardown,
    its log copied to tmp_path)."""
    require_root("Dovecot")
    require_executable(DOVECOT)
    made: list[DovecotAuth] = []

    def make(passwd_file: Path, scheme: str = "ARGON2ID") -> DovecotAuth:
        root = Path(tempfile.mkdtemp(prefix="relaywatch-dovecot-"))
        root.chmod(0o711)
        server = DovecotAuth(root, passwd_file, scheme)
        made.append(server)
        return server.start()

    try:
        yield make
    finally:
        for number, server in enumerate(made):
            server.stop()
            if server.log_path.exists():
                shutil.copy(server.log_path, tmp_path / f"dovecot{number}.log")
            shutil.rmtree(server.root, ignore_errors=True)
