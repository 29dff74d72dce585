"""The simulation clock and the public `generate`: arrivals, scheduled events, time buckets of lines, writing."""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from random import Random
from typing import TextIO

from relaywatch.loggen.attempt import Attempts
from relaywatch.loggen.background import Background
from relaywatch.loggen.common import BUCKET_SHIFT, FORMATS, HOURLY, US, WEEKEND, Format
from relaywatch.loggen.gateways import Gateways
from relaywatch.loggen.lifecycle import Delivery
from relaywatch.loggen.sessions import Sessions
from relaywatch.loggen.texts import Texts
from relaywatch.loggen.world import World
from relaywatch.loggen.writer import GenerateStats, Writer


class Generator:
    """The simulation. Lines go into time buckets; buckets older than the clock are sorted and written."""

    def __init__(
        self,
        *,
        lines: int | None,
        days: float,
        gateways: list[str],
        seed: int,
        start: datetime,
        fmt: str,
        messages_per_day: float,
        syslog_name: str,
    ) -> None:
        if not gateways:
            raise ValueError("at least one gateway is needed")
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}, expected one of {FORMATS}")
        if days <= 0:
            raise ValueError("days must be positive")
        self.rng = Random(seed)
        rnd = self.rng.random

        def ri(a: int, b: int) -> int:
            return a + int(rnd() * (b - a))

        self.ri = ri
        self.target = lines
        self.days = days
        self.gws = list(gateways)
        self.ng = len(self.gws)
        self.fmt = fmt
        self.sn = syslog_name
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self.tz: tzinfo = start.tzinfo  # type: ignore[assignment]
        self.t0 = int(start.timestamp() * US)
        self.end = self.t0 + int(days * 86400 * US)
        off = start.utcoffset() or timedelta(0)
        self.tz_off_s = int(off.total_seconds())
        week = [HOURLY[h] * (WEEKEND if d >= 5 else 1.0) for d in range(7) for h in range(24)]
        self.week = [w * len(week) / sum(week) for w in week]
        if lines:  # the shape must average 1 over the span itself, or the lines run out early or late
            hours = max(1, int(days * 24))
            span = [self.week[self._week_hour(self.t0 + h * 3600 * US)] for h in range(hours)]
            mean = sum(span) / hours
            self.week = [w / mean for w in self.week]
        est_msgs = (lines / 9.0) if lines else messages_per_day * days * self.ng
        self.est_msgs = est_msgs
        self.base_rate = messages_per_day * self.ng / 86400.0 / 1.25  # sessions per second
        self.buckets: dict[int, list[tuple[int, int, int, str]]] = {}
        self.bkeys: list[int] = []
        self.generated = 0
        self.n_sessions = 0
        self.events: list[tuple[int, int, str, int, object]] = []
        self.event_seq = 0
        self.now = self.t0
        self.noise = 0  # lines of time-driven activity (not caused by mail sessions)
        # the parts, in this order: the gateways and then the world draw from the random generator
        self.texts = Texts(self.rng, ri, self.tz)
        self.gateways = Gateways(self.rng, ri, self.gws, self.t0, self.end, days)
        self.world = World(self.rng, ri, self.ng, est_msgs)
        self.attempts = Attempts(self)
        self.delivery = Delivery(self)
        self.sessions = Sessions(self)
        self.background = Background(self)
        bg = self.background
        self.handlers: dict[str, Callable[[int, int, object], None]] = {
            "campaign": self.sessions.campaign,
            "anvil": bg.anvil,
            "scache": bg.scache,
            "cron": bg.cron,
            "reload": bg.reload,
            "scanner": bg.scanner,
            "bruteforce": bg.bruteforce,
            "rootmail": bg.rootmail,
        }

    def add(self, ts: int, gi: int, kind: int, text: str) -> None:
        """Queue one log line for writing (ts in microseconds since the epoch)."""
        k = ts >> BUCKET_SHIFT
        b = self.buckets.get(k)
        if b is None:
            b = self.buckets[k] = []
            heapq.heappush(self.bkeys, k)
        b.append((ts, gi, kind, text))
        self.generated += 1

    def schedule(self, t: int, kind: str, gi: int, data: object = None) -> None:
        """Run ev_<kind>(t, gi, data) when the clock reaches t."""
        self.event_seq += 1
        heapq.heappush(self.events, (t, self.event_seq, kind, gi, data))

    def _week_hour(self, t: int) -> int:
        """Hour of the local week, Monday 00h = 0."""
        local_h = (t // US + self.tz_off_s) // 3600
        return (((local_h // 24) + 3) % 7) * 24 + local_h % 24  # 1970-01-01 was a Thursday

    def rate(self, t: int) -> float:
        """Sessions per second at time t (diurnal and weekly shape)."""
        w = self.week[self._week_hour(t)]
        if self.target is None:
            return self.base_rate * w
        if self.n_sessions > 200:
            per_session = (self.generated - self.noise) / self.n_sessions
            noise_rate = self.noise / max(1.0, (self.now - self.t0) / US)
        else:
            per_session, noise_rate = 10.0, 0.0
        lines_rate = self.target / (self.days * 86400.0) - noise_rate
        return max(1e-4, lines_rate / per_session) * w

    def run_events(self, until: int) -> None:
        """Run the scheduled events due by `until`, in time order."""
        ev = self.events
        while ev and ev[0][0] <= until:
            t, _, kind, gi, data = heapq.heappop(ev)
            self.now = t
            before = self.generated
            self.handlers[kind](t, gi, data)
            if kind != "campaign":
                self.noise += self.generated - before

    def run(self, outs: list[TextIO], per_gw: list[TextIO] | None) -> GenerateStats:
        """Simulate, write every line in time order, and count what was written."""
        started = time.perf_counter()
        r = self.rng
        self.background.start()
        writer = Writer(self, outs, per_gw)
        t = self.t0
        cur = t >> BUCKET_SHIFT
        limit = self.target
        while True:
            t += int(r.expovariate(self.rate(t)) * US) + 1
            if limit is None and t >= self.end:
                break
            self.run_events(t)
            k = t >> BUCKET_SHIFT
            if k > cur:
                cur = k
                if writer.flush_before(k):
                    break
            self.now = t
            self.sessions.session(t)
        if limit is None:
            self.run_events(self.end - 1)
            writer.flush_before(None, stop=self.end)
        writer.close()
        stats = writer.stats()
        stats.seconds = round(time.perf_counter() - started, 3)
        return stats


def generate(
    out: Path | TextIO | None,
    *,
    lines: int | None = None,
    days: float,
    gateways: list[str],
    seed: int,
    start: datetime,
    fmt: Format = "syslog",
    per_gateway_dir: Path | None = None,
    messages_per_day: float = 4000.0,
    syslog_name: str = "postfix",
) -> GenerateStats:
    """Write a realistic, time-ordered Postfix log of `gateways` and return the exact counts.

    With `lines`, exactly that many lines are written (the rate is set so they span about `days`);
    without, `days` of traffic at about `messages_per_day` per gateway. `per_gateway_dir` also writes
    one `<gateway>.log` per gateway. Same arguments, same bytes.
    """
    gen = Generator(
        lines=lines,
        days=days,
        gateways=gateways,
        seed=seed,
        start=start,
        fmt=fmt,
        messages_per_day=messages_per_day,
        syslog_name=syslog_name,
    )
    with ExitStack() as stack:
        outs: list[TextIO] = []
        if isinstance(out, Path | str):
            outs.append(stack.enter_context(open(out, "w", encoding="utf-8", newline="\n", buffering=1 << 22)))
        elif out is not None:
            outs.append(out)
        per_gw = None
        if per_gateway_dir is not None:
            per_gateway_dir.mkdir(parents=True, exist_ok=True)
            per_gw = [
                stack.enter_context(
                    open(per_gateway_dir / f"{g}.log", "w", encoding="utf-8", newline="\n", buffering=1 << 22)
                )
                for g in gateways
            ]
        if not outs and per_gw is None:
            raise ValueError("nothing to write to: give out or per_gateway_dir")
        return gen.run(outs, per_gw)


def default_start(days: float) -> datetime:
    """Midnight UTC, `days` (rounded up) before today: the log ends about now."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=math.ceil(days))
