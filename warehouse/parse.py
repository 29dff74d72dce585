"""Postfix log lines to typed events, vectorised with Polars.

`parse_lines` turns a Series of raw syslog lines into one row per line (same order) with the
columns of the "Parser output" contract. It never raises on content and never drops a line:
what it does not recognise comes back as event "unparsed", counted by `parse_counts`.

Why two paths: a regex with capture groups costs several hundred nanoseconds per row in Polars,
a literal `find` or a `slice` a few tens. The offset path therefore reads the lines that make
up nearly all of a gateway's traffic (ASCII lines with a regular header: smtp/lmtp deliveries,
smtpd connect/client/disconnect/TLS, cleanup message-id, qmgr queued and removed) by byte
offsets. Everything else (other kinds, non-ASCII lines, odd headers, truncated lines) goes to
the regex path, which knows every shape and is the reference the offset path must agree with.
Each path works on its own subset of rows, in lazy queries that Polars runs on all cores; the
results are concatenated and put back in input order at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Datetime("us", "UTC"),
    "host": pl.Utf8(),
    "syslog_name": pl.Utf8(),
    "service": pl.Utf8(),
    "pid": pl.Int64(),
    "queue_id": pl.Utf8(),
    "event": pl.Utf8(),
    "from": pl.Utf8(),
    "to": pl.Utf8(),
    "orig_to": pl.Utf8(),
    "relay": pl.Utf8(),
    "delay": pl.Float64(),
    "delays": pl.Utf8(),
    "dsn": pl.Utf8(),
    "status": pl.Utf8(),
    "response": pl.Utf8(),
    "client_host": pl.Utf8(),
    "client_ip": pl.Utf8(),
    "sasl_method": pl.Utf8(),
    "sasl_username": pl.Utf8(),
    "message_id": pl.Utf8(),
    "size": pl.Int64(),
    "nrcpt": pl.Int64(),
    "ndr_queue_id": pl.Utf8(),
}
"""Parser output columns, in order (DESIGN.md "Interfaces that stay stable": `relaywatch parse` keys)."""

_HEADER_FIELDS = ["ts", "host", "syslog_name", "service", "pid"]

# Queue IDs: short ones are upper-case hex; long ones (enable_long_queue_ids) are base-52 time
# digits from an alphabet without vowels, a 'z', then the base-51 inode number (no 'z').
_QID = (
    r"(?:[0-9A-F]{5,}|NOQUEUE"
    r"|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y]+)"
)

# Timestamps: classic syslog ("Nov  4 05:06:07", no year), rsyslog RFC 3339
# ("2026-11-24T15:53:08.123456+01:00") and `journalctl -o short-iso` ("...T15:53:08+0100").
_TIMESTAMP = (
    r"^(?:(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<hms>\d{2}:\d{2}:\d{2})"
    r"|(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?)$"
)
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# Regex-path header: what precedes "host program[pid]: " is the timestamp, read if it can be.
# No timestamp is preferred to one, and a short one to a long one, so that a bare
# "host program: " keeps its host and text inside the message cannot shift the header.
_HOST = r"[^\s\[\]:]+"
_HEADER = (
    rf"(?s)^(?:(?P<ts>.*?)\s+)??(?:(?P<host>{_HOST})\s+)?/?(?P<tag>[A-Za-z][\w.\-/]*)"
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

# smtpd/smtp TLS summary lines: the first word and its length.
_TLS_WORDS = {"Anonymous": 9, "Trusted": 7, "Verified": 8, "Untrusted": 9}
_TLS_FROM = " TLS connection established from "
_TLS_TO = " TLS connection established to "


def parse_lines(lines: pl.Series, *, reference: datetime, tz: str = "UTC") -> pl.DataFrame:
    """Parse Postfix syslog lines into the contract's columns, one row per input line, in order.

    `reference` (UTC) fixes the year of classic "Nov 24 15:53:08" timestamps; timestamps
    without an offset are local time in `tz` and are converted to UTC.
    """
    ZoneInfo(tz)  # an unknown zone is a caller error: fail before doing any work
    frame = _locate(lines, reference, tz)
    queries = [
        reader(frame.lazy().filter(pl.col("_kind") == code).select("_row", _body=_from("_b")))
        for code, (_, reader) in enumerate(_OFFSET_KINDS)
    ]
    blocks = pl.collect_all(queries)
    left = pl.concat(
        [frame.filter(pl.col("_fast") & pl.col("_kind").is_null()).select("_row")]
        + [block.filter(~pl.col("_ok")).select("_row") for block in blocks]
    )
    pending = frame.select(pl.all().gather(left["_row"]))  # `_row` is the row's position
    slow = _regex_header(frame.filter(~pl.col("_fast")), reference, tz)
    messages = pl.concat(
        [
            pending.select("_row", "syslog_name", _msg=_from("_m")),
            slow.select("_row", "syslog_name", "_msg"),
        ]
    )
    blocks = [block.filter("_ok").drop("_ok") for block in blocks]
    blocks += [slow.drop("_msg"), *_regex_path(messages)]
    return _assemble(frame, blocks)


def parse_counts(frame: pl.DataFrame) -> dict[str, int]:
    """Unparsed lines per service ("-" for lines without a readable header), most first."""
    counts = (
        frame.filter(pl.col("event") == "unparsed")
        .group_by(pl.col("service").fill_null("-"))
        .len()
        .sort(["len", "service"], descending=[True, False])
    )
    return dict(zip(counts["service"].to_list(), counts["len"].to_list(), strict=True))


def _span(text: pl.Expr, start: pl.Expr | int, end: pl.Expr) -> pl.Expr:
    """The bytes of `text` (ASCII) from offset `start` up to `end`; empty when `end` < `start`.

    Offsets come from `find` on lines that may not have the expected layout: such rows are
    thrown away by the layout checks, but their slices must not fail first.
    """
    start = pl.lit(start) if isinstance(start, int) else start
    start = start.cast(pl.Int64)
    return text.str.slice(start, (end.cast(pl.Int64) - start).clip(0))


def _from(offset: str) -> pl.Expr:
    """The line from byte offset `offset` on (an ASCII line, where bytes are characters)."""
    return pl.col("line").str.slice(pl.col(offset))


def _locate(lines: pl.Series, reference: datetime, tz: str) -> pl.DataFrame:
    """Header fields of every line, in input order, and how to read its message.

    The offset path needs an ASCII line (byte offsets from `find` then equal the character
    offsets `slice` takes), a readable classic or ISO timestamp of the usual width, then
    "host program[pid]: "; `_fast` says the line has them. For such a line `_m` is the offset
    of the message, `_b` that of its body (after "QID: " when there is a queue ID) and `_kind`
    the index of the `_OFFSET_KINDS` reader for it, null for "use the regex path". The header
    fields of the other lines are meaningless here: `_regex_header` reads them.
    """
    line = pl.col("line")
    colon, first_space = pl.col("_colon"), pl.col("_first_space")
    ts_end = pl.when(first_space == 3).then(15).otherwise(first_space)
    window, q, has_qid = pl.col("_window"), pl.col("_q"), pl.col("_has_qid")
    frame = (
        pl.DataFrame({"line": lines.cast(pl.Utf8, strict=False).fill_null("")})
        .lazy()
        .with_row_index("_row")
        .with_columns(
            _colon=line.str.find(": ", literal=True),
            _first_space=line.str.find(" ", literal=True),
            _ascii=line.str.len_bytes() == line.str.len_chars(),
        )
        .with_columns(
            _ts_text=line.str.slice(0, ts_end),
            _rest=_span(line, ts_end + 1, colon),
            _window=line.str.slice(colon + 2, 40),
            _m=colon + 2,
        )
        .with_columns(_q=window.str.find(": ", literal=True))
        .with_columns(_qid=window.str.slice(0, q))
        .with_columns(_has_qid=pl.col("_qid").str.contains(rf"^{_QID}$").fill_null(False))
        .with_columns(
            _b=pl.when(has_qid).then(pl.col("_m") + q + 2).otherwise(pl.col("_m")),
            queue_id=pl.when(has_qid & (pl.col("_qid") != "NOQUEUE")).then(pl.col("_qid")),
            _key=window.str.slice(pl.when(has_qid).then(q + 2).otherwise(0), 12),
        )
        .with_columns(_kind=_offset_kind())
        .collect()
    )
    frame = frame.with_columns(_programs(frame["_rest"]), ts=_timestamps(frame["_ts_text"], reference, tz))
    fast = (pl.col("_ascii") & pl.col("_m").is_not_null() & pl.col("ts").is_not_null() & pl.col("_named")).fill_null(
        False
    )
    postfix = fast & pl.col("_postfix")
    return frame.select(
        "_row",
        "line",
        *_HEADER_FIELDS,
        "_m",
        "_b",
        _fast=fast,
        queue_id=pl.when(postfix).then(pl.col("queue_id")),
        _kind=pl.when(postfix).then(pl.col("_kind")),
    )


def _programs(rest: pl.Series) -> pl.DataFrame:
    """host, syslog_name, service and pid of "host program[pid]" texts; `_named` when it is one.

    A log has few distinct (host, program, pid) triples, so each is read once and the result
    spread back to the lines by the codes of a categorical over the texts.
    """
    texts = rest.cast(pl.Categorical(pl.Categories.random()))
    parts = (
        texts.dtype.categories.to_series()
        .str.extract_groups(rf"^(?P<host>{_HOST}) (?P<tag>[A-Za-z][\w.\-/]*)(?:\[(?P<pid>\d+)\])?$")
        .struct.unnest()
    )
    table = parts.select(
        "host",
        syslog_name=pl.col("tag"),
        service=pl.col("tag").str.extract(r"([^/]*)$", 1),
        pid=pl.col("pid").cast(pl.Int64, strict=False),
        _named=pl.col("tag").is_not_null(),
        _postfix=pl.col("tag").str.starts_with("postfix"),
    )
    return table.select(pl.all().gather(texts.to_physical()))


def _offset_kind() -> pl.Expr:
    """Index into `_OFFSET_KINDS` of the message kind, told by the 12 bytes after "QID: "."""
    key, has_qid = pl.col("_key"), pl.col("_has_qid")
    real_qid = pl.col("queue_id").is_not_null()
    tests = {
        "delivery": real_qid & key.str.starts_with("to=<"),
        "client": has_qid & key.str.starts_with("client="),
        "message-id": real_qid & key.str.starts_with("message-id="),
        "queued": real_qid & key.str.starts_with("from=<"),
        "removed": real_qid & (key == "removed"),
        "connect": ~has_qid & (key == "connect from"),
        "disconnect": ~has_qid & (key == "disconnect f"),
        "tls": ~has_qid & pl.any_horizontal(key.str.starts_with(word) for word in _TLS_WORDS),
    }
    codes = {name: code for code, (name, _) in enumerate(_OFFSET_KINDS)}
    kind = pl.lit(None, pl.Int8)
    for name, test in reversed(tests.items()):
        kind = pl.when(test).then(pl.lit(codes[name], pl.Int8)).otherwise(kind)
    return kind


def _regex_header(frame: pl.DataFrame, reference: datetime, tz: str) -> pl.DataFrame:
    """Header of the lines the offset path cannot read; `_msg` is null without a header."""
    parts = frame["line"].str.extract_groups(_HEADER).struct.unnest()
    return pl.DataFrame(
        {
            "_row": frame["_row"],
            "ts": _timestamps(parts["ts"], reference, tz),
            "host": parts["host"],
            "syslog_name": parts["tag"],
            "service": parts["tag"].str.extract(r"([^/]*)$", 1),
            "pid": parts["pid"].cast(pl.Int64, strict=False),
            "_msg": parts["msg"],
        }
    )


def _assemble(frame: pl.DataFrame, blocks: list[pl.DataFrame]) -> pl.DataFrame:
    """The output columns in input order: `frame`'s header columns, then each block's values
    written over them at the block's rows (`_row`)."""
    columns = []
    for name, dtype in SCHEMA.items():
        if name in frame.columns:
            column = frame[name].cast(dtype)
        else:
            column = pl.repeat(None, frame.height, dtype=dtype, eager=True)
        for block in blocks:
            if name in block.columns and block.height:
                column = column.scatter(block["_row"], block[name].cast(dtype))
        columns.append(column.alias(name))
    return pl.DataFrame(columns)


