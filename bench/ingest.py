"""Ingest benchmark: `relaywatch ingest` against pflogsumm on the same generated Postfix logs.

    python -m bench.ingest --lines 2000000 [--big] [--keep]

Generates single-gateway logs once (cached in bench/out/, git-ignored), then for each size runs the
ingest as a subprocess in a fresh data home, measuring wall time and the peak RSS of the whole process
tree (psutil every 50 ms, summed over the process and all its descendants), then
pflogsumm on the same file. Prints a Markdown table and writes it to bench/out/ingest.md. Sizes 1M and
2M (and 4M with --big) show whether peak memory stays flat as the log grows.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

from relaywatch import loggen
from relaywatch.loggen import generate

OUT = Path(__file__).resolve().parent / "out"
GATEWAY = "gw1"
DAYS = 7.0  # long enough for deferred mail to expire after five days
START = datetime(2026, 11, 2, tzinfo=UTC)  # fixed, so a cached file is the same file for everyone
POLL_S = 0.05


@dataclass
class Run:
    """One measured command."""

    seconds: float
    peak_rss: int  # bytes, whole process tree
    returncode: int
    stderr_tail: str


@dataclass
class Row:
    """One size: the ingest run and pflogsumm on the same file."""

    lines: int
    ingest: Run
    pflogsumm: Run | None


def log_file(lines: int, seed: int) -> Path:
    """The cached log of `lines` lines, generated if missing or made by another generator version."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"postfix-{GATEWAY}-{lines}-s{seed}.log"
    meta = path.with_suffix(".json")
    package = Path(loggen.__file__).parent
    source = b"".join(path.read_bytes() for path in sorted(package.glob("*.py")))
    key = {
        "lines": lines,
        "seed": seed,
        "days": DAYS,
        "start": START.isoformat(),
        "generator": hashlib.sha256(source).hexdigest()[:16],
    }
    if path.exists() and meta.exists():
        old = json.loads(meta.read_text())
        if old.get("key") == key and path.stat().st_size == old.get("bytes"):
            return path
    print(f"generating {lines:,} lines -> {path}", file=sys.stderr, flush=True)
    stats = generate(path, lines=lines, days=DAYS, gateways=[GATEWAY], seed=seed, start=START)
    print(f"  {stats.seconds:.1f} s, {lines / stats.seconds:,.0f} lines/s", file=sys.stderr, flush=True)
    meta.write_text(json.dumps({"key": key, "bytes": path.stat().st_size, "stats": stats.as_dict()}, indent=1))
    return path


def measure(argv: list[str]) -> Run:
    """Run argv to completion; wall time and peak RSS of its process tree."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        peak = 0
        done = threading.Event()

        def poll() -> None:
            nonlocal peak
            try:
                root = psutil.Process(proc.pid)
            except psutil.NoSuchProcess:
                return
            while not done.is_set():
                total = 0
                try:
                    for p in [root, *root.children(recursive=True)]:
                        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                            total += p.memory_info().rss
                except psutil.NoSuchProcess:
                    return
                peak = max(peak, total)
                done.wait(POLL_S)

        sampler = threading.Thread(target=poll, daemon=True)
        sampler.start()
        _, status = os.waitpid(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
        err.seek(0)
        tail = err.read()[-2000:].decode("utf-8", "replace")
    # Not ru_maxrss: a child forked from this process starts with this process's pages counted.
    return Run(seconds, peak, proc.returncode, tail)


def relaywatch_exe() -> str:
    """The relaywatch console script of this interpreter's environment, else the one on PATH."""
    exe = Path(sys.executable).with_name("relaywatch")
    return str(exe) if exe.exists() else (shutil.which("relaywatch") or "relaywatch")


def ingest_argv(template: str | None, home: Path, file: Path) -> list[str]:
    if template is None:
        return [relaywatch_exe(), "--home", str(home), "ingest", "--gateway-name", GATEWAY, "--file", str(file)]
    return shlex.split(
        template.format(
            home=shlex.quote(str(home)),
            file=shlex.quote(str(file)),
            gateway=GATEWAY,
            python=shlex.quote(sys.executable),
        )
    )


def pflogsumm_exe() -> str | None:
    if shutil.which("pflogsumm"):
        return shutil.which("pflogsumm")
    return "/usr/sbin/pflogsumm" if Path("/usr/sbin/pflogsumm").exists() else None


