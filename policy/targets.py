"""Where a gateway's maps are written and `postmap` runs: over the gateway's pinned SSH session (ingest's
`connect`: host key checked before authenticating, key authentication only), or on this host for a
local gateway. Both offer the same four operations, so deployment is one algorithm."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from typing import Protocol

import paramiko

from ingest import CollectError, Gateway, connect
from policy.errors import PolicyError

SBIN_PATH = 'PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"; exec "$@"'
"""Non-login SSH sessions often lack sbin in PATH, where Debian puts postmap and postconf."""


class Target(Protocol):
    """Files and commands on the machine that runs a gateway's Postfix."""

    def run(self, argv: list[str], *, what: str | None = None) -> str:
        """Standard output of a command; PolicyError naming `what` (default: the command) and its stderr."""
        ...

    def read(self, path: str) -> bytes | None: ...

    def write(self, path: str, data: bytes) -> None: ...

    def close(self) -> None: ...


class LocalTarget:
    """This host (a local gateway); relative paths are relative to the data home."""

    def __init__(self, gateway: Gateway, cwd: Path) -> None:
        self.gateway = gateway
        self.cwd = cwd

    def run(self, argv: list[str], *, what: str | None = None) -> str:
        done = subprocess.run(
            ["sh", "-c", SBIN_PATH, "sh", *argv], capture_output=True, text=True, cwd=self.cwd, timeout=120, check=False
        )
        if done.returncode != 0:
            label = what or f"`{shlex.join(argv)}`"
            raise PolicyError(f"{label} exited with {done.returncode}: {done.stderr.strip()[:500]}")
        return done.stdout

    def read(self, path: str) -> bytes | None:
        try:
            return (self.cwd / path).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, path: str, data: bytes) -> None:
        (self.cwd / path).write_bytes(data)

    def close(self) -> None:
        """Nothing to close on this host."""


class SshTarget:
    """A gateway reached over its pinned SSH connection; relative paths are relative to the SSH user's home."""

    def __init__(self, home: Path, gateway: Gateway, timeout: float) -> None:
        self.gateway = gateway
        try:
            self.session = connect(home, gateway, timeout=timeout)
        except CollectError as exc:
            raise PolicyError(str(exc)) from exc

    def run(self, argv: list[str], *, what: str | None = None) -> str:
        try:
            return self.session.run(shlex.join(["sh", "-c", SBIN_PATH, "sh", *argv])).decode("utf-8", "replace")
        except CollectError as exc:
            _, sep, status = str(exc).rpartition("` exited with ")  # ingest names the whole command
            label = what or f"`{shlex.join(argv)}`"
            raise PolicyError(
                f"gateway {self.gateway.name}: {label} exited with {status}" if sep else str(exc)
            ) from exc
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise PolicyError(f"gateway {self.gateway.name}: SSH failed: {exc or type(exc).__name__}") from exc

    def read(self, path: str) -> bytes | None:
        try:
            with self.session.sftp.open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise PolicyError(f"gateway {self.gateway.name}: reading {path} failed: {exc}") from exc

    def write(self, path: str, data: bytes) -> None:
        try:
            with self.session.sftp.open(path, "wb") as handle:
                handle.write(data)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise PolicyError(
                f"gateway {self.gateway.name}: upload of {path} failed: {exc or type(exc).__name__}"
            ) from exc

    def close(self) -> None:
        self.session.close()


def open_target(home: Path, gateway: Gateway, timeout: float) -> Target:
    """The target of a gateway: SSH for remote gateways, this host for local ones."""
    return LocalTarget(gateway, home) if gateway.local else SshTarget(home, gateway, timeout)