def _checked(frame: pl.LazyFrame, ok: pl.Expr, event: pl.Expr | str, **fields: pl.Expr) -> pl.LazyFrame:
    """An offset-path block: `event` and `fields` of each row, `_ok` saying which rows it read.

    The rows it could not read go on to the regex path.
    """
    return frame.select(
        "_row",
        _ok=ok.fill_null(False),
        event=event if isinstance(event, pl.Expr) else pl.lit(event),
        **fields,
    )


def _delivery(frame: pl.LazyFrame) -> pl.LazyFrame:
    """smtp/lmtp/local/virtual/pipe/error "to=<..>, [orig_to=<..>, ]relay=.., [conn_use=..,]
    delay=.., delays=.., [tls=..,] dsn=.., status=sent|deferred|bounced (response)".

    The first ", name=" of the body is the field itself, since the fixed part comes before the
    free-text response. Postfix 3.11 adds "tls=" (smtp_log_tls_feature_status), read past here;
    other statuses, other items and bodies without this layout go to the regexes.
    """
    body = pl.col("_body")
    te, pr, pd, pds, pt, pn, ps = (pl.col(c) for c in ("_te", "_pr", "_pd", "_pds", "_pt", "_pn", "_ps"))
    relay_part, tail, sl, cu = pl.col("_relay_part"), pl.col("_tail"), pl.col("_sl"), pl.col("_cu")
    relay, orig = pl.col("relay"), pl.col("_orig")
    frame = (
        frame.with_columns(
            _te=body.str.find(">, ", literal=True),
            _pr=body.str.find(", relay=", literal=True),
            _pd=body.str.find(", delay=", literal=True),
            _pds=body.str.find(", delays=", literal=True),
            _pt=body.str.find(", tls=", literal=True),
            _pn=body.str.find(", dsn=", literal=True),
            _ps=body.str.find(", status=", literal=True),
        )
        .with_columns(
            _pds=pl.when(pds < ps).then(pds),
            _pt=pl.when(pt < ps).then(pt),
            _pn=pl.when(pn < ps).then(pn),
            _orig=body.str.slice(te + 3, 9) == "orig_to=<",
            _relay_part=_span(body, pr + 8, pd),
            _tail=body.str.slice(ps + 9),
            _commas=_span(body, pd, ps).str.count_matches(",", literal=True),
        )
        .with_columns(
            _sl=pl.when(tail.str.starts_with("sent ("))
            .then(4)
            .when(tail.str.starts_with("deferred ("))
            .then(8)
            .when(tail.str.starts_with("bounced ("))
            .then(7),
            _cu=relay_part.str.find(",", literal=True),
        )
        .with_columns(relay=relay_part.str.slice(0, cu))
    )
    ok = (
        ((orig & (_span(body, pr - 1, pr) == ">")) | (te + 1 == pr))
        & (pr < pd)
        & (pd < ps)
        & sl.is_not_null()
        & tail.str.ends_with(")")
        & (pl.col("_commas") == 1 + sum(at.is_not_null().cast(pl.UInt32) for at in (pds, pt, pn)))
        & (pds.is_null() | (pds < pl.coalesce(pt, pn, ps)))
        & (pt.is_null() | ((pl.coalesce(pds, pd) < pt) & (pt < pl.coalesce(pn, ps))))
        & (pn.is_null() | (pl.coalesce(pt, pds, pd) < pn))
        & (cu.is_null() | relay_part.str.slice(cu).str.contains(r"^, conn_use=\d+$"))
        & ~relay.str.contains(" ", literal=True)
    )
    return _checked(
        frame,
        ok,
        "delivery",
        to=_span(body, 4, te),
        orig_to=pl.when(orig).then(_span(body, te + 12, pr - 1)),
        relay=relay,
        delay=_span(body, pd + 8, pl.coalesce(pds, pt, pn, ps)).cast(pl.Float64, strict=False),
        delays=_span(body, pds + 9, pl.coalesce(pt, pn, ps)),
        dsn=_span(body, pn + 6, ps),
        status=tail.str.slice(0, sl),
        response=_span(tail, sl + 2, tail.str.len_bytes() - 1),
    )


