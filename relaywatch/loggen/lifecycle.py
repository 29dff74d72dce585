"""The queue life of one message: what will go wrong where, attempts with back-off, expiry, notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING

from relaywatch.loggen.common import (
    DELAY_WARNING,
    K_DELAY_NOTICE,
    K_EXPIRED,
    K_MESSAGE,
    K_NDR,
    K_OTHER,
    K_REMOVED,
    MAX_BACKOFF,
    MAX_QUEUE_LIFETIME,
    MIN_BACKOFF,
    QUEUE_RUN_DELAY,
)
from relaywatch.loggen.replies import AUTH_STRICT
from relaywatch.loggen.world import pick

if TYPE_CHECKING:
    from relaywatch.loggen.simulation import Generator
    from relaywatch.loggen.world import Dest, Sender


class Delivery:
    """Plans each destination's and recipient's fate, then runs the attempts until delivery, bounce or expiry."""

    def __init__(self, sim: Generator) -> None:
        self.sim = sim
        self.rng = sim.rng
        self.ri = sim.ri
        self.add = sim.add
        self.sn = sim.sn
        self.gw = sim.gateways
        self.texts = sim.texts
        self.world = sim.world
        self.attempts = sim.attempts

    def lifecycle(
        self,
        gi: int,
        qid: str,
        arrival: int,
        t_q: int,
        sender: str,
        size: int,
        rcpts: list[tuple[str, Dest, int]],
        msgid: str,
        campaign: bool,
        snd: Sender | None,
        orig_to: str = "",
    ) -> int:
        """All delivery attempts of one queued message, then its removal; returns the removal time."""
        ri = self.ri
        add = self.add
        sn = self.sn
        groups: dict[str, list] = {}
        for rc in rcpts:
            d = rc[1]
            g = groups.get(d.domain)
            if g is None:
                g = groups[d.domain] = [d, self.group_plan(d, snd, campaign, sender), []]
            g[2].append([rc, self.rcpt_plan(rc)])
        pending = list(groups.values())
        deadline = arrival + MAX_QUEUE_LIFETIME
        t_att = t_q + ri(1000, 60000)
        attempt = 0
        warned = gi % 2 == 0 or not sender
        while True:
            if attempt:
                add(
                    t_att,
                    gi,
                    K_OTHER,
                    f"{sn}/qmgr[{self.gw.daemon_pid(gi, 1, t_att)}]: {qid}: "
                    f"from=<{sender}>, size={size}, nrcpt={len(rcpts)} (queue active)",
                )
            t_end = t_att
            bounced: list[str] = []
            for g in pending:
                te = self.attempts.attempt(gi, qid, g, t_att, arrival, sender, size, msgid, attempt, bounced, orig_to)
                if te > t_end:
                    t_end = te
            pending = [g for g in pending if g[2]]
            t = t_end + ri(300, 8000)
            if pending and t_end >= deadline:
                qpid = self.gw.daemon_pid(gi, 1, t)
                add(t, gi, K_EXPIRED, f"{sn}/qmgr[{qpid}]: {qid}: from=<{sender}>, status=expired, returned to sender")
                t = self.notify(gi, qid, t, sender, "non-delivery", size)
                add(t + ri(100, 3000), gi, K_REMOVED, f"{sn}/qmgr[{qpid}]: {qid}: removed")
                return t + 3000
            if bounced:
                t = self.notify(gi, qid, t, sender, "non-delivery", size)
            if not pending:
                t += ri(100, 3000)
                add(t, gi, K_REMOVED, f"{sn}/qmgr[{self.gw.daemon_pid(gi, 1, t)}]: {qid}: removed")
                return t
            if not warned and t_end - arrival >= DELAY_WARNING:
                warned = True
                t = self.notify(gi, qid, t, sender, "delay", size)
            attempt += 1
            backoff = min(max(t_end - arrival, MIN_BACKOFF), MAX_BACKOFF)
            t_att = t_end + backoff + ri(0, QUEUE_RUN_DELAY)

    def group_plan(self, d: Dest, snd: Sender | None, campaign: bool, sender: str) -> list:
        """[failure name or None, attempts it lasts (-1: forever), permanent?] for one destination."""
        ri = self.ri
        r = self.rng
        b = d.behavior
        if b == "nxdomain":
            return ["dns_perm", -1, True]
        if b == "error":
            return ["error", -1, True]
        if b == "dead":
            return [r.choice(("net_timeout", "net_timeout", "net_refused", "dns_temp")), -1, False]
        if b == "flaky" and r.random() < 0.3:
            return [r.choice(("net_timeout", "net_refused", "net_noroute", "dns_temp")), ri(2, 14), False]
        if b == "tls_required" and r.random() < 0.5:
            return ["tls_required", -1 if r.random() < 0.7 else ri(2, 20), False]
        if b == "greylist" and r.random() < 0.3:  # postgrey's auto-whitelist spares known triplets
            return ["greylisted", 1, False]
        fam = d.family
        if snd is not None and snd.dkim is None and fam in AUTH_STRICT and r.random() < 0.03:
            return ["auth_policy", 1, True]
        hp = d.hard_p * (8 if snd is not None and snd.bad else 1)
        if hp and r.random() < hp:
            return [pick(r, d.hard), 1, True]
        sp = d.soft_p * (4 if campaign else 1) * (3 if snd is not None and snd.bad else 1)
        if r.random() < sp:
            n = 1
            while n < 40 and r.random() < 0.45:
                n += 1
            return [pick(r, d.soft), n if r.random() > 0.003 else -1, False]
        return [None, 0, False]

    def rcpt_plan(self, rc: tuple[str, Dest, int]) -> list:
        """[failure name or None, attempts, permanent?] for one recipient once connected."""
        st = rc[2]
        if st == 0:
            return [None, 0, False]
        if st == 1:
            return ["user_unknown", 1, True]
        if st == 3:
            return ["disabled", 1, True]
        r = self.rng
        if r.random() < 0.1:  # abandoned mailbox: full until the message expires
            return ["mailbox_full", -1, False]
        n = 1
        while n < 60 and r.random() < 0.7:
            n += 1
        return ["mailbox_full", n, False]

    def notify(self, gi: int, qid: str, t: int, sender: str, what: str, size: int) -> int:
        """A bounce(8) notification to the sender: a new message with its own life; returns the time after."""
        ri = self.ri
        add = self.add
        sn = self.sn
        bpid = self.gw.pid(gi, 5, 4, 900, t)
        if not sender:
            add(t, gi, K_OTHER, f"{sn}/bounce[{bpid}]: {qid}: undeliverable postmaster notification discarded")
            return t + 500
        nqid, inode = self.gw.qstate[gi].new(t, self.sim.now, None)
        t_c = t + ri(2000, 20000)
        add(
            t_c,
            gi,
            K_OTHER,
            f"{sn}/cleanup[{self.gw.pid(gi, 3, 12, 600, t_c)}]: {nqid}: message-id="
            f"<{self.texts.stamp(t_c)}.{nqid}@{self.gw.fqdn[gi]}>",
        )
        t_b = t_c + ri(200, 5000)
        if what == "delay":
            add(t_b, gi, K_DELAY_NOTICE, f"{sn}/bounce[{bpid}]: {qid}: sender delay notification: {nqid}")
        else:
            add(t_b, gi, K_NDR, f"{sn}/bounce[{bpid}]: {qid}: sender non-delivery notification: {nqid}")
        t_q = t_b + ri(100, 3000)
        nsize = min(size, 60_000) + ri(2500, 4500)
        add(
            t_q,
            gi,
            K_MESSAGE,
            f"{sn}/qmgr[{self.gw.daemon_pid(gi, 1, t_q)}]: {nqid}: from=<>, size={nsize}, nrcpt=1 (queue active)",
        )
        dom = sender.rpartition("@")[2].lower()
        d = self.world.sender_dest(dom)
        end = self.lifecycle(gi, nqid, t_c, t_q, "", nsize, [(sender, d, 0)], f"{nqid}@{self.gw.fqdn[gi]}", False, None)
        self.gw.qstate[gi].hold(end, inode, nqid)
        return t_b + ri(100, 2000)
