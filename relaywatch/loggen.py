"""Realistic Postfix 3.7 (Debian 12) logs of outgoing gateways, for tests and benchmarks.

    python -m relaywatch.loggen --lines 2000000 --days 7 --gateways gw1,gw2,gw3 --seed 1 --out mail.log \
        [--format syslog|rfc3339|journal] [--per-gateway-dir DIR] [--start 2026-11-16T00:00:00+01:00]

The generator simulates what a relay really logs: SMTP sessions from applications and SASL users
(port 25 and submission), cleanup/qmgr/smtp lines of every message, deliveries to real providers'
MX hosts with their real reply styles, retries with Postfix's back-off over days, expiry after five
days, non-delivery notifications that are messages of their own, NOQUEUE rejects, SASL brute force,
queue ids that recycle, and the noise around them (anvil, scache, TLS, CRON, dovecot, opendkim).
Lines of all processes and gateways are interleaved in time order.

Every line is counted as it is written, so `GenerateStats` is the exact truth about the file
(a log cut at N lines leaves messages in flight, as a real log does).

Timestamp formats: syslog is rsyslog's traditional "Nov  4 15:55:01"; rfc3339 is rsyslog's high
precision "2026-11-04T15:55:01.123456+01:00" (Debian 12's default); journal is `journalctl -o
short-iso-precise`, "2026-11-04T15:55:01.123456+0100". The host field is the gateway name.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import sys
import time
from bisect import bisect_right
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import accumulate
from pathlib import Path
from random import Random
from typing import Literal, TextIO

Format = Literal["syslog", "rfc3339", "journal"]
FORMATS: tuple[str, ...] = ("syslog", "rfc3339", "journal")

US = 1_000_000
PID_MAX = 4_194_304  # Debian 12 kernel.pid_max
MAX_QUEUE_LIFETIME = 5 * 86400 * US  # maximal_queue_lifetime / bounce_queue_lifetime
MIN_BACKOFF = 300 * US
MAX_BACKOFF = 4000 * US
QUEUE_RUN_DELAY = 300 * US
DELAY_WARNING = 4 * 3600 * US  # delay_warning_time on gateways with an odd index
BUCKET_SHIFT = 26  # lines are bucketed by ~67 s of time before sorting and writing
P_RECYCLE = 0.005  # a new message takes the queue id of one that just left the queue
POSTFIX_VERSION = "3.7.11"

# Line kinds, counted when written.
(K_OTHER, K_RECEIVED, K_MESSAGE, K_SENT, K_DEFERRED, K_BOUNCED, K_EXPIRED, K_NDR, K_DELAY_NOTICE,
 K_REJECT, K_REMOVED, K_SASL_FAIL) = range(12)
KIND_FIELDS = ("other", "received", "messages", "sent", "deferred", "bounced", "expired", "ndrs",
               "delay_notifications", "rejects", "removed", "sasl_failures")
NK = len(KIND_FIELDS)

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
HEX = "0123456789abcdef"
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Relative arrival rate per local hour, Monday..Friday; weekends are quieter.
HOURLY = (0.25, 0.2, 0.15, 0.15, 0.15, 0.2, 0.4, 0.8, 1.4, 1.7, 1.8, 1.7,
          1.3, 1.4, 1.6, 1.6, 1.5, 1.3, 1.0, 0.8, 0.7, 0.6, 0.45, 0.35)
WEEKEND = 0.4

# Delay values as Postfix prints them: 2 significant digits, at most 2 decimals, trailing zeros dropped.
_CENTI = ["0"] + [(f"0.{v:02d}".rstrip("0")) for v in range(1, 100)]
_DECI = [f"{v // 10}.{v % 10}" if v % 10 else str(v // 10) for v in range(100)]


def fmt_delay(x: float) -> str:
    """Format a delay in seconds the way Postfix's format_tv() does (delay=, delays=)."""
    if x >= 9.95:
        return str(int(x + 0.5))
    if x >= 0.995:
        return _DECI[int(x * 10 + 0.5)]
    return _CENTI[int(x * 100 + 0.5)]


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
        out: dict[str, object] = {k: getattr(self, k) for k in (
            "lines", *KIND_FIELDS, "recycled_queue_ids", "seconds")}
        out["deliveries"] = self.deliveries
        out["first_ts"] = self.first_ts.isoformat() if self.first_ts else None
        out["last_ts"] = self.last_ts.isoformat() if self.last_ts else None
        out["per_gateway"] = self.per_gateway
        return out


# ----------------------------------------------------------------------------------------------------
# Static world: providers, their MX hosts and reply styles, destinations, senders.

# family -> (MX hosts with addresses, TLS line tail, trust)
_TLS13 = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature "
TLS_GOOGLE = _TLS13 + "ECDSA (P-256) server-digest SHA256"
TLS_RSA13 = _TLS13 + "RSA-PSS (2048 bits) server-digest SHA256"
TLS_MS = ("TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits) key-exchange X25519 "
          "server-signature RSA-PSS (2048 bits) server-digest SHA256")
TLS_128 = ("TLSv1.2 with cipher ECDHE-RSA-AES128-GCM-SHA256 (128/128 bits) key-exchange X25519 "
           "server-signature RSA-PSS (4096 bits) server-digest SHA256")

MX_TABLE: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "gmail": [("gmail-smtp-in.l.google.com", ("142.250.27.26", "142.250.27.27", "142.251.9.26",
                                              "2a00:1450:4025:402::1a")),
              ("alt1.gmail-smtp-in.l.google.com", ("142.250.153.27", "2a00:1450:4013:c16::1b")),
              ("alt2.gmail-smtp-in.l.google.com", ("64.233.184.27",))],
    "hotmail": [("hotmail-com.olc.protection.outlook.com", ("52.101.68.17", "52.101.73.22",
                                                            "52.101.194.8", "52.101.42.1"))],
    "outlook": [("outlook-com.olc.protection.outlook.com", ("52.101.68.9", "52.101.73.4", "52.101.11.0"))],
    "eur_olc": [("eur.olc.protection.outlook.com", ("52.101.73.31", "52.101.68.11", "52.101.194.19"))],
    "yahoo": [("mta5.am0.yahoodns.net", ("67.195.204.72", "98.136.96.77")),
              ("mta6.am0.yahoodns.net", ("67.195.228.106", "98.136.96.91")),
              ("mta7.am0.yahoodns.net", ("67.195.204.77",))],
    "orange": [("smtp-in.orange.fr", ("193.252.22.65", "193.252.22.84", "80.12.26.27"))],
    "free": [("mx1.free.fr", ("212.27.48.6", "212.27.48.7")), ("mx2.free.fr", ("212.27.42.56",))],
    "sfr": [("smtp-in.sfr.fr", ("93.17.128.3", "93.17.128.19"))],
    "laposte": [("smtp-in.laposte.net", ("160.92.124.66", "160.92.124.68"))],
    "gmx": [("mx00.emig.gmx.net", ("212.227.15.9",)), ("mx01.emig.gmx.net", ("212.227.17.5",))],
    "webde": [("mx-ha02.web.de", ("212.227.15.41",)), ("mx-ha03.web.de", ("212.227.17.8",))],
    "icloud": [("mx01.mail.icloud.com", ("17.57.154.6", "17.57.155.37")),
               ("mx02.mail.icloud.com", ("17.57.156.29", "17.42.251.41"))],
    "ovh": [("mx1.mail.ovh.net", ("188.165.36.237",)), ("mx2.mail.ovh.net", ("188.165.51.139",)),
            ("mx3.mail.ovh.net", ("87.98.181.140",))],
    "gandi": [("spool.mail.gandi.net", ("217.70.178.1",)), ("fb.mail.gandi.net", ("217.70.178.217",))],
    "workspace": [("aspmx.l.google.com", ("142.250.153.26", "74.125.206.27")),
                  ("alt1.aspmx.l.google.com", ("142.250.150.27",))],
}

# Consumer domains: (domain, weight, mx key, reply family, TLS tail)
CONSUMER_DOMAINS: tuple[tuple[str, float, str, str, str], ...] = (
    ("gmail.com", 28, "gmail", "gmail", TLS_GOOGLE), ("googlemail.com", 0.4, "gmail", "gmail", TLS_GOOGLE),
    ("hotmail.fr", 5, "eur_olc", "microsoft", TLS_MS), ("hotmail.com", 4, "hotmail", "microsoft", TLS_MS),
    ("outlook.fr", 3, "eur_olc", "microsoft", TLS_MS), ("outlook.com", 2, "outlook", "microsoft", TLS_MS),
    ("live.fr", 2, "eur_olc", "microsoft", TLS_MS), ("msn.com", 0.5, "hotmail", "microsoft", TLS_MS),
    ("yahoo.fr", 3, "yahoo", "yahoo", TLS_MS), ("yahoo.com", 1.5, "yahoo", "yahoo", TLS_MS),
    ("aol.com", 0.4, "yahoo", "yahoo", TLS_MS),
    ("orange.fr", 10, "orange", "orange", TLS_128), ("wanadoo.fr", 3, "orange", "orange", TLS_128),
    ("free.fr", 6, "free", "free", TLS_RSA13), ("sfr.fr", 3, "sfr", "sfr", TLS_128),
    ("neuf.fr", 1, "sfr", "sfr", TLS_128), ("laposte.net", 4, "laposte", "laposte", TLS_128),
    ("gmx.de", 1, "gmx", "gmx", TLS_RSA13), ("gmx.fr", 0.5, "gmx", "gmx", TLS_RSA13),
    ("web.de", 0.5, "webde", "gmx", TLS_RSA13),
    ("icloud.com", 2.5, "icloud", "apple", TLS_RSA13), ("me.com", 0.5, "icloud", "apple", TLS_RSA13),
)
CORPORATE_SHARE = 25.0  # weight of all corporate domains together, against the consumer weights above
TYPO_DOMAINS = ("gmial.com", "gmai.com", "hotmial.fr", "orang.fr", "yahooo.fr", "lapost.net", "gmail.fe")
BLOCKED_DOMAINS = ("mailinator.com", "yopmail.com")  # transport_map: error:5.7.1 on these

