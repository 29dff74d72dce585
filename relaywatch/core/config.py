"""The one configuration model: DIR/relaywatch.toml, parsed and validated once, handed to whoever needs it.

Each `[section]` is a frozen dataclass; `load_config` refuses unknown sections and keys (naming them),
wrong types (naming the key, the expected and the given type) and out-of-range values, so a typo never
silently falls back to a default. Fields are plain values (str, int, float, bool, tuples of str) or
tuples of a nested section dataclass for arrays of tables (`[[section.item]]`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from relaywatch.core.errors import RelaywatchError

CONFIG_NAME = "relaywatch.toml"


class ConfigError(RelaywatchError):
    """relaywatch.toml is unreadable, or a section or key is unknown, mistyped or out of range."""


def _minimum(value: float) -> dict[str, float]:
    return {"minimum": value}


def time_zone(name: str, where: str) -> ZoneInfo:
    """The IANA time zone `name`, or ConfigError naming `where` it was configured."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{where} = {name!r}: not a known time zone (e.g. 'UTC', 'Europe/Paris')") from exc


@dataclass(frozen=True)
class ParseSection:
    """`[parse]`: how log lines are read."""

    timezone: str = "UTC"
    """Time zone of classic syslog timestamps (they carry no offset)."""

    def check(self) -> None:
        time_zone(self.timezone, "[parse] timezone")


@dataclass(frozen=True)
class CollectSection:
    """`[collect]`: intervals and sizes of the collectors and the processing job."""

    poll_seconds: float = field(default=10.0, metadata=_minimum(0))
    """Pause between two passes over an SSH gateway once it is caught up."""
    follow_seconds: float = field(default=1.0, metadata=_minimum(0))
    """Longest pause between two passes over a local gateway (file events wake it sooner)."""
    follow_min_seconds: float = field(default=0.5, metadata=_minimum(0))
    """Shortest pause between two passes over a local gateway: a busy log makes fewer, larger commits."""
    process_seconds: float = field(default=60.0, metadata=_minimum(0))
    """Processing runs after new commits, and at least this often."""
    process_delay: float = field(default=0.2, metadata=_minimum(0))
    """Wait after a commit before processing, so commits arriving together are processed together."""
    queue_seconds: float = field(default=300.0, metadata=_minimum(0))
    """Pause between two queue snapshots of a gateway (0 disables snapshots)."""
    backoff_seconds: float = field(default=1.0, metadata=_minimum(0))
    """First retry delay after a failure; it doubles up to backoff_max_seconds."""
    backoff_max_seconds: float = field(default=300.0, metadata=_minimum(0))
    timeout_seconds: float = field(default=15.0, metadata=_minimum(0))
    """SSH connect and request timeout."""
    attempts: int = field(default=3, metadata=_minimum(1))
    """Tries per gateway in `run --once` before giving up until the next run."""
    chunk_bytes: int = field(default=32 * 1024 * 1024, metadata=_minimum(4096))
    """Largest chunk read, parsed and committed at once (ingest and collectors alike)."""
    progress_bytes: int = field(default=64 * 1024 * 1024, metadata=_minimum(0))
    """A gateway with more than this to backfill gets a progress bar (on a terminal)."""


@dataclass(frozen=True)
class MailSection:
    """`[mail]`: the SMTP relay relaywatch sends its own mail through (codes, notifications, reports)."""

    host: str = ""
    """No host: nothing is mailed (sign-up and password reset are not offered)."""
    port: int = field(default=25, metadata=_minimum(1))
    sender: str = "relaywatch@localhost"
    starttls: bool = False
    username: str = ""
    """SMTP AUTH login (optional)."""
    password_env: str = ""
    """Name of the environment variable holding the SMTP AUTH password (never the password itself)."""

    @property
    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None

    def check(self) -> None:
        if self.port > 65535:
            raise ConfigError(f"[mail] port = {self.port}: out of range (1-65535)")


