"""One delivery attempt to one destination: connection, TLS, per-recipient replies, and their log lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from relaywatch.loggen.common import K_BOUNCED, K_DEFERRED, K_OTHER, K_SENT, US, fmt_delay
from relaywatch.loggen.replies import NET_FAILURES
from relaywatch.loggen.texts import Ctx

if TYPE_CHECKING:
    from relaywatch.loggen.simulation import Generator
    from relaywatch.loggen.world import Dest


class Attempts:
    """The smtp (or error) client's side of a delivery attempt, in the destination's reply style."""

    def __init__(self, sim: Generator) -> None:
        self.rng = sim.rng
        self.ri = sim.ri
        self.add = sim.add
        self.sn = sim.sn
        self.gw = sim.gateways
        self.texts = sim.texts

    def attempt(
        self,
        gi: int,
        qid: str,
        g: list,
        t_att: int,
        arrival: int,
        sender: str,
        size: int,
        msgid: str,
        attempt: int,
        bounced: list[str],
        orig_to: str,
    ) -> int:
        """One delivery attempt to one destination: its log lines; removes finished recipients."""
        ri = self.ri
        r = self.rng
        add = self.add
        sn = self.sn
        d: Dest = g[0]
        plan = g[1]
        rlist = g[2]
        fail = None
        if plan[0] is not None and plan[1] != 0:
            fail = plan[0]
            if plan[1] > 0:
                plan[1] -= 1
        b = ri(0, 60000 if attempt == 0 else 15000)
        t = t_att + b
        a_s = (t_att - arrival) / US
        b_s = b / US
        ip = self.gw.gw_ip[gi]
        orig = f", orig_to=<{orig_to}>" if orig_to else ""

        if fail == "error":
            epid = self.gw.pid(gi, 9, 3, 900, t)
            for item in rlist:
                t += ri(2000, 30000)
                dt = (t - t_att) / US
                add(
                    t,
                    gi,
                    K_BOUNCED,
                    f"{sn}/error[{epid}]: {qid}: to=<{item[0][0]}>{orig}, relay=none, "
                    f"delay={fmt_delay((t - arrival) / US)}, delays={fmt_delay(a_s)}/"
                    f"{fmt_delay(b_s)}/0/{fmt_delay(dt - b_s)}, dsn=5.7.1, status=bounced "
                    f"(recipient domain blocked by relay policy)",
                )
                bounced.append(item[0][0])
            rlist.clear()
            return t

        spid = self.gw.pid(gi, 4, 30, 600, t)
        prefix = f"{sn}/smtp[{spid}]: "
        if fail is not None and fail in NET_FAILURES:
            perm, dsn = NET_FAILURES[fail]
            text, relay, c = self.net_failure(fail, d, t, prefix, gi)
            t += c
            status, kind = ("bounced", K_BOUNCED) if perm else ("deferred", K_DEFERRED)
            c_s = c / US
            for item in rlist:
                t += ri(5, 400)
                add(
                    t,
                    gi,
                    kind,
                    f"{prefix}{qid}: to=<{item[0][0]}>{orig}, relay={relay}, "
                    f"delay={fmt_delay((t - arrival) / US)}, delays={fmt_delay(a_s)}/"
                    f"{fmt_delay(b_s)}/{fmt_delay(c_s)}/0, dsn={dsn}, status={status} ({text})",
                )
                if perm:
                    bounced.append(item[0][0])
            if perm:
                rlist.clear()
            return t

        # connected to an MX host
        host, ips = d.mx[0] if len(d.mx) == 1 or r.random() < 0.85 else d.mx[int(r.random() * len(d.mx))]
        hip = ips[0] if len(ips) == 1 else ips[int(r.random() * len(ips))]
        relay = f"{host}[{hip}]:25"
        conn_use = ""
        c = ri(40_000, 900_000)
        if d.family in ("gmail", "microsoft", "orange", "yahoo") and r.random() < 0.2:
            conn_use = f"conn_use={ri(2, 30)}, "
            c = ri(100, 3000)
        elif r.random() < 0.985:
            add(
                t + c - ri(10, 30_000), gi, K_OTHER, f"{prefix}{d.trust} TLS connection established to {relay}: {d.tls}"
            )
        elif fail is None and d.family in ("postfix", "exim", "exchange"):  # old servers fail TLS, then plain
            add(
                t + c // 2,
                gi,
                K_OTHER,
                f"{prefix}warning: TLS library problem: error:0A000410:SSL routines::sslv3 alert handshake "
                f"failure:../ssl/record/rec_layer_s3.c:1584:SSL alert number 40:",
            )
            add(t + c // 2 + 50, gi, K_OTHER, f"{prefix}SSL_connect error to {relay}: -1")
        c_s = c / US
        t_conn = t + c
        if fail is not None:
            entry = self.texts.reply(d.family, fail)
            if entry is None:
                entry = (False, "4.3.0", "end of DATA", "451 4.3.0 Temporary server error. Please try again later")
            perm, dsn, stage, tmpl = entry
            status, kind = ("bounced", K_BOUNCED) if perm else ("deferred", K_DEFERRED)
            tt = t_conn + (ri(50_000, 2_000_000) if stage == "end of DATA" else ri(2_000, 90_000))
            d_s = (tt - t_conn) / US
            for item in rlist:
                rc = item[0]
                tt += ri(5, 400)
                text = tmpl.format_map(Ctx(self.texts, tt, rc[0], d.domain, sender, ip))
                if stage == "greeting":
                    resp = f"host {host}[{hip}] refused to talk to me: {text}"
                else:
                    resp = f"host {host}[{hip}] said: {text} (in reply to {stage} command)"
                add(
                    tt,
                    gi,
                    kind,
                    f"{prefix}{qid}: to=<{rc[0]}>{orig}, relay={relay}, {conn_use}"
                    f"delay={fmt_delay((tt - arrival) / US)}, delays={fmt_delay(a_s)}/"
                    f"{fmt_delay(b_s)}/{fmt_delay(c_s)}/{fmt_delay(d_s)}, dsn={dsn}, "
                    f"status={status} ({resp})",
                )
                if perm:
                    bounced.append(rc[0])
            if perm:
                rlist.clear()
            return tt

        # per-recipient answers at RCPT TO, then the message for the accepted ones
        tt = t_conn
        keep: list = []
        accepted: list = []
        for item in rlist:
            rp = item[1]
            if rp[0] is None or rp[1] == 0:
                accepted.append(item)
                continue
            if rp[1] > 0:
                rp[1] -= 1
            rc = item[0]
            entry = self.texts.reply(d.family, rp[0])
            if entry is None:
                accepted.append(item)
                continue
            perm, dsn, stage, tmpl = entry
            tt += ri(2000, 60000)
            text = tmpl.format_map(Ctx(self.texts, tt, rc[0], d.domain, sender, ip))
            status, kind = ("bounced", K_BOUNCED) if perm else ("deferred", K_DEFERRED)
            delays = f"{fmt_delay(a_s)}/{fmt_delay(b_s)}/{fmt_delay(c_s)}/{fmt_delay((tt - t_conn) / US)}"
            add(
                tt,
                gi,
                kind,
                f"{prefix}{qid}: to=<{rc[0]}>{orig}, relay={relay}, {conn_use}"
                f"delay={fmt_delay((tt - arrival) / US)}, delays={delays}, dsn={dsn}, "
                f"status={status} (host {host}[{hip}] said: {text} "
                f"(in reply to {stage} command))",
            )
            if perm:
                bounced.append(rc[0])
            else:
                keep.append(item)
        if accepted:
            tt += ri(60_000, 900_000) + size // ri(800, 6000)
            d_s = (tt - t_conn) / US
            resp = self.texts.sent_reply(d, tt, msgid, size, d_s)
            delay = fmt_delay((tt - arrival) / US)
            delays = f"{fmt_delay(a_s)}/{fmt_delay(b_s)}/{fmt_delay(c_s)}/{fmt_delay(d_s)}"
            for item in accepted:
                tt += ri(5, 300)
                add(
                    tt,
                    gi,
                    K_SENT,
                    f"{prefix}{qid}: to=<{item[0][0]}>{orig}, relay={relay}, {conn_use}"
                    f"delay={delay}, delays={delays}, dsn=2.0.0, status=sent ({resp})",
                )
        rlist[:] = keep
        return tt

    def net_failure(self, fail: str, d: Dest, t: int, prefix: str, gi: int) -> tuple[str, str, int]:
        """(status text, relay, connection time) of a network-level failure; logs the extra lines."""
        ri = self.ri
        tried = (d.mx or [(f"mx.{d.domain}", (f"198.51.100.{ri(2, 254)}",))])[:2]  # smtp_mx_session_limit
        host, ips = tried[-1]
        hip = ips[0]
        if fail in ("net_timeout", "net_refused", "net_noroute"):
            why = {
                "net_timeout": "Connection timed out",
                "net_refused": "Connection refused",
                "net_noroute": "No route to host",
            }[fail]
            step = 30 * US if fail == "net_timeout" else ri(20_000, 300_000)
            c = 0
            for h, hips in tried[:-1]:
                c += step
                self.add(t + c, gi, K_OTHER, f"{prefix}connect to {h}[{hips[0]}]:25: {why}")
            c += step
            return f"connect to {host}[{hip}]:25: {why}", "none", c
        if fail == "net_lost":
            return (
                f"lost connection with {host}[{hip}] while receiving the initial server greeting",
                f"{host}[{hip}]:25",
                ri(50_000, 5_000_000),
            )
        if fail == "net_conv_timeout":
            return (
                f"conversation with {host}[{hip}] timed out while receiving the initial server greeting",
                f"{host}[{hip}]:25",
                300 * US + ri(0, 200_000),
            )
        if fail == "dns_temp":
            return (
                f"Host or domain name not found. Name service error for name={d.domain} type=MX: "
                f"Host not found, try again",
                "none",
                ri(10_000, 10_000_000),
            )
        if fail == "dns_perm":
            return (
                f"Host or domain name not found. Name service error for name={d.domain} type=MX: Host not found",
                "none",
                ri(5_000, 300_000),
            )
        if fail == "tls_required":
            return (
                f"TLS is required, but was not offered by host {host}[{hip}]",
                f"{host}[{hip}]:25",
                ri(50_000, 800_000),
            )
        # tls_cert
        c = ri(80_000, 900_000)
        self.add(
            t + c - 500,
            gi,
            K_OTHER,
            f"{prefix}certificate verification failed for {host}[{hip}]:25: untrusted issuer /CN=ca.{d.domain}",
        )
        return "Server certificate not verified", f"{host}[{hip}]:25", c