ORG_PREFIXES = ("mairie-", "clinique-", "cabinet-", "transports-", "agence-", "groupe-", "atelier-",
                "immo-", "pharmacie-", "hotel-", "college-", "lycee-", "camping-", "garage-", "asso-",
                "cc-", "notaires-", "ehpad-", "ville-", "office-tourisme-", "", "", "", "")
ORG_NAMES = ("durand", "lemoine", "dupuis", "martin", "bernard", "leroy", "moreau", "girard", "fournier",
             "mercier", "bonnet", "lambert", "fontaine", "rousseau", "vincent", "muller", "lefevre",
             "faure", "gauthier", "des-lilas", "saint-andre", "du-port", "de-la-gare", "les-pins",
             "bellevue", "val-de-loire", "haute-vallee", "armor", "cevennes", "provence-sud",
             "rives-du-lot", "trois-chenes", "belair", "beausoleil", "grand-ouest", "alpes-maritimes",
             "pays-basque", "vosges-nord", "bocage", "littoral", "marais", "plateau", "quercy", "sologne")
ORG_TLDS = (".fr", ".fr", ".fr", ".com", ".eu", ".org", ".net", ".bzh")
FIRST = ("jean", "marie", "pierre", "sophie", "nicolas", "julie", "thomas", "camille", "laurent",
         "isabelle", "philippe", "nathalie", "eric", "sandrine", "david", "celine", "olivier", "aurelie",
         "franck", "emilie", "michel", "claire", "antoine", "lea", "hugo", "chloe", "lucas", "manon",
         "mohamed", "fatima", "kevin", "sarah", "yann", "gwenaelle", "paul", "anne", "louis", "ines")
LAST = ("martin", "bernard", "dubois", "thomas", "robert", "richard", "petit", "durand", "leroy",
        "moreau", "simon", "laurent", "lefebvre", "michel", "garcia", "david", "bertrand", "roux",
        "vincent", "fournier", "morel", "girard", "andre", "lefevre", "mercier", "dupont", "lambert",
        "bonnet", "francois", "martinez", "legrand", "garnier", "faure", "rousseau", "blanc", "guerin",
        "muller", "henry", "roussel", "nicolas", "perrin", "morin", "mathieu", "clement", "gauthier")
ROLES = ("contact", "compta", "direction", "rh", "info", "accueil", "commercial", "secretariat",
         "factures", "support", "ventes", "mairie", "admin", "service.client", "rdv")
SENDER_ROLES = ("noreply", "no-reply", "notifications", "contact", "facturation", "info", "newsletter",
                "rdv", "alertes", "support", "ne-pas-repondre", "commandes")
SCANNER_HELOS = ("WIN-CLJ1B0GQ6JP", "User", "ylmf-pc", "localhost", "EHLO", "mail.example.com", "test")
CRON_CMDS = ("command -v debian-sa1 > /dev/null && debian-sa1 1 1",)

# Reply catalogues: family -> reason -> list of (permanent, dsn, stage, template).
# Templates use str.format_map with lazily generated fields (see _Ctx).
GMAIL_T = " {g} - gsmtp"
MS_T = " [{pepf} {iso} {h16}]"
REPLIES: dict[str, dict[str, list[tuple[bool, str, str, str]]]] = {
    "gmail": {
        "user_unknown": [(True, "5.1.1", "RCPT TO",
                          "550-5.1.1 The email account that you tried to reach does not exist. Please try "
                          "550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 "
                          "unnecessary spaces. For more information, go to 550 5.1.1  "
                          "https://support.google.com/mail/?p=NoSuchUser" + GMAIL_T)],
        "disabled": [(True, "5.2.1", "RCPT TO",
                      "550-5.2.1 The email account that you tried to reach is disabled. For more "
                      "550-5.2.1 information, go to 550 5.2.1  https://support.google.com/mail/?p=DisabledUser"
                      + GMAIL_T)],
        "mailbox_full": [(False, "4.2.2", "RCPT TO",
                          "452-4.2.2 The recipient's inbox is out of storage space. Please direct the "
                          "452-4.2.2 recipient to 452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp"
                          + GMAIL_T)],
        "rate_limited": [(False, "4.7.28", "end of DATA",
                          "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail. To protect "
                          "421-4.7.28 our users from spam, mail has been temporarily rate limited. For more "
                          "421-4.7.28 information, go to 421-4.7.28  "
                          "https://support.google.com/mail/?p=UnsolicitedRateLimitError 421 4.7.28  review "
                          "our Bulk Email Senders Guidelines." + GMAIL_T)],
        "reputation": [(False, "4.7.0", "end of DATA",
                        "421-4.7.0 [{ip}      15] Our system has detected an unusual rate of 421-4.7.0 "
                        "unsolicited mail originating from your IP address. To protect our 421-4.7.0 users "
                        "from spam, mail sent from your IP address has been temporarily 421-4.7.0 rate "
                        "limited. For more information, go to 421 4.7.0  "
                        "https://support.google.com/mail/?p=UnsolicitedIPError" + GMAIL_T)],
        "auth_policy": [(True, "5.7.26", "end of DATA",
                         "550-5.7.26 Unauthenticated email from {sdomain} is not accepted due to 550-5.7.26 "
                         "domain's DMARC policy. Please contact the administrator of 550-5.7.26 {sdomain} "
                         "domain if this was a legitimate mail. To learn about the 550-5.7.26 DMARC "
                         "initiative, go to 550 5.7.26  https://support.google.com/mail/?p=DmarcRejection"
                         + GMAIL_T)],
        "spam_content": [(True, "5.7.1", "end of DATA",
                          "550-5.7.1 [{ip}      12] Gmail has detected that this message is likely "
                          "550-5.7.1 unsolicited mail. To reduce the amount of spam sent to Gmail, this "
                          "550-5.7.1 message has been blocked. For more information, go to 550 5.7.1  "
                          "https://support.google.com/mail/?p=UnsolicitedMessageError" + GMAIL_T)],
        "message_too_large": [(True, "5.2.3", "end of DATA",
                               "552-5.2.3 Your message exceeded Google's message size limits. For more "
                               "552-5.2.3 information, go to 552 5.2.3  "
                               "https://support.google.com/mail/?p=MaxSizeError" + GMAIL_T)],
    },
    "microsoft": {
        "user_unknown": [(True, "5.5.0", "RCPT TO",
                          "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302)." + MS_T)],
        "reputation": [(True, "5.7.1", "MAIL FROM",
                        "550 5.7.1 Unfortunately, messages from [{ip}] weren't sent. Please contact your "
                        "Internet service provider since part of their network is on our block list "
                        "(S3150). You can also refer your provider to "
                        "http://mail.live.com/mail/troubleshooting.aspx#errors." + MS_T)],
        "busy": [(False, "4.7.500", "MAIL FROM",
                  "451 4.7.500 Server busy. Please try again later from [{ip}]. (S77719)" + MS_T)],
        "rate_limited": [(False, "4.7.650", "MAIL FROM",
                          "451 4.7.650 The mail server [{ip}] has been temporarily rate limited due to IP "
                          "reputation. For e-mail delivery information, see https://postmaster.live.com "
                          "(S775)" + MS_T)],
        "auth_policy": [(True, "5.7.515", "end of DATA",
                         "550 5.7.515 Access denied, sending domain {sdomain} doesn't meet the required "
                         "authentication level. The sender's domain in the 5322.From address doesn't meet "
                         "the authentication requirements defined for the sender. To learn more, visit "
                         "https://go.microsoft.com/fwlink/?linkid=2223003." + MS_T)],
        "mailbox_full": [(False, "4.2.2", "RCPT TO",
                          "452 4.2.2 The recipient's mailbox is full and can't accept messages now. Please "
                          "try resending this message later, or contact the recipient directly." + MS_T)],
        "disabled": [(True, "5.2.1", "RCPT TO",
                      "550 5.2.1 The email account that you tried to reach is disabled. (S2017062302)."
                      + MS_T)],
    },
    "o365": {
        "user_unknown": [(True, "5.4.1", "RCPT TO",
                          "550 5.4.1 Recipient address rejected: Access denied. For more information see "
                          "https://aka.ms/EXOSmtpErrors" + MS_T)],
        "mailbox_full": [(False, "4.2.2", "RCPT TO",
                          "452 4.2.2 The recipient's mailbox is full and can't accept messages now." + MS_T)],
        "busy": [(False, "4.7.500", "MAIL FROM",
                  "451 4.7.500 Server busy. Please try again later from [{ip}]. (S77714)" + MS_T)],
        "spam_content": [(True, "5.7.1", "end of DATA",
                          "550 5.7.1 Service unavailable, Client host [{ip}] blocked using Spamhaus. To "
                          "request removal from this list see https://www.spamhaus.org/query/ip/{ip} "
                          "(AS3130)." + MS_T)],
    },
    "yahoo": {
        "rate_limited": [(False, "4.7.0", "MAIL FROM",
                          "421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected "
                          "volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes")],
        "user_unknown": [(True, "5.0.0", "end of DATA",
                          "554 delivery error: dd This user doesn't have a {domain} account ({rcpt}) [0] - "
                          "{ymta}")],
        "disabled": [(True, "5.0.0", "end of DATA",
                      "554 delivery error: dd Sorry your message to {rcpt} cannot be delivered. This mailbox "
                      "is disabled (554.30). - {ymta}")],
        "mailbox_full": [(False, "4.2.2", "RCPT TO", "452 4.2.2 Mailbox full - {ymta}")],
        "auth_policy": [(True, "5.7.9", "end of DATA",
                         "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo "
                         "requires all senders to authenticate with either SPF or DKIM.")],
    },
    "orange": {
        "user_unknown": [(True, "5.1.1", "RCPT TO",
                          "550 5.1.1 <{rcpt}>: Recipient address rejected: Adresse d au moins un "
                          "destinataire invalide. Invalid recipient. OFR_416 [416]")],
        "mailbox_full": [(True, "5.2.2", "RCPT TO",
                          "552 5.2.2 <{rcpt}>: Recipient address rejected: Boite du destinataire pleine. "
                          "Recipient mailbox full. OFR_417 [417]")],
        "disabled": [(True, "5.1.1", "RCPT TO",
                      "550 5.1.1 <{rcpt}>: Recipient address rejected: Boite du destinataire archivee. "
                      "Archived recipient. OFR_418 [418]")],
        "reputation": [(True, "5.7.1", "MAIL FROM",
                        "550 5.7.1 Service refuse. Veuillez essayer plus tard. Service refused, please try "
                        "later. OFR_999 [999]")],
        "rate_limited": [(False, "4.0.0", "greeting",
                          "421 mwinf5c{n2} ME Trop de connexions, veuillez verifier votre configuration. "
                          "Too many connections, slow down. OFR005_104 [104]")],
    },
    "free": {
        "user_unknown": [(True, "5.1.1", "RCPT TO",
                          "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in local recipient "
                          "table")],
        "mailbox_full": [(False, "4.2.2", "RCPT TO", "452 4.2.2 <{rcpt}>: Recipient address rejected: "
                          "Mailbox full")],
        "rate_limited": [(False, "4.0.0", "MAIL FROM",
                          "421 Too many spams from your IP ({ip}), please visit http://postmaster.free.fr/")],
    },
    "sfr": {
        "user_unknown": [(True, "5.1.1", "RCPT TO", "550 5.1.1 <{rcpt}>: Recipient address rejected: "
                          "User unknown")],
        "reputation": [(True, "5.7.1", "MAIL FROM",
                        "554 5.7.1 Client host rejected: IP address {ip} blocklisted by SFR anti-spam "
                        "policy [{n2}]")],
        "rate_limited": [(False, "4.7.0", "MAIL FROM",
                          "421 4.7.0 Too many connections from {ip}, please try again later")],
    },
    "laposte": {
        "user_unknown": [(True, "5.1.1", "RCPT TO", "550 5.1.1 <{rcpt}>: Recipient address rejected: "
                          "Unknown user LPN003_401")],
        "rate_limited": [(False, "4.7.1", "MAIL FROM",
                          "421 4.7.1 Service refuse, veuillez essayer plus tard. Service refused, please "
                          "try later. LPN007_402")],
        "reputation": [(True, "5.7.1", "MAIL FROM",
                        "550 5.7.1 Service refuse. Adresse IP {ip} bloquee. IP address blocked. LPN105_104")],
    },
    "gmx": {
        "user_unknown": [(True, "5.0.0", "RCPT TO", "550 Requested action not taken: mailbox unavailable")],
        "mailbox_full": [(False, "4.2.2", "RCPT TO", "452 4.2.2 Mailbox full, try again later")],
        "reputation": [(False, "4.0.0", "greeting",
                        "554-gmx.net (mxgmx1{n2}) Nemesis ESMTP Service not available 554-No SMTP service "
                        "554-IP address is block listed. 554 For explanation visit "
                        "https://postmaster.gmx.net/en/case?c=r0301&i=ip&v={ip}&r={gmxid}")],
    },
    "apple": {
        "user_unknown": [(True, "5.1.1", "RCPT TO", "550 5.1.1 <{rcpt}>: user does not exist")],
        "reputation": [(True, "5.7.1", "end of DATA",
                        "554 5.7.1 [CS01] Message rejected due to local policy. Please visit "
                        "https://support.apple.com/en-us/HT204137")],
        "mailbox_full": [(False, "4.2.2", "RCPT TO", "452 4.2.2 <{rcpt}>: user is over quota")],
    },
    "postfix": {
        "user_unknown": [(True, "5.1.1", "RCPT TO", "550 5.1.1 <{rcpt}>: Recipient address rejected: User "
                          "unknown in virtual mailbox table"),
                         (True, "5.1.1", "RCPT TO", "550 5.1.1 <{rcpt}>: Recipient address rejected: User "
                          "unknown in local recipient table")],
        "mailbox_full": [(False, "4.2.2", "RCPT TO", "452 4.2.2 <{rcpt}>: Recipient address rejected: "
                          "Quota exceeded (mailbox for user is full)")],
        "disabled": [(True, "5.2.1", "RCPT TO", "550 5.2.1 <{rcpt}>: Recipient address rejected: Mailbox "
                      "disabled, not accepting messages")],
        "greylisted": [(False, "4.2.0", "RCPT TO", "450 4.2.0 <{rcpt}>: Recipient address rejected: "
                        "Greylisted, see http://postgrey.schweikert.ch/help/{domain}.html")],
        "reputation": [(True, "5.7.1", "RCPT TO", "554 5.7.1 Service unavailable; Client host [{ip}] blocked "
                        "using zen.spamhaus.org; https://www.spamhaus.org/query/ip/{ip}")],
        "auth_policy": [(True, "5.7.23", "RCPT TO", "550 5.7.23 <{rcpt}>: Recipient address rejected: "
                         "Message rejected due to: SPF fail - not authorized. Please see "
                         "http://www.openspf.net/Why?s=mfrom;id={sender};ip={ip};r=<UNKNOWN>")],
        "spam_content": [(True, "5.7.1", "end of DATA", "554 5.7.1 Spam message rejected")],
        "message_too_large": [(True, "5.3.4", "end of DATA", "552 5.3.4 Message size exceeds fixed limit")],
        "remote_error": [(False, "4.3.0", "end of DATA", "451 4.3.0 Error: queue file write error"),
                         (False, "4.3.5", "RCPT TO", "451 4.3.5 Server configuration problem")],
    },
    "exim": {
        "user_unknown": [(True, "5.0.0", "RCPT TO", "550 Unrouteable address")],
        "greylisted": [(False, "4.0.0", "RCPT TO", "451 Greylisted, please try again in 5 minutes")],
        "spam_content": [(True, "5.0.0", "end of DATA", "550 Message rejected as spam")],
        "mailbox_full": [(False, "4.2.2", "RCPT TO", "452 4.2.2 Mailbox quota exceeded")],
    },
    "exchange": {
        "user_unknown": [(True, "5.1.10", "RCPT TO", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient "
                          "{rcpt} not found by SMTP address lookup")],
        "mailbox_full": [(False, "4.2.2", "RCPT TO", "452 4.2.2 Mailbox full")],
        "message_too_large": [(True, "5.3.4", "end of DATA", "552 5.3.4 Message size exceeds fixed maximum "
                               "message size")],
    },
}
# Which family answers like which for reasons it does not have.
FALLBACK = {"o365": "microsoft", "workspace": "gmail"}

