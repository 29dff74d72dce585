"""Accuracy of the bounce classifier on a labelled JSON Lines set (tests/data/bounces.jsonl).

Each line holds the input (any of dsn, status, text) and the expected qualification and reason; other
keys (source, ref) are carried along. A prediction is correct when both qualification and reason match.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from warehouse.classify import (
    QUALIFICATIONS,
    REASONS,
    ClassifyInputError,
    classify_frame,
    load_rules,
)


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


def evaluate(path: Path, *, config_path: Path | None = None) -> EvaluationReport:
    """Classify every line of the labelled set and score the result."""
    labelled = _read_labelled(path)
    result = classify_frame(labelled, rules=load_rules(config_path))
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
