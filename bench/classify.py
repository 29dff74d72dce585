"""Time classify_frame on a million synthetic deliveries with realistic reply variety.

Every reply embeds what makes real logs diverse: queue and message ids, recipient addresses, IPs, MX host
names of thousands of domains, Gmail/Outlook transaction ids. Usage:
    .venv/bin/python bench/classify.py [--rows N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import string
import time

import polars as pl

from warehouse.classify import classify_frame, load_rules

HEX = "0123456789ABCDEF"


class Faker:
    """Random volatile parts of replies, drawn from bounded pools like a real gateway's traffic."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.domains = [
            f"{self.word(7)}{rng.randint(1, 999)}.{rng.choice(['com', 'fr', 'net', 'org', 'de'])}" for _ in range(5000)
        ]
        self.locals = [self.word(rng.randint(4, 10)) for _ in range(50_000)]
        self.gateway_ips = [self.ip() for _ in range(8)]  # the IPs remote servers quote back at us

    def word(self, n: int) -> str:
        return "".join(self.rng.choice(string.ascii_lowercase) for _ in range(n))

    def qid(self) -> str:
        return "".join(self.rng.choice(HEX) for _ in range(self.rng.randint(10, 12)))

    def ip(self) -> str:
        return ".".join(str(self.rng.randint(1, 254)) for _ in range(4))

    def our_ip(self) -> str:
        return self.rng.choice(self.gateway_ips)

    def domain(self) -> str:
        return self.rng.choice(self.domains)

    def addr(self, domain: str | None = None) -> str:
        return f"{self.rng.choice(self.locals)}@{domain or self.domain()}"

    def mx(self) -> str:
        return f"mx{self.rng.randint(1, 3)}.{self.domain()}"

    def gid(self) -> str:
        r = self.rng
        return f"{self.word(1)}{r.randint(10, 99)}si{r.randint(10**6, 10**9)}{self.word(3)}.{r.randint(1, 999)}"

    def mshost(self) -> str:
        r = self.rng
        return (
            f"{self.word(2).upper()}{r.randint(1, 9)}PR{r.randint(10, 99)}MB{r.randint(1000, 9999)}."
            f"eurprd{r.randint(1, 9):02d}.prod.outlook.com"
        )


def sent(f: Faker) -> tuple[str, str, str]:
    r = f.rng
    return r.choice(
        [
            ("2.0.0", "sent", f"250 2.0.0 Ok: queued as {f.qid()}"),
            ("2.0.0", "sent", f"250 2.0.0 OK  {r.randint(10**9, 2 * 10**9)} {f.gid()} - gsmtp"),
            (
                "2.6.0",
                "sent",
                f"250 2.6.0 <{f.qid()}@{f.domain()}> [InternalId={r.randint(10**12, 10**13)}, "
                f"Hostname={f.mshost()}] {r.randint(2000, 90000)} bytes in {r.random():.3f}, "
                f"{r.random() * 900:.3f} KB/sec Queued mail for delivery",
            ),
            ("2.0.0", "sent", f"250 2.0.0 {f.qid()} Message accepted for delivery"),
            ("2.0.0", "sent", f"250 ok {r.randint(10**9, 2 * 10**9)} qp {r.randint(1000, 99999)}"),
        ]
    )


def deferred(f: Faker) -> tuple[str, str, str]:
    r = f.rng
    mx, ip, addr = f.mx(), f.ip(), f.addr()
    return r.choice(
        [
            ("4.4.1", "deferred", f"connect to {mx}[{ip}]:25: Connection timed out"),
            ("4.4.1", "deferred", f"delivery temporarily suspended: connect to {mx}[{ip}]:25: Connection refused"),
            ("4.4.2", "deferred", f"lost connection with {mx}[{ip}] while receiving the initial server greeting"),
            (
                "4.4.3",
                "deferred",
                f"Host or domain name not found. Name service error for name={f.domain()} type=MX: "
                "Host not found, try again",
            ),
            (
                "4.2.0",
                "deferred",
                f"host {mx}[{ip}] said: 450 4.2.0 <{addr}>: Recipient address rejected: "
                f"Greylisted, see http://postgrey.schweikert.ch/help/{f.domain()}.html "
                "(in reply to RCPT TO command)",
            ),
            (
                "4.7.0",
                "deferred",
                f"host mta{r.randint(5, 7)}.am0.yahoodns.net[{ip}] said: 421 4.7.0 [TSS04] "
                f"Messages from {f.our_ip()} temporarily deferred due to unexpected volume or user "
                "complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes "
                "(in reply to MAIL FROM command)",
            ),
            (
                "4.0.0",
                "deferred",
                f"host smtp-in.orange.fr[{ip}] refused to talk to me: 421 mwinf{r.randint(5000, 5999)}c"
                f"{r.randint(10, 99)} ME Service refuse. Veuillez essayer plus tard. Service refused, "
                "please try later. OFR_999 [999]",
            ),
            (
                "4.7.650",
                "deferred",
                f"host outlook-com.olc.protection.outlook.com[{ip}] said: 451 4.7.650 The mail server "
                f"[{f.our_ip()}] has been temporarily rate limited due to IP reputation. For e-mail "
                f"delivery information, see https://postmaster.live.com (S775) [{f.mshost()}] "
                "(in reply to MAIL FROM command)",
            ),
            (
                "4.2.2",
                "deferred",
                f"host gmail-smtp-in.l.google.com[{ip}] said: 452-4.2.2 The email account that you tried "
                "to reach is over quota. Please direct 452-4.2.2 the recipient to 452 4.2.2 "
                f"https://support.google.com/mail/?p=OverQuotaTemp {f.gid()} - gsmtp "
                "(in reply to RCPT TO command)",
            ),
        ]
    )


