"""Text in providers' and Postfix's own styles: tracking ids, stamps, reply templates and their fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from random import Random
from typing import TYPE_CHECKING

from relaywatch.loggen.common import ALNUM, MONTHS, US
from relaywatch.loggen.replies import FALLBACK, REPLIES

if TYPE_CHECKING:
    from relaywatch.loggen.world import Dest


class Ctx(dict):
    """Template fields made on demand (tracking ids, timestamps) so only used ones cost anything."""

    def __init__(self, texts: Texts, ts: int, rcpt: str, domain: str, sender: str, ip: str) -> None:
        super().__init__(rcpt=rcpt, domain=domain, sender=sender, ip=ip, sdomain=sender.rpartition("@")[2] or domain)
        self.texts = texts
        self.ts = ts

    def __missing__(self, key: str) -> str:
        g = self.texts
        r = g.rng
        ri = g.ri
        if key == "g":
            return g.gmail_id()
        if key == "pepf":
            return g.ms_pepf()
        if key == "iso":
            return (
                datetime.fromtimestamp(self.ts / US, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{(self.ts // 1000) % 1000:03d}Z"
            )
        if key == "h16":
            return f"{r.getrandbits(64):016X}"
        if key == "ymta":
            return f"mta{ri(1000, 5000)}.mail.{r.choice(('ir2', 'bf1', 'gq1', 'ne1'))}.yahoo.com"
        if key == "n2":
            return f"{ri(10, 60)}"
        if key == "gmxid":
            return g.token(6) + "-" + g.token(10) + "-" + g.token(6)
        raise KeyError(key)


class Texts:
    """Random ids and formatted stamps from the simulation's random generator, and the reply catalogue lookup."""

    def __init__(self, rng: Random, ri: Callable[[int, int], int], tz: tzinfo) -> None:
        self.rng = rng
        self.ri = ri
        self.tz = tz

    def token(self, n: int) -> str:
        """Random letters and digits (provider message ids)."""
        r = self.rng.getrandbits(6 * n)
        out = []
        for _ in range(n):
            out.append(ALNUM[(r & 63) % 62])
            r >>= 6
        return "".join(out)

    def gmail_id(self) -> str:
        """Gmail's per-message tracking id, as in '... - gsmtp'."""
        ri = self.ri
        r = self.rng
        letters = ALNUM[ri(0, 26)] + ALNUM[ri(0, 26)] + ALNUM[ri(0, 26)]
        return f"{r.getrandbits(52):013x}-{r.getrandbits(44):011x}si{ri(1000000, 9999999)}{letters}.{ri(1, 999)}"

    def ms_pepf(self) -> str:
        """An Exchange Online front-end host name, as Microsoft puts in its replies."""
        ri = self.ri
        r = self.rng
        return (
            f"{r.choice(('AM4', 'DB1', 'AMS0', 'FRA1', 'DU2', 'PA7'))}PEPF0000{r.getrandbits(16):04X}."
            f"eurprd{ri(1, 9):02d}.prod.outlook.com"
        )

    def stamp(self, t: int) -> str:
        """Local YYYYmmddHHMMSS, as in Postfix-made Message-IDs."""
        return datetime.fromtimestamp(t // US, self.tz).strftime("%Y%m%d%H%M%S")

    def syslog_stamp(self, t: int) -> str:
        """'Nov  4 15:55:01' in local time, as anvil and scache print it."""
        dt = datetime.fromtimestamp(t // US, self.tz)
        return f"{MONTHS[dt.month - 1]} {dt.day:2d} {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"

    def reply(self, fam: str, reason: str) -> tuple[bool, str, str, str] | None:
        """A reply of `reason` in the style of `fam`, falling back to a generic Postfix server."""
        cat = REPLIES.get(fam, {}).get(reason)
        if cat is None:
            fb = FALLBACK.get(fam)
            cat = REPLIES.get(fb, {}).get(reason) if fb else None
        if cat is None:
            cat = REPLIES["postfix"].get(reason)
        if cat is None:
            return None
        return cat[0] if len(cat) == 1 else self.rng.choice(cat)

    def sent_reply(self, d: Dest, t: int, msgid: str, size: int, d_s: float) -> str:
        """The 250 reply of the destination's software."""
        ri = self.ri
        r = self.rng
        fam = d.family
        if fam == "gmail":
            return f"250 2.0.0 OK  {t // US} {self.gmail_id()} - gsmtp"
        if fam in ("microsoft", "o365"):
            secs = max(0.01, d_s * 0.3)
            host = (
                f"{r.choice(('AM8PR', 'PAXPR', 'DB9PR', 'VI1PR', 'AS8PR'))}{ri(1, 10):02d}MB"
                f"{ri(1000, 9999)}.eurprd{ri(1, 10):02d}.prod.outlook.com"
            )
            return (
                f"250 2.6.0 <{msgid}> [InternalId={ri(10**12, 10**14)}, Hostname={host}] {size} "
                f"bytes in {secs:.3f}, {size / 1024 / secs:.3f} KB/sec Queued mail for delivery "
                f"-> 250 2.1.5"
            )
        if fam == "yahoo":
            return "250 ok dirdel"
        if fam in ("orange", "sfr"):
            return f"250 2.0.0 {self.token(13)} mail accepted for delivery"
        if fam == "gmx":
            gmx_id = f"{self.token(6)}-{self.token(10)}-{self.token(6)}"
            return f"250 Requested mail action okay, completed: id={gmx_id}"
        if fam == "exim":
            return f"250 OK id={self.token(6)}-{self.token(6)}-{self.token(2)}"
        if fam == "exchange":
            return (
                f"250 2.6.0 <{msgid}> [InternalId={ri(10**11, 10**13)}, Hostname=EXCH"
                f"{ri(1, 4):02d}.{d.domain}] Queued mail for delivery"
            )
        if fam == "apple":
            return f"250 2.0.0 Ok: queued as {r.getrandbits(48):012X}"
        return f"250 2.0.0 Ok: queued as {self.token(12)}"
