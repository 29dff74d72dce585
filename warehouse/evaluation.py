"""Accuracy of the bounce classifier on a labelled JSON Lines set (tests/data/bounces.jsonl), and its
agreement with the reference classifier Sisimai on tests/data/bounces_sisimai_*.jsonl.

Each line of a labelled set holds the input (any of dsn, status, text) and the expected qualification
and reason; other keys (source, ref) are carried along. A prediction is correct when both qualification
and reason match. A Sisimai set holds the input and `sisimai_reason`; a prediction agrees when its
reason is the mapped one (SISIMAI_TO_OURS) or one of the finer reasons of FINER_THAN_SISIMAI.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from relaywatch.core import ClassifySection
from warehouse.classify import ClassifyInputError, classify_frame, load_rules
from warehouse.ruletable import QUALIFICATIONS, REASONS

SISIMAI_TO_OURS: dict[str, str] = {
    "delivered": "delivered",
    "userunknown": "user_unknown",
    "hostunknown": "domain_not_found",
    "notaccept": "domain_not_found",  # null MX / "does not accept mail": the domain takes no mail
    "mailboxfull": "mailbox_full",
    "suspend": "mailbox_disabled",
    "hasmoved": "mailbox_disabled",  # 5.1.6 mailbox moved: the address no longer reaches anyone
    "spamdetected": "spam_content",
    "blocked": "reputation",
    "badreputation": "reputation",
    "requireptr": "auth_policy",
    "authfailure": "auth_policy",
    "securityerror": "auth_policy",  # authentication or security requirement of the receiver
    "rejected": "policy",  # sender address rejected
    "filtered": "policy",  # refused by the recipient's filter or policy after RCPT/DATA
    "policyviolation": "policy",
    "norelaying": "policy",  # DESIGN.md: relay denied is policy
    "toomanyconn": "rate_limited",
    "speeding": "rate_limited",
    "mesgtoobig": "message_too_large",
    "emailtoolarge": "message_too_large",
    "exceedlimit": "message_too_large",  # 5.2.3: larger than the recipient accepts
    "contenterror": "content",
    "notcompliantrfc": "content",
    "virusdetected": "content",
    "networkerror": "network",
    "systemerror": "remote_error",
    "systemfull": "remote_error",
    "mailererror": "remote_error",
    "syntaxerror": "remote_error",  # SMTP dialogue trouble between the two servers
    "expired": "expired",
    "feedback": "complaint",
    "vacation": "other",
    "onhold": "other",
    "undefined": "other",
}
"""Sisimai's reasons (v4 and v5 names) and ours (DESIGN.md taxonomy)."""

FINER_THAN_SISIMAI: dict[str, frozenset[str]] = {
    # Sisimai/Reason/Filtered.pm: a "user unknown" text after DATA, or the bare 5.2.1 code
    # (Sisimai/SMTP/Status.pm: 5.2.1 => filtered, "mailbox disabled"), is filtered there.
    "filtered": frozenset({"user_unknown", "mailbox_disabled"}),
    # Sisimai/SMTP/Status.pm names the bare 5.7.1 code ("delivery not authorized, message refused")
    # securityerror; ours reads the text for what refused it.
    "securityerror": frozenset({"policy", "spam_content", "reputation", "tls"}),
    # Sisimai/SMTP/Status.pm: 4.2.1 => suspend; Gmail and others send 4.2.1 for per-recipient rate limits.
    "suspend": frozenset({"rate_limited"}),
    # Sisimai 4's blocked covers the reverse-DNS and authentication refusals Sisimai 5 calls requireptr
    # and authfailure, and refusals of the client's HELO/EHLO name (Sisimai/Reason/Blocked.pm), which
    # DESIGN.md files under policy.
    "blocked": frozenset({"auth_policy", "policy"}),
    # Sisimai files DNS lookup failures and mail loops (Sisimai/Reason/NetworkError.pm: "too many hops",
    # "mail forwarding loop") under networkerror; ours tells them apart (a loop is remote_error).
    "networkerror": frozenset({"dns_temporary", "remote_error"}),
    # Sisimai/Reason/SpamDetected.pm matches DNSBL references (spamhaus.org and dsbl.org URLs, "sender
    # domain listed at"): DESIGN.md files a listing of the sender under reputation.
    "spamdetected": frozenset({"reputation"}),
    # Sisimai/Reason/UserUnknown.pm matches "is inactive"; ours tells a disabled mailbox apart.
    "userunknown": frozenset({"mailbox_disabled"}),
    # Sisimai/SMTP/Status.pm names the bare 4.3.2 code ("system not accepting network messages")
    # notaccept; a temporary refusal of the receiving system is remote_error here.
    "notaccept": frozenset({"remote_error"}),
    # Sisimai calls a text "expired" when it names the queue giving up or the attempt that made it give up
    # (Sisimai/Reason/Expired.pm: "connection timed out", "server did not respond", "could not find a
    # gateway for"); ours keeps both verdicts (final_status = expired, messages.cause = the last deferral's
    # reason), so a text that names the cause gets the cause's reason (a deferral's: network, DNS, the
    # remote side, a rate limit, greylisting) and expired stays for the queue's own verdict.
    "expired": frozenset({"network", "dns_temporary", "remote_error", "rate_limited", "greylisted"}),
    # Sisimai/Reason/HostUnknown.pm matches "host or domain name not found" and "name or service not
    # known", which Postfix logs for temporary lookup failures too; ours splits a temporary DNS failure
    # (dns_temporary, retried) from a domain that does not exist (domain_not_found, suppressible).
    "hostunknown": frozenset({"dns_temporary"}),
}
"""Reasons of ours that split one Sisimai reason more finely and so also agree with it."""