def table(rows: list[Row]) -> str:
    out = ["| lines | relaywatch s | lines/s | peak RSS MB | pflogsumm s | ratio |", "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ok = r.ingest.returncode == 0
        secs = f"{r.ingest.seconds:.2f}" if ok else f"failed ({r.ingest.returncode})"
        rate = f"{r.lines / r.ingest.seconds:,.0f}" if ok else "-"
        rss = f"{r.ingest.peak_rss / 2**20:.0f}" if ok else "-"
        pf = f"{r.pflogsumm.seconds:.2f}" if r.pflogsumm and r.pflogsumm.returncode == 0 else "n/a"
        ratio = (
            f"{r.ingest.seconds / r.pflogsumm.seconds:.2f}x"
            if ok and r.pflogsumm and r.pflogsumm.returncode == 0
            else "-"
        )
        out.append(f"| {r.lines:,} | {secs} | {rate} | {rss} | {pf} | {ratio} |")
    return "\n".join(out)


def report(rows: list[Row], command: list[str]) -> str:
    ok = [r for r in rows if r.ingest.returncode == 0]
    notes = []
    if len(ok) >= 2:
        a, b = ok[0], ok[-1]
        growth = (b.ingest.peak_rss / a.ingest.peak_rss - 1) * 100 if a.ingest.peak_rss else 0.0
        notes.append(
            f"Peak RSS from {a.lines:,} to {b.lines:,} lines ({b.lines / a.lines:.0f}x the log): {growth:+.0f}%."
        )
    for r in rows:
        if r.ingest.returncode != 0:
            notes.append(
                f"{r.lines:,} lines: ingest exited {r.ingest.returncode}:\n\n```\n{r.ingest.stderr_tail.strip()}\n```"
            )
    cpu = platform.processor() or platform.machine()
    head = (
        f"# Ingest benchmark\n\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs ({cpu}), "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, Python {platform.python_version()}.\n\n"
        f"Ingest command: `{shlex.join(command)}`. Logs: one gateway, {DAYS:g} days, generated by "
        f"`relaywatch.loggen`. Peak RSS is the whole process tree. Ratio is relaywatch time / pflogsumm "
        f"time (below 1: relaywatch is faster).\n\n"
    )
    return head + table(rows) + "\n" + ("\n" + "\n\n".join(notes) + "\n" if notes else "")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=2_000_000, help="main size (default 2,000,000)")
    p.add_argument("--sizes", default="1000000,2000000", help="other sizes for the memory-growth rows")
    p.add_argument("--big", action="store_true", help="also 4,000,000 lines")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the data homes (bench/out/home-<lines>)")
    p.add_argument(
        "--command",
        default=None,
        help="ingest command template instead of relaywatch, with {home} {file} {gateway} "
        '{python}; e.g. "wc -l {file}" to test the harness',
    )
    p.add_argument("--no-pflogsumm", action="store_true")
    a = p.parse_args(argv)
    sizes = {a.lines, *(int(s) for s in a.sizes.split(",") if s.strip())}
    if a.big:
        sizes.add(4_000_000)
    pfl = None if a.no_pflogsumm else pflogsumm_exe()
    if pfl is None and not a.no_pflogsumm:
        print("pflogsumm not found (apt-get install pflogsumm): its column stays empty", file=sys.stderr)
    rows: list[Row] = []
    for lines in sorted(sizes):
        file = log_file(lines, a.seed)
        if a.keep:
            home = OUT / f"home-{lines}"
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir(parents=True)
        else:
            home = Path(tempfile.mkdtemp(prefix="relaywatch-bench-"))
        try:
            command = ingest_argv(a.command, home, file)
            print(f"{lines:,} lines: ingest ...", file=sys.stderr, flush=True)
            run = measure(command)
        finally:
            if not a.keep:
                shutil.rmtree(home, ignore_errors=True)
        pf_run = None
        if pfl is not None:
            print(f"{lines:,} lines: pflogsumm ...", file=sys.stderr, flush=True)
            pf_run = measure([pfl, str(file)])
        rows.append(Row(lines, run, pf_run))
    text = report(rows, ingest_argv(a.command, Path("HOME"), Path("FILE")))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ingest.md").write_text(text)
    print(text)
    return 0 if all(r.ingest.returncode == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