def _client_side(kind: str) -> Callable[[pl.LazyFrame], pl.LazyFrame]:
    """Reader for bodies naming the SMTP client as "host[ip]" right after a fixed text.

    connect/disconnect/"client=" lines (the latter with the SASL fields Postfix writes after
    it, in this order) and the "... TLS connection established from host[ip]: ..." summaries
    (event "other"; the smtp client's "... established to ..." names no client).
    """
    starts = {"connect": "connect from ", "disconnect": "disconnect from ", "client": "client="}

    def read(frame: pl.LazyFrame) -> pl.LazyFrame:
        body, start, lb, rb = pl.col("_body"), pl.col("_start"), pl.col("_lb"), pl.col("_rb")
        host, ip = pl.col("_host"), pl.col("_ip")
        if kind == "tls":
            word = pl.coalesce(pl.when(body.str.starts_with(w)).then(pl.lit(n)) for w, n in _TLS_WORDS.items())
            to_server = body.str.slice(word, len(_TLS_TO)) == _TLS_TO
            start_at = pl.when(body.str.slice(word, len(_TLS_FROM)) == _TLS_FROM).then(word + len(_TLS_FROM))
        else:
            to_server = pl.lit(False)
            start_at = pl.lit(len(starts[kind]))
        frame = frame.with_columns(
            _start=start_at,
            _to_server=to_server,
            _lb=body.str.find("[", literal=True),
            _rb=body.str.find("]", literal=True),
        ).with_columns(
            _host=_span(body, start, lb),
            _ip=pl.when(start.is_not_null()).then(_span(body, lb + 1, rb)),
            _after=body.str.slice(rb + 1) if kind == "client" else pl.lit(""),
        )
        fields = {"client_host": pl.when(host != "").then(host), "client_ip": ip}
        if kind == "client":
            frame = _field(frame, "_after", "sasl_method")
            frame = _field(frame, "_after", "sasl_username")
            fields |= {"sasl_method": pl.col("sasl_method"), "sasl_username": pl.col("sasl_username")}
        after = pl.col("_after")
        named = (
            (start <= lb)
            & (lb < rb)
            & ~host.str.contains(" ", literal=True)
            & ~ip.str.contains("[", literal=True)
            & ((after == "") | after.str.starts_with(", "))
        )
        return _checked(frame, pl.col("_to_server") | named, "other" if kind == "tls" else kind, **fields)

    return read


