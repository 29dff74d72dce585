"""Time-driven activity around the mail: anvil, scache, cron, reloads, scanners, brute force, root mail."""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

from relaywatch.loggen.catalogue import CRON_CMDS, SCANNER_HELOS, TLS_RSA13
from relaywatch.loggen.common import (
    K_MESSAGE,
    K_OTHER,
    K_RECEIVED,
    K_REJECT,
    K_SASL_FAIL,
    POSTFIX_VERSION,
    US,
)

if TYPE_CHECKING:
    from relaywatch.loggen.simulation import Generator


class Background:
    """The periodic and random events of every gateway that no client session causes."""

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

    def start(self) -> None:
        """Schedule the periodic and random background activity of every gateway."""
        ri = self.ri
        r = self.rng
        for gi in range(self.sim.ng):
            self.schedule(self.sim.t0 + ri(0, 600 * US), "anvil", gi)
            self.schedule(self.sim.t0 + ri(0, 600 * US), "scache", gi)
            first_cron = (self.sim.t0 // (600 * US) + 1) * 600 * US + ri(0, 2 * US)
            self.schedule(first_cron, "cron", gi)
            self.schedule(self.sim.t0 + int(r.expovariate(1 / 1200) * US), "scanner", gi)
            self.schedule(self.sim.t0 + int(r.expovariate(1 / 28800) * US), "bruteforce", gi)
            self.schedule(self.sim.t0 + int(r.expovariate(1 / 28800) * US), "rootmail", gi)
            lst = self.gw.reloads[gi]
            i = bisect_right(lst, self.sim.t0)
            if i < len(lst):
                self.schedule(lst[i], "reload", gi, i)

    def anvil(self, t: int, gi: int, data: object) -> None:
        """anvil's periodic statistics."""
        ri = self.ri
        r = self.rng
        pid = self.gw.pid(gi, 6, 1, 14400, t)
        snd = self.world.pick_sender(gi)
        ip = snd.client.rpartition("[")[2].rstrip("]")
        svc = "submission" if snd.submission else "smtp"
        at = self.texts.syslog_stamp(t - ri(0, 590) * US)
        add = self.add
        head = f"{self.sn}/anvil[{pid}]: statistics:"
        add(t, gi, K_OTHER, f"{head} max connection rate {ri(1, 40)}/60s for ({svc}:{ip}) at {at}")
        add(t + 20, gi, K_OTHER, f"{head} max connection count {ri(1, 6)} for ({svc}:{ip}) at {at}")
        if r.random() < 0.3:
            add(t + 40, gi, K_OTHER, f"{head} max message rate {ri(1, 60)}/60s for ({svc}:{ip}) at {at}")
        add(t + 60, gi, K_OTHER, f"{head} max cache size {ri(1, 30)} at {at}")
        self.schedule(t + 600 * US + ri(0, 2 * US), "anvil", gi)

    def scache(self, t: int, gi: int, data: object) -> None:
        """The connection cache's periodic statistics."""
        ri = self.ri
        pid = self.gw.pid(gi, 7, 1, 7200, t)
        sn = self.sn
        hits, miss = ri(0, 400), ri(1, 200)
        ahits, amiss = ri(0, 50), ri(1, 200)
        lines = (
            f"statistics: start interval {self.texts.syslog_stamp(t - 600 * US)}",
            f"statistics: domain lookup hits={hits} miss={miss} success={100 * hits // (hits + miss)}%",
            f"statistics: address lookup hits={ahits} miss={amiss} success={100 * ahits // (ahits + amiss)}%",
            f"statistics: max simultaneous domains={ri(1, 12)} addresses={ri(1, 20)} connection={ri(1, 25)}",
        )
        for i, text in enumerate(lines):
            self.add(t + i * 15, gi, K_OTHER, f"{sn}/scache[{pid}]: {text}")
        self.schedule(t + 600 * US + ri(0, 5 * US), "scache", gi)

    def cron(self, t: int, gi: int, data: object) -> None:
        """The every-10-minutes sysstat cron job, with its PAM session lines."""
        ri = self.ri
        pid = self.gw.pid(gi, 8, 50, 1, t)
        add = self.add
        add(t, gi, K_OTHER, f"CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)")
        add(t + ri(1000, 9000), gi, K_OTHER, f"CRON[{pid + 1}]: (root) CMD ({CRON_CMDS[0]})")
        add(t + ri(20_000, 300_000), gi, K_OTHER, f"CRON[{pid}]: pam_unix(cron:session): session closed for user root")
        self.schedule(t + 600 * US, "cron", gi)

    def reload(self, t: int, gi: int, data: object) -> None:
        """`postfix reload` after a map deployment: qmgr and pickup get new pids."""
        ri = self.ri
        i = data  # type: ignore[assignment]
        sn = self.sn
        self.add(
            t, gi, K_OTHER, f"{sn}/postfix-script[{self.gw.pid(gi, 10, 30, 60, t)}]: refreshing the Postfix mail system"
        )
        self.add(
            t + ri(50_000, 200_000),
            gi,
            K_OTHER,
            f"{sn}/master[{self.gw.master_pid[gi]}]: reload -- version {POSTFIX_VERSION}, configuration /etc/postfix",
        )
        lst = self.gw.reloads[gi]
        if i + 1 < len(lst):  # type: ignore[operator]
            self.schedule(lst[i + 1], "reload", gi, i + 1)  # type: ignore[operator]

    def scanner(self, t: int, gi: int, data: object) -> None:
        """Internet scanners probing port 25 of the relay."""
        ri = self.ri
        r = self.rng
        add = self.add
        name = f"{self.sn}/smtpd"
        slot, pid = self.gw.smtpd_slot(gi, False, t)
        ip = f"{r.choice((45, 80, 91, 185, 193, 194, 141, 162))}.{ri(1, 255)}.{ri(0, 255)}.{ri(1, 255)}"
        client = f"unknown[{ip}]"
        x = r.random()
        if x < 0.2:
            ptr = f"ip-{ip.replace('.', '-')}.example-hosting.net"
            add(
                t,
                gi,
                K_OTHER,
                f"{name}[{pid}]: warning: hostname {ptr} does not resolve to address {ip}: Name or service not known",
            )
            t += 300
        add(t, gi, K_OTHER, f"{name}[{pid}]: connect from {client}")
        helo = r.choice(SCANNER_HELOS)
        if x < 0.55:
            rcpt = f"{self.world.local_part(False)}@{r.choice(('gmail.com', 'yahoo.com', 'hotmail.com'))}"
            sender = ""
            if r.random() < 0.7:
                sender = f"{self.world.local_part(False)}@{r.choice(('example.org', 'mail.ru', 'outlook.com'))}"
            t += ri(100_000, 2_000_000)
            code = "454 4.7.1" if gi % 2 == 0 else "554 5.7.1"
            add(
                t,
                gi,
                K_REJECT,
                f"{name}[{pid}]: NOQUEUE: reject: RCPT from {client}: {code} <{rcpt}>: "
                f"Relay access denied; from=<{sender}> to=<{rcpt}> proto=ESMTP "
                f"helo=<{helo}>",
            )
            t += ri(50_000, 900_000)
            add(t, gi, K_OTHER, f"{name}[{pid}]: disconnect from {client} ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4")
        elif x < 0.75:
            t += ri(100_000, 5_000_000)
            after, counts = r.choice(
                (("CONNECT", "commands=0"), ("EHLO", "ehlo=1 commands=1"), ("AUTH", "ehlo=1 auth=0/1 commands=1/2"))
            )
            add(t, gi, K_OTHER, f"{name}[{pid}]: lost connection after {after} from {client}")
            add(t + 200, gi, K_OTHER, f"{name}[{pid}]: disconnect from {client} {counts}")
        elif x < 0.88:
            t += ri(100_000, 2_000_000)
            add(t, gi, K_OTHER, f"{name}[{pid}]: warning: non-SMTP command from {client}: GET / HTTP/1.1")
            add(t + 300, gi, K_OTHER, f"{name}[{pid}]: disconnect from {client} unknown=0/1 commands=0/1")
        else:
            t += ri(50_000, 500_000)
            add(t, gi, K_OTHER, f"{name}[{pid}]: SSL_accept error from {client}: -1")
            add(
                t + 100,
                gi,
                K_OTHER,
                f"{name}[{pid}]: warning: TLS library problem: error:0A00010B:SSL "
                f"routines::wrong version number:../ssl/record/ssl3_record.c:354:",
            )
            add(t + 300, gi, K_OTHER, f"{name}[{pid}]: lost connection after STARTTLS from {client}")
            add(t + 400, gi, K_OTHER, f"{name}[{pid}]: disconnect from {client} ehlo=1 starttls=0/1 commands=1/2")
        self.gw.smtpd_busy[gi][False][slot] = t + 1
        self.schedule(t + int(r.expovariate(1 / 1200) * US), "scanner", gi)

    def bruteforce(self, t: int, gi: int, data: object) -> None:
        """A password-guessing burst against submission: a few to dozens of failed SASL logins."""
        ri = self.ri
        r = self.rng
        add = self.add
        if data is None:
            ip = f"{r.choice((45, 80, 87, 91, 141, 185, 193))}.{ri(1, 255)}.{ri(0, 255)}.{ri(1, 255)}"
            data = (ip, ri(2, 25))
            self.schedule(t + int(r.expovariate(1 / 28800) * US), "bruteforce", gi)
        ip, left = data  # type: ignore[misc]
        name = f"{self.sn}/submission/smtpd"
        slot, pid = self.gw.smtpd_slot(gi, True, t)
        client = f"unknown[{ip}]"
        add(t, gi, K_OTHER, f"{name}[{pid}]: connect from {client}")
        t += ri(50_000, 400_000)
        add(t, gi, K_OTHER, f"{name}[{pid}]: Anonymous TLS connection established from {client}: {TLS_RSA13}")
        victim = self.world.pick_sender(gi)
        user = victim.sasl or f"{r.choice(('admin', 'info', 'test', 'contact', 'webmaster'))}@{victim.domain}"
        method = r.choice(("LOGIN", "PLAIN"))
        t += ri(500_000, 3_000_000)
        add(
            t,
            gi,
            K_OTHER,
            f"dovecot: auth: passwd-file({user},{ip}): "
            f"{'Password mismatch' if victim.sasl == user else 'unknown user'}",
        )
        reason = "UGFzc3dvcmQ6" if method == "LOGIN" else "authentication failure"
        add(
            t + 900,
            gi,
            K_SASL_FAIL,
            f"{name}[{pid}]: warning: {client}: SASL {method} authentication failed: {reason}, sasl_username={user}",
        )
        t += ri(100_000, 1_000_000)
        add(t, gi, K_OTHER, f"{name}[{pid}]: disconnect from {client} ehlo=2 starttls=1 auth=0/1 quit=1 commands=4/5")
        self.gw.smtpd_busy[gi][True][slot] = t + 1
        if left > 1:
            self.schedule(t + ri(1, 20) * US, "bruteforce", gi, (ip, left - 1))

    def rootmail(self, t: int, gi: int, data: object) -> None:
        """Local mail to root (cron output, logwatch) rewritten to the operators' address."""
        ri = self.ri
        r = self.rng
        sn = self.sn
        add = self.add
        qid, inode = self.gw.qstate[gi].new(t, self.sim.now, None)
        add(t, gi, K_RECEIVED, f"{sn}/pickup[{self.gw.daemon_pid(gi, 2, t)}]: {qid}: uid=0 from=<root>")
        t += ri(1000, 20000)
        add(
            t,
            gi,
            K_OTHER,
            f"{sn}/cleanup[{self.gw.pid(gi, 3, 12, 600, t)}]: {qid}: message-id="
            f"<{self.texts.stamp(t)}.{qid}@{self.gw.fqdn[gi]}>",
        )
        t += ri(1000, 10000)
        size = ri(700, 40000)
        sender = f"root@{self.gw.fqdn[gi]}"
        add(
            t,
            gi,
            K_MESSAGE,
            f"{sn}/qmgr[{self.gw.daemon_pid(gi, 1, t)}]: {qid}: from=<{sender}>, size={size}, nrcpt=1 (queue active)",
        )
        ops = self.world.sender_dest("exploitation.relay-operator.fr")
        rcpt = [("postmaster@exploitation.relay-operator.fr", ops, 0)]
        end = self.delivery.lifecycle(
            gi, qid, t, t, sender, size, rcpt, f"{qid}@{self.gw.fqdn[gi]}", False, None, orig_to="root"
        )
        self.gw.qstate[gi].hold(end, inode, qid)
        self.schedule(t + int(r.expovariate(1 / 28800) * US), "rootmail", gi)
