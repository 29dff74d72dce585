"""Pure tables: how each provider family answers (reply catalogues), how often it fails, network failures."""

from __future__ import annotations

# Reply catalogues: family -> reason -> list of (permanent, dsn, stage, template).
# Templates use str.format_map with lazily generated fields (see _Ctx).
GMAIL_T = " {g} - gsmtp"
MS_T = " [{pepf} {iso} {h16}]"
REPLIES: dict[str, dict[str, list[tuple[bool, str, str, str]]]] = {
    "gmail": {
        "user_unknown": [
            (
                True,
                "5.1.1",
                "RCPT TO",
                "550-5.1.1 The email account that you tried to reach does not exist. Please try "
                "550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 "
                "unnecessary spaces. For more information, go to 550 5.1.1  "
                "https://support.google.com/mail/?p=NoSuchUser" + GMAIL_T,
            )
        ],
        "disabled": [
            (
                True,
                "5.2.1",
                "RCPT TO",
                "550-5.2.1 The email account that you tried to reach is disabled. For more "
                "550-5.2.1 information, go to 550 5.2.1  https://support.google.com/mail/?p=DisabledUser" + GMAIL_T,
            )
        ],
        "mailbox_full": [
            (
                False,
                "4.2.2",
                "RCPT TO",
                "452-4.2.2 The recipient's inbox is out of storage space. Please direct the "
                "452-4.2.2 recipient to 452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp" + GMAIL_T,
            )
        ],
        "rate_limited": [
            (
                False,
                "4.7.28",
                "end of DATA",
                "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail. To protect "
                "421-4.7.28 our users from spam, mail has been temporarily rate limited. For more "
                "421-4.7.28 information, go to 421-4.7.28  "
                "https://support.google.com/mail/?p=UnsolicitedRateLimitError 421 4.7.28  review "
                "our Bulk Email Senders Guidelines." + GMAIL_T,
            )
        ],
        "reputation": [
            (
                False,
                "4.7.0",
                "end of DATA",
                "421-4.7.0 [{ip}      15] Our system has detected an unusual rate of 421-4.7.0 "
                "unsolicited mail originating from your IP address. To protect our 421-4.7.0 users "
                "from spam, mail sent from your IP address has been temporarily 421-4.7.0 rate "
                "limited. For more information, go to 421 4.7.0  "
                "https://support.google.com/mail/?p=UnsolicitedIPError" + GMAIL_T,
            )
        ],
        "auth_policy": [
            (
                True,
                "5.7.26",
                "end of DATA",
                "550-5.7.26 Unauthenticated email from {sdomain} is not accepted due to 550-5.7.26 "
                "domain's DMARC policy. Please contact the administrator of 550-5.7.26 {sdomain} "
                "domain if this was a legitimate mail. To learn about the 550-5.7.26 DMARC "
                "initiative, go to 550 5.7.26  https://support.google.com/mail/?p=DmarcRejection" + GMAIL_T,
            )
        ],
        "spam_content": [
            (
                True,
                "5.7.1",
                "end of DATA",
                "550-5.7.1 [{ip}      12] Gmail has detected that this message is likely "
                "550-5.7.1 unsolicited mail. To reduce the amount of spam sent to Gmail, this "
                "550-5.7.1 message has been blocked. For more information, go to 550 5.7.1  "
                "https://support.google.com/mail/?p=UnsolicitedMessageError" + GMAIL_T,
            )
        ],
        "message_too_large": [
            (
                True,
                "5.2.3",
                "end of DATA",
                "552-5.2.3 Your message exceeded Google's message size limits. For more "
                "552-5.2.3 information, go to 552 5.2.3  "
                "https://support.google.com/mail/?p=MaxSizeError" + GMAIL_T,
            )
        ],
    },
    "microsoft": {
        "user_unknown": [
            (
                True,
                "5.5.0",
                "RCPT TO",
                "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302)." + MS_T,
            )
        ],
        "reputation": [
            (
                True,
                "5.7.1",
                "MAIL FROM",
                "550 5.7.1 Unfortunately, messages from [{ip}] weren't sent. Please contact your "
                "Internet service provider since part of their network is on our block list "
                "(S3150). You can also refer your provider to "
                "http://mail.live.com/mail/troubleshooting.aspx#errors." + MS_T,
            )
        ],
        "busy": [
            (
                False,
                "4.7.500",
                "MAIL FROM",
                "451 4.7.500 Server busy. Please try again later from [{ip}]. (S77719)" + MS_T,
            )
        ],
        "rate_limited": [
            (
                False,
                "4.7.650",
                "MAIL FROM",
                "451 4.7.650 The mail server [{ip}] has been temporarily rate limited due to IP "
                "reputation. For e-mail delivery information, see https://postmaster.live.com "
                "(S775)" + MS_T,
            )
        ],
        "auth_policy": [
            (
                True,
                "5.7.515",
                "end of DATA",
                "550 5.7.515 Access denied, sending domain {sdomain} doesn't meet the required "
                "authentication level. The sender's domain in the 5322.From address doesn't meet "
                "the authentication requirements defined for the sender. To learn more, visit "
                "https://go.microsoft.com/fwlink/?linkid=2223003." + MS_T,
            )
        ],
        "mailbox_full": [
            (
                False,
                "4.2.2",
                "RCPT TO",
                "452 4.2.2 The recipient's mailbox is full and can't accept messages now. Please "
                "try resending this message later, or contact the recipient directly." + MS_T,
            )
        ],
        "disabled": [
            (
                True,
                "5.2.1",
                "RCPT TO",
                "550 5.2.1 The email account that you tried to reach is disabled. (S2017062302)." + MS_T,
            )
        ],
    },
    "o365": {
        "user_unknown": [
            (
                True,
                "5.4.1",
                "RCPT TO",
                "550 5.4.1 Recipient address rejected: Access denied. For more information see "
                "https://aka.ms/EXOSmtpErrors" + MS_T,
            )
        ],
        "mailbox_full": [
            (
                False,
                "4.2.2",
                "RCPT TO",
                "452 4.2.2 The recipient's mailbox is full and can't accept messages now." + MS_T,
            )
        ],
        "busy": [
            (
                False,
                "4.7.500",
                "MAIL FROM",
                "451 4.7.500 Server busy. Please try again later from [{ip}]. (S77714)" + MS_T,
            )
        ],
        "spam_content": [
            (
                True,
                "5.7.1",
                "end of DATA",
                "550 5.7.1 Service unavailable, Client host [{ip}] blocked using Spamhaus. To "
                "request removal from this list see https://www.spamhaus.org/query/ip/{ip} "
                "(AS3130)." + MS_T,
            )
        ],
    },
    "yahoo": {
        "rate_limited": [
            (
                False,
                "4.7.0",
                "MAIL FROM",
                "421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected "
                "volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
            )
        ],
        "user_unknown": [
            (
                True,
                "5.0.0",
                "end of DATA",
                "554 delivery error: dd This user doesn't have a {domain} account ({rcpt}) [0] - {ymta}",
            )
        ],
        "disabled": [
            (
                True,
                "5.0.0",
                "end of DATA",
                "554 delivery error: dd Sorry your message to {rcpt} cannot be delivered. This mailbox "
                "is disabled (554.30). - {ymta}",
            )
        ],
        "mailbox_full": [(False, "4.2.2", "RCPT TO", "452 4.2.2 Mailbox full - {ymta}")],
        "auth_policy": [
            (
                True,
                "5.7.9",
                "end of DATA",
                "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo "
                "requires all senders to authenticate with either SPF or DKIM.",
            )
        ],
    },
    "orange": {
        "user_unknown": [
            (
                True,
                "5.1.1",
                "RCPT TO",
                "550 5.1.1 <{rcpt}>: Recipient address rejected: Adresse d au moins un "
                "destinataire invalide. Invalid recipient. OFR_416 [416]",
            )
        ],
        "mailbox_full": [
            (
                True,
                "5.2.2",
                "RCPT TO",
                "552 5.2.2 <{rcpt}>: Recipient address rejected: Boite du destinataire pleine. "
                "Recipient mailbox full. OFR_417 [417]",
            )
        ],
        "disabled": [
            (
                True,
                "5.1.1",
                "RCPT TO",
                "550 5.1.1 <{rcpt}>: Recipient address rejected: Boite du destinataire archivee. "
                "Archived recipient. OFR_418 [418]",
            )
        ],
        "reputation": [
            (
                True,
                "5.7.1",
                "MAIL FROM",
                "550 5.7.1 Service refuse. Veuillez essayer plus tard. Service refused, please try "
                "later. OFR_999 [999]",
            )
        ],
        "rate_limited": [
            (
                False,
                "4.0.0",
                "greeting",
                "421 mwinf5c{n2} ME Trop de connexions, veuillez verifier votre configuration. "
                "Too many connections, slow down. OFR005_104 [104]",
            )
        ],
    },
    "free": {
        "user_unknown": [
            (
                True,
                "5.1.1",
                "RCPT TO",
                "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in local recipient table",
            )
        ],
        "mailbox_full": [(False, "4.2.2", "RCPT TO", "452 4.2.2 <{rcpt}>: Recipient address rejected: Mailbox full")],
        "rate_limited": [
            (
                False,
                "4.0.0",
                "MAIL FROM",
                "421 Too many spams from your IP ({ip}), please visit http://postmaster.free.fr/",
            )
        ],
    },
    "sfr": {
        "user_unknown": [(True, "5.1.1", "RCPT TO", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown")],
        "reputation": [
            (
                True,
                "5.7.1",
                "MAIL FROM",
                "554 5.7.1 Client host rejected: IP address {ip} blocklisted by SFR anti-spam policy [{n2}]",
            )
        ],
        "rate_limited": [
            (False, "4.7.0", "MAIL FROM", "421 4.7.0 Too many connections from {ip}, please try again later")
        ],
    },
    "laposte": {
        "user_unknown": [
            (True, "5.1.1", "RCPT TO", "550 5.1.1 <{rcpt}>: Recipient address rejected: Unknown user LPN003_401")
        ],
        "rate_limited": [
            (
                False,
                "4.7.1",
                "MAIL FROM",
                "421 4.7.1 Service refuse, veuillez essayer plus tard. Service refused, please try later. LPN007_402",
            )
        ],
        "reputation": [
            (
                True,
                "5.7.1",
                "MAIL FROM",
                "550 5.7.1 Service refuse. Adresse IP {ip} bloquee. IP address blocked. LPN105_104",
            )
        ],
    },
    "gmx": {
        "user_unknown": [(True, "5.0.0", "RCPT TO", "550 Requested action not taken: mailbox unavailable")],
        "mailbox_full": [(False, "4.2.2", "RCPT TO", "452 4.2.2 Mailbox full, try again later")],
        "reputation": [
            (
                False,
                "4.0.0",
                "greeting",
                "554-gmx.net (mxgmx1{n2}) Nemesis ESMTP Service not available 554-No SMTP service "
                "554-IP address is block listed. 554 For explanation visit "
                "https://postmaster.gmx.net/en/case?c=r0301&i=ip&v={ip}&r={gmxid}",
            )
        ],
    },
    "apple": {
        "user_unknown": [(True, "5.1.1", "RCPT TO", "550 5.1.1 <{rcpt}>: user does not exist")],
        "reputation": [
            (
                True,
                "5.7.1",
                "end of DATA",
                "554 5.7.1 [CS01] Message rejected due to local policy. Please visit "
                "https://support.apple.com/en-us/HT204137",
            )
        ],
        "mailbox_full": [(False, "4.2.2", "RCPT TO", "452 4.2.2 <{rcpt}>: user is over quota")],
    },
    "postfix": {
        "user_unknown": [
            (
                True,
                "5.1.1",
                "RCPT TO",
                "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
            ),
            (
                True,
                "5.1.1",
                "RCPT TO",
                "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in local recipient table",
            ),
        ],
        "mailbox_full": [
            (
                False,
                "4.2.2",
                "RCPT TO",
                "452 4.2.2 <{rcpt}>: Recipient address rejected: Quota exceeded (mailbox for user is full)",
            )
        ],
        "disabled": [
            (
                True,
                "5.2.1",
                "RCPT TO",
                "550 5.2.1 <{rcpt}>: Recipient address rejected: Mailbox disabled, not accepting messages",
            )
        ],
        "greylisted": [
            (
                False,
                "4.2.0",
                "RCPT TO",
                "450 4.2.0 <{rcpt}>: Recipient address rejected: "
                "Greylisted, see http://postgrey.schweikert.ch/help/{domain}.html",
            )
        ],
        "reputation": [
            (
                True,
                "5.7.1",
                "RCPT TO",
                "554 5.7.1 Service unavailable; Client host [{ip}] blocked "
                "using zen.spamhaus.org; https://www.spamhaus.org/query/ip/{ip}",
            )
        ],
        "auth_policy": [
            (
                True,
                "5.7.23",
                "RCPT TO",
                "550 5.7.23 <{rcpt}>: Recipient address rejected: "
                "Message rejected due to: SPF fail - not authorized. Please see "
                "http://www.openspf.net/Why?s=mfrom;id={sender};ip={ip};r=<UNKNOWN>",
            )
        ],
        "spam_content": [(True, "5.7.1", "end of DATA", "554 5.7.1 Spam message rejected")],
        "message_too_large": [(True, "5.3.4", "end of DATA", "552 5.3.4 Message size exceeds fixed limit")],
        "remote_error": [
            (False, "4.3.0", "end of DATA", "451 4.3.0 Error: queue file write error"),
            (False, "4.3.5", "RCPT TO", "451 4.3.5 Server configuration problem"),
        ],
    },
    "exim": {
        "user_unknown": [(True, "5.0.0", "RCPT TO", "550 Unrouteable address")],
        "greylisted": [(False, "4.0.0", "RCPT TO", "451 Greylisted, please try again in 5 minutes")],
        "spam_content": [(True, "5.0.0", "end of DATA", "550 Message rejected as spam")],
        "mailbox_full": [(False, "4.2.2", "RCPT TO", "452 4.2.2 Mailbox quota exceeded")],
    },
    "exchange": {
        "user_unknown": [
            (
                True,
                "5.1.10",
                "RCPT TO",
                "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {rcpt} not found by SMTP address lookup",
            )
        ],
        "mailbox_full": [(False, "4.2.2", "RCPT TO", "452 4.2.2 Mailbox full")],
        "message_too_large": [
            (True, "5.3.4", "end of DATA", "552 5.3.4 Message size exceeds fixed maximum message size")
        ],
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
    "postfix": (
        0.02,
        (
            ("net_timeout", 2),
            ("net_refused", 1),
            ("net_lost", 1),
            ("dns_temp", 1),
            ("net_conv_timeout", 0.5),
            ("remote_error", 1),
            ("tls_cert", 0.3),
        ),
    ),
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
    "postfix": (0.003, (("reputation", 2), ("spam_content", 1), ("message_too_large", 1), ("auth_policy", 1))),
    "exim": (0.002, (("spam_content", 1),)),
    "exchange": (0.001, (("message_too_large", 1),)),
}
AUTH_STRICT = ("gmail", "microsoft", "yahoo")  # reject unauthenticated (no DKIM) senders now and then

# Network and TLS failures: name -> (permanent, dsn)
NET_FAILURES: dict[str, tuple[bool, str]] = {
    "net_timeout": (False, "4.4.1"),
    "net_refused": (False, "4.4.1"),
    "net_noroute": (False, "4.4.1"),
    "net_lost": (False, "4.4.2"),
    "net_conv_timeout": (False, "4.4.2"),
    "dns_temp": (False, "4.4.3"),
    "dns_perm": (True, "5.4.4"),
    "tls_required": (False, "4.7.4"),
    "tls_cert": (False, "4.7.5"),
}
