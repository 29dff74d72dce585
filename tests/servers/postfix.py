"""A real Postfix gateway (Debian's /usr/sbin/postfix) run from a temp directory.

Each instance has its own config_directory, queue_directory, data_directory and maillog_file, listens
on 127.0.0.1:<free port> only, and relays everything to one next hop (normally the SMTP sink), so its
mail.log carries real status=sent/deferred/bounced/expired lines and real NDRs.

How it runs without touching /etc/postfix (which has no main.cf here at all):
- ``postfix -c DIR start`` exports MAIL_CONFIG=DIR; master and every daemon inherit it (it is in the
  default import_environment). As root, ``postfix -c``, ``postconf -c``, ``postqueue -c`` and
  ``postsuper -c`` accept any DIR: alternate_config_directories is only checked for non-root callers of
  the set-gid commands (postqueue/postdrop), so the default main.cf needs no change.
- The queue subdirectories and data_directory are created here with Postfix's owners and modes
  (from /etc/postfix/postfix-files: postfix 0700, maildrop/public group postdrop 0730/0710, data
  postfix 0700), and the quick-start flag skips the integrity check of ``postfix start`` (which would
  create them via post-install create-missing, but costs ~0.5 s).
- Postfix re-reads main.cf until its mtime is more than a second old, so main.cf/master.cf are
  backdated (saves ~2 s per start and reload): ``postfix start`` then takes 20-50 ms.
- The master opens $data_directory/master.lock after switching to the postfix uid, and daemons
  open absolute paths, so every directory ABOVE the instance must be traversable by the postfix user:
  pytest's tmp_path lives under /tmp/pytest-of-root (0700), hence the instance root is a separate
  mkdtemp made 0711. Its mail.log is copied to tmp_path at teardown for post-mortems.
- maillog_file needs the postlog unix-dgram service in master.cf and its path under
  maillog_file_prefixes (default /var, /dev/stdout), so the prefix is set to the instance root.
- chroot is off (n) for every service, so nothing needs copying into the queue directory.
"""

import json
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import psutil
import pytest

from relaywatch.demo_postfix import POSTFIX, POSTQUEUE, PostfixInstance
from tests.servers import adopting_orphans, alive, require_executable, require_root, terminate
from tests.servers.sink import SmtpSink

BUSY_QUEUES = {"maildrop", "incoming", "active"}
QUEUED_AS = re.compile(r"queued as ([0-9A-Za-z]+)")


@dataclass(frozen=True)
class Submitted:
    """A message the gateway accepted over SMTP."""

    queue_id: str
    message_id: str
    sender: str
    recipients: tuple[str, ...]


