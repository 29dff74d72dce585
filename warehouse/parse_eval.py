"""How well `parse_lines` reads labelled Postfix lines: field accuracy and recognition.

A labelled case is a raw log line with the fields a source says it holds (names already normalised to
ours, see tests/data/parse_corpus/README.md). Two figures:

- field accuracy: of every (line, field) pair the cases state, the fraction the parser reproduces
  exactly. Strings are compared after stripping surrounding whitespace, numbers within a relative
  1e-9; a field the parser leaves null counts as wrong. Fields a case does not state are not scored.
- recognition: the fraction of lines whose event is not "unparsed".

The corpus is split once, by a hash of each line, into a `dev` part (about a third) that may be read
while changing the parser and a `heldout` part that is only ever scored, so the held-out figure says
how the parser does on lines nobody tuned it for.

    python -m warehouse.parse_eval tests/data/parse_corpus [--tsv tests/data/postfix_lines.tsv]
        [--split dev|heldout|all] [--misses]      (--misses lists the dev part's misses only)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from warehouse.parse import parse_lines

FIELDS = (
    "from",
    "to",
    "orig_to",
    "relay",
    "delay",
    "delays",
    "dsn",
    "status",
    "response",
    "client_host",
    "client_ip",
    "sasl_method",
    "sasl_username",
    "message_id",
    "size",
    "nrcpt",
    "queue_id",
    "ndr_queue_id",
    "service",
    "pid",
    "host",
)
"""Fields scored: the parser's output columns a source can state (no `ts`: most sources give no year)."""

REFERENCE = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SPLITS = ("dev", "heldout")


@dataclass(frozen=True)
class Case:
    """One labelled line: the fields expected of it, where it comes from, and its part of the split."""

    line: str
    expected: dict[str, object]
    source: str
    split: str


@dataclass(frozen=True)
class Miss:
    """A stated field the parser did not reproduce (`actual` None when it left the field null)."""

    line: str
    field: str
    expected: object
    actual: object


@dataclass(frozen=True)
class Score:
    """Counts behind field accuracy and recognition over a set of cases."""

    lines: int
    recognised: int
    fields: int
    correct: int
    misses: tuple[Miss, ...] = field(default=(), repr=False)
    unrecognised: tuple[str, ...] = field(default=(), repr=False)

    @property
    def field_accuracy(self) -> float:
        return self.correct / self.fields if self.fields else 1.0

    @property
    def recognition(self) -> float:
        return self.recognised / self.lines if self.lines else 1.0


def split_of(line: str) -> str:
    """`dev` for about a third of the lines, `heldout` for the rest; fixed by the line's SHA-256."""
    return "dev" if hashlib.sha256(line.encode("utf-8")).digest()[0] % 3 == 0 else "heldout"


def load_corpus(directory: Path) -> list[Case]:
    """Every case of the corpus's JSON Lines files (one per source), in file then line order."""
    cases = []
    for path in sorted(directory.glob("*.jsonl")):
        for text in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(text)
            expected = {name: value for name, value in record["expected"].items() if name in FIELDS}
            cases.append(Case(record["line"], expected, path.stem, split_of(record["line"])))
    return cases


def load_tsv(path: Path) -> list[Case]:
    """The cases of tests/data/postfix_lines.tsv (source, line, expected JSON); only `FIELDS` are kept."""
    cases = []
    for text in path.read_text(encoding="utf-8").splitlines():
        if text and not text.startswith("#"):
            source, line, expected = text.split("\t")
            fields = {name: value for name, value in json.loads(expected).items() if name in FIELDS}
            cases.append(Case(line, fields, source, split_of(line)))
    return cases


def score(cases: Sequence[Case], *, reference: datetime = REFERENCE) -> Score:
    """Parse the cases' lines in one batch and count what they reproduce."""
    frame = parse_lines(pl.Series([case.line for case in cases], dtype=pl.Utf8), reference=reference)
    misses, unrecognised, fields, recognised = [], [], 0, 0
    for case, row in zip(cases, frame.iter_rows(named=True), strict=True):
        if row["event"] == "unparsed":
            unrecognised.append(case.line)
        else:
            recognised += 1
        for name, wanted in case.expected.items():
            fields += 1
            if not _same(row[name], wanted):
                misses.append(Miss(case.line, name, wanted, row[name]))
    return Score(len(cases), recognised, fields, fields - len(misses), tuple(misses), tuple(unrecognised))


def _same(actual: object, expected: object) -> bool:
    if actual is None or expected is None:
        return actual is expected
    if isinstance(expected, str):
        return isinstance(actual, str) and actual.strip() == expected.strip()
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return math.isclose(actual, expected, rel_tol=1e-9)
    return actual == expected


def report(groups: Iterable[tuple[str, Sequence[Case]]]) -> str:
    """One line per group: lines, recognition and field accuracy with their counts."""
    rows = []
    for name, cases in groups:
        result = score(cases)
        rows.append(
            f"{name:<28} lines {result.lines:>4}  recognised {result.recognition:6.1%} ({result.recognised})"
            f"  fields {result.field_accuracy:6.1%} ({result.correct}/{result.fields})"
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the scores of the corpus (per part and source) and of the TSV; list dev misses on request."""
    parser = argparse.ArgumentParser(prog="python -m warehouse.parse_eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--tsv", type=Path)
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument("--misses", action="store_true", help="list the misses and unrecognised lines of dev")
    args = parser.parse_args(argv)
    cases = load_corpus(args.corpus)
    parts = SPLITS if args.split == "all" else (args.split,)
    groups: list[tuple[str, Sequence[Case]]] = []
    for part in parts:
        chosen = [case for case in cases if case.split == part]
        groups.append((part, chosen))
        groups += [
            (f"  {part}/{source}", [c for c in chosen if c.source == source])
            for source in sorted({c.source for c in chosen})
        ]
    if args.tsv:
        groups.append((args.tsv.name, load_tsv(args.tsv)))
    print(report(groups))
    if args.misses:
        dev = score([case for case in cases if case.split == "dev"])
        for line in dev.unrecognised:
            print(f"UNRECOGNISED {line}")
        for miss in dev.misses:
            print(f"MISS {miss.field}: expected {miss.expected!r}, got {miss.actual!r}\n     {miss.line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
