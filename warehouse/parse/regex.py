"""The regex path: the header and message patterns that know every shape of line, and how a match fills columns."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from warehouse.parse.common import HOST, QID, SCHEMA
from warehouse.parse.timestamps import timestamps

# Regex-path header: what precedes "host program[pid]: " is the timestamp, read if it can be.
# No timestamp is preferred to one, and a short one to a long one, so that a bare
# "host program: " keeps its host and text inside the message cannot shift the header.
_HEADER = (
    rf"(?s)^(?:(?P<ts>.*?)\s+)??(?:(?P<host>{HOST})\s+)?/?(?P<tag>[A-Za-z][\w.\-/]*)"
    r"(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$"
)
_CLIENT = r"(?P<client_host>[^\[ ]*)\[(?P<client_ip>[^\]]*)\]"

# Regex-path rules: (event, pattern on the message body after "QID: "). The first pattern that
# matches decides the event; its named groups fill the output columns of the same name, groups
# named "_..." are read by `_apply_rule`.
_ACTIONS = (
    r"(?:reject|reject_warning|milter-reject|milter-discard|milter-hold|milter-header-[a-z]+|proxy-reject"
    r"|discard|hold|filter|redirect|defer|defer_if_permit|defer_if_reject)"
)
# A delivery's items between the recipient and "status=": the known ones are read from `_items`
# (Postfix adds items over releases, e.g. "tls=" in 3.11; unknown ones are skipped, never fatal).
_DELIVERY_ITEMS = {name: rf"(?:^|, ){name}=([^,]*)" for name in ("delay", "delays", "dsn")}
# Header/body checks (cleanup, smtp): "header Subject: .. from host[ip]; from=<..> to=<..> proto=..
# helo=<..>[: text]"; a locally submitted message is "from local".
_CHECKED = (
    r"(?:header|body) .*?(?: from (?P<client_host>[^\[\s;]*)(?:\[(?P<client_ip>[^\]]*)\])?(?::\d+)?)?; "
    r"from=<(?P<from>.*?)>(?: to=<(?P<to>.*?)>)?(?: proto=\S+)?(?: helo=<[^>]*>)?"
)
_RULES: list[tuple[str, str]] = [
    (
        "delivery",
        (
            r"^to=(?:<(?P<to>.*?)>|(?P<_to>[^<>,\s]+)), (?:orig_to=(?:<(?P<orig_to>.*?)>|(?P<_orig_to>[^<>,\s]+)), )?"
            r"relay=(?P<relay>[^, ]*), (?P<_items>(?:[a-z_]+=[^,]*, )*?)status=(?P<status>[A-Za-z-]+)"
            r"(?: \((?P<response>.*?)\)?|, .*)?\s*$"
        ),
    ),
    (
        "client",
        (
            rf"^client={_CLIENT}(?::\d+)?(?:, sasl_method=(?P<sasl_method>[^,]*))?"
            r"(?:, sasl_username=(?P<sasl_username>[^,]*))?(?:, .*)?$"
        ),
    ),
    ("connect", rf"^connect from {_CLIENT}"),
    ("disconnect", rf"^disconnect from {_CLIENT}"),
    ("message-id", r"^message-id=<?(?P<message_id>.*?)>?\s*$"),
    ("other", r"^resent-message-id=<?(?P<message_id>.*?)>?\s*$"),
    ("queued", r"^from=<(?P<from>.*?)>, size=(?P<size>\d+), nrcpt=(?P<nrcpt>\d+) \(queue active\)\s*$"),
    ("expired", r"^from=<(?P<from>.*?)>, status=(?P<status>(?:force-)?expired), returned to sender"),
    ("removed", r"^removed\s*$"),
    ("pickup", r"^uid=-?\d+ from=<(?P<from>.*?)>"),
    ("ndr", r"^sender (?:non-delivery|delay|delivery status) notification: (?P<ndr_queue_id>\S+)"),
    ("other", r"^postmaster (?:non-delivery|delay|delivery status) notification: (?P<ndr_queue_id>\S+)"),
    ("other", r"^undeliverable postmaster notification discarded\s*$"),
    (
        "reject",
        (
            rf"^(?P<status>{_ACTIONS}): [A-Z][A-Z-]* from {_CLIENT}(?::\d+)?:? (?P<response>.*?)"
            r"(?:; (?:from=<(?P<from>.*?)>,? ?)?(?:to=<(?P<to>.*?)>,? ?)?(?:proto=[^\s,]*,? ?)?"
            r"(?:helo=<?[^>]*>?)?)?\s*$"
        ),
    ),
    ("reject", rf"^(?P<status>{_ACTIONS}): {_CHECKED}(?:: (?P<response>.*?))?\s*$"),
    (
        "reject",
        (
            r"^(?P<status>proxy-reject): [A-Z][A-Z-]*: (?P<response>.*?)"
            r"(?:; from=<(?P<from>.*?)>(?: to=<(?P<to>.*?)>)?(?: proto=\S+)?(?: helo=<[^>]*>)?)?\s*$"
        ),
    ),
    ("reject", rf"^(?P<status>{_ACTIONS}): (?P<response>.*?)\s*$"),
    (
        "other",
        (
            r"^(?P<status>proxy-accept): [A-Z][A-Z-]*: (?P<response>.*?)"
            r"(?:; from=<(?P<from>.*?)>(?: to=<(?P<to>.*?)>)?(?: proto=\S+)?(?: helo=<[^>]*>)?)?\s*$"
        ),
    ),
    ("warning", rf"^warning: (?P<response>{_CHECKED})(?:: .*?)?\s*$"),
    ("other", rf"^(?:info|replace|prepend|bcc): (?P<response>{_CHECKED})(?:: .*?)?\s*$"),
    ("warning", r"^(?:/\S+: )?(?:warning|error): (?P<response>.*?)\s*$"),
    ("fatal", r"^(?:/\S+: )?fatal: (?P<response>.*?)\s*$"),
    ("panic", r"^(?:/\S+: )?panic: (?P<response>.*?)\s*$"),
    (
        "other",
        (
            r"^(?:(?:(?:Anonymous|Trusted|Verified|Untrusted) )?TLS connection established (?:from|to) "
            r"|setting up TLS connection (?:from|to) |SSL_accept error from |SSL_connect error to "
            r"|(?:server )?certificate (?:peer name )?verification failed for |Host offered STARTTLS"
            r"|TLS is required, but |(?:Unverified|Verified|Trusted): "
            r"|lost connection (?:after|with) |timeout after |too many errors after "
            r"|improper command pipelining after |connect to |conversation with "
            r"|host \S+ (?:said|refused to talk to me)|enabling PIX |skipped, still being delivered"
            r"|SASL authentication failed; |Cannot start TLS|breaking line > \d+ characters"
            r"|Peer certificate could not be verified|bare <LF> received after "
            r"|initializing the (?:server|client)-side TLS engine|open \S+ TLS cache "
            r"|statistics: |addr \S+ listed by domain "
            r"|(?:CONNECT from|DISCONNECT|PASS NEW|PASS OLD|WHITELISTED|ALLOWLISTED|BLACKLISTED"
            r"|DENYLISTED|WHITELIST VETO|ALLOWLIST VETO|DNSBL rank|PREGREET|HANGUP|COMMAND PIPELINING"
            r"|COMMAND TIME LIMIT|COMMAND COUNT LIMIT|COMMAND LENGTH LIMIT|NON-SMTP COMMAND"
            r"|BARE NEWLINE) |daemon started -- |terminating on signal |reload -- |master exit time"
            r"|(?:starting|stopping|refreshing) the Postfix mail system|waiting for the Postfix mail"
            r"|the Postfix mail system is |Postfix is (?:running|using) |See http://www\.postfix\.org/"
            r"|To disable backwards compatibility|using backwards-compatible default setting"
            r"|(?:Requeued|Deleted|Placed on hold|Released from hold|Expired): \d+ messages?"
            r"|(?:requeued|placed on hold|released from hold|expired)\s*$"
            r"|table \S+ has changed -- restarting|(?:replace|prepend|info|bcc): (?:header|body) "
            r"|discarding EHLO keywords)"
        ),
    ),
]

# Where a recognised line names the remote client: "... from host[ip]", postscreen
# "[ip]:port", anvil "(smtp:ip)"; a warning as "host[ip]" (e.g. a SASL failure).
_OTHER_CLIENT = (
    rf" from {_CLIENT}|^(?:PASS NEW|PASS OLD|(?:WHITE|ALLOW|BLACK|DENY)LISTED|(?:WHITE|ALLOW)LIST VETO"
    r"|DISCONNECT|DNSBL rank \d+ for) \[(?P<ps_ip>[0-9A-Fa-f.:]+)\]:\d+"
    r"|\(\w+:(?P<anvil_ip>[0-9A-Fa-f.:]+)\)"
)
_WARNING_CLIENT = r"(?P<client_host>[\w.\-]*)\[(?P<client_ip>[0-9A-Fa-f.:]+)\]"
_SASL_FAILURE = r"SASL (\S+) authentication (?:failed|aborted)"
_DSN_IN_TEXT = r"^(?:\d{3}[ -])?(\d\.\d{1,3}\.\d{1,3})\b"


def read_header(frame: pl.DataFrame, reference: datetime, tz: str) -> pl.DataFrame:
    """Header of the lines the offset path cannot read; `_msg` is null without a header."""
    parts = frame["line"].str.extract_groups(_HEADER).struct.unnest()
    return pl.DataFrame(
        {
            "_row": frame["_row"],
            "ts": timestamps(parts["ts"], reference, tz),
            "host": parts["host"],
            "syslog_name": parts["tag"],
            "service": parts["tag"].str.extract(r"([^/]*)$", 1),
            "pid": parts["pid"].cast(pl.Int64, strict=False),
            "_msg": parts["msg"],
        }
    )


def read_messages(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """Parse messages with the `_RULES` regexes; this path knows every shape of line.

    Input: `_row`, `syslog_name` and `_msg` (null when the line has no header). Each rule runs
    only on the rows it claims; every row gets an event, "unparsed" when no rule claims it.
    """
    msg = pl.col("_msg")
    # The queue ID starts the message, or follows the level of a message about a queued mail
    # ("warning: QID: ..."); the body keeps the level.
    head = msg.str.extract_groups(rf"^(?P<level>(?:warning|error|fatal|panic): )?(?P<qid>{QID}): ")
    level, qid = head.struct.field("level").fill_null(""), head.struct.field("qid")
    rule = pl.lit(None, pl.Int32)
    for index, (_, pattern) in reversed(list(enumerate(_RULES))):
        rule = pl.when(pl.col("_body").str.contains(f"(?s){pattern}")).then(pl.lit(index)).otherwise(rule)
    postfix = pl.col("syslog_name").str.starts_with("postfix") & msg.is_not_null()
    frame = (
        frame.lazy()
        .with_columns(_qid=qid)
        .with_columns(
            _body=pl.when(pl.col("_qid").is_not_null())
            .then(level + msg.str.slice(level.str.len_chars() + pl.col("_qid").str.len_chars() + 2))
            .otherwise(msg),
            queue_id=pl.when(postfix & (pl.col("_qid") != "NOQUEUE")).then(pl.col("_qid")),
        )
        .with_columns(_rule=pl.when(postfix).then(rule))
        .collect()
    )
    unparsed = frame.filter(pl.col("_rule").is_null()).select("_row", "queue_id", event=pl.lit("unparsed"))
    claimed = frame.filter(pl.col("_rule").is_not_null())
    parts = claimed.partition_by("_rule", as_dict=True) if claimed.height else {}
    return [unparsed] + [_apply_rule(part, *_RULES[int(index)]) for (index,), part in parts.items()]


def _apply_rule(frame: pl.DataFrame, event: str, pattern: str) -> pl.DataFrame:
    """Fill the columns named by `pattern`'s groups, plus what the event adds."""
    groups = frame["_body"].str.extract_groups(f"(?s){pattern}").struct.unnest()
    fields = groups.select(name for name in groups.columns if name in SCHEMA)
    if event == "delivery":  # bare addresses of some local/virtual emitters; items in any order
        fields = fields.with_columns(
            to=pl.coalesce("to", groups["_to"]),
            orig_to=pl.coalesce("orig_to", groups["_orig_to"]),
            **{name: groups["_items"].str.extract(item, 1) for name, item in _DELIVERY_ITEMS.items()},
        )
    frame = pl.concat([frame.select("_row", "queue_id", "_body"), fields], how="horizontal")
    frame = frame.with_columns(
        pl.col(name).cast(SCHEMA[name], strict=False) for name in ("delay", "size", "nrcpt") if name in fields.columns
    ).with_columns(event=pl.lit(event))
    body = pl.col("_body")
    if event != "delivery" and {"status", "response"} <= set(fields.columns):
        frame = frame.with_columns(dsn=pl.col("response").str.extract(_DSN_IN_TEXT, 1))
    if event in ("warning", "fatal", "panic") and "from" not in fields.columns:
        frame = frame.with_columns(
            body.str.extract_groups(_WARNING_CLIENT).struct.unnest(),
            sasl_method=body.str.extract(_SASL_FAILURE, 1),
            sasl_username=body.str.extract(r", sasl_username=(\S+)", 1),
        )
    elif event == "other" and not fields.columns:
        found = frame["_body"].str.extract_groups(_OTHER_CLIENT).struct.unnest()
        frame = frame.with_columns(
            client_host=found["client_host"],
            client_ip=pl.coalesce(found["client_ip"], found["ps_ip"], found["anvil_ip"]),
        )
    if "client_host" in frame.columns:
        frame = frame.with_columns(pl.col("client_host").replace("", None))
    return frame.drop("_body")