# Per family: chance that the first attempt of a group meets a transient problem, and which ones.
SOFT_PROFILE: dict[str, tuple[float, tuple[tuple[str, float], ...]]] = {
    "gmail": (0.012, (("rate_limited", 3), ("reputation", 1), ("net_lost", 0.5), ("net_timeout", 0.3))),
    "microsoft": (0.018, (("busy", 3), ("rate_limited", 1), ("net_timeout", 0.3))),
    "o365": (0.01, (("busy", 2), ("net_timeout", 0.3))),
    "yahoo": (0.03, (("rate_limited", 5), ("net_timeout", 0.3))),
    "orange": (0.02, (("rate_limited", 4), ("net_timeout", 0.5), ("net_lost", 0.5))),
    "free": (0.015, (("rate_limited", 3), ("net_timeout", 1))),
    "sfr": (0.015, (("rate_limited", 3), ("net_timeout", 1))),
    "laposte": (0.02, (("rate_limited", 3), ("net_timeout", 0.5))),
    "gmx": (0.01, (("reputation", 2), ("net_timeout", 0.5))),
    "apple": (0.01, (("net_timeout", 1), ("net_lost", 1))),
    "postfix": (0.02, (("net_timeout", 2), ("net_refused", 1), ("net_lost", 1), ("dns_temp", 1),
                       ("net_conv_timeout", 0.5), ("remote_error", 1), ("tls_cert", 0.3))),
    "exim": (0.02, (("net_timeout", 2), ("net_refused", 1), ("dns_temp", 1))),
    "exchange": (0.02, (("net_timeout", 2), ("net_lost", 1), ("dns_temp", 0.5))),
}
# Per family: chance that a group is refused for good (reputation, content, authentication...).
HARD_PROFILE: dict[str, tuple[float, tuple[tuple[str, float], ...]]] = {
    "gmail": (0.002, (("spam_content", 2), ("message_too_large", 1))),
    "microsoft": (0.003, (("reputation", 3),)),
    "o365": (0.001, (("spam_content", 1),)),
    "orange": (0.003, (("reputation", 1),)),
    "sfr": (0.002, (("reputation", 1),)),
    "laposte": (0.002, (("reputation", 1),)),
    "apple": (0.002, (("reputation", 1),)),
    "postfix": (0.003, (("reputation", 2), ("spam_content", 1), ("message_too_large", 1),
                        ("auth_policy", 1))),
    "exim": (0.002, (("spam_content", 1),)),
    "exchange": (0.001, (("message_too_large", 1),)),
}
AUTH_STRICT = ("gmail", "microsoft", "yahoo")  # reject unauthenticated (no DKIM) senders now and then

# Network and TLS failures: name -> (permanent, dsn)
NET_FAILURES: dict[str, tuple[bool, str]] = {
    "net_timeout": (False, "4.4.1"), "net_refused": (False, "4.4.1"), "net_noroute": (False, "4.4.1"),
    "net_lost": (False, "4.4.2"), "net_conv_timeout": (False, "4.4.2"), "dns_temp": (False, "4.4.3"),
    "dns_perm": (True, "5.4.4"), "tls_required": (False, "4.7.4"), "tls_cert": (False, "4.7.5"),
}


class _Dest:
    """A recipient domain: where its mail goes and how that side behaves."""

    __slots__ = ("domain", "family", "mx", "tls", "trust", "behavior", "pool", "soft_p", "soft",
                 "hard_p", "hard")

    def __init__(self, domain: str, family: str, mx: list[tuple[str, tuple[str, ...]]], tls: str,
                 trust: str, behavior: str) -> None:
        self.domain = domain
        self.family = family
        self.mx = mx
        self.tls = tls
        self.trust = trust
        self.behavior = behavior  # normal, dead, flaky, greylist, nxdomain, tls_required, error
        self.pool: list[tuple[str, _Dest, int]] = []
        sp, soft = SOFT_PROFILE.get(family, SOFT_PROFILE["postfix"])
        hp, hard = HARD_PROFILE.get(family, (0.0, ()))
        self.soft_p = sp
        self.soft = _cum(soft)
        self.hard_p = hp
        self.hard = _cum(hard)


