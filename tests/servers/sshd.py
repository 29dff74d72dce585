"""A real OpenSSH sshd standing in for a gateway's SSH access (log collection, queue snapshots).

``/usr/sbin/sshd -D -e -f <tmp>/sshd_config`` on 127.0.0.1:<free port>, with its own host key and
key-only authentication for one generated client key; nothing in /etc/ssh is read or written. It can be
stopped and started again on the same port and host key in the middle of a test, to simulate a gateway
outage: stop() also kills the per-connection children, so open sessions drop as they would.
"""

import getpass
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import psutil
import pytest

from tests.servers import adopting_orphans, descendants, reap, require_executable, require_root, terminate
from tests.servers.ports import free_port

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
PRIVSEP_DIR = Path("/run/sshd")  # compiled into Debian's sshd; normally made by systemd-tmpfiles


class SshServer:
    """One sshd in root (a temp dir): host, port, user, client_key_path, host key and its fingerprint."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user = getpass.getuser()
        self.config_path = root / "sshd_config"
        self.host_key_path = root / "ssh_host_ed25519_key"
        self.client_key_path = root / "id_ed25519"
        self.authorized_keys_path = root / "authorized_keys"
        self.known_hosts_path = root / "known_hosts"
        self.pid_file = root / "sshd.pid"
        self.log_path = root / "sshd.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._keygen(self.host_key_path, "relaywatch-test-host")
        self._keygen(self.client_key_path, "relaywatch-test-client")
        self.authorized_keys_path.write_text(Path(f"{self.client_key_path}.pub").read_text())
        self.host_public_key = " ".join(Path(f"{self.host_key_path}.pub").read_text().split()[:2])
        self.known_hosts_path.write_text(f"[{self.host}]:{self.port} {self.host_public_key}\n")
        self.host_key_fingerprint = subprocess.run(
            [SSH_KEYGEN, "-l", "-E", "sha256", "-f", f"{self.host_key_path}.pub"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[1]
        self._write_config()

    @staticmethod
    def _keygen(path: Path, comment: str) -> None:
        subprocess.run(
            [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            check=True,
            capture_output=True,
        )

    def _write_config(self) -> None:
        self.config_path.write_text(
            f"ListenAddress {self.host}:{self.port}\n"
            f"HostKey {self.host_key_path}\n"
            f"PidFile {self.pid_file}\n"
            f"AuthorizedKeysFile {self.authorized_keys_path}\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "PrintMotd no\n"
            "LogLevel VERBOSE\n"
            "Subsystem sftp internal-sftp\n"
        )

    @property
    def pid(self) -> int | None:
        """PID of the listening sshd, None when stopped."""
        running = self._process is not None and self._process.poll() is None
        return self._process.pid if running else None

    def start(self, timeout: float = 10.0) -> "SshServer":
        """Start sshd (same port, same host key after a stop()); returns once it is listening."""
        if self.pid is not None:
            return self
        if not PRIVSEP_DIR.is_dir():
            PRIVSEP_DIR.mkdir(mode=0o755, parents=True)
        test = subprocess.run([SSHD, "-t", "-f", str(self.config_path)], capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"sshd -t rejected {self.config_path}: {test.stderr}")
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        listening = f"Server listening on {self.host} port {self.port}".encode()
        deadline = time.monotonic() + timeout
        while listening not in self.log_path.read_bytes()[offset:]:  # bytes: sshd -e ends lines \r\n
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sshd did not start:\n{self.log_path.read_text(errors='replace')}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Kill sshd and every session it forked (open connections drop, new ones are refused)."""
        if self._process is None:
            return
        listener = psutil.Process(self._process.pid)
        with adopting_orphans():  # sessions outliving the listener become ours, to be reaped
            listener.suspend()  # freeze accept(): no session can be forked while we collect them
            sessions = descendants(listener.pid)[1:]
            terminate(sessions, timeout=5)
            listener.terminate()
            listener.resume()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
            reap(sessions)  # the dead sessions the listener had no time to reap are ours now
        self._process = None

    def client(self, timeout: float = 5.0) -> paramiko.SSHClient:
        """A paramiko client connected with the client key, the host key pinned (unknown keys rejected)."""
        client = paramiko.SSHClient()
        client.load_host_keys(str(self.known_hosts_path))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(
            self.host,
            port=self.port,
            username=self.user,
            key_filename=str(self.client_key_path),
            look_for_keys=False,
            allow_agent=False,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
        )
        return client


@pytest.fixture
def sshd_server(tmp_path: Path) -> Iterator[SshServer]:
    """A started sshd on 127.0.0.1 accepting only its client key (stop()/start() simulate an outage)."""
    require_root("sshd")
    require_executable(SSHD)
    require_executable(SSH_KEYGEN)
    root = tmp_path / "sshd"
    root.mkdir()
    os.chmod(root, 0o700)
    server = SshServer(root).start()
    try:
        yield server
    finally:
        server.stop()
