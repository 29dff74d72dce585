"""Pull Postfix logs from gateways over SSH/SFTP: the transport of ingest.collect's algorithm.

`connect` opens a host-key-pinned, key-authenticated SSH session (the pinned key is checked before
authenticating); `SftpFiles` reads files through pipelined SFTP requests; `SSHCollector` keeps one
session per gateway open between passes and reopens it after errors.
"""

from __future__ import annotations

import posixpath
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko
from paramiko.ssh_exception import IncompatiblePeer

from ingest.chunks import CHUNK_BYTES, Chunk, ChunkSink
from ingest.collect import CollectError, CollectResult, Fetch, PermanentError, collect_log
from ingest.gateways import Gateway, pin_host_key, pinned_keys

WINDOW_BYTES = 16 * 1024 * 1024
PACKET_BYTES = 256 * 1024
SFTP_REQUEST_BYTES = 255 * 1024
"""OpenSSH's largest SFTP read (256 KiB message minus headroom): 4x faster than paramiko's 32 KiB here.
A server that answers shorter reads stays correct (paramiko re-reads what a short answer left out)."""
CONNECT_TIMEOUT = 15.0
RSA_ALGORITHMS = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


class HostKeyUnknown(PermanentError):
    """First contact: the host key is not pinned yet."""

    def __init__(self, gateway: Gateway, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        super().__init__(
            f"gateway {gateway.name}: host key of {gateway.known_hosts_entry} is not pinned yet "
            f"({fingerprint}); check it on the gateway (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and "
            "accept it with --accept-host-key"
        )


class HostKeyChanged(PermanentError):
    """The gateway presents another host key than the pinned one: possibly a man in the middle."""

    def __init__(self, gateway: Gateway, detail: str) -> None:
        super().__init__(
            f"gateway {gateway.name}: HOST KEY CHANGED for {gateway.known_hosts_entry}: {detail}. Collection "
            "of this gateway is stopped. If the gateway was legitimately reinstalled, run `relaywatch "
            "gateway remove` and `gateway add --accept-host-key` again"
        )


class SftpFiles:
    """LogFiles over an SFTP session; reads are pipelined (every request of a fetch in flight at once)."""

    def __init__(self, sftp: paramiko.SFTPClient) -> None:
        self.sftp = sftp

    def listdir(self, directory: str) -> list[tuple[str, int, float]]:
        listing = []
        for attr in self.sftp.listdir_attr(directory):
            name = attr.filename
            if attr.st_mode is not None and stat.S_ISLNK(attr.st_mode):
                try:
                    attr = self.sftp.stat(posixpath.join(directory, name))  # what the link points to
                except OSError:
                    continue
            if attr.st_mode is not None and stat.S_ISREG(attr.st_mode):
                listing.append((name, attr.st_size or 0, float(attr.st_mtime or 0)))
        return listing

    @contextmanager
    def reader(self, path: str) -> Iterator[Fetch]:
        with self.sftp.open(path, "rb") as handle:
            handle.MAX_REQUEST_SIZE = SFTP_REQUEST_BYTES

            def fetch(offset: int, size: int) -> bytes:
                return b"".join(handle.readv([(offset, size)]))

            yield fetch


def host_key_algorithms(kinds: list[str]) -> list[str]:
    """Host key algorithms to offer so the server presents the pinned key type."""
    algorithms = []
    for kind in kinds:
        algorithms.extend(RSA_ALGORITHMS if kind == "ssh-rsa" else (kind,))
    return algorithms


class SSHSession:
    """An authenticated, host-key-checked SSH connection to one gateway with its SFTP channel."""

    def __init__(self, gateway: Gateway, transport: paramiko.Transport, host_key: paramiko.PKey) -> None:
        self.gateway = gateway
        self.transport = transport
        self.fingerprint = host_key.fingerprint
        self.sftp = paramiko.SFTPClient.from_transport(
            transport, window_size=WINDOW_BYTES, max_packet_size=PACKET_BYTES
        )
        if self.sftp is None:
            raise CollectError(f"gateway {gateway.name}: SFTP subsystem refused")
        self.files = SftpFiles(self.sftp)

    def settimeout(self, seconds: float) -> None:
        """Fail SFTP requests that get no answer for `seconds` (a gateway that went silent)."""
        self.sftp.get_channel().settimeout(seconds)

    def run(self, command: str, timeout: float = 60.0) -> bytes:
        """Run a command on the gateway and return its standard output; non-zero exit is an error."""
        channel = self.transport.open_session(timeout=timeout)
        try:
            channel.settimeout(timeout)
            channel.exec_command(command)
            stdout = channel.makefile("rb").read()
            stderr = channel.makefile_stderr("rb").read()
            status = channel.recv_exit_status()
        finally:
            channel.close()
        if status != 0:
            detail = stderr.decode("utf-8", errors="replace").strip()[:500]
            raise CollectError(f"gateway {self.gateway.name}: `{command}` exited with {status}: {detail}")
        return stdout

    @property
    def alive(self) -> bool:
        return self.transport.is_active()

    def close(self) -> None:
        self.sftp.close()
        self.transport.close()

    def __enter__(self) -> SSHSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_host_key(home: Path, gateway: Gateway, key: paramiko.PKey, accept: bool) -> None:
    """Compare the presented key with the pinned one; pin it on first contact when accepted."""
    pinned = pinned_keys(home, gateway.known_hosts_entry)
    kind, encoded = key.get_name(), key.get_base64()
    if not pinned:
        if not accept:
            raise HostKeyUnknown(gateway, key.fingerprint)
        pin_host_key(home, gateway.known_hosts_entry, kind, encoded)
    elif pinned.get(kind) != encoded:
        raise HostKeyChanged(gateway, f"it now presents {kind} {key.fingerprint}")


def connect(
    home: Path, gateway: Gateway, *, accept_host_key: bool = False, timeout: float = CONNECT_TIMEOUT
) -> SSHSession:
    """Open a compressed SSH session with the pinned host key checked before authenticating."""
    if gateway.local or gateway.key is None or gateway.ssh_host is None:
        raise CollectError(f"gateway {gateway.name} is local: nothing to connect to")
    try:
        private_key = paramiko.PKey.from_path(gateway.key)
    except (OSError, paramiko.SSHException) as exc:
        raise PermanentError(f"gateway {gateway.name}: cannot load key {gateway.key}: {exc}") from exc
    try:
        sock = socket.create_connection((gateway.ssh_host, gateway.ssh_port), timeout=timeout)
    except OSError as exc:
        raise CollectError(
            f"gateway {gateway.name}: cannot reach {gateway.ssh_host}:{gateway.ssh_port}: {exc}"
        ) from exc
    transport = paramiko.Transport(sock, default_window_size=WINDOW_BYTES, default_max_packet_size=PACKET_BYTES)
    try:
        transport.use_compression(True)
        pinned = pinned_keys(home, gateway.known_hosts_entry)
        if pinned:
            options = transport.get_security_options()
            offered = [name for name in host_key_algorithms(sorted(pinned)) if name in options.key_types]
            if not offered:
                raise PermanentError(
                    f"gateway {gateway.name}: pinned host key type {', '.join(sorted(pinned))} is not supported"
                )
            options.key_types = offered
        try:
            transport.start_client(timeout=timeout)
        except IncompatiblePeer as exc:
            if pinned:
                raise HostKeyChanged(
                    gateway, f"it no longer offers the pinned {', '.join(sorted(pinned))} key"
                ) from exc
            raise
        key = transport.get_remote_server_key()
        check_host_key(home, gateway, key, accept_host_key)
        transport.auth_publickey(gateway.ssh_user or "", private_key)
        session = SSHSession(gateway, transport, key)
        session.settimeout(timeout)
        transport.set_keepalive(30)
        return session
    except CollectError:
        transport.close()
        raise
    except paramiko.AuthenticationException as exc:
        transport.close()
        raise CollectError(f"gateway {gateway.name}: key {gateway.key} refused for {gateway.ssh_user}") from exc
    except (paramiko.SSHException, OSError, EOFError) as exc:
        transport.close()
        raise CollectError(f"gateway {gateway.name}: SSH failed: {exc or type(exc).__name__}") from exc


class SSHCollector:
    """Collects one SSH gateway, keeping its session open between passes and reopening it after errors."""

    def __init__(self, home: Path, gateway: Gateway, *, timeout: float = CONNECT_TIMEOUT) -> None:
        self.home = home
        self.gateway = gateway
        self.timeout = timeout
        self.session: SSHSession | None = None
        self.done: set[tuple] = set()

    follows = False

    def start_watch(self, wake: threading.Event) -> None:
        """Nothing to watch over SSH: the scheduler polls every poll_seconds."""

    def connected(self) -> SSHSession:
        """The open session, (re)connecting when there is none or it died."""
        if self.session is not None and not self.session.alive:
            self.close()
        if self.session is None:
            self.session = connect(self.home, self.gateway, timeout=self.timeout)
        return self.session

    def poll(
        self,
        sink: ChunkSink,
        *,
        chunk_bytes: int = CHUNK_BYTES,
        on_plan: Callable[[str, int], None] | None = None,
        on_chunk: Callable[[Chunk], None] | None = None,
        stop: threading.Event | None = None,
    ) -> CollectResult:
        """One collection pass; any transport failure closes the session and raises CollectError."""
        session = self.connected()
        try:
            return collect_log(
                session.files,
                self.gateway.name,
                self.gateway.log,
                sink,
                done=self.done,
                chunk_bytes=chunk_bytes,
                on_plan=on_plan,
                on_chunk=on_chunk,
                stop=stop,
            )
        except (OSError, EOFError, paramiko.SSHException, paramiko.SFTPError) as exc:
            self.close()
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise CollectError(f"gateway {self.gateway.name}: reading {self.gateway.log} failed: {detail}") from exc

    def run(self, command: str, timeout: float = 60.0) -> bytes:
        """Run a command over the collector's session (queue snapshots)."""
        try:
            return self.connected().run(command, timeout)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            self.close()
            raise CollectError(f"gateway {self.gateway.name}: `{command}` failed: {exc}") from exc

    def close(self) -> None:
        if self.session is not None:
            try:
                self.session.close()
            finally:
                self.session = None
