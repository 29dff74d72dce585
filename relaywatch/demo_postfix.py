"""The demo's real Postfix gateway: a Postfix instance under DIR relaying to a scripted SMTP sink.

`postfix -c DIR/conf start` runs Debian's Postfix with its own config, queue, data directory and
maillog_file, listening on 127.0.0.1:<free port> only and relaying everything to an aiosmtpd sink that
stands in for the Internet: recipients whose local part starts with "soft" are greylisted (4xx for
GREYLIST_SECONDS, then accepted: the mail stays queued a while, deferred with that reason), "down" get a
4xx every time (stuck until Postfix gives up), "hard" a 5xx (bounced), anyone else 250. A feeder submits a message
every few seconds, so the gateway's log grows and `postqueue -c DIR/conf -j` shows a real queue.

Why it runs as it does (root only): the queue subdirectories get Postfix's owners and modes from
/etc/postfix/postfix-files so the slow integrity check of `postfix start` can be skipped (quick-start
flag); main.cf/master.cf are backdated because Postfix re-reads a file until it is a second old; every
service is unchrooted; maillog_file needs the postlog service and its directory in maillog_file_prefixes;
every directory above the instance must be traversable by the postfix user.
"""

from __future__ import annotations

import grp
import os
import pwd
import random
import smtplib
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"

MASTER_CF_SERVICES = """\
pickup     unix  n  -  n  60     1  pickup
cleanup    unix  n  -  n  -      0  cleanup
qmgr       unix  n  -  n  300    1  qmgr
rewrite    unix  -  -  n  -      -  trivial-rewrite
bounce     unix  -  -  n  -      0  bounce
defer      unix  -  -  n  -      0  bounce
trace      unix  -  -  n  -      0  bounce
verify     unix  -  -  n  -      1  verify
flush      unix  n  -  n  1000?  0  flush
proxymap   unix  -  -  n  -      -  proxymap
smtp       unix  -  -  n  -      -  smtp
relay      unix  -  -  n  -      -  smtp
showq      unix  n  -  n  -      -  showq
error      unix  -  -  n  -      -  error
retry      unix  -  -  n  -      -  error
discard    unix  -  -  n  -      -  discard
anvil      unix  -  -  n  -      1  anvil
scache     unix  -  -  n  -      1  scache
postlog    unix-dgram n  -  n  -  1  postlogd
"""
"""Services the gateway needs, chroot (5th column) off everywhere; the smtpd line is prepended."""

PRIVATE_QUEUES = ("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private")
QUEUE_SUBDIRS = {
    **dict.fromkeys((*PRIVATE_QUEUES, "saved", "trace"), (None, 0o700)),
    "maildrop": ("postdrop", 0o730),
    "public": ("postdrop", 0o710),
}
"""Queue layout from /etc/postfix/postfix-files: name -> (group, mode); the owner is postfix."""

ACCEPTED = (250, "2.1.5 OK")
REPLIES = {
    "soft": (451, "4.7.1 Greylisted, please try again later"),
    "down": (451, "4.3.0 Temporary failure, please try again later"),
    "hard": (550, "5.1.1 The email account that you tried to reach does not exist"),
}
"""The sink's reply by prefix of the recipient's local part; anyone else gets 250."""
GREYLIST_SECONDS = 600.0
"""How long a "soft" recipient is refused after its first attempt (keeps the demo's queue bounded)."""

DOMAINS = ("gmail.com", "outlook.com", "orange.fr", "free.fr", "laposte.net")
SENDERS = ("news@shop.example", "billing@shop.example", "alerts@saas.example")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unavailable_reason() -> str | None:
    """Why the real Postfix gateway cannot run here, or None when it can."""
    if not Path(POSTFIX).is_file():
        return f"{POSTFIX} is not installed"
    if os.geteuid() != 0:
        return "running Postfix from a private directory needs root"
    try:
        import aiosmtpd  # noqa: F401 - only checking it is installed
    except ImportError:
        return "aiosmtpd (the SMTP sink) is not installed"
    return None


class _SinkHandler:
    """aiosmtpd handler: scripted RCPT replies (greylisting remembered per recipient), messages discarded."""

    def __init__(self) -> None:
        self.first_seen: dict[str, float] = {}

    def reply(self, rcpt: str) -> tuple[int, str]:
        """The scripted reply to a RCPT TO, by the local part's prefix."""
        local = rcpt.rpartition("@")[0].lower()
        prefix = next((p for p in REPLIES if local.startswith(p)), None)
        if prefix is None:
            return ACCEPTED
        first = self.first_seen.setdefault(rcpt.lower(), time.monotonic())
        if prefix == "soft" and time.monotonic() - first >= GREYLIST_SECONDS:
            return ACCEPTED
        return REPLIES[prefix]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        code, text = self.reply(address)
        if code < 300:
            envelope.rcpt_tos.append(address)
        return f"{code} {text}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 2.0.0 OK queued"