class PostfixGateway(PostfixInstance):
    """One running Postfix instance in its own temp directory, relaying to 127.0.0.1:relay_port.

    The config and directories are the demo gateway's (relaywatch.demo_postfix.PostfixInstance), with
    the tests' host name and short retry and lifetime timers; starting and stopping go by PID here.
    """

    def __init__(self, root: Path, relay_port: int, syslog_name: str = "postfix", **main_cf: str) -> None:
        self.syslog_name = syslog_name
        self.host = "127.0.0.1"
        super().__init__(root, relay_port, **main_cf)

    def defaults(self) -> dict[str, str]:
        return {
            **super().defaults(),
            "syslog_name": self.syslog_name,
            "myhostname": "gw-test.example",
            "queue_run_delay": "5s",
            "minimal_backoff_time": "5s",
            "maximal_backoff_time": "10s",
            "maximal_queue_lifetime": "30s",
            "bounce_queue_lifetime": "30s",
        }

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> "PostfixGateway":
        """Write the config and start the instance.

        ``postfix start`` runs ``master -w``, which returns only once the master daemon has opened its
        listeners, so smtpd accepts connections on return (no probe connection to pollute mail.log).
        """
        self.write_config()
        self.make_directories()
        self.log_path.touch()
        with adopting_orphans():  # the master double-forks: keep it as our child
            self._run(POSTFIX, "-c", str(self.config_dir), "start")
        return self

    def reload(self) -> None:
        """Rewrite main.cf/master.cf from main_cf and make the running master re-read them."""
        self.write_config()
        self._run(POSTFIX, "-c", str(self.config_dir), "reload")

    def postconf(self, **params: str) -> None:
        """Change main.cf parameters of the running instance (e.g. maximal_queue_lifetime="1s")."""
        self.main_cf.update(params)
        self.reload()

    def master_pid(self) -> int | None:
        """PID of the running master (from $queue_directory/pid/master.pid), None when not running."""
        try:
            pid = int((self.queue_dir / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if alive(pid) else None

    def processes(self) -> list[psutil.Process]:
        """Every live process of this instance (found by MAIL_CONFIG in its environment or its cwd).

        The daemons' command lines do not name the config directory, so pgrep cannot find them.
        """
        mine = []
        queue = str(self.queue_dir)
        for proc in psutil.process_iter():
            try:
                if proc.environ().get("MAIL_CONFIG") == str(self.config_dir) or proc.cwd() == queue:
                    mine.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return mine

    def stop(self) -> None:
        """Stop the master by PID (it takes its children down), then kill and reap any straggler."""
        with adopting_orphans():  # daemons that outlive the master become ours, to be reaped
            procs = self.processes()
            pid = self.master_pid()
            if pid is not None:
                terminate([psutil.Process(pid)], timeout=10)
            terminate(procs + self.processes(), timeout=5)

    # -- mail ----------------------------------------------------------------------------------------

    def send(
        self,
        sender: str,
        recipients: Sequence[str],
        subject: str = "relaywatch test",
        body: str = "Hello from the relaywatch tests.\n",
        headers: dict[str, str] | None = None,
    ) -> Submitted:
        """Submit one message over SMTP to this gateway's smtpd; return its queue id and Message-ID."""
        msg = EmailMessage()
        msg["From"] = sender or "MAILER-DAEMON@gw-test.example"
        msg["To"] = ", ".join(recipients)
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain="relaywatch.test")
        for name, value in (headers or {}).items():
            msg[name] = value
        msg.set_content(body)
        with smtplib.SMTP(self.host, self.port, local_hostname="client.relaywatch.test", timeout=30) as smtp:
            smtp.ehlo()
            code, text = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, text, sender)
            for rcpt in recipients:
                code, text = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({rcpt: (code, text)})
            code, text = smtp.data(msg.as_bytes())
        found = QUEUED_AS.search(text.decode())
        if code != 250 or not found:
            raise smtplib.SMTPDataError(code, text)
        return Submitted(found.group(1), msg["Message-ID"], sender, tuple(recipients))

    def queue_json(self) -> list[dict]:
        """The queue as ``postqueue -j`` reports it: one dict per message (queue_name, recipients...)."""
        out = self._run(POSTQUEUE, "-c", str(self.config_dir), "-j").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def flush(self) -> None:
        """``postqueue -f``: retry every deferred message now."""
        self._run(POSTQUEUE, "-c", str(self.config_dir), "-f")

    def wait_idle(self, timeout: float = 20.0) -> list[dict]:
        """Wait until nothing is in maildrop/incoming/active (twice in a row); return what is left
        (deferred or held messages)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while True:
            queue = self.queue_json()
            quiet = quiet + 1 if not any(m["queue_name"] in BUSY_QUEUES for m in queue) else 0
            if quiet >= 2:
                return queue
            if time.monotonic() > deadline:
                raise TimeoutError(f"postfix queue still busy after {timeout}s: {queue}")
            time.sleep(0.2)

    # -- log -----------------------------------------------------------------------------------------

    def log_text(self) -> str:
        """The instance's mail.log so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, pattern: str | Callable[[str], bool], count: int = 1, timeout: float = 20.0) -> list[str]:
        """Wait until at least count mail.log lines match pattern (a regex or a predicate); return them.

        postlogd writes asynchronously, so a line may appear shortly after the queue went idle.
        """
        test = pattern if callable(pattern) else re.compile(pattern).search
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in self.log_text().splitlines() if test(line)]
            if len(lines) >= count:
                return lines
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count} line(s) matching {pattern!r} not in mail.log:\n{self.log_text()}")
            time.sleep(0.1)

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr}\n{self.log_text()}")
        return done


def make_root() -> Path:
    """A fresh instance root the postfix user can traverse (0711), outside pytest's 0700 tmp tree."""
    root = Path(tempfile.mkdtemp(prefix="relaywatch-postfix-"))
    root.chmod(0o711)
    return root


@pytest.fixture
def make_postfix_gateway(tmp_path: Path) -> Iterator[Callable[..., PostfixGateway]]:
    """Factory: make_postfix_gateway(relay_port, syslog_name="postfix", **main_cf) -> started gateway.

    Every gateway made is stopped (and checked to leave no process behind) at teardown; its mail.log
    is kept as tmp_path/gateway<N>.mail.log.
    """
    require_root("Postfix")
    require_executable(POSTFIX)
    made: list[PostfixGateway] = []

    def make(relay_port: int, syslog_name: str = "postfix", **main_cf: str) -> PostfixGateway:
        gateway = PostfixGateway(make_root(), relay_port, syslog_name, **main_cf)
        made.append(gateway)
        return gateway.start()

    try:
        yield make
    finally:
        leftovers = []
        for number, gateway in enumerate(made):
            gateway.stop()
            leftovers += [p.pid for p in gateway.processes()]
            if gateway.log_path.exists():
                shutil.copy(gateway.log_path, tmp_path / f"gateway{number}.mail.log")
            shutil.rmtree(gateway.root, ignore_errors=True)
        assert not leftovers, f"postfix processes left running: {leftovers}"


@pytest.fixture
def postfix_gateway(make_postfix_gateway: Callable[..., PostfixGateway], smtp_sink: SmtpSink) -> PostfixGateway:
    """A started Postfix gateway relaying everything to the smtp_sink fixture."""
    return make_postfix_gateway(smtp_sink.port)