def _field(frame: pl.LazyFrame, text: str, name: str) -> pl.LazyFrame:
    """Take a ", name=value" field off the start of column `text`: `name` gets the value (up to
    the next comma; null when the field is not there) and `text` keeps what follows it."""
    prefix = f", {name}="
    value, end = pl.col("_value"), pl.col("_end")
    present = pl.col(text).str.starts_with(prefix)
    return (
        frame.with_columns(_value=pl.when(present).then(pl.col(text).str.slice(len(prefix))))
        .with_columns(_end=value.str.find(",", literal=True))
        .with_columns(
            pl.when(value.is_null())
            .then(pl.col(text))
            .otherwise(pl.when(end.is_null()).then(pl.lit("")).otherwise(value.str.slice(end)))
            .alias(text),
            value.str.slice(0, end).alias(name),
        )
    )


def _message_id(frame: pl.LazyFrame) -> pl.LazyFrame:
    """cleanup "message-id=<id>" (angle brackets optional, value possibly empty)."""
    value = pl.col("_body").str.slice(len("message-id="))
    message_id = value.str.strip_chars_end().str.strip_prefix("<").str.strip_suffix(">")
    return _checked(frame, pl.lit(True), "message-id", message_id=message_id)


def _queued(frame: pl.LazyFrame) -> pl.LazyFrame:
    """qmgr "from=<..>, size=N, nrcpt=N (queue active)"; "status=expired" goes to the regexes."""
    body = pl.col("_body")
    a, c, e = pl.col("_a"), pl.col("_c"), pl.col("_e")
    size, nrcpt = pl.col("_size"), pl.col("_nrcpt")
    active = " (queue active)"
    frame = frame.with_columns(
        _a=body.str.find(">, size=", literal=True),
        _c=body.str.find(", nrcpt=", literal=True),
        _e=body.str.find(active, literal=True),
    ).with_columns(
        _size=_span(body, a + 8, c),
        _nrcpt=_span(body, c + 8, e),
    )
    ok = (
        (a < c)
        & (c < e)
        & size.str.contains(r"^\d+$")
        & nrcpt.str.contains(r"^\d+$")
        & (body.str.slice(e + len(active)).str.strip_chars_end() == "")
    )
    return _checked(
        frame,
        ok,
        "queued",
        **{"from": _span(body, 6, a)},
        size=size.cast(pl.Int64, strict=False),
        nrcpt=nrcpt.cast(pl.Int64, strict=False),
    )


