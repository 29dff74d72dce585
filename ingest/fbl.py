"""Fetching feedback-loop mailboxes over IMAP (imapclient), exactly once.

Where a mailbox stands is kept by the sink in the same commit as the reports: (mailbox, UIDVALIDITY) ->
last UID committed. A fetch reads the UIDs above it in batches; each batch is parsed (ingest.arf) and
committed with its last UID, and only then flagged, moved or deleted on the server. A crash anywhere
leaves either the batch committed (its UIDs are skipped next time, and the pending flag/move/delete is
done first) or not (it is read again): never lost, never twice. A new UIDVALIDITY (the folder was
recreated) starts over from UID 1, skipping mails whose content the sink holds under an earlier one.
Mails that are not feedback reports are handed to the sink raw, with the reason, never dropped.
"""

from __future__ import annotations

import hashlib
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from ingest.arf import ArfError, Report, parse_report
from relaywatch.core import FblMailbox, RelaywatchError

SEEN = b"\\Seen"


class FblError(RelaywatchError):
    """A mailbox could not be read: unreachable, login refused, certificate refused, folder missing."""


@dataclass(frozen=True)
class FetchedMail:
    """One mail of a feedback mailbox: where it was, its bytes, and its report (or why it has none)."""

    mailbox: str
    uidvalidity: int
    uid: int
    raw: bytes
    received_at: datetime | None
    report: Report | None
    error: str | None

    @property
    def report_id(self) -> str:
        """Identity of the mail's content (the same mail in a recreated folder is recognised)."""
        return hashlib.sha256(self.raw).hexdigest()[:32]


class ComplaintSink(Protocol):
    """Where reports go (warehouse's complaint store): it keeps the position in the same commit."""

    def fbl_committed(self, mailbox: str, uidvalidity: int) -> int:
        """Last UID committed for this mailbox and UIDVALIDITY (0 when none)."""
        ...

    def fbl_report_ids(self, mailbox: str, *, other_than: int) -> set[str]:
        """Report ids stored for a mailbox under another UIDVALIDITY (the same mails in a recreated folder)."""
        ...

    def commit_reports(self, mailbox: str, uidvalidity: int, last_uid: int, mails: list[FetchedMail]) -> int:
        """Commit the mails and the new last UID atomically; the new version."""
        ...


@dataclass
class FetchResult:
    """What one fetch of one mailbox brought in."""

    mailbox: str
    uidvalidity: int = 0
    last_uid: int = 0
    reports: int = 0
    unparsed: int = 0
    skipped: int = 0
    commits: int = 0


def read_mail(mailbox: str, uidvalidity: int, uid: int, raw: bytes, received_at: datetime | None) -> FetchedMail:
    """Parse one fetched mail; a mail that is no report keeps its raw bytes and the reason."""
    try:
        report, error = parse_report(raw), None
    except ArfError as exc:
        report, error = None, str(exc)
    return FetchedMail(mailbox, uidvalidity, uid, raw, received_at, report, error)


def _context(box: FblMailbox) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=box.ca_file or None)


@contextmanager
def connect(box: FblMailbox, *, timeout: float = 30.0) -> Iterator[IMAPClient]:
    """A logged-in IMAP connection to a mailbox, with failures as FblError saying what to fix."""
    password = box.password
    where = f"mailbox {box.name} ({box.user}@{box.host}:{box.port})"
    if password is None:
        raise FblError(f"{where}: environment variable {box.password_env} (password_env) is not set")
    try:
        client = IMAPClient(
            box.host, port=box.port, ssl=box.security == "tls", ssl_context=_context(box), timeout=timeout
        )
        if box.security == "starttls":
            client.starttls(_context(box))
    except ssl.SSLCertVerificationError as exc:
        raise FblError(
            f"{where}: certificate refused ({exc.verify_message}); set ca_file for a private CA or fix the host name"
        ) from exc
    except ssl.SSLError as exc:
        raise FblError(f"{where}: TLS failed: {exc}") from exc
    except TimeoutError as exc:
        raise FblError(f"{where}: unreachable (timed out after {timeout:g} s)") from exc
    except OSError as exc:
        raise FblError(f"{where}: unreachable: {exc.strerror or exc}") from exc
    except IMAPClientError as exc:
        raise FblError(f"{where}: {exc}") from exc
    try:
        try:
            client.login(box.user, password)
        except LoginError as exc:
            raise FblError(f"{where}: login refused (wrong user or password?): {_text(exc)}") from exc
        yield client
    finally:
        try:
            client.logout()
        except (IMAPClientError, OSError):
            client.shutdown()