@dataclass(frozen=True)
class DashboardsSection:
    """`[dashboards]`: the web app."""

    signup_days: int = field(default=30, metadata=_minimum(1))
    """An address may sign up if it sent mail through a gateway in the last N days."""
    secure_cookie: bool = False
    """Mark the session cookie Secure even when the request arrives over plain HTTP (a TLS proxy in
    front); it is Secure anyway when the dashboards are reached over HTTPS."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses of reverse proxies in front of the dashboards: only a request from one of them has its
    X-Forwarded-For read (for per-source throttling); from anyone else the header is ignored."""
    stuck_hours: float = field(default=4.0, metadata=_minimum(0.1))
    """The Queue page warns about mail queued longer than this many hours (what counts as stuck depends
    on the customers: a newsletter relay lives with hours, a transactional one does not)."""

    def check(self) -> None:
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_address(proxy)
            except ValueError:
                raise ConfigError(f"[dashboards] trusted_proxies: {proxy!r} is not an IP address") from None


@dataclass(frozen=True)
class ReportsSection:
    """`[reports]`: the mailed reports (reports package)."""

    base_url: str = "http://127.0.0.1:8501"
    """Public address of the dashboards, for the links in a report (and its preferences link)."""
    check_seconds: float = field(default=60.0, metadata=_minimum(1))
    """How often `relaywatch run` looks for due reports."""
    backoff_seconds: float = field(default=60.0, metadata=_minimum(0))
    """Wait after a failed send before the next try; it doubles up to backoff_max_seconds."""
    backoff_max_seconds: float = field(default=3600.0, metadata=_minimum(0))
    attempts: int = field(default=8, metadata=_minimum(1))
    """Tries per user and period before giving up on that period (shown in `relaywatch status`)."""
    timeout_seconds: float = field(default=30.0, metadata=_minimum(1))
    """SMTP connection and command timeout."""

    def check(self) -> None:
        if not re.fullmatch(r"https?://[^\s\"'<>]+", self.base_url):
            raise ConfigError(f"[reports] base_url = {self.base_url!r}: expected an http:// or https:// address")


@dataclass(frozen=True)
class SqlSection:
    """`[sql]`: the bounds of SQL a person writes (`sql --as`, the HTTP API), output included."""

    seconds: float = field(default=60.0, metadata=_minimum(0.1))
    """Wall-clock time from the start of the query to the end of its output."""
    max_rows: int = field(default=1_000_000, metadata=_minimum(1))
    """Rows returned at most; the result is then cut short and says so."""
    max_bytes: int = field(default=256 * 1024 * 1024, metadata=_minimum(1024))
    """Bytes of result (Arrow) returned at most."""
    memory: str = "1GB"
    """DuckDB's memory limit in the query's process."""
    process_memory_bytes: int = field(default=2 * 1024**3, metadata=_minimum(64 * 1024**2))
    """Resident memory of the query's process beyond which it is stopped."""

    def check(self) -> None:
        if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)", self.memory.strip(), re.IGNORECASE):
            raise ConfigError(f"[sql] memory = {self.memory!r}: expected a size such as '1GB' or '512MiB'")


@dataclass(frozen=True)
class ApiSection:
    """`[api]`: the HTTP API beside the dashboards (token requests; user SQL keeps the `[sql]` bounds)."""

    concurrency: int = field(default=4, metadata=_minimum(1))
    """API queries running at once (each SQL query is a child process); others wait their turn."""
    queue_seconds: float = field(default=10.0, metadata=_minimum(0))
    """How long a request waits for its turn before a 503 with Retry-After."""
    requests_per_minute: int = field(default=600, metadata=_minimum(1))
    """Sustained requests per token and minute; beyond, 429 with Retry-After."""
    burst: int = field(default=60, metadata=_minimum(1))
    """Requests a token may make at once before the per-minute rate applies."""
    max_body_bytes: int = field(default=256 * 1024, metadata=_minimum(1024))
    """Largest request body (the SQL text); larger: 413."""


@dataclass(frozen=True)
class ClassifySection:
    """`[classify]`: local classification rules (`[[classify.rules]]`), checked by the classifier."""

    rules: tuple[dict[str, Any], ...] = ()


