"""The gateways' processes: host names and addresses, pids of every Postfix daemon, smtpd slots, queue ids."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from random import Random

from relaywatch.loggen.common import PID_MAX, US
from relaywatch.loggen.queueids import QueueIds


class Gateways:
    """Per gateway: names, addresses, daemon pids, reload times, busy smtpd slots and its queue ids."""

    def __init__(
        self, rng: Random, ri: Callable[[int, int], int], gws: list[str], t0: int, end: int, days: float
    ) -> None:
        self.rng = rng
        self.t0 = t0
        ng = len(gws)
        self.fqdn = [g if "." in g else f"{g}.relay.example.net" for g in gws]
        self.gw_ip = [f"192.0.2.{10 + i * 7 % 240}" for i in range(ng)]
        self.pid_base = [ri(40_000, 3_000_000) for _ in range(ng)]
        self.master_pid = [ri(700, 1400) for _ in range(ng)]
        self.opendkim_pid = [ri(500, 1500) for _ in range(ng)]
        # reload times (map deployments) decide the qmgr and pickup pids
        self.reloads: list[list[int]] = []
        horizon = end + int((days * 2 + 8) * 86400 * US)
        for _ in range(ng):
            t, lst = t0 - 86400 * US, []
            while t < horizon:
                t += int(rng.expovariate(1.5 / 86400) * US) + 60 * US
                lst.append(t)
            self.reloads.append(lst)
        self.smtpd_busy = [[[0] * 40 for _ in range(2)] for _ in range(ng)]
        self.qstate = [QueueIds(rng) for _ in range(ng)]

    def pid(self, gi: int, svc: int, slots: int, epoch_s: int, t: int) -> int:
        """Pid of a worker process at time t: a slot's process lives for one epoch, then a new pid."""
        slot = int(self.rng.random() * slots)
        length = epoch_s * US
        phase = (slot * 7_919_371 + svc * 1_234_567) % length
        e = (t - self.t0 + phase) // length
        born = (e * length - phase) // US
        return (self.pid_base[gi] + born * 2 + svc * 131 + slot * 17) % PID_MAX + 300

    def daemon_pid(self, gi: int, svc: int, t: int) -> int:
        """qmgr and pickup are restarted by each reload."""
        i = bisect_right(self.reloads[gi], t)
        born = (self.reloads[gi][i - 1] - self.t0) // US if i else -86400
        return (self.pid_base[gi] + born * 2 + svc * 3) % PID_MAX + 300

    def smtpd_slot(self, gi: int, submission: bool, t: int) -> tuple[int, int]:
        """A free smtpd process (slot, pid): two sessions never share a pid at the same time."""
        busy = self.smtpd_busy[gi][submission]
        n = len(busy)
        start = int(self.rng.random() * n)
        slot = start
        for i in range(n):
            if busy[(start + i) % n] <= t:
                slot = (start + i) % n
                break
        svc = 2 if submission else 1
        length = 200 * US  # an smtpd serves sessions for a few minutes (max_idle, max_use), then exits
        phase = (slot * 7_919_371 + svc * 1_234_567) % length
        born = (((t - self.t0 + phase) // length) * length - phase) // US
        return slot, (self.pid_base[gi] + born * 2 + svc * 131 + slot * 17) % PID_MAX + 300