def _text(exc: Exception) -> str:
    """The server's words in an imapclient error (which may be the repr of bytes)."""
    value = exc.args[0] if exc.args else exc
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return re.sub(r"^b(['\"])(.*)\1$", r"\2", text)


def select(client: IMAPClient, box: FblMailbox) -> int:
    """Open the mailbox's folder read-write; its UIDVALIDITY."""
    try:
        info = client.select_folder(box.folder)
    except IMAPClientError as exc:
        raise FblError(
            f"mailbox {box.name} ({box.user}@{box.host}:{box.port}): folder {box.folder!r} cannot be opened "
            f"(does it exist?): {_text(exc)}"
        ) from exc
    return int(info[b"UIDVALIDITY"])


def settle(client: IMAPClient, box: FblMailbox, uids: list[int]) -> None:
    """Flag, move or delete mails already committed (idempotent: a crash may have left some undone)."""
    if not uids:
        return
    if box.after == "flag":
        client.add_flags(uids, [SEEN], silent=True)
    elif box.after == "move":
        if not client.folder_exists(box.move_to):
            client.create_folder(box.move_to)
        if client.has_capability("MOVE"):
            client.move(uids, box.move_to)
        else:
            client.copy(uids, box.move_to)
            _expunge(client, uids)
    else:
        _expunge(client, uids)


def _expunge(client: IMAPClient, uids: list[int]) -> None:
    client.delete_messages(uids, silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()


def unsettled(client: IMAPClient, box: FblMailbox, last_uid: int) -> list[int]:
    """Committed mails still waiting for their flag, move or delete."""
    if last_uid <= 0:
        return []
    criteria: list[str] = ["UID", f"1:{last_uid}"]
    if box.after == "flag":
        criteria.append("UNSEEN")
    return [uid for uid in client.search(criteria) if uid <= last_uid]


def batches(sizes: dict[int, int], *, count: int, size: int) -> Iterator[list[int]]:
    """UIDs in ascending order, grouped by at most `count` mails and about `size` bytes."""
    batch: list[int] = []
    total = 0
    for uid in sorted(sizes):
        if batch and (len(batch) >= count or total + sizes[uid] > size):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += sizes[uid]
    if batch:
        yield batch


def fetch_mailbox(
    box: FblMailbox,
    sink: ComplaintSink,
    *,
    batch: int = 50,
    batch_bytes: int = 32 * 1024 * 1024,
    timeout: float = 30.0,
    on_commit: Callable[[FetchResult], None] | None = None,
    stop: threading.Event | None = None,
) -> FetchResult:
    """One pass over a mailbox: every mail above the committed UID, committed once, then settled."""
    result = FetchResult(box.name)
    with connect(box, timeout=timeout) as client:
        uidvalidity = select(client, box)
        last = sink.fbl_committed(box.name, uidvalidity)
        result.uidvalidity, result.last_uid = uidvalidity, last
        settle(client, box, unsettled(client, box, last))
        new = [uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last]
        known = sink.fbl_report_ids(box.name, other_than=uidvalidity) if new else set()
        sizes = {uid: int(data[b"RFC822.SIZE"]) for uid, data in client.fetch(new, ["RFC822.SIZE"]).items()}
        for uids in batches(sizes, count=batch, size=batch_bytes):
            fetched = client.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"])
            mails = []
            for uid in uids:
                data = fetched.get(uid)
                if data is None:  # expunged by someone else meanwhile
                    continue
                stamp = data.get(b"INTERNALDATE")
                when = stamp.astimezone(UTC) if isinstance(stamp, datetime) and stamp.tzinfo else None
                mail = read_mail(box.name, uidvalidity, uid, bytes(data[b"BODY[]"]), when)
                if mail.report_id in known:
                    result.skipped += 1
                    continue
                mails.append(mail)
            sink.commit_reports(box.name, uidvalidity, uids[-1], mails)
            result.last_uid = uids[-1]
            result.commits += 1
            result.reports += sum(m.report is not None for m in mails)
            result.unparsed += sum(m.report is None for m in mails)
            settle(client, box, uids)
            if on_commit is not None:
                on_commit(result)
            if stop is not None and stop.is_set():
                break
    return result