def _removed(frame: pl.LazyFrame) -> pl.LazyFrame:
    """qmgr/postsuper "QID: removed": the kind test has already read the whole body."""
    return _checked(frame, pl.lit(True), "removed")


_OFFSET_KINDS: list[tuple[str, Callable[[pl.LazyFrame], pl.LazyFrame]]] = [
    ("delivery", _delivery),
    ("client", _client_side("client")),
    ("message-id", _message_id),
    ("queued", _queued),
    ("removed", _removed),
    ("connect", _client_side("connect")),
    ("disconnect", _client_side("disconnect")),
    ("tls", _client_side("tls")),
]


def _regex_path(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """Parse messages with the `_RULES` regexes; this path knows every shape of line.

    Input: `_row`, `syslog_name` and `_msg` (null when the line has no header). Each rule runs
    only on the rows it claims; every row gets an event, "unparsed" when no rule claims it.
    """
    msg = pl.col("_msg")
    # The queue ID starts the message, or follows the level of a message about a queued mail
    # ("warning: QID: ..."); the body keeps the level.
    head = msg.str.extract_groups(rf"^(?P<level>(?:warning|error|fatal|panic): )?(?P<qid>{_QID}): ")
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


def _timestamps(text: pl.Series, reference: datetime, tz: str) -> pl.Series:
    """UTC timestamps of classic, RFC 3339 and short-iso texts; null where a text cannot be read.

    Each run of equal texts is read once: a log has about one distinct timestamp per second.
    Fractions of a second (rsyslog writes microseconds, making every text distinct) are taken
    off first and added back line by line.
    """
    if text.len() == 0:
        return pl.Series("ts", [], pl.Datetime("us", "UTC"))
    if _runs(text).sum() * 4 < text.len():
        return _read_runs(text, reference, tz)
    tail = pl.col("text").str.slice(19)  # ".123456+01:00" after "2026-11-24T15:53:08"
    digits, count = pl.col("_digits"), pl.col("_count")
    fraction = pl.col("_fraction") & (count > 0)
    split = (
        pl.DataFrame({"text": text})
        .lazy()
        .with_columns(_fraction=tail.str.starts_with("."), _digits=tail.str.slice(1))
        .with_columns(_count=pl.coalesce(digits.str.find(r"\D"), digits.str.len_bytes()))
        .select(
            seconds=pl.when(fraction)
            .then(pl.col("text").str.slice(0, 19) + digits.str.slice(count))
            .otherwise(pl.col("text")),
            micros=pl.when(fraction)
            .then(digits.str.slice(0, pl.min_horizontal(count, 6)).str.pad_end(6, "0").cast(pl.Int64, strict=False))
            .otherwise(0),
        )
        .collect()
    )
    return (_read_runs(split["seconds"], reference, tz) + split["micros"].cast(pl.Duration("us"))).alias("ts")


def _runs(text: pl.Series) -> pl.Series:
    """True where a text differs from the one before it (a run of equal texts starts)."""
    return text.ne_missing(text.shift(1)).scatter(0, True)


def _read_runs(text: pl.Series, reference: datetime, tz: str) -> pl.Series:
    """`_timestamps` of texts without fractions of a second, reading each run of equal texts once.

    Classic timestamps have no year: it is the reference's year unless that puts the date more
    than a day after the reference (in `tz`), then the year before. Texts without an offset are
    local time in `tz`.
    """
    changed = _runs(text)
    ref = reference.replace(tzinfo=UTC) if reference.tzinfo is None else reference.astimezone(UTC)
    ref_local = ref.astimezone(ZoneInfo(tz))
    next_day = (ref_local + timedelta(days=1)).date()
    parts = text.filter(changed).str.extract_groups(_TIMESTAMP).struct.unnest()
    month = pl.col("mon").replace_strict(_MONTHS, range(1, 13), default=None, return_dtype=pl.Int32)
    day = pl.col("day").cast(pl.Int32)
    year = pl.lit(ref_local.year)
    if next_day.year == ref_local.year:
        year = year - (month * 100 + day > next_day.month * 100 + next_day.day).cast(pl.Int32)
    classic = pl.format(
        "{}-{}-{} {}", year, month.cast(pl.Utf8).str.zfill(2), pl.col("day").str.zfill(2), pl.col("hms")
    ).str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
    iso = pl.format("{} {}.{}", pl.col("date"), pl.col("time"), pl.col("frac").fill_null("0")).str.to_datetime(
        "%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us"
    )
    offset = pl.col("offset").str.replace(":", "", literal=True)
    sign = pl.when(offset.str.starts_with("-")).then(-1).otherwise(1)
    minutes = (
        pl.when(offset == "Z")
        .then(0)
        .otherwise(sign * (offset.str.slice(1, 2).cast(pl.Int32) * 60 + offset.str.slice(3, 2).cast(pl.Int32)))
    )
    naive = pl.coalesce(classic, iso)
    local = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    shifted = (naive - pl.duration(minutes=minutes)).dt.replace_time_zone("UTC")
    ts = parts.select(
        pl.when(offset.is_not_null()).then(shifted).otherwise(local.dt.convert_time_zone("UTC"))
    ).to_series()
    return ts.gather(changed.cum_sum() - 1).alias("ts")
