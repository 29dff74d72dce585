"""The offset path: the header and the common message kinds read by literal `find` and `slice`, no regex groups.

It reads nearly all of a gateway's traffic; every row it cannot read is left to the regex path.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import polars as pl

from warehouse.parse.common import HEADER_FIELDS, HOST, QID, span
from warehouse.parse.timestamps import timestamps

# smtpd/smtp TLS summary lines: the first word and its length.
_TLS_WORDS = {"Anonymous": 9, "Trusted": 7, "Verified": 8, "Untrusted": 9}
_TLS_FROM = " TLS connection established from "
_TLS_TO = " TLS connection established to "


def locate(lines: pl.Series, reference: datetime, tz: str) -> pl.DataFrame:
    """Header fields of every line, in input order, and how to read its message.

    The offset path needs an ASCII line (byte offsets from `find` then equal the character
    offsets `slice` takes), a readable classic or ISO timestamp of the usual width, then
    "host program[pid]: "; `_fast` says the line has them. For such a line `_m` is the offset
    of the message, `_b` that of its body (after "QID: " when there is a queue ID) and `_kind`
    the index of the `OFFSET_KINDS` reader for it, null for "use the regex path". The header
    fields of the other lines are meaningless here: `regex.read_header` reads them.
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
            _rest=span(line, ts_end + 1, colon),
            _window=line.str.slice(colon + 2, 40),
            _m=colon + 2,
        )
        .with_columns(_q=window.str.find(": ", literal=True))
        .with_columns(_qid=window.str.slice(0, q))
        .with_columns(_has_qid=pl.col("_qid").str.contains(rf"^{QID}$").fill_null(False))
        .with_columns(
            _b=pl.when(has_qid).then(pl.col("_m") + q + 2).otherwise(pl.col("_m")),
            queue_id=pl.when(has_qid & (pl.col("_qid") != "NOQUEUE")).then(pl.col("_qid")),
            _key=window.str.slice(pl.when(has_qid).then(q + 2).otherwise(0), 12),
        )
        .with_columns(_kind=_offset_kind())
        .collect()
    )
    frame = frame.with_columns(_programs(frame["_rest"]), ts=timestamps(frame["_ts_text"], reference, tz))
    fast = (pl.col("_ascii") & pl.col("_m").is_not_null() & pl.col("ts").is_not_null() & pl.col("_named")).fill_null(
        False
    )
    postfix = fast & pl.col("_postfix")
    return frame.select(
        "_row",
        "line",
        *HEADER_FIELDS,
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
        .str.extract_groups(rf"^(?P<host>{HOST}) (?P<tag>[A-Za-z][\w.\-/]*)(?:\[(?P<pid>\d+)\])?$")
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
    """Index into `OFFSET_KINDS` of the message kind, told by the 12 bytes after "QID: "."""
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
    codes = {name: code for code, (name, _) in enumerate(OFFSET_KINDS)}
    kind = pl.lit(None, pl.Int8)
    for name, test in reversed(tests.items()):
        kind = pl.when(test).then(pl.lit(codes[name], pl.Int8)).otherwise(kind)
    return kind


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
            _relay_part=span(body, pr + 8, pd),
            _tail=body.str.slice(ps + 9),
            _commas=span(body, pd, ps).str.count_matches(",", literal=True),
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
        ((orig & (span(body, pr - 1, pr) == ">")) | (te + 1 == pr))
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
        to=span(body, 4, te),
        orig_to=pl.when(orig).then(span(body, te + 12, pr - 1)),
        relay=relay,
        delay=span(body, pd + 8, pl.coalesce(pds, pt, pn, ps)).cast(pl.Float64, strict=False),
        delays=span(body, pds + 9, pl.coalesce(pt, pn, ps)),
        dsn=span(body, pn + 6, ps),
        status=tail.str.slice(0, sl),
        response=span(tail, sl + 2, tail.str.len_bytes() - 1),
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
            _host=span(body, start, lb),
            _ip=pl.when(start.is_not_null()).then(span(body, lb + 1, rb)),
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
        _size=span(body, a + 8, c),
        _nrcpt=span(body, c + 8, e),
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
        **{"from": span(body, 6, a)},
        size=size.cast(pl.Int64, strict=False),
        nrcpt=nrcpt.cast(pl.Int64, strict=False),
    )


def _removed(frame: pl.LazyFrame) -> pl.LazyFrame:
    """qmgr/postsuper "QID: removed": the kind test has already read the whole body."""
    return _checked(frame, pl.lit(True), "removed")


OFFSET_KINDS: list[tuple[str, Callable[[pl.LazyFrame], pl.LazyFrame]]] = [
    ("delivery", _delivery),
    ("client", _client_side("client")),
    ("message-id", _message_id),
    ("queued", _queued),
    ("removed", _removed),
    ("connect", _client_side("connect")),
    ("disconnect", _client_side("disconnect")),
    ("tls", _client_side("tls")),
]
