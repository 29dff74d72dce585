"""A real Dovecot IMAP server standing in for a feedback-loop mailbox (Debian's dovecot-imapd).

``dovecot -F -c <tmp>/dovecot.conf`` on 127.0.0.1:<free port> (implicit TLS) and a second free port (IMAP
with STARTTLS), with its own configuration, certificate, runtime and mail directories and a passwd-file
of test users, all in a temp directory; nothing in /etc/dovecot is read or written. Mail is put in with
IMAP APPEND, as a provider's MTA would deliver it. One server serves a whole test session: each test adds
its own user (Dovecot re-reads the passwd-file when it changes), so mailboxes never mix.
"""

import contextlib
import datetime
import imaplib
import ipaddress
import os
import pwd
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.servers import adopting_orphans, descendants, require_executable, require_root, terminate
from tests.servers.ports import free_port

DOVECOT = "/usr/sbin/dovecot"
MAIL_USER = "nobody"


def make_certificate(root: Path, names: list[str]) -> tuple[Path, Path]:
    """A self-signed certificate (its own CA) for `names` (DNS names or IP addresses): (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alt = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = root / "cert.pem", root / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    os.chmod(key_path, 0o600)
    return cert_path, key_path


class ImapServer:
    """One Dovecot in root: host, tls_port (implicit TLS), starttls_port, ca_file (its certificate)."""

    def __init__(self, root: Path, *, cert_names: tuple[str, ...] = ("127.0.0.1", "localhost")) -> None:
        self.root = root
        self.host = "127.0.0.1"
        self.tls_port = free_port()
        self.starttls_port = free_port()
        self.config_path = root / "dovecot.conf"
        self.passwd_path = root / "passwd"
        self.log_path = root / "dovecot.log"
        self.mail_root = root / "mail"
        self.ca_file, self.key_file = make_certificate(root, list(cert_names))
        self.users: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None
        for sub in ("run", "state", "mail"):
            (root / sub).mkdir(exist_ok=True)
        account = pwd.getpwnam(MAIL_USER)  # Dovecot refuses to run a mail session as root
        self.mail_uid, self.mail_gid = account.pw_uid, account.pw_gid
        os.chmod(root, 0o711)  # the mail user may traverse, not list; passwd and key stay 0600 root
        os.chown(self.mail_root, self.mail_uid, self.mail_gid)
        os.chmod(self.mail_root, 0o700)
        self.passwd_path.write_text("")
        os.chmod(self.passwd_path, 0o600)
        self._write_config()

    def _write_config(self) -> None:
        uid, gid = self.mail_uid, self.mail_gid
        self.config_path.write_text(
            f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = relaywatch-imap-{self.tls_port}
log_path = {self.log_path}
protocols = imap
listen = {self.host}
ssl = yes
ssl_cert = <{self.ca_file}
ssl_key = <{self.key_file}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{self.mail_root}/%u
mail_uid = {uid}
mail_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd_path}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.mail_root}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.tls_port}
    ssl = yes
  }}
}}
service auth {{
  user = root
}}
service auth-worker {{
  user = root
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0600
  }}
}}
"""
        )

    @property
    def pid(self) -> int | None:
        running = self._process is not None and self._process.poll() is None
        return self._process.pid if running else None

    def start(self, timeout: float = 10.0) -> "ImapServer":
        """Start Dovecot; returns once the TLS port answers."""
        if self.pid is not None:
            return self
        with self.log_path.open("ab") as log, adopting_orphans():
            self._process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.config_path)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        ready = self.ssl_context()
        ready.check_hostname = False  # a test may give it a certificate for another name on purpose
        while True:
            try:
                with imaplib.IMAP4_SSL(self.host, self.tls_port, ssl_context=ready, timeout=2):
                    return self
            except OSError as exc:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    log = self.log_path.read_text(errors="replace")
                    raise RuntimeError(f"dovecot did not start:\n{log}") from exc
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop Dovecot and every process it started."""
        if self._process is None:
            return
        with adopting_orphans():
            terminate(descendants(self._process.pid), timeout=5)
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                psutil.Process(self._process.pid).kill()
                self._process.wait(timeout=5)
        self._process = None

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context trusting this server's certificate."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def add_user(self, user: str, password: str) -> None:
        """A new mail user; returns once Dovecot accepts its login."""
        self.users[user] = password
        self.passwd_path.write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
        # Dovecot looks at the passwd-file at most once a second, and a failed login is penalised (anvil
        # delays the next ones from the address): wait for the next look rather than trying too early.
        time.sleep(1.1)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.connect(user).logout()
                return
            except imaplib.IMAP4.error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.25)

    def connect(self, user: str) -> imaplib.IMAP4_SSL:
        """A logged-in stdlib IMAP client (the test's side: putting mail in, checking flags)."""
        client = imaplib.IMAP4_SSL(self.host, self.tls_port, ssl_context=self.ssl_context(), timeout=10)
        client.login(user, self.users[user])
        return client

    def append(self, user: str, folder: str, *messages: bytes) -> None:
        """Deliver messages into a user's folder (created when missing), over one connection."""
        client = self.connect(user)
        try:
            if folder != "INBOX":
                client.create(folder)
            for message in messages:
                status, detail = client.append(folder, None, None, message)
                if status != "OK":
                    raise RuntimeError(f"APPEND to {folder} failed: {detail}")
        finally:
            client.logout()


@contextlib.contextmanager
def running_imap_server(**options: object) -> Iterator[ImapServer]:
    """A started ImapServer in its own short temp directory (Dovecot's unix sockets live below it, and
    its mail user must be able to traverse it), stopped and removed on exit; skip/fail when Dovecot
    cannot run here."""
    require_root("dovecot")
    require_executable(DOVECOT)
    root = Path(tempfile.mkdtemp(prefix="rw-imap-"))
    try:
        server = ImapServer(root, **options).start()  # type: ignore[arg-type]
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    """A started Dovecot on 127.0.0.1 with a certificate for 127.0.0.1 (add a user per test)."""
    with running_imap_server() as server:
        yield server