def agrees_with_sisimai(sisimai_reason: str, ours: str) -> bool:
    """True when our reason is Sisimai's, mapped, or one of its finer splits."""
    return ours == SISIMAI_TO_OURS[sisimai_reason] or ours in FINER_THAN_SISIMAI.get(sisimai_reason, ())


@dataclass(frozen=True)
class ReasonScore:
    """Precision and recall of one reason (support = expected occurrences)."""

    reason: str
    support: int
    predicted: int
    true_positives: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.support if self.support else 0.0


@dataclass(frozen=True)
class Mistake:
    """One line classified differently from its label."""

    line: int
    text: str | None
    expected: str
    got: str
    rule: str


@dataclass(frozen=True)
class EvaluationReport:
    """Scores of a run over a labelled set."""

    total: int
    correct: int
    qualification_correct: int
    reason_correct: int
    reasons: tuple[ReasonScore, ...]
    confusions: tuple[tuple[str, str, int], ...]
    mistakes: tuple[Mistake, ...]

    @property
    def accuracy(self) -> float:
        """Share of lines with both qualification and reason right."""
        return self.correct / self.total if self.total else 0.0

    @property
    def qualification_accuracy(self) -> float:
        return self.qualification_correct / self.total if self.total else 0.0

    @property
    def reason_accuracy(self) -> float:
        return self.reason_correct / self.total if self.total else 0.0


def _read_labelled(path: Path) -> pl.DataFrame:
    records = []
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ClassifyInputError(f"{path}: line {number}: invalid JSON: {exc.msg}") from None
            if not isinstance(record, dict):
                raise ClassifyInputError(f"{path}: line {number}: expected a JSON object")
            if record.get("qualification") not in QUALIFICATIONS or record.get("reason") not in REASONS:
                raise ClassifyInputError(f"{path}: line {number}: missing or unknown qualification/reason label")
            records.append(
                {
                    "line": number,
                    "dsn": record.get("dsn"),
                    "status": record.get("status"),
                    "response": record.get("text"),
                    "expected_qualification": record["qualification"],
                    "expected_reason": record["reason"],
                }
            )
    schema = {
        "line": pl.Int64,
        "dsn": pl.String,
        "status": pl.String,
        "response": pl.String,
        "expected_qualification": pl.String,
        "expected_reason": pl.String,
    }
    return pl.DataFrame(records, schema=schema)