def bounced(f: Faker) -> tuple[str, str, str]:
    r = f.rng
    mx, ip, addr = f.mx(), f.ip(), f.addr()
    return r.choice(
        [
            (
                "5.1.1",
                "bounced",
                f"host gmail-smtp-in.l.google.com[{ip}] said: 550-5.1.1 The email account that you "
                "tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's "
                "email address for typos or 550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1 "
                f"https://support.google.com/mail/?p=NoSuchUser {f.gid()} - gsmtp "
                "(in reply to RCPT TO command)",
            ),
            (
                "5.1.1",
                "bounced",
                f"host {mx}[{ip}] said: 550 5.1.1 <{addr}>: Recipient address rejected: User unknown "
                "in virtual alias table (in reply to RCPT TO command)",
            ),
            (
                "5.5.0",
                "bounced",
                f"host {f.domain().replace('.', '-')}.mail.protection.outlook.com[{ip}] said: 550 5.5.0 "
                f"Requested action not taken: mailbox unavailable (S2017062302). [{f.mshost()}] "
                "(in reply to RCPT TO command)",
            ),
            (
                "5.2.2",
                "bounced",
                f"host {mx}[{ip}] said: 552 5.2.2 <{addr}>: Recipient address rejected: Quota exceeded "
                "(in reply to RCPT TO command)",
            ),
            (
                "5.4.4",
                "bounced",
                f"Host or domain name not found. Name service error for name={f.domain()} type=A: Host not found",
            ),
            (
                "5.7.1",
                "bounced",
                f"host {mx}[{ip}] said: 554 5.7.1 Service unavailable; Client host [{f.our_ip()}] blocked "
                f"using zen.spamhaus.org; https://www.spamhaus.org/query/ip/{f.our_ip()} "
                "(in reply to RCPT TO command)",
            ),
            (
                "5.0.0",
                "bounced",
                f"host mta{r.randint(5, 7)}.am0.yahoodns.net[{ip}] said: 554 delivery error: dd This "
                f"user doesn't have a yahoo.com account ({addr}) [-5] - "
                f"mta{r.randint(1000, 9999)}.mail.bf1.yahoo.com (in reply to end of DATA command)",
            ),
            (
                "5.7.26",
                "bounced",
                f"host gmail-smtp-in.l.google.com[{ip}] said: 550-5.7.26 Unauthenticated email from "
                f"{f.domain()} is not accepted due to 550-5.7.26 domain's DMARC policy. {f.gid()} - gsmtp"
                " (in reply to end of DATA command)",
            ),
        ]
    )


def generate(rows: int, seed: int) -> pl.DataFrame:
    """rows deliveries: ~72% sent, ~18% deferred, ~9% bounced, ~1% expired."""
    rng = random.Random(seed)
    faker = Faker(rng)
    dsn, status, response = [], [], []
    for _ in range(rows):
        pick = rng.random()
        if pick < 0.72:
            row = sent(faker)
        elif pick < 0.90:
            row = deferred(faker)
        elif pick < 0.99:
            row = bounced(faker)
        else:
            row = (None, "expired", None)
        dsn.append(row[0])
        status.append(row[1])
        response.append(row[2])
    return pl.DataFrame(
        {"dsn": dsn, "status": status, "response": response},
        schema={"dsn": pl.String, "status": pl.String, "response": pl.String},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()

    started = time.perf_counter()
    frame = generate(args.rows, args.seed)
    print(
        f"generated {frame.height:,} deliveries in {time.perf_counter() - started:.1f} s "
        f"({frame['response'].n_unique():,} distinct reply texts)"
    )
    rules = load_rules(None)
    classify_frame(frame.head(1000), rules=rules)  # warm-up: rule table loaded and validated once

    timings = []
    for _ in range(3):
        started = time.perf_counter()
        result = classify_frame(frame, rules=rules)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    print(
        f"classify_frame: best {best:.2f} s of {len(timings)} runs "
        f"({frame.height / best:,.0f} rows/s; runs: {', '.join(f'{t:.2f}' for t in timings)})"
    )
    print(result.group_by("qualification", "reason").len().sort("len", descending=True))


if __name__ == "__main__":
    main()