FBL_SECURITY = ("tls", "starttls", "none")
FBL_AFTER = ("flag", "move", "delete")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class FblMailbox:
    """`[[fbl.mailboxes]]`: one IMAP mailbox a feedback-loop programme delivers ARF reports to."""

    name: str
    host: str
    user: str
    password_env: str
    """Name of the environment variable holding the IMAP password (never the password itself)."""
    port: int = field(default=993, metadata=_minimum(1))
    security: str = "tls"
    """`tls` (implicit, port 993), `starttls` (port 143) or `none` (loopback only)."""
    ca_file: str = ""
    """PEM file of the CA to trust instead of the system's (a private IMAP server)."""
    folder: str = "INBOX"
    after: str = "flag"
    """What to do with a report once it is committed: `flag` (mark \\Seen), `move` (to move_to) or
    `delete`."""
    move_to: str = "relaywatch-done"

    @property
    def password(self) -> str | None:
        return os.environ.get(self.password_env)

    def check(self) -> None:
        where = f"[[fbl.mailboxes]] {self.name!r}"
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", self.name):
            raise ConfigError(f"{where}: name must be letters, digits, '.', '_' or '-'")
        if self.port > 65535:
            raise ConfigError(f"{where}: port = {self.port}: out of range (1-65535)")
        if self.security not in FBL_SECURITY:
            raise ConfigError(f"{where}: security = {self.security!r}: expected one of {', '.join(FBL_SECURITY)}")
        if self.security == "none" and self.host not in LOOPBACK:
            raise ConfigError(f"{where}: security = 'none' is only allowed to a loopback host, not {self.host}")
        if self.after not in FBL_AFTER:
            raise ConfigError(f"{where}: after = {self.after!r}: expected one of {', '.join(FBL_AFTER)}")


@dataclass(frozen=True)
class FblSection:
    """`[fbl]`: feedback-loop mailboxes (ARF complaints over IMAP), how often they are read, linking and
    notification."""

    mailboxes: tuple[FblMailbox, ...] = ()
    fetch_seconds: float = field(default=300.0, metadata=_minimum(0))
    """Pause between two fetches of every mailbox in `relaywatch run` (0 disables)."""
    batch: int = field(default=50, metadata=_minimum(1))
    """Reports per commit (the last UID of each batch is committed with it)."""
    batch_bytes: int = field(default=32 * 1024 * 1024, metadata=_minimum(1024))
    """A batch ends early once its mails reach this size."""
    timeout_seconds: float = field(default=30.0, metadata=_minimum(1))
    link_window_hours: float = field(default=72.0, metadata=_minimum(0))
    """How long before its arrival a delivery may be, to be linked by sender + recipient + time."""
    notify_seconds: float = field(default=3600.0, metadata=_minimum(0))
    """Complaint notifications are batched: one mail per person at most this often (0 disables)."""

    def check(self) -> None:
        names = [box.name for box in self.mailboxes]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"[fbl] mailbox names must be unique: {', '.join(duplicates)}")


@dataclass(frozen=True)
class PolicyGatewaySection:
    """`[[policy.gateways]]`: where one gateway keeps the maps relaywatch renders for it."""

    name: str
    directory: str = ""
    """Directory the relaywatch SSH user owns on the gateway (default: [policy] directory)."""
    config_directory: str = ""
    """Postfix instance (multi-instance hosts); default: what `postconf -h config_directory` says there."""
    smtp: str = ""
    """`[host]:port` where this gateway accepts mail relayed by the others (routing rules `--via-gateway`)."""