def evaluate(path: Path, *, local: ClassifySection | None = None) -> EvaluationReport:
    """Classify every line of the labelled set and score the result (a Sisimai reference set, whose
    lines carry `sisimai_reason`, is scored by evaluate_reference)."""
    with Path(path).open(encoding="utf-8") as fh:
        first = next((line for line in fh if line.strip()), "{}")
    if "sisimai_reason" in json.loads(first):
        return evaluate_reference(path, local=local)
    labelled = _read_labelled(path)
    result = classify_frame(labelled, rules=load_rules(local))
    rows = result.to_dicts()
    expected_reasons = Counter(r["expected_reason"] for r in rows)
    predicted_reasons = Counter(r["reason"] for r in rows)
    hits = Counter(r["reason"] for r in rows if r["reason"] == r["expected_reason"])
    reasons = tuple(
        ReasonScore(reason, expected_reasons[reason], predicted_reasons[reason], hits[reason])
        for reason in REASONS
        if expected_reasons[reason] or predicted_reasons[reason]
    )
    mistakes = tuple(
        Mistake(
            line=r["line"],
            text=r["response"],
            expected=f"{r['expected_qualification']}/{r['expected_reason']}",
            got=f"{r['qualification']}/{r['reason']}",
            rule=r["rule"],
        )
        for r in rows
        if (r["qualification"], r["reason"]) != (r["expected_qualification"], r["expected_reason"])
    )
    confusions = Counter((m.expected, m.got) for m in mistakes)
    return EvaluationReport(
        total=len(rows),
        correct=len(rows) - len(mistakes),
        qualification_correct=sum(r["qualification"] == r["expected_qualification"] for r in rows),
        reason_correct=sum(hits.values()),
        reasons=reasons,
        confusions=tuple((e, g, n) for (e, g), n in confusions.most_common()),
        mistakes=mistakes,
    )


def format_report(report: EvaluationReport) -> str:
    """Plain-text summary: overall accuracy, per-reason precision/recall, confusion pairs."""
    lines = [
        f"lines                  {report.total}",
        f"accuracy               {report.accuracy:.3f}  (qualification and reason)",
        f"qualification accuracy {report.qualification_accuracy:.3f}",
        f"reason accuracy        {report.reason_accuracy:.3f}",
        "",
        f"{'reason':<18} {'support':>7} {'precision':>9} {'recall':>7}",
    ]
    for score in sorted(report.reasons, key=lambda s: (-s.support, s.reason)):
        lines.append(f"{score.reason:<18} {score.support:>7} {score.precision:>9.3f} {score.recall:>7.3f}")
    if report.confusions:
        lines += ["", f"{'expected':<28} {'got':<28} {'count':>5}"]
        lines += [f"{expected:<28} {got:<28} {count:>5}" for expected, got, count in report.confusions]
    return "\n".join(lines)


def _read_reference(path: Path) -> pl.DataFrame:
    records = []
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            if record.get("sisimai_reason") not in SISIMAI_TO_OURS:
                raise ClassifyInputError(f"{path}: line {number}: missing or unknown sisimai_reason")
            records.append(
                {
                    "line": number,
                    "dsn": record.get("dsn"),
                    "status": record.get("status"),
                    "response": record.get("text"),
                    "sisimai_reason": record["sisimai_reason"],
                }
            )
    schema = {"line": pl.Int64, "dsn": pl.String, "status": pl.String, "response": pl.String}
    return pl.DataFrame(records, schema={**schema, "sisimai_reason": pl.String})


def evaluate_reference(path: Path, *, local: ClassifySection | None = None) -> EvaluationReport:
    """Agreement with Sisimai on a reference set: `correct` counts agreeing reasons (qualification is
    not judged: Sisimai has none). Per-reason scores are on the mapped reason."""
    frame = _read_reference(path)
    rows = classify_frame(frame, rules=load_rules(local)).to_dicts()
    for row in rows:
        row["agrees"] = agrees_with_sisimai(row["sisimai_reason"], row["reason"])
        row["expected"] = row["reason"] if row["agrees"] else SISIMAI_TO_OURS[row["sisimai_reason"]]
    expected = Counter(r["expected"] for r in rows)
    predicted = Counter(r["reason"] for r in rows)
    hits = Counter(r["reason"] for r in rows if r["agrees"])
    mistakes = tuple(
        Mistake(r["line"], r["response"], f"{r['sisimai_reason']}->{r['expected']}", r["reason"], r["rule"])
        for r in rows
        if not r["agrees"]
    )
    confusions = Counter((m.expected, m.got) for m in mistakes)
    return EvaluationReport(
        total=len(rows),
        correct=sum(hits.values()),
        qualification_correct=len(rows),
        reason_correct=sum(hits.values()),
        reasons=tuple(
            ReasonScore(reason, expected[reason], predicted[reason], hits[reason])
            for reason in REASONS
            if expected[reason] or predicted[reason]
        ),
        confusions=tuple((e, g, n) for (e, g), n in confusions.most_common()),
        mistakes=mistakes,
    )
