"""Mail coming in: client sessions on port 25 and submission, their recipients, rejects and queued messages."""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import TYPE_CHECKING

from relaywatch.loggen.catalogue import SENDER_ROLES, TLS_128, TLS_RSA13
from relaywatch.loggen.common import K_MESSAGE, K_OTHER, K_RECEIVED, K_REJECT

if TYPE_CHECKING:
    from relaywatch.loggen.simulation import Generator
    from relaywatch.loggen.world import Dest, Sender


class Sessions:
    """Arrivals: picks the gateway and the sender, runs the SMTP session and hands each message to delivery."""

    def __init__(self, sim: Generator) -> None:
        self.sim = sim
        self.rng = sim.rng
        self.ri = sim.ri
        self.add = sim.add
        self.sn = sim.sn
        self.gw = sim.gateways
        self.texts = sim.texts
        self.schedule = sim.schedule
        self.world = sim.world
        self.delivery = sim.delivery
        self.gw_cum = list(accumulate(1.0 / (i + 1) for i in range(sim.ng)))

    def session(self, t: int) -> None:
        """One arrival: a client connects to a gateway (or a newsletter campaign starts)."""
        ri = self.ri
        r = self.rng
        gi = bisect_right(self.gw_cum, r.random() * self.gw_cum[-1])
        snd = self.world.pick_sender(gi)
        self.sim.n_sessions += 1
        if snd.kind == "newsletter":
            size = int(min(max(50, self.sim.est_msgs / 40), ri(200, 3000)))
            self.schedule(t, "campaign", gi, (snd, size))
            return
        n = 1
        if snd.kind == "app" and r.random() < 0.15:
            n = ri(2, 12)
        self.smtp_session(t, snd, n, False)

    def smtp_session(self, t: int, snd: Sender, n_msgs: int, campaign: bool) -> int:
        """One inbound SMTP session of n_msgs messages, each queued and delivered; returns its end."""
        ri = self.ri
        r = self.rng
        add = self.add
        gi = snd.gi
        sn = self.sn
        name = f"{sn}/submission/smtpd" if snd.submission else f"{sn}/smtpd"
        slot, pid = self.gw.smtpd_slot(gi, snd.submission, t)
        client = snd.client
        add(t, gi, K_OTHER, f"{name}[{pid}]: connect from {client}")
        t += ri(2000, 60000)
        ehlo, starttls = 1, 0
        if snd.tls:
            ehlo, starttls = 2, 1
            t += ri(5000, 80000)
            suite = TLS_RSA13 if r.random() < 0.8 else TLS_128
            add(t, gi, K_OTHER, f"{name}[{pid}]: Anonymous TLS connection established from {client}: {suite}")
        auth = 1 if snd.sasl else 0
        sasl = f", sasl_method={snd.sasl_method}, sasl_username={snd.sasl}" if snd.sasl else ""
        mail = rcpt_ok = rcpt_all = data = rset = 0
        for _ in range(n_msgs):
            t += ri(1000, 40000)
            if snd.verp:
                sender = f"bounce-{ri(10**5, 10**7)}-{r.getrandbits(20):05x}@{snd.domain}"
            else:
                sender = snd.addrs[0] if len(snd.addrs) == 1 else r.choice(snd.addrs)
            rejected_sender = snd.sasl is not None and r.random() < 0.004
            if rejected_sender:
                sender = f"{r.choice(SENDER_ROLES)}@{self.world.org_domain()}"
            rcpts = self.recipients(snd, campaign)
            mail += 1
            qid = ""
            arrival = 0
            accepted: list[tuple[str, Dest, int]] = []
            for rc in rcpts:
                rcpt_all += 1
                t += ri(500, 20000)
                rej = self.smtpd_reject(gi, snd, sender, rc, rejected_sender)
                if rej:
                    add(
                        t,
                        gi,
                        K_REJECT,
                        f"{name}[{pid}]: {qid or 'NOQUEUE'}: reject: RCPT from {client}: "
                        f"{rej}; from=<{sender}> to=<{rc[0]}> proto=ESMTP helo=<{snd.helo}>",
                    )
                    continue
                rcpt_ok += 1
                if not qid:
                    qid, inode = self.gw.qstate[gi].new(t, self.sim.now, r)
                    arrival = t
                    add(t, gi, K_RECEIVED, f"{name}[{pid}]: {qid}: client={client}{sasl}")
                accepted.append(rc)
            if not accepted:
                rset += 1
                continue
            data += 1
            size = int(min(40_000_000, r.lognormvariate(9.6, 1.1))) + 900
            t += ri(3000, 30000) + size // 20
            msgid = self.message_id(snd, t, qid)
            cpid = self.gw.pid(gi, 3, 12, 600, t)
            add(t, gi, K_OTHER, f"{sn}/cleanup[{cpid}]: {qid}: message-id=<{msgid}>")
            if snd.dkim:
                t += ri(500, 9000)
                add(
                    t,
                    gi,
                    K_OTHER,
                    f"opendkim[{self.gw.opendkim_pid[gi]}]: {qid}: DKIM-Signature field added "
                    f"(s={snd.dkim[0]}, d={snd.dkim[1]})",
                )
            t += ri(800, 15000)
            add(
                t,
                gi,
                K_MESSAGE,
                f"{sn}/qmgr[{self.gw.daemon_pid(gi, 1, t)}]: {qid}: from=<{sender}>, "
                f"size={size}, nrcpt={len(accepted)} (queue active)",
            )
            end = self.delivery.lifecycle(gi, qid, arrival, t, sender, size, accepted, msgid, campaign, snd)
            self.gw.qstate[gi].hold(end, inode, qid)
        t += ri(1000, 30000)
        quit_ = 1
        stats = [f"ehlo={ehlo}"]
        if starttls:
            stats.append("starttls=1")
        if auth:
            stats.append("auth=1")
        stats.append(f"mail={mail}")
        stats.append(f"rcpt={rcpt_ok}" if rcpt_ok == rcpt_all else f"rcpt={rcpt_ok}/{rcpt_all}")
        if data:
            stats.append(f"data={data}")
        if rset:
            stats.append(f"rset={rset}")
        stats.append("quit=1")
        ok = ehlo + starttls + auth + mail + rcpt_ok + data + rset + quit_
        tot = ehlo + starttls + auth + mail + rcpt_all + data + rset + quit_
        stats.append(f"commands={ok}" if ok == tot else f"commands={ok}/{tot}")
        add(t, gi, K_OTHER, f"{name}[{pid}]: disconnect from {client} {' '.join(stats)}")
        self.gw.smtpd_busy[gi][snd.submission][slot] = t + 1
        return t

    def smtpd_reject(
        self, gi: int, snd: Sender, sender: str, rc: tuple[str, Dest, int], rejected_sender: bool
    ) -> str | None:
        """The smtpd restriction that refuses this recipient, if any (sender login, blacklists, DNS)."""
        if rejected_sender:
            return f"553 5.7.1 <{sender}>: Sender address rejected: not owned by user {snd.sasl}"
        d = rc[1]
        if d.behavior == "nxdomain" and gi % 2 == 1:
            return f"450 4.1.2 <{rc[0]}>: Recipient address rejected: Domain not found"
        if rc[2] == 1 and self.rng.random() < 0.05:  # known bad address on the gateway's blacklist
            return f"554 5.7.1 <{rc[0]}>: Recipient address rejected: Access denied"
        if snd.bad and self.rng.random() < 0.01:
            return f"554 5.7.1 <{sender}>: Sender address rejected: Access denied"
        return None

    def recipients(self, snd: Sender, campaign: bool) -> list[tuple[str, Dest, int]]:
        """Recipients of one message: mostly one, sometimes up to 20, often colleagues at one domain."""
        ri = self.ri
        r = self.rng
        if campaign:
            return (
                [self.world.big_pool[int(r.random() * len(self.world.big_pool))]]
                if r.random() < 0.8
                else [self.world.pool[int(r.random() * len(self.world.pool))]]
            )
        first = self.world.pool[int(r.random() * len(self.world.pool))]
        x = r.random()
        n = 1 if x < 0.82 else ri(2, 4) if x < 0.93 else ri(4, 11) if x < 0.985 else ri(11, 21)
        if n == 1:
            return [first]
        out = [first]
        seen = {first[0]}
        same = first[1].pool
        for _ in range(n * 2):
            if len(out) >= n:
                break
            src = same if r.random() < 0.5 else self.world.pool
            e = src[int(r.random() * len(src))]
            if e[0] not in seen:
                seen.add(e[0])
                out.append(e)
        return out

    def message_id(self, snd: Sender, t: int, qid: str) -> str:
        """A Message-ID as the client's software writes it (or as cleanup adds it)."""
        ri = self.ri
        r = self.rng
        x = r.random()
        if snd.kind == "user":
            if x < 0.5:
                return (
                    f"{r.choice(('AM0PR', 'PA4PR', 'DB9PR', 'PAXPR'))}{ri(1, 9):02d}MB"
                    f"{ri(1000, 9999)}{r.getrandbits(40):010X}@{r.choice(('AM0PR', 'PA4PR'))}"
                    f"{ri(1, 9):02d}MB{ri(1000, 9999)}.eurprd{ri(1, 9):02d}."
                    f"prod.outlook.com"
                )
            return (
                f"{r.getrandbits(32):08x}-{r.getrandbits(16):04x}-{r.getrandbits(16):04x}-"
                f"{r.getrandbits(16):04x}-{r.getrandbits(48):012x}@{snd.domain}"
            )
        if x < 0.15:  # no Message-ID header: cleanup adds one
            return f"{self.texts.stamp(t)}.{qid}@{self.gw.fqdn[snd.gi]}"
        if x < 0.6:
            return f"{r.getrandbits(128):032x}@{snd.domain}"
        return f"{self.texts.stamp(t)}.{r.getrandbits(40):010x}@{snd.helo}"

    def campaign(self, t: int, gi: int, data: object) -> None:
        """A newsletter sends the next batch of its campaign in one session."""
        ri = self.ri
        snd, left = data  # type: ignore[misc]
        n = min(left, ri(5, 50))
        t = self.smtp_session(t, snd, n, True)
        if left > n:
            self.schedule(t + ri(50_000, 3_000_000), "campaign", gi, (snd, left - n))
