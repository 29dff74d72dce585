"""ingest: getting bytes in. Log files by identity and offset (exactly once, across rotations), over SSH/SFTP
or on this machine, queue snapshots, feedback-loop reports over IMAP (ARF), the gateway registry and the
collectors' status.

Imports only relaywatch.core. What other packages may use is named here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relaywatch.core import lazy_exports

if TYPE_CHECKING:
    from ingest.arf import FEEDBACK_TYPES, ArfError, Report, parse_report
    from ingest.backoff import Backoff
    from ingest.chunks import (
        CHUNK_BYTES,
        Chunk,
        ChunkSink,
        LogFileError,
        file_chunks,
        identify,
        open_log,
        read_chunks,
    )
    from ingest.collect import (
        CollectError,
        Collector,
        CollectResult,
        FileReplaced,
        LogFiles,
        PermanentError,
        collect_log,
        plan,
        read_planned,
        rotation_set,
    )
    from ingest.collectors import open_collector, probe
    from ingest.fbl import ComplaintSink, FblError, FetchedMail, FetchResult, fetch_mailbox, read_mail
    from ingest.fbl import connect as connect_mailbox
    from ingest.follow import LocalCollector, LocalFiles
    from ingest.gateways import (
        NO_QUEUE,
        Gateway,
        GatewayError,
        delete_gateway,
        gateway_name,
        get_gateway,
        known_hosts_path,
        load_gateways,
        make_gateway,
        pin_host_key,
        read_known_hosts,
        save_gateway,
    )
    from ingest.queue import QUEUE_SCHEMA, local_runner, parse_postqueue, snapshot_queue
    from ingest.ssh import HostKeyChanged, HostKeyUnknown, SSHCollector, SSHSession, connect
    from ingest.status import (
        forget_status,
        lag_seconds,
        read_status,
        record_failure,
        record_success,
        update_status,
    )

_PUBLIC = {
    "Backoff": "ingest.backoff",
    "ArfError": "ingest.arf",
    "FEEDBACK_TYPES": "ingest.arf",
    "Report": "ingest.arf",
    "parse_report": "ingest.arf",
    "CHUNK_BYTES": "ingest.chunks",
    "Chunk": "ingest.chunks",
    "ChunkSink": "ingest.chunks",
    "LogFileError": "ingest.chunks",
    "file_chunks": "ingest.chunks",
    "identify": "ingest.chunks",
    "open_log": "ingest.chunks",
    "read_chunks": "ingest.chunks",
    "CollectError": "ingest.collect",
    "CollectResult": "ingest.collect",
    "Collector": "ingest.collect",
    "FileReplaced": "ingest.collect",
    "LogFiles": "ingest.collect",
    "PermanentError": "ingest.collect",
    "collect_log": "ingest.collect",
    "plan": "ingest.collect",
    "read_planned": "ingest.collect",
    "rotation_set": "ingest.collect",
    "open_collector": "ingest.collectors",
    "probe": "ingest.collectors",
    "ComplaintSink": "ingest.fbl",
    "FblError": "ingest.fbl",
    "FetchResult": "ingest.fbl",
    "FetchedMail": "ingest.fbl",
    "connect_mailbox": "ingest.fbl:connect",
    "fetch_mailbox": "ingest.fbl",
    "read_mail": "ingest.fbl",
    "LocalCollector": "ingest.follow",
    "LocalFiles": "ingest.follow",
    "Gateway": "ingest.gateways",
    "NO_QUEUE": "ingest.gateways",
    "GatewayError": "ingest.gateways",
    "delete_gateway": "ingest.gateways",
    "gateway_name": "ingest.gateways",
    "get_gateway": "ingest.gateways",
    "known_hosts_path": "ingest.gateways",
    "load_gateways": "ingest.gateways",
    "make_gateway": "ingest.gateways",
    "pin_host_key": "ingest.gateways",
    "read_known_hosts": "ingest.gateways",
    "save_gateway": "ingest.gateways",
    "QUEUE_SCHEMA": "ingest.queue",
    "local_runner": "ingest.queue",
    "parse_postqueue": "ingest.queue",
    "snapshot_queue": "ingest.queue",
    "HostKeyChanged": "ingest.ssh",
    "HostKeyUnknown": "ingest.ssh",
    "SSHCollector": "ingest.ssh",
    "SSHSession": "ingest.ssh",
    "connect": "ingest.ssh",
    "forget_status": "ingest.status",
    "lag_seconds": "ingest.status",
    "read_status": "ingest.status",
    "record_failure": "ingest.status",
    "record_success": "ingest.status",
    "update_status": "ingest.status",
}
"""Public name -> the module defining it; imported on first use, so that a command which needs no SSH
does not load paramiko or watchdog."""
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_exports(__name__, _PUBLIC)
