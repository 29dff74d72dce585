"""`make mutate`: mutation testing (mutmut) of the code that guards data, one module at a time.

Each target is mutated in a scratch copy of the tree (mutmut writes a `mutants/` folder and needs its
settings in pyproject.toml) with the tests that are meant to catch its bugs; the survival rate per
module is printed as a Markdown table (the README keeps the latest one) and the surviving mutants are
listed for review. Slow, so not part of `make test`.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "acl/scope.py": ["tests/test_acl_scope.py", "tests/test_acl_grants.py"],
    "acl/sqlguard.py": ["tests/test_acl_sqlguard.py"],
    "warehouse/classify.py": [
        "tests/test_classify.py",
        "tests/test_rule_examples.py",
        "tests/test_classify_precedence.py",
    ],
    "ingest/collect.py": [
        "tests/test_collect_local.py",
        "tests/test_collect_backoff.py",
        "tests/test_collect_exactly_once.py",
    ],
}
FUNCTIONS = {
    # the classifier's precedence: rule order (local first) and the tiers deciding a qualification
    "warehouse/classify.py": {"load_rules", "_match", "RuleSet.table", "RuleSet.known"},
    # the collector's exactly-once parts: rotation order, identity, committed offsets, skip and retry
    "ingest/collect.py": {
        "rotation_set",
        "whole_hash",
        "plan_file",
        "skipping_bad_gzip",
        "plan",
        "read_planned",
        "collect_log",
        "is_truncated_gzip",
    },
}
"""Where only part of a module guards data, the functions mutated; the others are left alone."""
FORKSERVER = {"warehouse/classify.py", "ingest/collect.py"}
"""Targets whose tests start polars' thread pool: a worker forked from a process running it deadlocks,
so their mutants are forked from a server that has imported nothing."""
PACKAGES = ["acl", "ingest", "warehouse", "relaywatch", "dashboards", "reports", "tests"]


def exclude_functions(path: Path, keep: set[str]) -> None:
    """Mark every function of `path` not named in `keep` (`name` or `Class.name`) with mutmut's
    `# pragma: no mutate block`, in the scratch copy only."""
    lines = path.read_text().splitlines()
    tree = ast.parse("\n".join(lines))
    headers = []
    for node in tree.body:
        members = [(f"{node.name}.", child) for child in node.body] if isinstance(node, ast.ClassDef) else [("", node)]
        for prefix, member in members:
            function = isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef)
            if function and prefix + member.name not in keep and member.body[0].lineno > member.lineno:
                headers.append(member.body[0].lineno - 2)
    for index in headers:
        if not lines[index].partition("#")[0].rstrip().endswith(":"):
            raise SystemExit(f"{path}:{index + 1}: cannot mark the function header for mutmut")
        lines[index] += "  # pragma: no mutate block"
    path.write_text("\n".join(lines) + "\n")


def run_target(module: str, tests: list[str], children: int, keep: Path | None) -> dict[str, list[str]]:
    """Mutant names of one module by mutmut's state (killed, timeout, survived...); with `keep`, its
    scratch tree is kept there."""
    with tempfile.TemporaryDirectory(prefix="rw-mutate-") as scratch:
        tree = keep / module.replace("/", "_").removesuffix(".py") if keep else Path(scratch) / "tree"
        if tree.exists():
            shutil.rmtree(tree)
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
        for name in files.decode().split("\0"):
            if name and (ROOT / name).is_file():
                (tree / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, tree / name)
        if module in FUNCTIONS:
            exclude_functions(tree / module, FUNCTIONS[module])
        with (tree / "tests" / "conftest.py").open("a") as conftest:
            # mutmut calls every mutated function through a trampoline: deeper stacks than in production
            conftest.write("\nimport sys\n\nsys.setrecursionlimit(20000)\n")
        with (tree / "pyproject.toml").open("a") as config:
            config.write(
                f"\n[tool.mutmut]\nsource_paths = [{module!r}]\n"
                f"pytest_add_cli_args_test_selection = {tests!r}\nalso_copy = {PACKAGES!r}\n"
            )
            if module in FORKSERVER:
                config.write('process_isolation = "forkserver"\nforkserver_warmup = "none"\n')
        mutmut = [sys.executable, "-m", "mutmut"]
        subprocess.run(
            [*mutmut, "run", "--max-children", str(children)], cwd=tree, check=False, stdout=subprocess.DEVNULL
        )
        results = subprocess.run(
            [*mutmut, "results", "--all", "true"], cwd=tree, check=False, capture_output=True, text=True
        ).stdout
    by_state: dict[str, list[str]] = {}
    for name, state in re.findall(r"^\s*(\S+): (.+?)\s*$", results, re.MULTILINE):
        by_state.setdefault(state, []).append(name)
    return by_state


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("modules", nargs="*", default=list(TARGETS), help="modules to mutate (default: all)")
    parser.add_argument("--children", type=int, default=2, help="mutants tested in parallel")
    parser.add_argument(
        "--keep", type=Path, help="keep each scratch tree in DIR/<module> (to inspect survivors with `mutmut show`)"
    )
    args = parser.parse_args()
    rows = []
    for module in args.modules:
        by_state = run_target(module, TARGETS[module], args.children, args.keep)
        total = sum(map(len, by_state.values()))
        killed, timeout = len(by_state.pop("killed", [])), len(by_state.pop("timeout", []))
        rows.append(
            f"| `{module}` | {total} | {killed} | {timeout} | {total - killed - timeout} "
            f"| {(killed + timeout) / max(total, 1):.1%} |"
        )
        for state, names in sorted(by_state.items()):
            for name in names:
                print(f"{state}: {name}", file=sys.stderr)
    # a timeout is a mutant that made its tests exceed ~30x their CPU time (mutmut's SIGXCPU limit, not
    # wall clock, so load cannot cause it): detected, as mutmut's own score counts it
    print("| module | mutants | killed | timeout | not detected | detected % |\n|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