class Sink:
    """The scripted SMTP sink on 127.0.0.1:port (stands in for the recipients' MXs)."""

    def __init__(self) -> None:
        self.port = free_port()
        self._controller: Any = None

    def start(self) -> Sink:
        from aiosmtpd.controller import Controller

        self._controller = Controller(_SinkHandler(), hostname="127.0.0.1", port=self.port, ready_timeout=10.0)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class PostfixInstance:
    """One Postfix instance under `root` (conf/, queue/, data/, mail.log) relaying to 127.0.0.1:relay_port."""

    def __init__(self, root: Path, relay_port: int, **main_cf: str) -> None:
        self.root = root
        self.relay_port = relay_port
        self.port = free_port()
        self.config_dir = root / "conf"
        self.queue_dir = root / "queue"
        self.data_dir = root / "data"
        self.log_path = root / "mail.log"
        self.main_cf = {**self.defaults(), **main_cf}

    def defaults(self) -> dict[str, str]:
        """main.cf: private directories, loopback only, everything relayed to the sink; deferred mail
        stays queued for days with retries every minute or so."""
        return {
            "compatibility_level": "3.6",
            "config_directory": str(self.config_dir),
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "maillog_file": str(self.log_path),
            "maillog_file_prefixes": str(self.root),
            "myhostname": "gw-postfix.example",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relayhost": f"[127.0.0.1]:{self.relay_port}",
            "alias_maps": "",
            "alias_database": "",
            "local_transport": "error:5.1.1 local delivery is disabled on this gateway",
            "smtp_tls_security_level": "none",
            "smtpd_tls_security_level": "none",
            "queue_run_delay": "60s",
            "minimal_backoff_time": "60s",
            "maximal_backoff_time": "300s",
            "maximal_queue_lifetime": "5d",
            "bounce_queue_lifetime": "5d",
            "smtp_connect_timeout": "5s",
            "biff": "no",
        }

    @property
    def queue_command(self) -> str:
        """The gateway's queue command for the collector."""
        return f"{POSTQUEUE} -c {self.config_dir} -j"

    def write_config(self) -> None:
        """main.cf and master.cf (smtpd on 127.0.0.1:port only), backdated so Postfix reads them at once."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in self.main_cf.items()))
        smtpd = f"127.0.0.1:{self.port} inet n - n - - smtpd\n"
        (self.config_dir / "master.cf").write_text(smtpd + MASTER_CF_SERVICES)
        cooled = time.time() - 10
        for name in ("main.cf", "master.cf"):
            os.utime(self.config_dir / name, (cooled, cooled))

    def make_directories(self) -> None:
        """queue_directory and data_directory with Postfix's owners and modes, plus the quick-start flag."""
        postfix = pwd.getpwnam("postfix")
        self.queue_dir.mkdir(mode=0o755, exist_ok=True)
        (self.queue_dir / "pid").mkdir(mode=0o755, exist_ok=True)
        for name, (group, mode) in QUEUE_SUBDIRS.items():
            path = self.queue_dir / name
            path.mkdir(exist_ok=True)
            os.chown(path, postfix.pw_uid, grp.getgrnam(group).gr_gid if group else 0)
            path.chmod(mode)
        self.data_dir.mkdir(exist_ok=True)
        os.chown(self.data_dir, postfix.pw_uid, postfix.pw_gid)
        self.data_dir.chmod(0o700)
        (self.queue_dir / "quick-start").touch()

    def start(self) -> PostfixInstance:
        """Write the config and `postfix -c conf start` (returns once smtpd listens)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711)
        self.write_config()
        self.make_directories()
        self.log_path.touch()
        self.postfix("start")
        return self

    def stop(self) -> None:
        """`postfix -c conf stop` (the master takes its daemons down)."""
        if (self.queue_dir / "pid" / "master.pid").exists():
            self.postfix("stop")

    def postfix(self, *args: str) -> None:
        """Run `postfix -c conf ARGS`, raising with its stderr on failure."""
        argv = [POSTFIX, "-c", str(self.config_dir), *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")

    def send(self, sender: str, recipients: list[str], subject: str = "relaywatch demo") -> None:
        """Submit one message over SMTP to this instance's smtpd."""
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, ", ".join(recipients), subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain="gw-postfix.example")
        msg.set_content("Hello from the relaywatch demo.\n")
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="app.relaywatch.demo", timeout=30) as smtp:
            smtp.send_message(msg, sender, recipients)


def demo_recipient(rng: random.Random) -> str:
    """A recipient for the feeder: mostly accepted; one in six greylisted, one in forty always deferred,
    one in twelve bounced."""
    draw = rng.random()
    prefix = "soft" if draw < 1 / 6 else "down" if draw < 1 / 6 + 1 / 40 else "hard" if draw < 1 / 4 else "user"
    return f"{prefix}{rng.randrange(1000)}@{rng.choice(DOMAINS)}"


def feed(gateway: PostfixInstance, stop: threading.Event, every: float = 4.0, report: Callable = print) -> None:
    """Submit a message of one to three recipients every `every` seconds until `stop` is set."""
    rng = random.Random()
    while not stop.wait(every):
        recipients = [demo_recipient(rng) for _ in range(rng.randint(1, 3))]
        try:
            gateway.send(rng.choice(SENDERS), recipients)
        except (OSError, smtplib.SMTPException) as exc:
            report(f"gw-postfix feeder: {exc}")


class DemoPostfix:
    """The sink, the Postfix instance under `root` and its feeder, started and stopped together."""

    def __init__(self, root: Path) -> None:
        self.sink = Sink()
        self.gateway = PostfixInstance(root, self.sink.port)
        self._stop = threading.Event()
        self._feeder = threading.Thread(target=feed, args=(self.gateway, self._stop), daemon=True)

    def start(self) -> DemoPostfix:
        self.sink.start()
        try:
            self.gateway.start()
        except Exception:
            self.sink.stop()
            raise
        self._feeder.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._feeder.is_alive():
            self._feeder.join(timeout=35)
        self.gateway.stop()
        self.sink.stop()
