"""The import rules of DESIGN.md, checked on the source of every module (ast), and the package APIs.

Who may import whom: acl and relaywatch.core import nothing of ours; ingest imports core; warehouse imports
ingest and core; policy imports ingest, warehouse, acl, core; reports imports warehouse, acl, policy,
core; dashboards imports all of those; the rest of relaywatch (CLI, scheduler, demo) imports anything and
nothing imports it. Across packages, only a package's public API (its `__init__`) is imported, never one
of its modules; nobody imports another package's private (`_underscore`) name, tests included.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("acl", "ingest", "warehouse", "policy", "reports", "dashboards", "relaywatch")
CORE = "relaywatch.core"
APP = "relaywatch"
ALLOWED = {
    "acl": set(),
    CORE: set(),
    "ingest": {CORE},
    "warehouse": {"ingest", CORE},
    "policy": {"ingest", "warehouse", "acl", CORE},
    "reports": {"warehouse", "acl", "policy", CORE},
    "dashboards": {"acl", "ingest", "warehouse", "policy", "reports", CORE},
    APP: {"acl", "ingest", "warehouse", "policy", "reports", "dashboards", CORE},
}


def layer(module: str) -> str | None:
    """The layer a dotted module name belongs to (None: not ours)."""
    if module == CORE or module.startswith(CORE + "."):
        return CORE
    top = module.split(".")[0]
    if top in ("bench", "tests", "notebooks"):
        return top
    return top if top in PRODUCT else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, imported names) of every import statement, nested ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            found.append((node.lineno, base, [alias.name for alias in node.names]))
    return found


def api_root(target_layer: str) -> str:
    return CORE if target_layer == CORE else target_layer


def violations(path: Path) -> list[str]:
    """What one source file imports against the rules."""
    source = module_name(path)
    source_layer = layer(source)
    problems = []
    for line, target, names in imports(path):
        target_layer = layer(target)
        if target_layer is None:
            continue
        where = f"{path.relative_to(ROOT)}:{line}: {source_layer} imports {target}"
        own = target_layer == source_layer
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        if private and not own:
            problems.append(f"{where} private name(s) {', '.join(private)}")
        if target_layer in ("bench", "tests", "notebooks") and source_layer in ALLOWED:
            problems.append(f"{where}: product code imports {target_layer}")
        if source_layer in ("bench", "tests", "notebooks") or own:
            continue
        if target_layer not in ALLOWED[source_layer]:
            problems.append(f"{where}: not allowed by DESIGN.md's order")
        elif target != api_root(target_layer) and not (target_layer == APP and source_layer == APP):
            problems.append(f"{where}: reaches into a module instead of the package API {api_root(target_layer)}")
    return problems


def sources(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py") if ".venv" not in p.parts)


def test_no_module_imports_against_the_layers_or_into_private_names() -> None:
    problems = [problem for path in sources(*PRODUCT, "bench", "tests") for problem in violations(path)]
    assert problems == []


def test_the_layer_check_catches_a_forbidden_and_a_private_import() -> None:
    bad = ROOT / "ingest" / "_layer_probe_tmp.py"
    bad.write_text(
        "from warehouse import Lake\nfrom acl.scope import _ALIAS\nfrom relaywatch.core.files import write_atomic\n"
    )
    try:
        found = violations(bad)
    finally:
        bad.unlink()
    assert any("not allowed" in p and "warehouse" in p for p in found)
    assert any("private name(s) _ALIAS" in p for p in found)
    assert any("reaches into a module" in p and "relaywatch.core.files" in p for p in found)


@pytest.mark.parametrize("package", ["ingest", "warehouse", "relaywatch.core", "acl", "dashboards", "policy"])
def test_every_public_name_of_a_package_resolves_and_none_is_shadowed_by_a_module(package: str) -> None:
    module = importlib.import_module(package)
    names = getattr(module, "__all__", [])
    assert names, f"{package} names no public API"
    submodules = {info.name for info in pkgutil.iter_modules(module.__path__)}
    assert not set(names) & submodules, "a public name equal to a submodule name is shadowed once it is imported"
    for name in names:
        assert getattr(module, name) is not None, name
