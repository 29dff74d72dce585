"""Bounce qualification of Postfix delivery results, driven by the rule table in warehouse/rules/.

Rules are data (rules.toml, plus the operator's [[classify.rules]] of relaywatch.toml, handed over as
the configuration model's `Config.classify`, which take precedence and are reported as "local:<id>").
They are matched on the DISTINCT (dsn, status, normalised reply) combinations of a frame, so a million
deliveries cost a few thousand rule evaluations, and the results are joined back in input order.
A local rule looks like:

    [[classify.rules]]
    id = "myisp-block"
    pattern = "blocked by myisp"      # case-insensitive regex on the normalised reply (see explain())
    qualification = "soft"            # optional; default: from the line's status, DSN and reply code
    reason = "reputation"             # optional conditions too: dsn = "5.7.*", code = "5xx", status = "bounced"
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import polars as pl

from relaywatch.core import ClassifySection, RelaywatchError
from warehouse.ruletable import (
    FINAL_STATUSES,
    SUCCESS_STATUSES,
    SUPPRESSIBLE_REASONS,
    Rule,
    builtin_rules,
    local_rules,
)

OUTPUT_COLUMNS = ("qualification", "reason", "suppressible", "rule")
MEMO_KEY = ["dsn", "status", "norm"]
MEMO_LIMIT = 500_000
"""Distinct combinations remembered per RuleSet before the memo starts over (bounds memory)."""

# Qualification of a bare text (no status, DSN or reply code to tell the class), by reason.
_BARE_TEXT_QUALIFICATION = {
    "delivered": "success",
    "mailbox_full": "soft",
    "rate_limited": "soft",
    "greylisted": "soft",
    "network": "soft",
    "tls": "soft",
    "dns_temporary": "soft",
    "remote_error": "soft",
    "other": "unknown",
}
_TEMPORARY_STATUSES = ("deferred", "softbounce")
_PERMANENT_STATUSES = ("bounced", "undeliverable", "reject", "rejected")
_NO_RULE = "none"

# Normalisation. _CHEAP deletes, without capture groups (so it runs fast over every row), parts that
# _NORMALISE would delete anyway and that no rule looks at: Gmail's trailing "<id> - gsmtp", addresses,
# host[ip], IPs, tokens with five digits or more and numbered host names (mta1234.mail.yahoo.com).
# Digits are spelled [0-9]: a Unicode digit must never pass for part of a status code.
_CHEAP = (
    r"(?i)\S*[0-9]\S* - gsmtp\b"
    r"|<?[^\s<>@]+@[^\s<>]+>?"
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+\[[0-9a-f.:]*\]|\[[0-9a-f.:]*\]"
    r"|\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}\b"
    r"|[a-z0-9]*(?:[0-9][a-z]*){5,}[a-z0-9]*"
    r"|\b[a-z]{1,5}[0-9]{4,}(?:\.[a-z0-9-]+)+"
)
# Keeps (group 1) enhanced status codes, 3-digit reply codes, RFC numbers and short provider codes
# (ofr_417, tss04, sfr_in_101); deletes IPv4, addresses, host[ip] and [ip], name=/helo= values, IPv6
# and clock times, and every other token carrying a digit (queue ids, message ids, sizes, timestamps).
_NORMALISE = (
    r"(?i)\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}\b"
    r"|(\b[245]\.[0-9]{1,3}\.[0-9]{1,3}\b"
    r"|\b(?:[a-z]{2,4}[0-9]{1,4}|[a-z][a-z_]{1,10}[0-9]{0,4}_[0-9]{1,4}(?:_[0-9]{1,3})?|rfc[ .-]?[0-9]{3,4})\b"
    r"|(?:^|[^0-9a-z.])[2-5][0-9][0-9]\b)"
    r"|<?[^\s<>@]+@[^\s<>]+>?"
    r"|\b(?:[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+|unknown)\[[^\]\s]*\]|\[[0-9a-f.:]*\]"
    r"|\b(?:name|helo)=\S+"
    r"|[0-9a-f]*:[0-9a-f]*:[0-9a-f:]*"
    r"|[a-z0-9]*[0-9][a-z0-9]*"
)
# Multi-line replies reach the log joined: "... receiving 450-4.2.1 mail at a rate". Drop the repeated
# code prefixes of continuation lines (a code right after a word, not after "said:" or the start).
_CONTINUATION = r"(?i)([^:\s])\s+[2-5][0-9][0-9][- ](?:[245]\.[0-9]{1,3}\.[0-9]{1,3}\s)?"
_ENHANCED = r"\b([245]\.[0-9]{1,3}\.[0-9]{1,3})\b"
_REPLY = r"(?:^|: ?|; ?)([2-5][0-9][0-9])(?:[ -]|$)"
_DSN_FORM = r"^[245]\.[0-9]{1,3}\.[0-9]{1,3}$"


class ClassifyInputError(RelaywatchError, ValueError):
    """A JSON Lines input line is unusable; the message names the line number."""


@dataclass(frozen=True)
class RuleSet:
    """Rules in precedence order (local, provider, text, dsn, reply, status).

    `memo` keeps the verdict of every (dsn, status, normalised text) already classified with these
    rules: a long ingest classifies each distinct reply once, not once per chunk."""

    rules: tuple[Rule, ...]
    memo: dict[str, pl.DataFrame] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def known(self, distinct: pl.DataFrame) -> pl.DataFrame:
        """Verdicts of `distinct` (dsn, status, norm), classifying only combinations not seen before."""
        memo = self.memo.get("verdicts")
        fresh = distinct if memo is None else distinct.join(memo, on=MEMO_KEY, how="anti", nulls_equal=True)
        if fresh.height or memo is None:
            found = _match(fresh, self).select(*MEMO_KEY, *OUTPUT_COLUMNS)
            if memo is not None and memo.height > MEMO_LIMIT:  # start over, keeping what this call needs
                memo = memo.join(distinct, on=MEMO_KEY, how="semi", nulls_equal=True)
            memo = found if memo is None else pl.concat([memo, found])
            self.memo["verdicts"] = memo
        return distinct.join(memo, on=MEMO_KEY, how="left", nulls_equal=True)

    def text_blind_statuses(self) -> tuple[str, ...]:
        """Final statuses whose result no rule derives from the text or codes (sent, expired...).

        Rows with these statuses are keyed without their reply, so the 70-95% of deliveries that are
        plain "sent" lines collapse into a handful of combinations.
        """
        return tuple(
            status
            for status in FINAL_STATUSES
            if all(
                r.pattern is None and r.dsn is None and r.code is None
                for r in self.rules
                if r.status is not None and status in r.status
            )
        )

    def table(self) -> pl.DataFrame:
        """Rule metadata indexed by position, for joining results."""
        return pl.DataFrame(
            {
                "_idx": pl.Series(range(len(self.rules)), dtype=pl.UInt32),
                "rule": [r.name for r in self.rules],
                "_reason": [r.reason for r in self.rules],
                "_rule_q": pl.Series([r.qualification for r in self.rules], dtype=pl.String),
            }
        )


def load_rules(local: ClassifySection | None = None) -> RuleSet:
    """Built-in rules, preceded by the operator's [[classify.rules]] (`load_config(home).classify`).

    Without local rules the same RuleSet (and so its memo of verdicts) is returned every time."""
    rules = local_rules(local) if local is not None else ()
    return RuleSet(rules + builtin_rules()) if rules else _builtin_ruleset()


@lru_cache(maxsize=1)
def _builtin_ruleset() -> RuleSet:
    return RuleSet(builtin_rules())


def _as_text(frame: pl.DataFrame, name: str) -> pl.Expr:
    if name in frame.columns:
        return pl.col(name).cast(pl.String).fill_null("").alias(name)
    return pl.lit("", dtype=pl.String).alias(name)


def _keys(frame: pl.DataFrame, ruleset: RuleSet) -> pl.DataFrame:
    """dsn, status and the cheaply cleaned reply ("cheap") of every row: the grouping key."""
    names = ("dsn", "status", "response")
    keys = frame.with_columns(_as_text(frame, n).alias(f"_{n}") for n in names).select(
        pl.col(f"_{n}").alias(n) for n in names
    )
    blind = pl.col("status").str.strip_chars().str.to_lowercase().is_in(ruleset.text_blind_statuses())
    return keys.with_columns(
        dsn=pl.when(blind).then(pl.lit("")).otherwise("dsn"),
        cheap=pl.when(blind).then(pl.lit("")).otherwise("response").str.replace_all(_CHEAP, ""),
    ).drop("response")


def _normalise(column: str) -> pl.Expr:
    """Reply text with its volatile parts removed, lower-cased, whitespace collapsed."""
    return (
        pl.col(column)
        .str.replace_all(_CONTINUATION, "${1} ")
        .str.replace_all(_NORMALISE, "${1}")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .str.to_lowercase()
    )


def _match(distinct: pl.DataFrame, ruleset: RuleSet) -> pl.DataFrame:
    """Evidence columns, first matching rule and final result for each distinct combination."""
    col_dsn = pl.when(pl.col("dsn").str.strip_chars().str.contains(_DSN_FORM)).then(pl.col("dsn").str.strip_chars())
    frame = distinct.with_columns(
        status_n=pl.col("status").str.strip_chars().str.to_lowercase(),
        col_dsn=col_dsn,
        text_dsn=pl.col("norm").str.extract(_ENHANCED, 1),
        code=pl.col("norm").str.extract(_REPLY, 1).cast(pl.Int32),
    ).with_columns(
        # X.0.0 is what Postfix writes when the server gave no enhanced code: it says nothing beyond
        # the class, so the DSN tier ignores it (the text's code, if any, is read instead) and the reply
        # code (or status) decides.
        eff_dsn=pl.when(pl.col("col_dsn").is_null() | pl.col("col_dsn").str.ends_with(".0.0"))
        .then(pl.col("text_dsn"))
        .otherwise("col_dsn")
        .str.replace(r"^[0-9]\.0\.0$", "")
        .replace("", None),
        # any DSN column starting "4." counts as temporary, even if malformed (the never-hard rule)
        col_cls=pl.col("dsn").str.strip_chars().str.extract(r"^([245])\.", 1).cast(pl.Int32),
    )
    parts = pl.col("eff_dsn").str.extract_groups(r"^([0-9])\.([0-9]{1,3})\.([0-9]{1,3})$")
    frame = frame.with_columns(
        d_cls=parts.struct.field("1").cast(pl.Int32),
        d_sub=parts.struct.field("2").cast(pl.Int32),
        d_det=parts.struct.field("3").cast(pl.Int32),
    )
    first = pl.coalesce([pl.when(r.condition()).then(pl.lit(i, pl.UInt32)) for i, r in enumerate(ruleset.rules)])
    frame = frame.with_columns(first.alias("_idx")).join(ruleset.table(), on="_idx", how="left")

    status = pl.col("status_n")
    code = pl.col("code")
    temporary = (
        status.is_in(_TEMPORARY_STATUSES)
        | (pl.col("col_cls") == 4).fill_null(False)
        | (pl.col("d_cls") == 4).fill_null(False)
        | code.is_between(400, 499).fill_null(False)
    )
    permanent = (
        status.is_in(_PERMANENT_STATUSES)
        | (pl.col("col_cls") == 5).fill_null(False)
        | (pl.col("d_cls") == 5).fill_null(False)
        | code.is_between(500, 599).fill_null(False)
    )
    accepted = (pl.col("d_cls") == 2).fill_null(False) | code.is_between(200, 299).fill_null(False)
    bare = pl.col("_reason").replace_strict(_BARE_TEXT_QUALIFICATION, default="hard", return_dtype=pl.String)
    derived = (
        pl.when(status.is_in(SUCCESS_STATUSES))
        .then(pl.lit("success"))
        .when(status == "expired")
        .then(pl.lit("hard"))
        .when(temporary)
        .then(pl.lit("soft"))
        .when(permanent)
        .then(pl.lit("hard"))
        .when(accepted)
        .then(pl.lit("success"))
        .otherwise(bare)
    )
    qualification = pl.coalesce("_rule_q", derived)
    return frame.with_columns(
        temporary=temporary,
        qualification=pl.when(pl.col("_idx").is_null())
        .then(pl.lit("unknown"))
        .when((qualification == "hard") & temporary & (status != "expired"))
        .then(pl.lit("soft"))
        .otherwise(qualification),
        reason=pl.col("_reason").fill_null("other"),
        rule=pl.col("rule").fill_null(_NO_RULE),
    ).with_columns(
        suppressible=pl.col("reason").is_in(SUPPRESSIBLE_REASONS) & (pl.col("qualification") == "hard"),
    )


def classify_frame(frame: pl.DataFrame, *, rules: RuleSet | None = None) -> pl.DataFrame:
    """Append qualification, reason, suppressible and rule to a frame with dsn, status, response.

    Same height and order as the input; missing input columns count as null. Without ``rules`` the
    built-in table is used (pass ``load_rules(config.classify)`` to apply the operator's local rules).
    """
    ruleset = rules if rules is not None else load_rules(None)
    keys = _keys(frame, ruleset)
    combos = keys.unique().with_columns(norm=_normalise("cheap"))
    distinct = combos.select(MEMO_KEY).unique()
    result = ruleset.known(distinct)
    mapping = combos.join(result, on=MEMO_KEY, how="left", nulls_equal=True).drop("norm")
    out = keys.join(mapping, on=["dsn", "status", "cheap"], how="left", maintain_order="left")
    return frame.with_columns([out[c] for c in OUTPUT_COLUMNS])


def classify_cause(frame: pl.DataFrame, *, rules: RuleSet | None = None) -> pl.DataFrame:
    """Append `cause_reason`: the reason of the last temporary failure behind a final verdict.

    An expired delivery is hard/expired whatever the text (the queue gave up); why it kept failing is
    the last deferral's reply, which correlation carries as `cause_dsn` and `cause_response`. That reply
    is classified as the deferral it was; rows without one get null.
    """
    ruleset = rules if rules is not None else load_rules(None)
    cause = frame.select(
        dsn=_as_text(frame, "cause_dsn"),
        status=pl.lit("deferred", dtype=pl.String),
        response=_as_text(frame, "cause_response"),
    )
    verdict = classify_frame(cause, rules=ruleset)["reason"]
    return frame.with_columns(
        cause_reason=pl.when(cause["response"].str.strip_chars() != "").then(verdict).otherwise(None)
    )


def explain(dsn: str | None, status: str | None, text: str | None, *, rules: RuleSet | None = None) -> dict:
    """The classification of one line with the rule that decided it and what the rule looked at."""
    ruleset = rules if rules is not None else load_rules(None)
    single = pl.DataFrame(
        {"dsn": [dsn], "status": [status], "response": [text]},
        schema={"dsn": pl.String, "status": pl.String, "response": pl.String},
    )
    keys = _keys(single, ruleset).with_columns(norm=_normalise("cheap")).drop("cheap")
    row = _match(keys, ruleset).row(0, named=True)
    matched = ruleset.rules[row["_idx"]] if row["_idx"] is not None else None
    return {
        "qualification": row["qualification"],
        "reason": row["reason"],
        "suppressible": row["suppressible"],
        "rule": row["rule"],
        "tier": matched.tier if matched else None,
        "provider": matched.provider if matched else None,
        "pattern": matched.pattern if matched else None,
        "rule_qualification": matched.qualification if matched else None,
        "normalised_text": row["norm"],
        "dsn": row["eff_dsn"],
        "reply_code": row["code"],
        "temporary": row["temporary"],
    }


def _parse_line(line: str, number: int) -> dict[str, str | None]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ClassifyInputError(f"line {number}: invalid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(record, dict):
        raise ClassifyInputError(f"line {number}: expected a JSON object, got {type(record).__name__}")
    fields: dict[str, str | None] = {}
    for name in ("dsn", "status", "text", "response"):
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise ClassifyInputError(f"line {number}: field {name!r} must be a string or null")
        fields[name] = value
    return {
        "dsn": fields["dsn"],
        "status": fields["status"],
        "response": fields["text"] if fields["text"] is not None else fields["response"],
    }


def _classify_records(records: list[dict[str, str | None]], ruleset: RuleSet) -> Iterator[str]:
    schema = {"dsn": pl.String, "status": pl.String, "response": pl.String}
    result = classify_frame(pl.DataFrame(records, schema=schema), rules=ruleset)
    for row in result.select(OUTPUT_COLUMNS).iter_rows(named=True):
        yield json.dumps(row)


def classify(lines: Iterable[str], *, local: ClassifySection | None = None, batch_size: int = 50_000) -> Iterator[str]:
    """JSON Lines in (any of dsn, status, text), JSON Lines out (qualification, reason, suppressible,
    rule), one output line per non-blank input line, in the same order."""
    ruleset = load_rules(local)
    batch: list[dict[str, str | None]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        batch.append(_parse_line(line, number))
        if len(batch) >= batch_size:
            yield from _classify_records(batch, ruleset)
            batch = []
    if batch:
        yield from _classify_records(batch, ruleset)
