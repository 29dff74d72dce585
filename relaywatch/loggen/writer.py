"""Writing: time buckets sorted and formatted in the chosen timestamp style, and the exact count of every line."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from relaywatch.loggen.common import K_MESSAGE, KIND_FIELDS, MONTHS, NK, US

if TYPE_CHECKING:
    from relaywatch.loggen.simulation import Generator


@dataclass
class GenerateStats:
    """What was written: exact counts of lines by kind, overall and per gateway."""

    lines: int = 0
    messages: int = 0  # messages entering the queue (first "(queue active)" line), notifications included
    received: int = 0  # smtpd "client=" and pickup lines (pflogsumm's "received")
    sent: int = 0  # delivery lines with status=sent
    deferred: int = 0
    bounced: int = 0
    expired: int = 0  # qmgr "status=expired, returned to sender"
    ndrs: int = 0  # bounce "sender non-delivery notification"
    delay_notifications: int = 0  # bounce "sender delay notification"
    rejects: int = 0  # smtpd "NOQUEUE: reject:" and "QID: reject:"
    removed: int = 0
    sasl_failures: int = 0
    other: int = 0
    recycled_queue_ids: int = 0  # messages whose queue id an earlier message in the file already used
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    seconds: float = 0.0
    per_gateway: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def deliveries(self) -> dict[str, int]:
        """Delivery attempts by status."""
        return {"sent": self.sent, "deferred": self.deferred, "bounced": self.bounced}

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly view (timestamps as ISO strings)."""
        out: dict[str, object] = {k: getattr(self, k) for k in ("lines", *KIND_FIELDS, "recycled_queue_ids", "seconds")}
        out["deliveries"] = self.deliveries
        out["first_ts"] = self.first_ts.isoformat() if self.first_ts else None
        out["last_ts"] = self.last_ts.isoformat() if self.last_ts else None
        out["per_gateway"] = self.per_gateway
        return out


class Writer:
    """Sorts finished time buckets, formats timestamps, writes big blocks and counts what it writes."""

    def __init__(self, gen: Generator, outs: list[TextIO], per_gw: list[TextIO] | None) -> None:
        self.gen = gen
        self.outs = outs
        self.per_gw = per_gw
        self.hosts = [f" {h} " for h in gen.gws]
        self.counts = [0] * (gen.ng * NK)
        self.seen: list[set[str]] = [set() for _ in range(gen.ng)]
        self.recycled = 0
        self.written = 0
        self.first = None
        self.last = 0
        self.limit = gen.target
        self.buf: list[str] = []
        self.gbuf: list[list[str]] = [[] for _ in range(gen.ng)]
        self.last_sec = -1
        self.sec_str = ""
        self.zone = ""
        self.tz = gen.tz

    def flush_before(self, key: int | None, stop: int | None = None) -> bool:
        """Write every bucket before `key` (all when None); True once the line limit is reached."""
        gen = self.gen
        keys = gen.bkeys
        buckets = gen.buckets
        while keys and (key is None or keys[0] < key):
            k = heapq.heappop(keys)
            entries = buckets.pop(k)
            entries.sort()
            if self.write(entries, stop):
                return True
        return False

    def _prefix(self, sec: int) -> str:
        """The timestamp text of second `sec` (sets the zone suffix of the ISO formats)."""
        dt = datetime.fromtimestamp(sec, self.tz)
        fmt = self.gen.fmt
        if fmt == "syslog":
            return f"{MONTHS[dt.month - 1]} {dt.day:2d} {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
        z = dt.strftime("%z")
        self.zone = f"{z[:3]}:{z[3:]}" if fmt == "rfc3339" else z
        return dt.strftime("%Y-%m-%dT%H:%M:%S")

    def write(self, entries: list[tuple[int, int, int, str]], stop: int | None) -> bool:
        """Format and buffer sorted entries (none at or after `stop`); True once the line limit is reached."""
        limit = self.limit
        counts = self.counts
        hosts = self.hosts
        buf = self.buf
        gbuf = self.gbuf if self.per_gw is not None else None
        syslog = self.gen.fmt == "syslog"
        last_sec = self.last_sec
        pre = self.sec_str
        done = False
        n = self.written
        for ts, gi, kind, text in entries:
            if stop is not None and ts >= stop:
                continue
            sec = ts // US
            if sec != last_sec:
                last_sec = sec
                pre = self._prefix(sec)
            line = f"{pre}{hosts[gi]}{text}\n" if syslog else f"{pre}.{ts % US:06d}{self.zone}{hosts[gi]}{text}\n"
            buf.append(line)
            if gbuf is not None:
                gbuf[gi].append(line)
            counts[gi * NK + kind] += 1
            if kind == K_MESSAGE:
                i = text.index("]: ") + 3
                qid = text[i : text.index(":", i)]
                seen = self.seen[gi]
                if qid in seen:
                    self.recycled += 1
                else:
                    seen.add(qid)
            if self.first is None:
                self.first = ts
            self.last = ts
            n += 1
            if limit is not None and n >= limit:
                done = True
                break
        self.written = n
        self.last_sec = last_sec
        self.sec_str = pre
        if len(buf) > 50_000 or done:
            self.drain()
        return done

    def drain(self) -> None:
        """Write the buffered lines out, in big blocks."""
        if self.buf:
            block = "".join(self.buf)
            for o in self.outs:
                o.write(block)
            self.buf.clear()
        if self.per_gw is not None:
            for gi, b in enumerate(self.gbuf):
                if b:
                    self.per_gw[gi].write("".join(b))
                    b.clear()

    def close(self) -> None:
        """Write what is left."""
        self.drain()

    def stats(self) -> GenerateStats:
        """The exact counts of what was written."""
        gen = self.gen
        s = GenerateStats(lines=self.written, recycled_queue_ids=self.recycled)
        for gi, gw in enumerate(gen.gws):
            row = {f: self.counts[gi * NK + k] for k, f in enumerate(KIND_FIELDS)}
            row["lines"] = sum(row.values())
            s.per_gateway[gw] = row
            for f in KIND_FIELDS:
                setattr(s, f, getattr(s, f) + row[f])
        if self.first is not None:
            s.first_ts = datetime.fromtimestamp(self.first / US, gen.tz)
            s.last_ts = datetime.fromtimestamp(self.last / US, gen.tz)
        return s
