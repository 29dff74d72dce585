"""The simulated world: recipient domains with their address pools, and the gateways' customers (senders).

Built once from the seeded random generator, in a fixed order, so the same seed gives the same world.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from random import Random

from relaywatch.loggen.catalogue import (
    BLOCKED_DOMAINS,
    CONSUMER_DOMAINS,
    CORPORATE_SHARE,
    FIRST,
    LAST,
    MX_TABLE,
    ORG_NAMES,
    ORG_PREFIXES,
    ORG_TLDS,
    ROLES,
    SENDER_ROLES,
    TLS_128,
    TLS_GOOGLE,
    TLS_MS,
    TLS_RSA13,
    TYPO_DOMAINS,
)
from relaywatch.loggen.replies import HARD_PROFILE, SOFT_PROFILE


class Dest:
    """A recipient domain: where its mail goes and how that side behaves."""

    __slots__ = ("domain", "family", "mx", "tls", "trust", "behavior", "pool", "soft_p", "soft", "hard_p", "hard")

    def __init__(
        self, domain: str, family: str, mx: list[tuple[str, tuple[str, ...]]], tls: str, trust: str, behavior: str
    ) -> None:
        self.domain = domain
        self.family = family
        self.mx = mx
        self.tls = tls
        self.trust = trust
        self.behavior = behavior  # normal, dead, flaky, greylist, nxdomain, tls_required, error
        self.pool: list[tuple[str, Dest, int]] = []
        sp, soft = SOFT_PROFILE.get(family, SOFT_PROFILE["postfix"])
        hp, hard = HARD_PROFILE.get(family, (0.0, ()))
        self.soft_p = sp
        self.soft = cum(soft)
        self.hard_p = hp
        self.hard = cum(hard)


@dataclass(slots=True)
class Sender:
    """A client of the gateway: one application or one SASL account with its sender addresses."""

    gi: int  # gateway index
    kind: str  # app (port 25 from mynetworks), user (SASL on submission), newsletter (campaigns)
    client: str  # "host[ip]" as smtpd logs it
    helo: str
    submission: bool
    sasl: str | None
    sasl_method: str | None
    addrs: list[str]
    domain: str
    dkim: tuple[str, str] | None  # (selector, domain) when opendkim signs for it
    tls: bool
    bad: bool  # poor reputation: more hard refusals and blacklist hits
    verp: bool  # a new VERP sender address per message (newsletters)
    weight: float


def cum(pairs: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    """Names and cumulative weights, for `pick`."""
    names = [p[0] for p in pairs]
    return names, list(accumulate(p[1] for p in pairs))


def pick(rng: Random, cum: tuple[list[str], list[float]]) -> str:
    """A name drawn by weight."""
    names, weights = cum
    return names[bisect_right(weights, rng.random() * weights[-1])]


class World:
    """Recipient domains and addresses, and per gateway its senders with their weights."""

    def __init__(self, rng: Random, ri: Callable[[int, int], int], ng: int, est_msgs: float) -> None:
        self.rng = rng
        self.ri = ri
        self.ng = ng
        self.est_msgs = est_msgs
        self.sender_dests: dict[str, Dest] = {}
        self._build_dests()
        self._build_senders()

    def pick_sender(self, gi: int) -> Sender:
        """A sender of gateway `gi`, drawn by weight."""
        cum = self.sender_cum[gi]
        return self.senders[gi][bisect_right(cum, self.rng.random() * cum[-1])]

    def _build_dests(self) -> None:
        """Consumer, company, typo and blocked domains with their weights, then the recipient address pool."""
        r = self.rng
        dests: list[Dest] = []
        weights: list[float] = []
        for dom, w, mxk, fam, tls in CONSUMER_DOMAINS:
            dests.append(Dest(dom, fam, MX_TABLE[mxk], tls, "Trusted", "normal"))
            weights.append(w)
        n_corp = int(min(4000, max(60, self.est_msgs / 60)))
        seen: dict[str, None] = {d.domain: None for d in dests}
        corp: list[Dest] = []
        while len(corp) < n_corp:
            d = self.corp_dest(self.org_domain(), seen)
            if d is not None:
                corp.append(d)
        for d in corp[:30]:  # the busiest company domains work (a dead one would flood the log)
            if d.behavior not in ("normal", "greylist"):
                d.behavior = "normal"
        cw = [1.0 / (i + 3) for i in range(len(corp))]
        scale = CORPORATE_SHARE / sum(cw)
        dests.extend(corp)
        weights.extend(w * scale for w in cw)
        for dom in TYPO_DOMAINS:
            dests.append(Dest(dom, "postfix", [], TLS_RSA13, "Trusted", "nxdomain"))
            weights.append(0.05)
        for dom in BLOCKED_DOMAINS:
            dests.append(Dest(dom, "postfix", [], TLS_RSA13, "Trusted", "error"))
            weights.append(0.04)
        self.seen_domains = seen
        # the recipient address pool, with per-address state: 0 ok, 1 unknown, 2 full, 3 disabled
        n_addr = int(min(300_000, max(3000, self.est_msgs / 3)))
        cum = list(accumulate(weights))
        total = cum[-1]
        pool: list[tuple[str, Dest, int]] = []
        corp_ids = {id(d) for d in corp}
        for _ in range(n_addr):
            d = dests[bisect_right(cum, r.random() * total)]
            local = self.local_part(id(d) in corp_ids)
            x = r.random()
            state = 1 if x < 0.02 else 2 if x < 0.024 else 3 if x < 0.027 else 0
            if d.behavior == "nxdomain":
                state = 0
            addr = f"{local}@{d.domain}"
            if r.random() < 0.015:
                addr = addr[:1].upper() + addr[1:]
            entry = (addr, d, state)
            pool.append(entry)
            d.pool.append(entry)
        self.pool = pool
        self.big_pool = [e for e in pool if e[1].family not in ("postfix", "exim", "exchange", "o365")]

    def org_domain(self) -> str:
        """A customer or company domain name."""
        r = self.rng
        name = r.choice(ORG_NAMES)
        if r.random() < 0.3:
            name = f"{name}-{r.choice(ORG_NAMES)}"
        return f"{r.choice(ORG_PREFIXES)}{name}{r.choice(ORG_TLDS)}"

    def corp_dest(self, dom: str, seen: dict[str, None], sender_side: bool = False) -> Dest | None:
        """A company domain with its own mail hosting and behaviour; None when the name is taken."""
        ri = self.ri
        if dom in seen:
            return None
        seen[dom] = None
        r = self.rng
        x = r.random()
        if x < 0.25:
            fam, mx, tls = "postfix", MX_TABLE["ovh"], TLS_RSA13
        elif x < 0.35:
            fam, mx, tls = "postfix", MX_TABLE["gandi"], TLS_RSA13
        elif x < 0.55:
            host = dom.replace(".", "-") + ".mail.protection.outlook.com"
            fam, mx, tls = (
                "o365",
                [(host, (f"52.101.{ri(64, 74)}.{ri(1, 250)}", f"52.101.{ri(64, 74)}.{ri(1, 250)}"))],
                TLS_MS,
            )
        elif x < 0.68:
            fam, mx, tls = "gmail", MX_TABLE["workspace"], TLS_GOOGLE
        else:
            fam = r.choice(("postfix", "postfix", "exim", "exchange"))
            ip1 = f"{r.choice(('198.51.100', '203.0.113'))}.{ri(2, 254)}"
            mx = [(f"mx1.{dom}", (ip1,))]
            if r.random() < 0.5:
                mx.append((f"mx2.{dom}", (f"{r.choice(('198.51.100', '203.0.113'))}.{ri(2, 254)}",)))
            tls = r.choice((TLS_RSA13, TLS_128))
        trust = "Trusted" if fam != "postfix" or r.random() < 0.8 else "Untrusted"
        behavior = "normal"
        if x >= 0.68:  # only self-hosted servers die, flap, greylist or lack TLS
            b = r.random()
            if sender_side:
                behavior = "greylist" if b < 0.15 else "normal"
            else:
                behavior = (
                    "dead"
                    if b < 0.03
                    else "flaky"
                    if b < 0.1
                    else "greylist"
                    if b < 0.35
                    else "tls_required"
                    if b < 0.365
                    else "normal"
                )
        return Dest(dom, fam, mx, tls, trust, behavior)

    def local_part(self, corporate: bool) -> str:
        """The local part of a person or, at a company, a role address."""
        ri = self.ri
        r = self.rng
        f, l_ = r.choice(FIRST), r.choice(LAST)
        x = r.random()
        if corporate and x < 0.25:
            return r.choice(ROLES)
        if x < 0.45:
            return f"{f}.{l_}"
        if x < 0.6:
            return f"{f}{l_}"
        if x < 0.7:
            return f"{f[0]}{l_}"
        if x < 0.8:
            return f"{f}.{l_}{ri(1, 99)}"
        if x < 0.9:
            return f"{l_}.{f}"
        return f"{f}{ri(1950, 2012)}"

    def _build_senders(self) -> None:
        """Per gateway, its customer organisations and their weighted senders."""
        senders: list[list[Sender]] = []
        cums: list[list[float]] = []
        for gi in range(self.ng):
            lst: list[Sender] = []
            n_org = int(min(400, max(25, self.est_msgs / 2000 / self.ng)))
            for _ in range(n_org):
                while True:
                    dom = self.org_domain()
                    d = self.corp_dest(dom, self.seen_domains, sender_side=True)
                    if d is not None:
                        break
                self.sender_dests[dom] = d
                lst.extend(self.org_senders(gi, dom, d))
            senders.append(lst)
            cums.append(list(accumulate(s.weight for s in lst)))
        self.senders = senders
        self.sender_cum = cums

    def org_senders(self, gi: int, dom: str, d: Dest) -> list[Sender]:
        """The accounts and applications of one customer organisation."""
        ri = self.ri
        r = self.rng
        out: list[Sender] = []
        size = r.paretovariate(1.2)
        dkim = (r.choice(("default", "mail", "rw2024", "s1", "dkim")), dom) if r.random() < 0.75 else None
        bad = r.random() < 0.04
        # an application on the customer's network, port 25, allowed by mynetworks
        if r.random() < 0.6:
            ip = f"10.{ri(0, 40)}.{ri(0, 255)}.{ri(2, 254)}"
            host = f"{r.choice(('web', 'app', 'crm', 'erp', 'srv', 'intranet'))}{ri(1, 9)}.{dom}"
            client = f"{host}[{ip}]" if r.random() < 0.8 else f"unknown[{ip}]"
            addrs = [f"{r.choice(SENDER_ROLES)}@{dom}" for _ in range(ri(1, 4))]
            out.append(
                Sender(
                    gi=gi,
                    kind="app",
                    client=client,
                    helo=host,
                    submission=False,
                    sasl=None,
                    sasl_method=None,
                    addrs=addrs,
                    domain=dom,
                    dkim=dkim,
                    tls=r.random() < 0.5,
                    bad=bad,
                    verp=False,
                    weight=size * 6,
                )
            )
        # people and office software with SASL on submission
        for _ in range(ri(1, 6)):
            login = f"{self.local_part(False)}@{dom}"
            net = r.choice(("198.51.100", "203.0.113", "192.0.2"))
            ip = f"{net}.{ri(2, 254)}"
            if r.random() < 0.5:
                client = f"unknown[{ip}]"
            else:
                client = f"{r.choice(('box', 'fw', 'gw'))}-{ip.replace('.', '-')}.{dom}[{ip}]"
            helo = r.choice(
                (f"[{ip}]", f"PC-{r.choice(LAST).upper()}", f"LAPTOP-{r.getrandbits(28):07X}", "localhost.localdomain")
            )
            addrs = [login] if r.random() < 0.8 else [login, f"{r.choice(ROLES)}@{dom}"]
            out.append(
                Sender(
                    gi=gi,
                    kind="user",
                    client=client,
                    helo=helo,
                    submission=True,
                    sasl=login,
                    sasl_method="LOGIN" if r.random() < 0.3 else "PLAIN",
                    addrs=addrs,
                    domain=dom,
                    dkim=dkim,
                    tls=True,
                    bad=bad,
                    verp=False,
                    weight=size,
                )
            )
        # a few organisations send newsletters in campaigns
        if r.random() < 0.12:
            ip = f"10.{ri(40, 60)}.{ri(0, 255)}.{ri(2, 254)}"
            host = f"newsletter.{dom}"
            verp = r.random() < 0.5
            addr = f"bounce@{dom}" if verp else f"newsletter@{dom}"
            out.append(
                Sender(
                    gi=gi,
                    kind="newsletter",
                    client=f"{host}[{ip}]",
                    helo=host,
                    submission=False,
                    sasl=None,
                    sasl_method=None,
                    addrs=[addr],
                    domain=dom,
                    dkim=dkim or ("mail", dom),
                    tls=True,
                    bad=bad,
                    verp=verp,
                    weight=0.0025 * size,
                )
            )
        return out

    def sender_dest(self, dom: str) -> Dest:
        """Where mail to a sender's domain goes (notifications are delivered there)."""
        d = self.sender_dests.get(dom)
        if d is None:
            mx = [(f"mx1.{dom}", (f"203.0.113.{len(dom) * 7 % 250 + 2}",))]
            d = self.sender_dests[dom] = Dest(dom, "postfix", mx, TLS_RSA13, "Trusted", "normal")
        return d