@dataclass(slots=True)
class _Sender:
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


def _cum(pairs: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    names = [p[0] for p in pairs]
    return names, list(accumulate(p[1] for p in pairs))


def _pick(rng: Random, cum: tuple[list[str], list[float]]) -> str:
    names, weights = cum
    return names[bisect_right(weights, rng.random() * weights[-1])]


# ----------------------------------------------------------------------------------------------------


class _Ctx(dict):
    """Template fields made on demand (tracking ids, timestamps) so only used ones cost anything."""

    def __init__(self, gen: _Generator, ts: int, rcpt: str, domain: str, sender: str, ip: str) -> None:
        super().__init__(rcpt=rcpt, domain=domain, sender=sender, ip=ip,
                         sdomain=sender.rpartition("@")[2] or domain)
        self.gen = gen
        self.ts = ts

    def __missing__(self, key: str) -> str:
        g = self.gen
        r = g.rng
        ri = g.ri
        if key == "g":
            return g.gmail_id()
        if key == "pepf":
            return g.ms_pepf()
        if key == "iso":
            return datetime.fromtimestamp(self.ts / US, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
                f"{(self.ts // 1000) % 1000:03d}Z"
        if key == "h16":
            return f"{r.getrandbits(64):016X}"
        if key == "ymta":
            return f"mta{ri(1000, 5000)}.mail.{r.choice(('ir2', 'bf1', 'gq1', 'ne1'))}.yahoo.com"
        if key == "n2":
            return f"{ri(10, 60)}"
        if key == "gmxid":
            return g.token(6) + "-" + g.token(10) + "-" + g.token(6)
        raise KeyError(key)


class _Generator:
    """The simulation. Lines go into time buckets; buckets older than the clock are sorted and written."""

    def __init__(self, *, lines: int | None, days: float, gateways: list[str], seed: int, start: datetime,
                 fmt: str, messages_per_day: float, syslog_name: str) -> None:
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
        self.fqdn = [g if "." in g else f"{g}.relay.example.net" for g in self.gws]
        self.gw_ip = [f"192.0.2.{10 + i * 7 % 240}" for i in range(self.ng)]
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
        self.sessions = 0
        self.events: list[tuple[int, int, str, int, object]] = []
        self.event_seq = 0
        self.now = self.t0
        self.noise = 0  # lines of time-driven activity (not caused by mail sessions)
        self.sender_dests: dict[str, _Dest] = {}
        self._build_world()
        self.gw_cum = list(accumulate(1.0 / (i + 1) for i in range(self.ng)))

    # ---------------------------------------------------------------- world

    def _build_world(self) -> None:
        ri = self.ri
        r = self.rng
        ng = self.ng
        self.pid_base = [ri(40_000, 3_000_000) for _ in range(ng)]
        self.master_pid = [ri(700, 1400) for _ in range(ng)]
        self.opendkim_pid = [ri(500, 1500) for _ in range(ng)]
        # reload times (map deployments) decide the qmgr and pickup pids
        self.reloads: list[list[int]] = []
        horizon = self.end + int((self.days * 2 + 8) * 86400 * US)
        for _ in range(ng):
            t, lst = self.t0 - 86400 * US, []
            while t < horizon:
                t += int(r.expovariate(1.5 / 86400) * US) + 60 * US
                lst.append(t)
            self.reloads.append(lst)
        self.smtpd_busy = [[[0] * 40 for _ in range(2)] for _ in range(ng)]
        self.qstate = [_QueueIds(r) for _ in range(ng)]
        self._build_dests()
        self._build_senders()

    def _build_dests(self) -> None:
        r = self.rng
        dests: list[_Dest] = []
        weights: list[float] = []
        for dom, w, mxk, fam, tls in CONSUMER_DOMAINS:
            dests.append(_Dest(dom, fam, MX_TABLE[mxk], tls, "Trusted", "normal"))
            weights.append(w)
        n_corp = int(min(4000, max(60, self.est_msgs / 60)))
        seen: dict[str, None] = {d.domain: None for d in dests}
        corp: list[_Dest] = []
        while len(corp) < n_corp:
            d = self._corp_dest(self._org_domain(), seen)
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
            dests.append(_Dest(dom, "postfix", [], TLS_RSA13, "Trusted", "nxdomain"))
            weights.append(0.05)
        for dom in BLOCKED_DOMAINS:
            dests.append(_Dest(dom, "postfix", [], TLS_RSA13, "Trusted", "error"))
            weights.append(0.04)
        self.seen_domains = seen
        # the recipient address pool, with per-address state: 0 ok, 1 unknown, 2 full, 3 disabled
        n_addr = int(min(300_000, max(3000, self.est_msgs / 3)))
        cum = list(accumulate(weights))
        total = cum[-1]
        pool: list[tuple[str, _Dest, int]] = []
        corp_ids = {id(d) for d in corp}
        for _ in range(n_addr):
            d = dests[bisect_right(cum, r.random() * total)]
            local = self._local_part(id(d) in corp_ids)
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

    def _org_domain(self) -> str:
        r = self.rng
        name = r.choice(ORG_NAMES)
        if r.random() < 0.3:
            name = f"{name}-{r.choice(ORG_NAMES)}"
        return f"{r.choice(ORG_PREFIXES)}{name}{r.choice(ORG_TLDS)}"

    def _corp_dest(self, dom: str, seen: dict[str, None], sender_side: bool = False) -> _Dest | None:
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
            fam, mx, tls = "o365", [(host, (f"52.101.{ri(64, 74)}.{ri(1, 250)}",
                                            f"52.101.{ri(64, 74)}.{ri(1, 250)}"))], TLS_MS
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
                behavior = ("dead" if b < 0.03 else "flaky" if b < 0.1 else "greylist" if b < 0.35
                            else "tls_required" if b < 0.365 else "normal")
        return _Dest(dom, fam, mx, tls, trust, behavior)

    def _local_part(self, corporate: bool) -> str:
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
        senders: list[list[_Sender]] = []
        cums: list[list[float]] = []
        for gi in range(self.ng):
            lst: list[_Sender] = []
            n_org = int(min(400, max(25, self.est_msgs / 2000 / self.ng)))
            for _ in range(n_org):
                while True:
                    dom = self._org_domain()
                    d = self._corp_dest(dom, self.seen_domains, sender_side=True)
                    if d is not None:
                        break
                self.sender_dests[dom] = d
                lst.extend(self._org_senders(gi, dom, d))
            senders.append(lst)
            cums.append(list(accumulate(s.weight for s in lst)))
        self.senders = senders
        self.sender_cum = cums

    def _org_senders(self, gi: int, dom: str, d: _Dest) -> list[_Sender]:
        """The accounts and applications of one customer organisation."""
        ri = self.ri
        r = self.rng
        out: list[_Sender] = []
        size = r.paretovariate(1.2)
        dkim = (r.choice(("default", "mail", "rw2024", "s1", "dkim")), dom) if r.random() < 0.75 else None
        bad = r.random() < 0.04
        # an application on the customer's network, port 25, allowed by mynetworks
        if r.random() < 0.6:
            ip = f"10.{ri(0, 40)}.{ri(0, 255)}.{ri(2, 254)}"
            host = f"{r.choice(('web', 'app', 'crm', 'erp', 'srv', 'intranet'))}{ri(1, 9)}.{dom}"
            client = f"{host}[{ip}]" if r.random() < 0.8 else f"unknown[{ip}]"
            addrs = [f"{r.choice(SENDER_ROLES)}@{dom}" for _ in range(ri(1, 4))]
            out.append(_Sender(gi=gi, kind="app", client=client, helo=host, submission=False, sasl=None,
                               sasl_method=None, addrs=addrs, domain=dom, dkim=dkim, tls=r.random() < 0.5,
                               bad=bad, verp=False, weight=size * 6))
        # people and office software with SASL on submission
        for _ in range(ri(1, 6)):
            login = f"{self._local_part(False)}@{dom}"
            net = r.choice(("198.51.100", "203.0.113", "192.0.2"))
            ip = f"{net}.{ri(2, 254)}"
            if r.random() < 0.5:
                client = f"unknown[{ip}]"
            else:
                client = f"{r.choice(('box', 'fw', 'gw'))}-{ip.replace('.', '-')}.{dom}[{ip}]"
            helo = r.choice((f"[{ip}]", f"PC-{r.choice(LAST).upper()}", f"LAPTOP-{r.getrandbits(28):07X}",
                             "localhost.localdomain"))
            addrs = [login] if r.random() < 0.8 else [login, f"{r.choice(ROLES)}@{dom}"]
            out.append(_Sender(gi=gi, kind="user", client=client, helo=helo, submission=True, sasl=login,
                               sasl_method="LOGIN" if r.random() < 0.3 else "PLAIN", addrs=addrs, domain=dom,
                               dkim=dkim, tls=True, bad=bad, verp=False, weight=size))
        # a few organisations send newsletters in campaigns
        if r.random() < 0.12:
            ip = f"10.{ri(40, 60)}.{ri(0, 255)}.{ri(2, 254)}"
            host = f"newsletter.{dom}"
            verp = r.random() < 0.5
            addr = f"bounce@{dom}" if verp else f"newsletter@{dom}"
            out.append(_Sender(gi=gi, kind="newsletter", client=f"{host}[{ip}]", helo=host, submission=False,
                               sasl=None, sasl_method=None, addrs=[addr], domain=dom,
                               dkim=dkim or ("mail", dom), tls=True, bad=bad, verp=verp,
                               weight=0.0025 * size))
        return out

    # ---------------------------------------------------------------- helpers

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
        return (f"{r.getrandbits(52):013x}-{r.getrandbits(44):011x}si{ri(1000000, 9999999)}{letters}."
                f"{ri(1, 999)}")

    def ms_pepf(self) -> str:
        """An Exchange Online front-end host name, as Microsoft puts in its replies."""
        ri = self.ri
        r = self.rng
        return (f"{r.choice(('AM4', 'DB1', 'AMS0', 'FRA1', 'DU2', 'PA7'))}PEPF0000{r.getrandbits(16):04X}."
                f"eurprd{ri(1, 9):02d}.prod.outlook.com")

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
        if self.sessions > 200:
            per_session = (self.generated - self.noise) / self.sessions
            noise_rate = self.noise / max(1.0, (self.now - self.t0) / US)
        else:
            per_session, noise_rate = 10.0, 0.0
        lines_rate = self.target / (self.days * 86400.0) - noise_rate
        return max(1e-4, lines_rate / per_session) * w

    # ---------------------------------------------------------------- SMTP sessions in

    def session(self, t: int) -> None:
        """One arrival: a client connects to a gateway (or a newsletter campaign starts)."""
        ri = self.ri
        r = self.rng
        gi = bisect_right(self.gw_cum, r.random() * self.gw_cum[-1])
        cum = self.sender_cum[gi]
        snd = self.senders[gi][bisect_right(cum, r.random() * cum[-1])]
        self.sessions += 1
        if snd.kind == "newsletter":
            size = int(min(max(50, self.est_msgs / 40), ri(200, 3000)))
            self.schedule(t, "campaign", gi, (snd, size))
            return
        n = 1
        if snd.kind == "app" and r.random() < 0.15:
            n = ri(2, 12)
        self.smtp_session(t, snd, n, False)

    def smtp_session(self, t: int, snd: _Sender, n_msgs: int, campaign: bool) -> int:
        """One inbound SMTP session of n_msgs messages, each queued and delivered; returns its end."""
        ri = self.ri
        r = self.rng
        add = self.add
        gi = snd.gi
        sn = self.sn
        name = f"{sn}/submission/smtpd" if snd.submission else f"{sn}/smtpd"
        slot, pid = self.smtpd_slot(gi, snd.submission, t)
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
                sender = f"{r.choice(SENDER_ROLES)}@{self._org_domain()}"
            rcpts = self.recipients(snd, campaign)
            mail += 1
            qid = ""
            arrival = 0
            accepted: list[tuple[str, _Dest, int]] = []
            for rc in rcpts:
                rcpt_all += 1
                t += ri(500, 20000)
                rej = self.smtpd_reject(gi, snd, sender, rc, rejected_sender)
                if rej:
                    add(t, gi, K_REJECT, f"{name}[{pid}]: {qid or 'NOQUEUE'}: reject: RCPT from {client}: "
                                         f"{rej}; from=<{sender}> to=<{rc[0]}> proto=ESMTP helo=<{snd.helo}>")
                    continue
                rcpt_ok += 1
                if not qid:
                    qid, inode = self.qstate[gi].new(t, self.now, r)
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
            cpid = self.pid(gi, 3, 12, 600, t)
            add(t, gi, K_OTHER, f"{sn}/cleanup[{cpid}]: {qid}: message-id=<{msgid}>")
            if snd.dkim:
                t += ri(500, 9000)
                add(t, gi, K_OTHER, f"opendkim[{self.opendkim_pid[gi]}]: {qid}: DKIM-Signature field added "
                                    f"(s={snd.dkim[0]}, d={snd.dkim[1]})")
            t += ri(800, 15000)
            add(t, gi, K_MESSAGE, f"{sn}/qmgr[{self.daemon_pid(gi, 1, t)}]: {qid}: from=<{sender}>, "
                                  f"size={size}, nrcpt={len(accepted)} (queue active)")
            end = self.lifecycle(gi, qid, arrival, t, sender, size, accepted, msgid, campaign, snd)
            self.qstate[gi].hold(end, inode, qid)
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
        self.smtpd_busy[gi][snd.submission][slot] = t + 1
        return t

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

    def smtpd_reject(self, gi: int, snd: _Sender, sender: str, rc: tuple[str, _Dest, int],
                     rejected_sender: bool) -> str | None:
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

    def recipients(self, snd: _Sender, campaign: bool) -> list[tuple[str, _Dest, int]]:
        """Recipients of one message: mostly one, sometimes up to 20, often colleagues at one domain."""
        ri = self.ri
        r = self.rng
        if campaign:
            return [self.big_pool[int(r.random() * len(self.big_pool))]] if r.random() < 0.8 else \
                [self.pool[int(r.random() * len(self.pool))]]
        first = self.pool[int(r.random() * len(self.pool))]
        x = r.random()
        n = 1 if x < 0.82 else ri(2, 4) if x < 0.93 else ri(4, 11) if x < 0.985 \
            else ri(11, 21)
        if n == 1:
            return [first]
        out = [first]
        seen = {first[0]}
        same = first[1].pool
        for _ in range(n * 2):
            if len(out) >= n:
                break
            src = same if r.random() < 0.5 else self.pool
            e = src[int(r.random() * len(src))]
            if e[0] not in seen:
                seen.add(e[0])
                out.append(e)
        return out

    def message_id(self, snd: _Sender, t: int, qid: str) -> str:
        """A Message-ID as the client's software writes it (or as cleanup adds it)."""
        ri = self.ri
        r = self.rng
        x = r.random()
        if snd.kind == "user":
            if x < 0.5:
                return (f"{r.choice(('AM0PR', 'PA4PR', 'DB9PR', 'PAXPR'))}{ri(1, 9):02d}MB"
                        f"{ri(1000, 9999)}{r.getrandbits(40):010X}@{r.choice(('AM0PR', 'PA4PR'))}"
                        f"{ri(1, 9):02d}MB{ri(1000, 9999)}.eurprd{ri(1, 9):02d}."
                        f"prod.outlook.com")
            return (f"{r.getrandbits(32):08x}-{r.getrandbits(16):04x}-{r.getrandbits(16):04x}-"
                    f"{r.getrandbits(16):04x}-{r.getrandbits(48):012x}@{snd.domain}")
        if x < 0.15:  # no Message-ID header: cleanup adds one
            return f"{self.stamp(t)}.{qid}@{self.fqdn[snd.gi]}"
        if x < 0.6:
            return f"{r.getrandbits(128):032x}@{snd.domain}"
        return f"{self.stamp(t)}.{r.getrandbits(40):010x}@{snd.helo}"

    def stamp(self, t: int) -> str:
        """Local YYYYmmddHHMMSS, as in Postfix-made Message-IDs."""
        return datetime.fromtimestamp(t // US, self.tz).strftime("%Y%m%d%H%M%S")

    # ---------------------------------------------------------------- queue life of one message

    def lifecycle(self, gi: int, qid: str, arrival: int, t_q: int, sender: str, size: int,
                  rcpts: list[tuple[str, _Dest, int]], msgid: str, campaign: bool, snd: _Sender | None,
                  orig_to: str = "") -> int:
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
                add(t_att, gi, K_OTHER, f"{sn}/qmgr[{self.daemon_pid(gi, 1, t_att)}]: {qid}: "
                                        f"from=<{sender}>, size={size}, nrcpt={len(rcpts)} (queue active)")
            t_end = t_att
            bounced: list[str] = []
            for g in pending:
                te = self.attempt(gi, qid, g, t_att, arrival, sender, size, msgid, attempt, bounced, orig_to)
                if te > t_end:
                    t_end = te
            pending = [g for g in pending if g[2]]
            t = t_end + ri(300, 8000)
            if pending and t_end >= deadline:
                qpid = self.daemon_pid(gi, 1, t)
                add(t, gi, K_EXPIRED,
                    f"{sn}/qmgr[{qpid}]: {qid}: from=<{sender}>, status=expired, returned to sender")
                t = self.notify(gi, qid, t, sender, "non-delivery", size)
                add(t + ri(100, 3000), gi, K_REMOVED, f"{sn}/qmgr[{qpid}]: {qid}: removed")
                return t + 3000
            if bounced:
                t = self.notify(gi, qid, t, sender, "non-delivery", size)
            if not pending:
                t += ri(100, 3000)
                add(t, gi, K_REMOVED, f"{sn}/qmgr[{self.daemon_pid(gi, 1, t)}]: {qid}: removed")
                return t
            if not warned and t_end - arrival >= DELAY_WARNING:
                warned = True
                t = self.notify(gi, qid, t, sender, "delay", size)
            attempt += 1
            backoff = min(max(t_end - arrival, MIN_BACKOFF), MAX_BACKOFF)
            t_att = t_end + backoff + ri(0, QUEUE_RUN_DELAY)

    def group_plan(self, d: _Dest, snd: _Sender | None, campaign: bool, sender: str) -> list:
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
            return [r.choice(("net_timeout", "net_refused", "net_noroute", "dns_temp")), ri(2, 14),
                    False]
        if b == "tls_required" and r.random() < 0.5:
            return ["tls_required", -1 if r.random() < 0.7 else ri(2, 20), False]
        if b == "greylist" and r.random() < 0.3:  # postgrey's auto-whitelist spares known triplets
            return ["greylisted", 1, False]
        fam = d.family
        if snd is not None and snd.dkim is None and fam in AUTH_STRICT and r.random() < 0.03:
            return ["auth_policy", 1, True]
        hp = d.hard_p * (8 if snd is not None and snd.bad else 1)
        if hp and r.random() < hp:
            return [_pick(r, d.hard), 1, True]
        sp = d.soft_p * (4 if campaign else 1) * (3 if snd is not None and snd.bad else 1)
        if r.random() < sp:
            n = 1
            while n < 40 and r.random() < 0.45:
                n += 1
            return [_pick(r, d.soft), n if r.random() > 0.003 else -1, False]
        return [None, 0, False]

    def rcpt_plan(self, rc: tuple[str, _Dest, int]) -> list:
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

    def attempt(self, gi: int, qid: str, g: list, t_att: int, arrival: int, sender: str, size: int,
                msgid: str, attempt: int, bounced: list[str], orig_to: str) -> int:
        """One delivery attempt to one destination: its log lines; removes finished recipients."""
        ri = self.ri
        r = self.rng
        add = self.add
        sn = self.sn
        d: _Dest = g[0]
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
        ip = self.gw_ip[gi]
        orig = f", orig_to=<{orig_to}>" if orig_to else ""

        if fail == "error":
            epid = self.pid(gi, 9, 3, 900, t)
            for item in rlist:
                t += ri(2000, 30000)
                dt = (t - t_att) / US
                add(t, gi, K_BOUNCED, f"{sn}/error[{epid}]: {qid}: to=<{item[0][0]}>{orig}, relay=none, "
                                      f"delay={fmt_delay((t - arrival) / US)}, delays={fmt_delay(a_s)}/"
                                      f"{fmt_delay(b_s)}/0/{fmt_delay(dt - b_s)}, dsn=5.7.1, status=bounced "
                                      f"(recipient domain blocked by relay policy)")
                bounced.append(item[0][0])
            rlist.clear()
            return t

        spid = self.pid(gi, 4, 30, 600, t)
        prefix = f"{sn}/smtp[{spid}]: "
        if fail is not None and fail in NET_FAILURES:
            perm, dsn = NET_FAILURES[fail]
            text, relay, c = self.net_failure(fail, d, t, prefix, gi)
            t += c
            status, kind = ("bounced", K_BOUNCED) if perm else ("deferred", K_DEFERRED)
            c_s = c / US
            for item in rlist:
                t += ri(5, 400)
                add(t, gi, kind, f"{prefix}{qid}: to=<{item[0][0]}>{orig}, relay={relay}, "
                                 f"delay={fmt_delay((t - arrival) / US)}, delays={fmt_delay(a_s)}/"
                                 f"{fmt_delay(b_s)}/{fmt_delay(c_s)}/0, dsn={dsn}, status={status} ({text})")
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
            add(t + c - ri(10, 30_000), gi, K_OTHER,
                f"{prefix}{d.trust} TLS connection established to {relay}: {d.tls}")
        elif fail is None and d.family in ("postfix", "exim", "exchange"):  # old servers fail TLS, then plain
            add(t + c // 2, gi, K_OTHER,
                f"{prefix}warning: TLS library problem: error:0A000410:SSL routines::sslv3 alert handshake "
                f"failure:../ssl/record/rec_layer_s3.c:1584:SSL alert number 40:")
            add(t + c // 2 + 50, gi, K_OTHER, f"{prefix}SSL_connect error to {relay}: -1")
        c_s = c / US
        t_conn = t + c
        if fail is not None:
            entry = self.reply(d.family, fail)
            if entry is None:
                entry = (False, "4.3.0", "end of DATA",
                         "451 4.3.0 Temporary server error. Please try again later")
            perm, dsn, stage, tmpl = entry
            status, kind = ("bounced", K_BOUNCED) if perm else ("deferred", K_DEFERRED)
            tt = t_conn + (ri(50_000, 2_000_000) if stage == "end of DATA" else ri(2_000, 90_000))
            d_s = (tt - t_conn) / US
            for item in rlist:
                rc = item[0]
                tt += ri(5, 400)
                text = tmpl.format_map(_Ctx(self, tt, rc[0], d.domain, sender, ip))
                if stage == "greeting":
                    resp = f"host {host}[{hip}] refused to talk to me: {text}"
                else:
                    resp = f"host {host}[{hip}] said: {text} (in reply to {stage} command)"
                add(tt, gi, kind, f"{prefix}{qid}: to=<{rc[0]}>{orig}, relay={relay}, {conn_use}"
                                  f"delay={fmt_delay((tt - arrival) / US)}, delays={fmt_delay(a_s)}/"
                                  f"{fmt_delay(b_s)}/{fmt_delay(c_s)}/{fmt_delay(d_s)}, dsn={dsn}, "
                                  f"status={status} ({resp})")
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
            entry = self.reply(d.family, rp[0])
            if entry is None:
                accepted.append(item)
                continue
            perm, dsn, stage, tmpl = entry
            tt += ri(2000, 60000)
            text = tmpl.format_map(_Ctx(self, tt, rc[0], d.domain, sender, ip))
            status, kind = ("bounced", K_BOUNCED) if perm else ("deferred", K_DEFERRED)
            delays = f"{fmt_delay(a_s)}/{fmt_delay(b_s)}/{fmt_delay(c_s)}/{fmt_delay((tt - t_conn) / US)}"
            add(tt, gi, kind, f"{prefix}{qid}: to=<{rc[0]}>{orig}, relay={relay}, {conn_use}"
                              f"delay={fmt_delay((tt - arrival) / US)}, delays={delays}, dsn={dsn}, "
                              f"status={status} (host {host}[{hip}] said: {text} "
                              f"(in reply to {stage} command))")
            if perm:
                bounced.append(rc[0])
            else:
                keep.append(item)
        if accepted:
            tt += ri(60_000, 900_000) + size // ri(800, 6000)
            d_s = (tt - t_conn) / US
            resp = self.sent_reply(d, tt, msgid, size, d_s)
            delay = fmt_delay((tt - arrival) / US)
            delays = f"{fmt_delay(a_s)}/{fmt_delay(b_s)}/{fmt_delay(c_s)}/{fmt_delay(d_s)}"
            for item in accepted:
                tt += ri(5, 300)
                add(tt, gi, K_SENT, f"{prefix}{qid}: to=<{item[0][0]}>{orig}, relay={relay}, {conn_use}"
                                    f"delay={delay}, delays={delays}, dsn=2.0.0, status=sent ({resp})")
        rlist[:] = keep
        return tt

    def net_failure(self, fail: str, d: _Dest, t: int, prefix: str, gi: int) -> tuple[str, str, int]:
        """(status text, relay, connection time) of a network-level failure; logs the extra lines."""
        ri = self.ri
        tried = (d.mx or [(f"mx.{d.domain}", (f"198.51.100.{ri(2, 254)}",))])[:2]  # smtp_mx_session_limit
        host, ips = tried[-1]
        hip = ips[0]
        if fail in ("net_timeout", "net_refused", "net_noroute"):
            why = {"net_timeout": "Connection timed out", "net_refused": "Connection refused",
                   "net_noroute": "No route to host"}[fail]
            step = 30 * US if fail == "net_timeout" else ri(20_000, 300_000)
            c = 0
            for h, hips in tried[:-1]:
                c += step
                self.add(t + c, gi, K_OTHER, f"{prefix}connect to {h}[{hips[0]}]:25: {why}")
            c += step
            return f"connect to {host}[{hip}]:25: {why}", "none", c
        if fail == "net_lost":
            return (f"lost connection with {host}[{hip}] while receiving the initial server greeting",
                    f"{host}[{hip}]:25", ri(50_000, 5_000_000))
        if fail == "net_conv_timeout":
            return (f"conversation with {host}[{hip}] timed out while receiving the initial server greeting",
                    f"{host}[{hip}]:25", 300 * US + ri(0, 200_000))
        if fail == "dns_temp":
            return (f"Host or domain name not found. Name service error for name={d.domain} type=MX: "
                    f"Host not found, try again", "none", ri(10_000, 10_000_000))
        if fail == "dns_perm":
            return (f"Host or domain name not found. Name service error for name={d.domain} type=MX: "
                    f"Host not found", "none", ri(5_000, 300_000))
        if fail == "tls_required":
            return (f"TLS is required, but was not offered by host {host}[{hip}]", f"{host}[{hip}]:25",
                    ri(50_000, 800_000))
        # tls_cert
        c = ri(80_000, 900_000)
        self.add(t + c - 500, gi, K_OTHER, f"{prefix}certificate verification failed for {host}[{hip}]:25: "
                                           f"untrusted issuer /CN=ca.{d.domain}")
        return "Server certificate not verified", f"{host}[{hip}]:25", c

    def sent_reply(self, d: _Dest, t: int, msgid: str, size: int, d_s: float) -> str:
        """The 250 reply of the destination's software."""
        ri = self.ri
        r = self.rng
        fam = d.family
        if fam == "gmail":
            return f"250 2.0.0 OK  {t // US} {self.gmail_id()} - gsmtp"
        if fam in ("microsoft", "o365"):
            secs = max(0.01, d_s * 0.3)
            host = (f"{r.choice(('AM8PR', 'PAXPR', 'DB9PR', 'VI1PR', 'AS8PR'))}{ri(1, 10):02d}MB"
                    f"{ri(1000, 9999)}.eurprd{ri(1, 10):02d}.prod.outlook.com")
            return (f"250 2.6.0 <{msgid}> [InternalId={ri(10**12, 10**14)}, Hostname={host}] {size} "
                    f"bytes in {secs:.3f}, {size / 1024 / secs:.3f} KB/sec Queued mail for delivery "
                    f"-> 250 2.1.5")
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
            return (f"250 2.6.0 <{msgid}> [InternalId={ri(10**11, 10**13)}, Hostname=EXCH"
                    f"{ri(1, 4):02d}.{d.domain}] Queued mail for delivery")
        if fam == "apple":
            return f"250 2.0.0 Ok: queued as {r.getrandbits(48):012X}"
        return f"250 2.0.0 Ok: queued as {self.token(12)}"

    def notify(self, gi: int, qid: str, t: int, sender: str, what: str, size: int) -> int:
        """A bounce(8) notification to the sender: a new message with its own life; returns the time after."""
        ri = self.ri
        add = self.add
        sn = self.sn
        bpid = self.pid(gi, 5, 4, 900, t)
        if not sender:
            add(t, gi, K_OTHER,
                f"{sn}/bounce[{bpid}]: {qid}: undeliverable postmaster notification discarded")
            return t + 500
        nqid, inode = self.qstate[gi].new(t, self.now, None)
        t_c = t + ri(2000, 20000)
        add(t_c, gi, K_OTHER, f"{sn}/cleanup[{self.pid(gi, 3, 12, 600, t_c)}]: {nqid}: message-id="
                              f"<{self.stamp(t_c)}.{nqid}@{self.fqdn[gi]}>")
        t_b = t_c + ri(200, 5000)
        if what == "delay":
            add(t_b, gi, K_DELAY_NOTICE, f"{sn}/bounce[{bpid}]: {qid}: sender delay notification: {nqid}")
        else:
            add(t_b, gi, K_NDR, f"{sn}/bounce[{bpid}]: {qid}: sender non-delivery notification: {nqid}")
        t_q = t_b + ri(100, 3000)
        nsize = min(size, 60_000) + ri(2500, 4500)
        add(t_q, gi, K_MESSAGE, f"{sn}/qmgr[{self.daemon_pid(gi, 1, t_q)}]: {nqid}: from=<>, size={nsize}, "
                                f"nrcpt=1 (queue active)")
        dom = sender.rpartition("@")[2].lower()
        d = self.sender_dest(dom)
        end = self.lifecycle(gi, nqid, t_c, t_q, "", nsize, [(sender, d, 0)], f"{nqid}@{self.fqdn[gi]}",
                             False, None)
        self.qstate[gi].hold(end, inode, nqid)
        return t_b + ri(100, 2000)

    def sender_dest(self, dom: str) -> _Dest:
        """Where mail to a sender's domain goes (notifications are delivered there)."""
        d = self.sender_dests.get(dom)
        if d is None:
            mx = [(f"mx1.{dom}", (f"203.0.113.{len(dom) * 7 % 250 + 2}",))]
            d = self.sender_dests[dom] = _Dest(dom, "postfix", mx, TLS_RSA13, "Trusted", "normal")
        return d

    # ---------------------------------------------------------------- noise and periodic activity

    def run_events(self, until: int) -> None:
        """Run the scheduled events due by `until`, in time order."""
        ev = self.events
        while ev and ev[0][0] <= until:
            t, _, kind, gi, data = heapq.heappop(ev)
            self.now = t
            before = self.generated
            getattr(self, "ev_" + kind)(t, gi, data)
            if kind != "campaign":
                self.noise += self.generated - before

    def start_events(self) -> None:
        """Schedule the periodic and random background activity of every gateway."""
        ri = self.ri
        r = self.rng
        for gi in range(self.ng):
            self.schedule(self.t0 + ri(0, 600 * US), "anvil", gi)
            self.schedule(self.t0 + ri(0, 600 * US), "scache", gi)
            first_cron = (self.t0 // (600 * US) + 1) * 600 * US + ri(0, 2 * US)
            self.schedule(first_cron, "cron", gi)
            self.schedule(self.t0 + int(r.expovariate(1 / 1200) * US), "scanner", gi)
            self.schedule(self.t0 + int(r.expovariate(1 / 28800) * US), "bruteforce", gi)
            self.schedule(self.t0 + int(r.expovariate(1 / 28800) * US), "rootmail", gi)
            lst = self.reloads[gi]
            i = bisect_right(lst, self.t0)
            if i < len(lst):
                self.schedule(lst[i], "reload", gi, i)

    def ev_campaign(self, t: int, gi: int, data: object) -> None:
        """A newsletter sends the next batch of its campaign in one session."""
        ri = self.ri
        snd, left = data  # type: ignore[misc]
        n = min(left, ri(5, 50))
        t = self.smtp_session(t, snd, n, True)
        if left > n:
            self.schedule(t + ri(50_000, 3_000_000), "campaign", gi, (snd, left - n))

    def ev_anvil(self, t: int, gi: int, data: object) -> None:
        """anvil's periodic statistics."""
        ri = self.ri
        r = self.rng
        pid = self.pid(gi, 6, 1, 14400, t)
        cum = self.sender_cum[gi]
        snd = self.senders[gi][bisect_right(cum, r.random() * cum[-1])]
        ip = snd.client.rpartition("[")[2].rstrip("]")
        svc = "submission" if snd.submission else "smtp"
        at = self.syslog_stamp(t - ri(0, 590) * US)
        add = self.add
        head = f"{self.sn}/anvil[{pid}]: statistics:"
        add(t, gi, K_OTHER, f"{head} max connection rate {ri(1, 40)}/60s for ({svc}:{ip}) at {at}")
        add(t + 20, gi, K_OTHER, f"{head} max connection count {ri(1, 6)} for ({svc}:{ip}) at {at}")
        if r.random() < 0.3:
            add(t + 40, gi, K_OTHER, f"{head} max message rate {ri(1, 60)}/60s for ({svc}:{ip}) at {at}")
        add(t + 60, gi, K_OTHER, f"{head} max cache size {ri(1, 30)} at {at}")
        self.schedule(t + 600 * US + ri(0, 2 * US), "anvil", gi)

    def ev_scache(self, t: int, gi: int, data: object) -> None:
        """The connection cache's periodic statistics."""
        ri = self.ri
        pid = self.pid(gi, 7, 1, 7200, t)
        sn = self.sn
        hits, miss = ri(0, 400), ri(1, 200)
        ahits, amiss = ri(0, 50), ri(1, 200)
        lines = (f"statistics: start interval {self.syslog_stamp(t - 600 * US)}",
                 f"statistics: domain lookup hits={hits} miss={miss} success={100 * hits // (hits + miss)}%",
                 f"statistics: address lookup hits={ahits} miss={amiss} "
                 f"success={100 * ahits // (ahits + amiss)}%",
                 f"statistics: max simultaneous domains={ri(1, 12)} addresses={ri(1, 20)} "
                 f"connection={ri(1, 25)}")
        for i, text in enumerate(lines):
            self.add(t + i * 15, gi, K_OTHER, f"{sn}/scache[{pid}]: {text}")
        self.schedule(t + 600 * US + ri(0, 5 * US), "scache", gi)

    def ev_cron(self, t: int, gi: int, data: object) -> None:
        """The every-10-minutes sysstat cron job, with its PAM session lines."""
        ri = self.ri
        pid = self.pid(gi, 8, 50, 1, t)
        add = self.add
        add(t, gi, K_OTHER,
            f"CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)")
        add(t + ri(1000, 9000), gi, K_OTHER, f"CRON[{pid + 1}]: (root) CMD ({CRON_CMDS[0]})")
        add(t + ri(20_000, 300_000), gi, K_OTHER,
            f"CRON[{pid}]: pam_unix(cron:session): session closed for user root")
        self.schedule(t + 600 * US, "cron", gi)

    def ev_reload(self, t: int, gi: int, data: object) -> None:
        """`postfix reload` after a map deployment: qmgr and pickup get new pids."""
        ri = self.ri
        i = data  # type: ignore[assignment]
        sn = self.sn
        self.add(t, gi, K_OTHER,
                 f"{sn}/postfix-script[{self.pid(gi, 10, 30, 60, t)}]: refreshing the Postfix mail system")
        self.add(t + ri(50_000, 200_000), gi, K_OTHER,
                 f"{sn}/master[{self.master_pid[gi]}]: reload -- version {POSTFIX_VERSION}, "
                 f"configuration /etc/postfix")
        lst = self.reloads[gi]
        if i + 1 < len(lst):  # type: ignore[operator]
            self.schedule(lst[i + 1], "reload", gi, i + 1)  # type: ignore[operator]

    def ev_scanner(self, t: int, gi: int, data: object) -> None:
        """Internet scanners probing port 25 of the relay."""
        ri = self.ri
        r = self.rng
        add = self.add
        name = f"{self.sn}/smtpd"
        slot, pid = self.smtpd_slot(gi, False, t)
        ip = f"{r.choice((45, 80, 91, 185, 193, 194, 141, 162))}.{ri(1, 255)}.{ri(0, 255)}.{ri(1, 255)}"
        client = f"unknown[{ip}]"
        x = r.random()
        if x < 0.2:
            ptr = f"ip-{ip.replace('.', '-')}.example-hosting.net"
            add(t, gi, K_OTHER, f"{name}[{pid}]: warning: hostname {ptr} does not resolve to address {ip}: "
                                f"Name or service not known")
            t += 300
        add(t, gi, K_OTHER, f"{name}[{pid}]: connect from {client}")
        helo = r.choice(SCANNER_HELOS)
        if x < 0.55:
            rcpt = f"{self._local_part(False)}@{r.choice(('gmail.com', 'yahoo.com', 'hotmail.com'))}"
            sender = ""
            if r.random() < 0.7:
                sender = f"{self._local_part(False)}@{r.choice(('example.org', 'mail.ru', 'outlook.com'))}"
            t += ri(100_000, 2_000_000)
            code = "454 4.7.1" if gi % 2 == 0 else "554 5.7.1"
            add(t, gi, K_REJECT, f"{name}[{pid}]: NOQUEUE: reject: RCPT from {client}: {code} <{rcpt}>: "
                                 f"Relay access denied; from=<{sender}> to=<{rcpt}> proto=ESMTP "
                                 f"helo=<{helo}>")
            t += ri(50_000, 900_000)
            add(t, gi, K_OTHER, f"{name}[{pid}]: disconnect from {client} ehlo=1 mail=1 rcpt=0/1 quit=1 "
                                f"commands=3/4")
        elif x < 0.75:
            t += ri(100_000, 5_000_000)
            after, counts = r.choice((("CONNECT", "commands=0"), ("EHLO", "ehlo=1 commands=1"),
                                      ("AUTH", "ehlo=1 auth=0/1 commands=1/2")))
            add(t, gi, K_OTHER, f"{name}[{pid}]: lost connection after {after} from {client}")
            add(t + 200, gi, K_OTHER, f"{name}[{pid}]: disconnect from {client} {counts}")
        elif x < 0.88:
            t += ri(100_000, 2_000_000)
            add(t, gi, K_OTHER, f"{name}[{pid}]: warning: non-SMTP command from {client}: GET / HTTP/1.1")
            add(t + 300, gi, K_OTHER, f"{name}[{pid}]: disconnect from {client} unknown=0/1 commands=0/1")
        else:
            t += ri(50_000, 500_000)
            add(t, gi, K_OTHER, f"{name}[{pid}]: SSL_accept error from {client}: -1")
            add(t + 100, gi, K_OTHER, f"{name}[{pid}]: warning: TLS library problem: error:0A00010B:SSL "
                                      f"routines::wrong version number:../ssl/record/ssl3_record.c:354:")
            add(t + 300, gi, K_OTHER, f"{name}[{pid}]: lost connection after STARTTLS from {client}")
            add(t + 400, gi, K_OTHER,
                f"{name}[{pid}]: disconnect from {client} ehlo=1 starttls=0/1 commands=1/2")
        self.smtpd_busy[gi][False][slot] = t + 1
        self.schedule(t + int(r.expovariate(1 / 1200) * US), "scanner", gi)

    def ev_bruteforce(self, t: int, gi: int, data: object) -> None:
        """A password-guessing burst against submission: a few to dozens of failed SASL logins."""
        ri = self.ri
        r = self.rng
        add = self.add
        if data is None:
            ip = f"{r.choice((45, 80, 87, 91, 141, 185, 193))}.{ri(1, 255)}.{ri(0, 255)}." \
                 f"{ri(1, 255)}"
            data = (ip, ri(2, 25))
            self.schedule(t + int(r.expovariate(1 / 28800) * US), "bruteforce", gi)
        ip, left = data  # type: ignore[misc]
        name = f"{self.sn}/submission/smtpd"
        slot, pid = self.smtpd_slot(gi, True, t)
        client = f"unknown[{ip}]"
        add(t, gi, K_OTHER, f"{name}[{pid}]: connect from {client}")
        t += ri(50_000, 400_000)
        add(t, gi, K_OTHER, f"{name}[{pid}]: Anonymous TLS connection established from {client}: {TLS_RSA13}")
        cum = self.sender_cum[gi]
        victim = self.senders[gi][bisect_right(cum, r.random() * cum[-1])]
        user = victim.sasl or f"{r.choice(('admin', 'info', 'test', 'contact', 'webmaster'))}@{victim.domain}"
        method = r.choice(("LOGIN", "PLAIN"))
        t += ri(500_000, 3_000_000)
        add(t, gi, K_OTHER, f"dovecot: auth: passwd-file({user},{ip}): "
                            f"{'Password mismatch' if victim.sasl == user else 'unknown user'}")
        reason = "UGFzc3dvcmQ6" if method == "LOGIN" else "authentication failure"
        add(t + 900, gi, K_SASL_FAIL, f"{name}[{pid}]: warning: {client}: SASL {method} authentication "
                                      f"failed: {reason}, sasl_username={user}")
        t += ri(100_000, 1_000_000)
        add(t, gi, K_OTHER, f"{name}[{pid}]: disconnect from {client} ehlo=2 starttls=1 auth=0/1 quit=1 "
                            f"commands=4/5")
        self.smtpd_busy[gi][True][slot] = t + 1
        if left > 1:
            self.schedule(t + ri(1, 20) * US, "bruteforce", gi, (ip, left - 1))

    def ev_rootmail(self, t: int, gi: int, data: object) -> None:
        """Local mail to root (cron output, logwatch) rewritten to the operators' address."""
        ri = self.ri
        r = self.rng
        sn = self.sn
        add = self.add
        qid, inode = self.qstate[gi].new(t, self.now, None)
        add(t, gi, K_RECEIVED, f"{sn}/pickup[{self.daemon_pid(gi, 2, t)}]: {qid}: uid=0 from=<root>")
        t += ri(1000, 20000)
        add(t, gi, K_OTHER, f"{sn}/cleanup[{self.pid(gi, 3, 12, 600, t)}]: {qid}: message-id="
                            f"<{self.stamp(t)}.{qid}@{self.fqdn[gi]}>")
        t += ri(1000, 10000)
        size = ri(700, 40000)
        sender = f"root@{self.fqdn[gi]}"
        add(t, gi, K_MESSAGE, f"{sn}/qmgr[{self.daemon_pid(gi, 1, t)}]: {qid}: from=<{sender}>, size={size}, "
                              f"nrcpt=1 (queue active)")
        ops = self.sender_dest("exploitation.relay-operator.fr")
        rcpt = [("postmaster@exploitation.relay-operator.fr", ops, 0)]
        end = self.lifecycle(gi, qid, t, t, sender, size, rcpt, f"{qid}@{self.fqdn[gi]}", False, None,
                             orig_to="root")
        self.qstate[gi].hold(end, inode, qid)
        self.schedule(t + int(r.expovariate(1 / 28800) * US), "rootmail", gi)

    def syslog_stamp(self, t: int) -> str:
        """'Nov  4 15:55:01' in local time, as anvil and scache print it."""
        dt = datetime.fromtimestamp(t // US, self.tz)
        return f"{MONTHS[dt.month - 1]} {dt.day:2d} {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"

    # ---------------------------------------------------------------- main loop and writing

    def run(self, outs: list[TextIO], per_gw: list[TextIO] | None) -> GenerateStats:
        """Simulate, write every line in time order, and count what was written."""
        started = time.perf_counter()
        r = self.rng
        self.start_events()
        writer = _Writer(self, outs, per_gw)
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
            self.session(t)
        if limit is None:
            self.run_events(self.end - 1)
            writer.flush_before(None, stop=self.end)
        writer.close()
        stats = writer.stats()
        stats.seconds = round(time.perf_counter() - started, 3)
        return stats


class _QueueIds:
    """Postfix short queue ids: 5 hex digits of microseconds + the queue file's inode, in hex.

    Inodes of removed queue files are reused, and now and then a new message gets the very id of
    one that just left the queue, as happens on a busy relay.
    """

    def __init__(self, r: Random) -> None:
        self.next_inode = r.randrange(0x20000, 0x90000)
        self.free: list[int] = []
        self.free_set: set[int] = set()
        self.busy: list[tuple[int, int, str]] = []
        self.recent: deque[tuple[str, int]] = deque(maxlen=64)

    def new(self, t: int, now: int, r: Random | None) -> tuple[str, int]:
        """A queue id created at time t; queue files removed by `now` (the simulation clock) are free."""
        busy = self.busy
        while busy and busy[0][0] <= now:
            _, inode, qid = heapq.heappop(busy)
            self.free.append(inode)
            self.free_set.add(inode)
            self.recent.append((qid, inode))
        if r is not None and self.recent and r.random() < P_RECYCLE:
            qid, inode = self.recent[-1]
            if inode in self.free_set:
                self.free_set.discard(inode)
                self.free.remove(inode)
                return qid, inode
        if self.free:
            inode = self.free.pop(0 if len(self.free) < 8 else -1)
            self.free_set.discard(inode)
        else:
            inode = self.next_inode
            self.next_inode += 1 + (inode * 2654435761 >> 7) % 23
        return f"{t % US:05X}{inode:05X}", inode

    def hold(self, end: int, inode: int, qid: str) -> None:
        heapq.heappush(self.busy, (end, inode, qid))


class _Writer:
    """Sorts finished time buckets, formats timestamps, writes big blocks and counts what it writes."""

    def __init__(self, gen: _Generator, outs: list[TextIO], per_gw: list[TextIO] | None) -> None:
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
        dt = datetime.fromtimestamp(sec, self.tz)
        fmt = self.gen.fmt
        if fmt == "syslog":
            return f"{MONTHS[dt.month - 1]} {dt.day:2d} {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
        z = dt.strftime("%z")
        self.zone = f"{z[:3]}:{z[3:]}" if fmt == "rfc3339" else z
        return dt.strftime("%Y-%m-%dT%H:%M:%S")

    def write(self, entries: list[tuple[int, int, int, str]], stop: int | None) -> bool:
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
                qid = text[i:text.index(":", i)]
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
        self.drain()

    def stats(self) -> GenerateStats:
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


def generate(out: Path | TextIO | None, *, lines: int | None = None, days: float, gateways: list[str],
             seed: int, start: datetime, fmt: Format = "syslog", per_gateway_dir: Path | None = None,
             messages_per_day: float = 4000.0, syslog_name: str = "postfix") -> GenerateStats:
    """Write a realistic, time-ordered Postfix log of `gateways` and return the exact counts.

    With `lines`, exactly that many lines are written (the rate is set so they span about `days`);
    without, `days` of traffic at about `messages_per_day` per gateway. `per_gateway_dir` also writes
    one `<gateway>.log` per gateway. Same arguments, same bytes.
    """
    gen = _Generator(lines=lines, days=days, gateways=gateways, seed=seed, start=start, fmt=fmt,
                     messages_per_day=messages_per_day, syslog_name=syslog_name)
    with ExitStack() as stack:
        outs: list[TextIO] = []
        if isinstance(out, Path | str):
            outs.append(stack.enter_context(open(out, "w", encoding="utf-8", newline="\n",
                                                 buffering=1 << 22)))
        elif out is not None:
            outs.append(out)
        per_gw = None
        if per_gateway_dir is not None:
            per_gateway_dir.mkdir(parents=True, exist_ok=True)
            per_gw = [stack.enter_context(open(per_gateway_dir / f"{g}.log", "w", encoding="utf-8",
                                               newline="\n", buffering=1 << 22)) for g in gateways]
        if not outs and per_gw is None:
            raise ValueError("nothing to write to: give out or per_gateway_dir")
        return gen.run(outs, per_gw)


def default_start(days: float) -> datetime:
    """Midnight UTC, `days` (rounded up) before today: the log ends about now."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=math.ceil(days))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m relaywatch.loggen", description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=None, help="exact number of lines to write")
    p.add_argument("--days", type=float, default=7.0, help="time span of the log (default 7: mail expires after 5)")
    p.add_argument("--gateways", default="gw1", help="comma-separated gateway host names")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="combined log of all gateways")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="syslog",
                   help="syslog: 'Nov 24 15:55:01'; rfc3339: rsyslog high precision; journal: "
                        "journalctl -o short-iso-precise")
    p.add_argument("--per-gateway-dir", type=Path, default=None, help="also write DIR/<gateway>.log")
    p.add_argument("--start", type=datetime.fromisoformat, default=None,
                   help="ISO start time (default: midnight UTC, DAYS days ago)")
    p.add_argument("--messages-per-day", type=float, default=4000.0, help="per gateway, without --lines")
    p.add_argument("--syslog-name", default="postfix")
    a = p.parse_args(argv)
    if a.out is None and a.per_gateway_dir is None:
        p.error("give --out or --per-gateway-dir")
    gws = [g.strip() for g in a.gateways.split(",") if g.strip()]
    stats = generate(a.out, lines=a.lines, days=a.days, gateways=gws, seed=a.seed,
                     start=a.start or default_start(a.days), fmt=a.fmt, per_gateway_dir=a.per_gateway_dir,
                     messages_per_day=a.messages_per_day, syslog_name=a.syslog_name)
    json.dump(stats.as_dict(), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
