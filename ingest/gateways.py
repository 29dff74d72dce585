"""The gateway registry (DIR/gateways.toml) and the pinned SSH host keys (DIR/known_hosts).

Both files are rewritten whole into a temporary file and renamed over the old one, so a reader never sees
half a registry and a crash never leaves one behind. A gateway without `ssh_host` is local: its log is
followed on this machine.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from relaywatch.core import RelaywatchError, file_lock, locks_dir, write_atomic

REGISTRY_NAME = "gateways.toml"
KNOWN_HOSTS_NAME = "known_hosts"
DEFAULT_QUEUE_COMMAND = "postqueue -j"
NO_QUEUE = "none"
"""The queue command of a gateway whose Postfix queue cannot be read (a log shipped from elsewhere)."""
NAME_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.)){0,62}")
"""A gateway name as typed (stored lower-cased): ASCII letters, digits, '.', '_', '-', at most 63, no
'..' (acl's grants check gateway names with the same rule; tests/test_names.py holds them to it)."""
SSH_TARGET = re.compile(r"^(?P<user>[^@\s]+)@(?P<host>\[[^\]]+\]|[^:@\s]+)(?::(?P<port>\d{1,5}))?$")


class GatewayError(RelaywatchError):
    """A gateway definition is invalid, unknown, or already registered."""


@dataclass(frozen=True)
class Gateway:
    """One Postfix gateway: where its log is and, for a remote one, how to reach it over SSH."""

    name: str
    log: str
    ssh_user: str | None = None
    ssh_host: str | None = None
    ssh_port: int = 22
    key: str | None = None
    ips: tuple[str, ...] = field(default_factory=tuple)
    queue_command: str = DEFAULT_QUEUE_COMMAND

    @property
    def has_queue(self) -> bool:
        """False when the gateway's queue is not to be snapshotted (`--queue-command none`)."""
        return self.queue_command != NO_QUEUE

    @property
    def local(self) -> bool:
        """True when the log is on this machine (followed, not pulled over SSH)."""
        return self.ssh_host is None

    @property
    def known_hosts_entry(self) -> str:
        """Host name as OpenSSH writes it in known_hosts: `host` on port 22, else `[host]:port`."""
        if self.ssh_host is None:
            raise GatewayError(f"gateway {self.name} is local: it has no SSH host")
        return self.ssh_host if self.ssh_port == 22 else f"[{self.ssh_host}]:{self.ssh_port}"

    @property
    def target(self) -> str:
        """`user@host:port` for SSH gateways, `local` otherwise (for listings and logs)."""
        return "local" if self.local else f"{self.ssh_user}@{self.ssh_host}:{self.ssh_port}"


def parse_ssh_target(text: str) -> tuple[str, str, int]:
    """Split `USER@HOST[:PORT]` (HOST may be `[v6addr]`) into user, host and port."""
    match = SSH_TARGET.match(text.strip())
    if not match:
        raise GatewayError(f"--ssh {text!r}: expected USER@HOST[:PORT]")
    port = int(match["port"] or 22)
    if not 0 < port < 65536:
        raise GatewayError(f"--ssh {text!r}: port out of range")
    return match["user"], match["host"].strip("[]"), port


def make_gateway(
    name: str,
    *,
    log: str,
    ssh: str | None = None,
    key: str | None = None,
    ips: tuple[str, ...] = (),
    queue_command: str = DEFAULT_QUEUE_COMMAND,
) -> Gateway:
    """A validated gateway; remote ones need an absolute log path and a readable private key."""
    name = gateway_name(name)
    if not log.startswith("/"):
        raise GatewayError(f"--log {log!r}: give the absolute path of the Postfix log")
    if ssh is None:
        if key is not None:
            raise GatewayError("--key only makes sense with --ssh")
        return Gateway(name, log, ips=tuple(ips), queue_command=queue_command)
    user, host, port = parse_ssh_target(ssh)
    if key is None:
        raise GatewayError("--ssh needs --key PATH (a private key; password login is not supported)")
    key_path = Path(key).expanduser().absolute()
    if not key_path.is_file():
        raise GatewayError(f"--key {key}: no such file")
    return Gateway(name, log, user, host, port, str(key_path), tuple(ips), queue_command)


def gateway_name(name: object) -> str:
    """The stored form of a gateway name (lower case), the same at ingest, registration and grant time;
    refuses what could not be a name: empty, spaces, '/', '|', '..', more than 63 characters."""
    text = name if isinstance(name, str) else ""
    if not NAME_PATTERN.fullmatch(text):
        raise GatewayError(
            f"gateway name {name!r}: use letters, digits, '.', '_' or '-' (at most 63, no '..', no space or '/')"
        )
    return text.lower()


@contextmanager
def locked(home: Path, name: str) -> Iterator[None]:
    """Exclusive lock on DIR/.locks/NAME across processes, for read-modify-write of shared files."""
    with file_lock(locks_dir(home) / name):
        yield


def load_gateways(home: Path) -> dict[str, Gateway]:
    """Registered gateways by name (empty when none is registered yet)."""
    path = home / REGISTRY_NAME
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise GatewayError(f"{path}: invalid TOML: {exc}") from exc
    gateways = {}
    for written, entry in data.get("gateways", {}).items():
        name = gateway_name(written)
        values = dict(entry)
        values["ips"] = tuple(values.get("ips", ()))
        try:
            gateways[name] = Gateway(name=name, **values)
        except TypeError as exc:
            raise GatewayError(f"{path}: gateway {name}: {exc}") from exc
    return gateways


def render_registry(gateways: dict[str, Gateway]) -> str:
    """TOML text of the registry (JSON string escapes are valid TOML basic strings)."""
    parts = ["# relaywatch gateways: managed by `relaywatch gateway add/remove`.\n"]
    for name in sorted(gateways):
        parts.append(f"\n[gateways.{json.dumps(name)}]\n")
        for key, value in asdict(gateways[name]).items():
            if key == "name" or value is None:
                continue
            if isinstance(value, list | tuple):
                rendered = "[" + ", ".join(json.dumps(str(item)) for item in value) + "]"
            elif isinstance(value, int):
                rendered = str(value)
            else:
                rendered = json.dumps(value)
            parts.append(f"{key} = {rendered}\n")
    return "".join(parts)


def save_gateway(home: Path, gateway: Gateway, *, replace: bool = False) -> None:
    """Register a gateway (refusing to overwrite an existing name unless `replace`)."""
    with locked(home, "gateways"):
        gateways = load_gateways(home)
        if gateway.name in gateways and not replace:
            raise GatewayError(f"gateway {gateway.name} already exists (remove it first)")
        gateways[gateway.name] = gateway
        write_atomic(home / REGISTRY_NAME, render_registry(gateways))


def delete_gateway(home: Path, name: str) -> Gateway:
    """Unregister a gateway and forget its pinned host key; its collected data stays in the lake."""
    name = name.lower()
    with locked(home, "gateways"):
        gateways = load_gateways(home)
        if name not in gateways:
            raise GatewayError(f"no gateway named {name}")
        gateway = gateways.pop(name)
        write_atomic(home / REGISTRY_NAME, render_registry(gateways))
    if not gateway.local and not any(
        other.known_hosts_entry == gateway.known_hosts_entry for other in gateways.values() if not other.local
    ):
        forget_host_key(home, gateway.known_hosts_entry)
    return gateway


def get_gateway(home: Path, name: str) -> Gateway:
    """One registered gateway, with a clear error when the name is unknown."""
    gateways = load_gateways(home)
    name = name.lower()
    if name not in gateways:
        known = ", ".join(sorted(gateways)) or "none registered"
        raise GatewayError(f"no gateway named {name} ({known})")
    return gateways[name]


def known_hosts_path(home: Path) -> Path:
    return home / KNOWN_HOSTS_NAME


def read_known_hosts(home: Path) -> list[tuple[str, str, str]]:
    """Pinned keys as (host entry, key type, base64 key), in file order."""
    path = known_hosts_path(home)
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 3 and not line.lstrip().startswith("#"):
            entries.append((fields[0], fields[1], fields[2]))
    return entries


def pinned_keys(home: Path, host_entry: str) -> dict[str, str]:
    """Key type -> base64 key pinned for one host entry."""
    return {kind: key for host, kind, key in read_known_hosts(home) if host_entry in host.split(",")}


def pin_host_key(home: Path, host_entry: str, kind: str, key_base64: str) -> None:
    """Pin a host key (OpenSSH known_hosts format), replacing any key previously pinned for the host."""
    with locked(home, "known_hosts"):
        kept = [entry for entry in read_known_hosts(home) if host_entry not in entry[0].split(",")]
        kept.append((host_entry, kind, key_base64))
        write_atomic(known_hosts_path(home), "".join(f"{h} {k} {b}\n" for h, k, b in kept))


def forget_host_key(home: Path, host_entry: str) -> None:
    """Remove every key pinned for a host entry."""
    with locked(home, "known_hosts"):
        entries = read_known_hosts(home)
        kept = [entry for entry in entries if host_entry not in entry[0].split(",")]
        if len(kept) != len(entries):
            write_atomic(known_hosts_path(home), "".join(f"{h} {k} {b}\n" for h, k, b in kept))
