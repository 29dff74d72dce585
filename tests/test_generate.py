"""The log generator writes real-looking Postfix 3.7 logs and tells the exact truth about them."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from relaywatch.loggen import GenerateStats, fmt_delay, generate

START = datetime(2026, 11, 2, tzinfo=timezone(timedelta(hours=1)))
GATEWAYS = ["gw1", "gw2", "relay3.example.org"]

QID = r"[0-9A-F]{10}"
CLIENT = r"[\w.-]+\[[0-9a-f.:]+\]"
TLS = (
    r"TLSv1\.[23] with cipher [\w-]+ \(\d+/\d+ bits\) key-exchange X25519 server-signature [\w-]+ "
    r"\([\w -]+\) server-digest SHA256"
)
SYSLOG_TS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3]\d \d\d:\d\d:\d\d"
DELIVERY = re.compile(
    rf"postfix/(?:smtp|error)\[\d+\]: ({QID}): to=<([^>]+)>, (?:orig_to=<[^>]+>, )?"
    r"relay=(none|[\w.-]+\[[0-9a-f.:]+\]:25), (?:conn_use=\d+, )?delay=(\d+(?:\.\d+)?), "
    r"delays=(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?), dsn=([245]\.\d\.\d{1,3}), "
    r"status=(sent|deferred|bounced) \((.+)\)$"
)
# Every line the generator writes must have one of these shapes (after "timestamp host ").
SHAPES = [
    re.compile(p)
    for p in (
        rf"postfix/(?:submission/)?smtpd\[\d+\]: connect from {CLIENT}$",
        rf"postfix/(?:submission/)?smtpd\[\d+\]: Anonymous TLS connection established from {CLIENT}: {TLS}$",
        rf"postfix/(?:submission/)?smtpd\[\d+\]: {QID}: client={CLIENT}"
        r"(?:, sasl_method=(?:PLAIN|LOGIN), sasl_username=[^\s,]+)?$",
        rf"postfix/(?:submission/)?smtpd\[\d+\]: (?:NOQUEUE|{QID}): reject: RCPT from {CLIENT}: [45]\d\d [45]\.\d\.\d "
        r"<[^>]+>: .+; from=<[^>]*> to=<[^>]+> proto=ESMTP helo=<[^>]+>$",
        rf"postfix/(?:submission/)?smtpd\[\d+\]: disconnect from {CLIENT}(?: [a-z]+=\d+(?:/\d+)?)+$",
        rf"postfix/smtpd\[\d+\]: lost connection after [A-Z]+ from {CLIENT}$",
        r"postfix/smtpd\[\d+\]: warning: hostname \S+ does not resolve to address [\d.]+: Name or service not known$",
        rf"postfix/smtpd\[\d+\]: warning: non-SMTP command from {CLIENT}: GET / HTTP/1\.1$",
        rf"postfix/smtpd\[\d+\]: SSL_accept error from {CLIENT}: -1$",
        r"postfix/(?:smtpd|smtp)\[\d+\]: warning: TLS library problem: error:0A[0-9A-F]{6}:SSL routines::.+:$",
        rf"postfix/submission/smtpd\[\d+\]: warning: {CLIENT}: SASL (?:LOGIN|PLAIN) authentication failed: "
        r"[\w ]+, sasl_username=\S+$",
        rf"postfix/cleanup\[\d+\]: {QID}: message-id=<[^<>\s]+@[^<>\s]+>$",
        rf"opendkim\[\d+\]: {QID}: DKIM-Signature field added \(s=\w+, d=[\w.-]+\)$",
        rf"postfix/qmgr\[\d+\]: {QID}: from=<[^>]*>, size=\d+, nrcpt=\d+ \(queue active\)$",
        rf"postfix/qmgr\[\d+\]: {QID}: from=<[^>]*>, status=expired, returned to sender$",
        rf"postfix/qmgr\[\d+\]: {QID}: removed$",
        DELIVERY.pattern,
        rf"postfix/smtp\[\d+\]: (?:Trusted|Untrusted) TLS connection established to [\w.-]+\[[0-9a-f.:]+\]:25: "
        rf"{TLS}$",
        r"postfix/smtp\[\d+\]: connect to [\w.-]+\[[\d.]+\]:25: (?:Connection timed out|Connection refused|"
        r"No route to host)$",
        r"postfix/smtp\[\d+\]: SSL_connect error to [\w.-]+\[[0-9a-f.:]+\]:25: -1$",
        r"postfix/smtp\[\d+\]: certificate verification failed for [\w.-]+\[[\d.]+\]:25: untrusted issuer /CN=\S+$",
        rf"postfix/bounce\[\d+\]: {QID}: sender (?:non-delivery|delay) notification: {QID}$",
        rf"postfix/bounce\[\d+\]: {QID}: undeliverable postmaster notification discarded$",
        rf"postfix/pickup\[\d+\]: {QID}: uid=0 from=<root>$",
        rf"postfix/anvil\[\d+\]: statistics: max (?:connection rate \d+/60s|connection count \d+|message rate "
        rf"\d+/60s) for \((?:smtp|submission):[\d.]+\) at {SYSLOG_TS}$",
        rf"postfix/anvil\[\d+\]: statistics: max cache size \d+ at {SYSLOG_TS}$",
        rf"postfix/scache\[\d+\]: statistics: start interval {SYSLOG_TS}$",
        r"postfix/scache\[\d+\]: statistics: (?:domain|address) lookup hits=\d+ miss=\d+ success=\d+%$",
        r"postfix/scache\[\d+\]: statistics: max simultaneous domains=\d+ addresses=\d+ connection=\d+$",
        r"postfix/master\[\d+\]: reload -- version 3\.7\.\d+, configuration /etc/postfix$",
        r"postfix/postfix-script\[\d+\]: refreshing the Postfix mail system$",
        r"CRON\[\d+\]: pam_unix\(cron:session\): session (?:opened|closed) for user root(?:\(uid=0\) by \(uid=0\))?$",
        r"CRON\[\d+\]: \(root\) CMD \(.+\)$",
        r"dovecot: auth: passwd-file\([^,]+,[\d.]+\): (?:Password mismatch|unknown user)$",
    )
]
HEAD = {
    "syslog": re.compile(rf"^({SYSLOG_TS}) (\S+) (.*)$"),
    "rfc3339": re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d) (\S+) (.*)$"),
    "journal": re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d{4}) (\S+) (.*)$"),
}


def _gen(path: Path, **kw: object) -> GenerateStats:
    args: dict[str, object] = {"lines": 150_000, "days": 6.5, "gateways": GATEWAYS, "seed": 7, "start": START}
    args.update(kw)
    return generate(path, **args)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateStats, list[str]]:
    """One RFC 3339 log of three gateways (exact timestamps make order checks strict)."""
    path = tmp_path_factory.mktemp("gen") / "mail.log"
    stats = _gen(path, fmt="rfc3339")
    return path, stats, path.read_text().splitlines()


def _bodies(lines: list[str], fmt: str = "rfc3339") -> list[tuple[str, str, str]]:
    out = []
    for line in lines:
        m = HEAD[fmt].match(line)
        assert m, line
        out.append((m.group(1), m.group(2), m.group(3)))
    return out


def test_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.log", tmp_path / "b.log", tmp_path / "c.log"
    sa = _gen(a, lines=5000)
    sb = _gen(b, lines=5000)
    _gen(c, lines=5000, seed=8)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert sa.as_dict() | {"seconds": 0} == sb.as_dict() | {"seconds": 0}


def test_the_bytes_of_a_small_log_are_pinned() -> None:
    """Any drift of the generator (a refactoring, a reordered random draw) changes this digest."""
    out = io.StringIO()
    generate(out, lines=3000, days=1, gateways=["gw1"], seed=9, start=datetime(2026, 1, 1, tzinfo=UTC))
    digest = hashlib.sha256(out.getvalue().encode()).hexdigest()
    assert digest == "1e5eefff9231e168e9af48760bedd625508279e9665ad1beadcb545dcce193fa"


def test_exactly_the_requested_number_of_lines(sample: tuple[Path, GenerateStats, list[str]]) -> None:
    _, stats, lines = sample
    assert len(lines) == stats.lines == 150_000
    assert sum(g["lines"] for g in stats.per_gateway.values()) == 150_000


def test_every_line_has_a_real_postfix_shape(sample: tuple[Path, GenerateStats, list[str]]) -> None:
    _, _, lines = sample
    unknown = [body for _, _, body in _bodies(lines) if not any(s.match(body) for s in SHAPES)]
    assert unknown == []


def test_lines_are_in_time_order_and_span_about_the_requested_days(
    sample: tuple[Path, GenerateStats, list[str]],
) -> None:
    _, stats, lines = sample
    stamps = [datetime.fromisoformat(ts) for ts, _, _ in _bodies(lines)]
    assert all(a <= b for a, b in zip(stamps, stamps[1:], strict=False))
    assert stamps[0] >= START and stamps[0] == stats.first_ts and stamps[-1] == stats.last_ts
    assert timedelta(days=6) < stamps[-1] - stamps[0] < timedelta(days=10)


def test_hosts_are_the_gateways_and_all_of_them_log(sample: tuple[Path, GenerateStats, list[str]]) -> None:
    _, stats, lines = sample
    hosts = Counter(host for _, host, _ in _bodies(lines))
    assert set(hosts) == set(GATEWAYS)
    assert {g: hosts[g] for g in GATEWAYS} == {g: stats.per_gateway[g]["lines"] for g in GATEWAYS}


def test_each_queue_id_line_belongs_to_one_live_message(sample: tuple[Path, GenerateStats, list[str]]) -> None:
    """A queue id is born (client=, pickup, or cleanup of a notification), used, then removed; never
    used while dead nor born twice while alive. Ids do recycle after removal."""
    _, stats, lines = sample
    live: dict[tuple[str, str], bool] = {}
    born = Counter()
    errors = []
    for _, host, body in _bodies(lines):
        m = re.match(rf"(\S+?)(?:\[\d+\])?: ({QID}): (.*)$", body)
        if not m:
            continue
        prog, qid, msg = m.groups()
        key = (host, qid)
        if msg.startswith(("client=", "uid=")) or (prog.endswith("cleanup") and not live.get(key)):
            if live.get(key):
                errors.append(f"born twice: {body}")
            live[key] = True
            born[key] += 1
        elif msg == "removed":
            if not live.get(key):
                errors.append(f"removed while not queued: {body}")
            live[key] = False
        elif not live.get(key):
            errors.append(f"used while not queued: {body}")
    assert errors == []
    assert sum(1 for n in born.values() if n > 1) > 0  # short ids recycle
    assert stats.recycled_queue_ids > 0


def test_stats_match_the_lines(sample: tuple[Path, GenerateStats, list[str]]) -> None:
    _, stats, lines = sample
    text = "\n".join(lines)
    assert text.count("status=sent (") == stats.sent == stats.deliveries["sent"] > 0
    assert text.count("status=deferred (") == stats.deferred > 0
    assert text.count("status=bounced (") == stats.bounced > 0
    assert text.count("status=expired, returned to sender") == stats.expired > 0
    assert text.count("sender non-delivery notification: ") == stats.ndrs > 0
    assert text.count("sender delay notification: ") == stats.delay_notifications > 0
    assert len(re.findall(r"\]: (?:NOQUEUE|[0-9A-F]{10}): reject: ", text)) == stats.rejects > 0
    assert len(re.findall(r": [0-9A-F]{10}: removed$", text, re.M)) == stats.removed
    assert len(re.findall(r": [0-9A-F]{10}: (?:client=|uid=0 from=)", text)) == stats.received
    assert text.count("authentication failed: ") == stats.sasl_failures > 0
    # a message enters the queue at its first "(queue active)" after being born
    fresh: set[tuple[str, str]] = set()
    entered = 0
    for _, host, body in _bodies(lines):
        m = re.match(rf"postfix/(cleanup|qmgr)\[\d+\]: ({QID}): (message-id=|from=.*\(queue active\)$)", body)
        if m and m.group(1) == "cleanup":
            fresh.add((host, m.group(2)))
        elif m and (host, m.group(2)) in fresh:
            fresh.discard((host, m.group(2)))
            entered += 1
    assert entered == stats.messages


def test_deliveries_carry_consistent_delays_and_dsn(sample: tuple[Path, GenerateStats, list[str]]) -> None:
    _, _, lines = sample
    seen = Counter()
    for _, _, body in _bodies(lines):
        m = DELIVERY.match(body)
        if not m:
            continue
        delay, a, b, c, d = (float(x) for x in m.group(4, 5, 6, 7, 8))
        dsn, status = m.group(9), m.group(10)
        assert abs(delay - (a + b + c + d)) <= 0.1 + 0.05 * delay, body
        assert dsn[0] == {"sent": "2", "deferred": "4", "bounced": "5"}[status], body
        if m.group(3) == "none":
            assert status != "sent", body
        seen[status] += 1
    assert min(seen.values()) > 0


def test_retries_back_off_and_some_deferred_mail_is_finally_sent(sample: tuple[Path, GenerateStats, list[str]]) -> None:
    _, _, lines = sample
    attempts: dict[tuple[str, str, str], list[tuple[datetime, str]]] = {}
    for ts, host, body in _bodies(lines):
        m = DELIVERY.match(body)
        if m:
            attempts.setdefault((host, m.group(1), m.group(2)), []).append((datetime.fromisoformat(ts), m.group(10)))
    retried = [a for a in attempts.values() if len(a) > 1]
    assert retried
    assert any(a[0][1] == "deferred" and a[-1][1] == "sent" for a in retried)
    for a in retried:
        gaps = [(y[0] - x[0]).total_seconds() for x, y in zip(a, a[1:], strict=False)]
        assert min(gaps) >= 250  # minimal_backoff_time 300s, less the time the attempts themselves took
        assert max(gaps) <= 4000 + 300 + 120  # maximal_backoff_time plus one queue run
    assert any(a[-1][0] - a[0][0] > timedelta(hours=24) for a in retried)


def test_notifications_are_messages_from_the_null_sender(sample: tuple[Path, GenerateStats, list[str]]) -> None:
    _, _, lines = sample
    bodies = _bodies(lines)
    ndr_ids = {(h, m.group(1)) for _, h, b in bodies if (m := re.search(rf"notification: ({QID})$", b))}
    queued = {
        (h, m.group(1))
        for _, h, b in bodies
        if (m := re.match(rf"postfix/qmgr\[\d+\]: ({QID}): from=<>, size=\d+, nrcpt=1 \(queue active\)$", b))
    }
    assert ndr_ids and ndr_ids <= queued


def test_content_covers_providers_and_failure_kinds(sample: tuple[Path, GenerateStats, list[str]]) -> None:
    _, _, lines = sample
    text = "\n".join(lines)
    for needle in (
        "- gsmtp)",
        "Queued mail for delivery -> 250 2.1.5",
        "250 ok dirdel",
        "OFR_",
        "free.fr",
        "sfr.fr",
        "laposte.net",
        "gmx",
        "icloud",
        "Connection timed out",
        "Host or domain name not found",
        "postfix/submission/smtpd",
        "sasl_method=PLAIN",
        "Relay access denied",
        "orig_to=<root>",
        "conn_use=",
        "Trusted TLS connection established to",
        "dovecot: auth:",
        "opendkim[",
        "CRON[",
        "postfix/anvil[",
        "postfix/scache[",
        "nrcpt=1",
        "status=expired, returned to sender",
    ):
        assert needle in text, needle
    assert re.search(r"nrcpt=(?:1\d|20) \(queue active\)", text)  # up to 20 recipients


def test_three_timestamp_formats_differ_only_in_the_timestamp(tmp_path: Path) -> None:
    rest = {}
    for fmt in ("syslog", "rfc3339", "journal"):
        path = tmp_path / f"{fmt}.log"
        _gen(path, lines=3000, fmt=fmt)
        bodies = _bodies(path.read_text().splitlines(), fmt)
        rest[fmt] = [(h, b) for _, h, b in bodies]
        first = bodies[0][0]
        if fmt == "syslog":
            assert re.fullmatch(r"Nov  2 \d\d:\d\d:\d\d", first)
        elif fmt == "rfc3339":
            assert first.startswith("2026-11-02T") and first.endswith("+01:00")
        else:
            assert first.startswith("2026-11-02T") and first.endswith("+0100")
    assert rest["syslog"] == rest["rfc3339"] == rest["journal"]


def test_per_gateway_files_split_the_combined_log(tmp_path: Path) -> None:
    combined = tmp_path / "all.log"
    stats = _gen(combined, lines=6000, per_gateway_dir=tmp_path / "gw", fmt="journal")
    lines = combined.read_text().splitlines()
    for gw in GATEWAYS:
        own = (tmp_path / "gw" / f"{gw}.log").read_text().splitlines()
        assert own == [line for line in lines if line.split(" ", 2)[1] == gw]
        assert len(own) == stats.per_gateway[gw]["lines"]


def test_without_a_line_count_it_writes_the_requested_days(tmp_path: Path) -> None:
    out = io.StringIO()
    stats = generate(
        out, days=0.5, gateways=["gw1"], seed=3, start=datetime(2026, 11, 2, tzinfo=UTC), messages_per_day=2000
    )
    lines = out.getvalue().splitlines()
    assert len(lines) == stats.lines > 1000
    assert stats.last_ts is not None and stats.last_ts < datetime(2026, 11, 2, 12, tzinfo=UTC)
    assert 300 < stats.messages < 3000


def test_a_naive_start_is_utc_and_syslog_name_is_used(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    generate(
        path,
        lines=500,
        days=0.2,
        gateways=["gw1"],
        seed=1,
        start=datetime(2026, 3, 5),
        fmt="journal",
        syslog_name="postfix-out",
    )
    lines = path.read_text().splitlines()
    assert lines[0].startswith("2026-03-05T00:") and "+0000 gw1 " in lines[0]
    assert any(" postfix-out/qmgr[" in line for line in lines)
    assert not any(" postfix/" in line for line in lines)


def test_delays_are_printed_like_postfix() -> None:
    assert [fmt_delay(x) for x in (0, 0.004, 0.05, 0.1, 0.27, 0.999, 1.0, 1.24, 9.96, 12.4, 431.6)] == [
        "0",
        "0",
        "0.05",
        "0.1",
        "0.27",
        "1",
        "1",
        "1.2",
        "10",
        "12",
        "432",
    ]


def test_pflogsumm_reads_the_log_and_agrees_with_the_stats(tmp_path: Path) -> None:
    exe = shutil.which("pflogsumm") or ("/usr/sbin/pflogsumm" if Path("/usr/sbin/pflogsumm").exists() else None)
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pflogsumm must be installed in CI (apt-get install pflogsumm)")
        pytest.skip("pflogsumm is not installed")
    path = tmp_path / "mail.log"
    stats = _gen(path, lines=20_000, fmt="syslog")
    out = subprocess.run([exe, str(path)], capture_output=True, text=True, check=True, timeout=120).stdout
    totals = {name: int(n) for n, name in re.findall(r"^\s+(\d+)\s+(received|delivered|bounced|rejected)\b", out, re.M)}
    deferrals = int(re.search(r"\((\d+)\s+deferrals\)", out).group(1))  # type: ignore[union-attr]
    assert totals == {
        "received": stats.received,
        "delivered": stats.sent,
        "bounced": stats.bounced,
        "rejected": stats.rejects,
    }
    assert deferrals == stats.deferred