@dataclass(frozen=True)
class PolicySection:
    """`[policy]`: blacklists, automatic rules and the deployment of Postfix maps to the gateways."""

    directory: str = "relaywatch-policy"
    """Map directory on each gateway; relative to the SSH user's home, or absolute (local gateways:
    relative to the data home)."""
    reject_code: int = field(default=550, metadata=_minimum(500))
    reject_dsn: str = "5.7.1"
    reject_text: str = "blocked by relaywatch policy"
    """Reply text of a blacklisted recipient or sender; the entry id is appended (`bl-<id>`)."""
    scope_slots: int = field(default=16, metadata=_minimum(1))
    """Restriction classes declared by the main.cf snippet: sender domains with their own entries per gateway."""
    auto: bool = True
    """Run the automatic rules after each processing run of the scheduler."""
    auto_deploy: bool = False
    """Then deploy every gateway whose maps changed since its last deployment (new or expired entries)."""
    bounce_threshold: int = field(default=3, metadata=_minimum(1))
    """Suppressible hard bounces (user_unknown, domain_not_found, mailbox_disabled) before a recipient is blocked."""
    bounce_window_days: float = field(default=30.0, metadata=_minimum(0.01))
    block_days: float = field(default=30.0, metadata=_minimum(0.01))
    """How long an automatic entry lasts after the last bounce or complaint that triggered it."""
    gateways: tuple[PolicyGatewaySection, ...] = ()

    def check(self) -> None:
        if self.reject_code > 599:
            raise ConfigError(f"[policy] reject_code = {self.reject_code}: expected a 5xx code")
        if not re.fullmatch(r"5\.\d{1,3}\.\d{1,3}", self.reject_dsn):
            raise ConfigError(f"[policy] reject_dsn = {self.reject_dsn!r}: expected an enhanced code such as 5.7.1")
        if not self.reject_text.isprintable() or not self.reject_text.strip():
            raise ConfigError("[policy] reject_text: one line of printable text")
        names = [g.name for g in self.gateways]
        if len(set(names)) != len(names):
            raise ConfigError("[policy] gateways: a gateway is listed twice")

    def gateway(self, name: str) -> PolicyGatewaySection:
        """The settings of one gateway (defaults when it has no `[[policy.gateways]]` entry)."""
        return next((g for g in self.gateways if g.name == name), PolicyGatewaySection(name))


@dataclass(frozen=True)
class Config:
    """The whole relaywatch.toml."""

    parse: ParseSection = ParseSection()
    collect: CollectSection = CollectSection()
    mail: MailSection = MailSection()
    dashboards: DashboardsSection = DashboardsSection()
    classify: ClassifySection = ClassifySection()
    sql: SqlSection = SqlSection()
    reports: ReportsSection = ReportsSection()
    fbl: FblSection = FblSection()
    policy: PolicySection = PolicySection()
    api: ApiSection = ApiSection()


def load_config(home: Path) -> Config:
    """The home's validated configuration (defaults when the file has no such section)."""
    path = home / CONFIG_NAME
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no configuration file") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid configuration: {exc}") from exc
    try:
        return parse_config(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def parse_config(raw: dict[str, Any]) -> Config:
    """A Config from parsed TOML (a dict), with every key checked."""
    return _build(Config, raw, "")


def _build(cls: type, table: object, where: str) -> Any:
    """An instance of the dataclass `cls` from a TOML table, refusing what does not fit."""
    label = f"[{where}]" if where else "the top level"
    if not isinstance(table, dict):
        raise ConfigError(f"{label} must be a table, not {_kind(table)}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        what = "sections" if not where else "keys"
        raise ConfigError(f"{label}: unknown {what} {', '.join(unknown)} (known: {', '.join(known)})")
    values = {}
    for name, value in table.items():
        key = f"{where}.{name}" if where else name
        values[name] = _value(hints[name], value, key, known[name].metadata.get("minimum"))
    instance = cls(**values)
    missing = [
        f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING and f.name not in table
    ]
    if missing:
        raise ConfigError(f"{label}: missing {', '.join(missing)}")
    check = getattr(instance, "check", None)
    if check is not None:
        check()
    return instance


def _value(hint: Any, value: object, key: str, minimum: float | None) -> Any:
    """One value converted to its annotated type, or ConfigError naming the key."""
    if is_dataclass(hint):
        return _build(hint, value, key)
    origin = typing.get_origin(hint)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise ConfigError(f"{key} = {value!r}: expected a list, not {_kind(value)}")
        return tuple(_value(item, v, f"{key}[{i}]", minimum) for i, v in enumerate(value))
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, not {_kind(value)}")
        return value
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"config field {key}: unions are not supported")  # a programming error
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} = {value!r}: expected true or false, not {_kind(value)}")
        return value
    if hint in (int, float):
        ok = isinstance(value, int) if hint is int else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            expected = "an integer" if hint is int else "a number"
            raise ConfigError(f"{key} = {value!r}: expected {expected}, not {_kind(value)}")
        if minimum is not None and value < minimum:
            raise ConfigError(f"{key} = {value!r}: must be at least {minimum:g}")
        return hint(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} = {value!r}: expected a string, not {_kind(value)}")
        return value
    raise TypeError(f"config field {key}: unsupported type {hint!r}")


def _kind(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
