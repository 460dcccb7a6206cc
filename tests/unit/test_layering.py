"""The package layout's rules (DESIGN.md, "The live system"), enforced on the source.

Imports run down the layer order below: a module may import its own package and packages of
lower layers only. The order is DESIGN.md's list; packages on one line of that list are ordered left
to right. Entry points (`__main__.py`) may import the CLI. Libraries import neither argparse nor the
CLI; risk and execution never import each other (the live runner calls one, then the other).
A failure names the file, the line and the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "hftlab"

LAYERS: tuple[str, ...] = (
    "core",
    "domain",
    "features",
    "okx",
    "cache",
    "portfolio",
    "sim",
    "marketdata",
    "risk",
    "execution",
    "monitor",
    "collect", "models", "strategy", "backtest", "live",
    "settings",
    "pipeline", "bench", "soak", "commands", "cli",
)
RANK = {name: i for i, name in enumerate(LAYERS)}
CLI_CODE = {"commands", "cli"}
NEVER_TOGETHER = ({"risk", "execution"},)
SIM_MAY_USE_FROM_OKX = {"hftlab.okx.auth", "hftlab.okx.checksum"}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _owner(path: Path) -> str:
    """The layer a file belongs to: its top-level package or module under hftlab/ ('' for hftlab/*.py dunders)."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute dotted module) of every import of an hftlab module in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    here = list(rel.parts[:-1]) if path.name != "__init__.py" else list(rel.parts[:-1])
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "hftlab"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "hftlab":
                continue
            # `from hftlab import bench` imports hftlab.bench; `from hftlab.okx import auth` hftlab.okx.auth
            out += [(node.lineno, f"{module}.{a.name}") for a in node.names]
    return out


def _layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def upward_imports(paths: list[Path]) -> list[str]:
    bad = []
    for path in paths:
        me = _owner(path)
        if path.name == "__main__.py" or me in ("__init__", "__main__"):
            continue
        for line, module in _imports(path):
            target = _layer_of(module)
            if target == me or target == "":
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
            if target not in RANK:
                bad.append(f"{where}: {target!r} is not in the layer order (add it to LAYERS where it belongs)")
            elif me in RANK and RANK[target] > RANK[me]:
                bad.append(f"{where}: {target} is above {me} (imports run down: {' -> '.join(LAYERS)})")
    return bad


def test_every_top_level_package_has_a_place_in_the_order():
    found = {_owner(p) for p in _modules()} - {"__init__", "__main__"}
    assert found <= set(RANK), f"not placed in LAYERS: {sorted(found - set(RANK))}"


def test_imports_run_down_the_layers():
    bad = upward_imports(_modules())
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_the_check_catches_an_upward_import(tmp_path):
    pkg = tmp_path / "hftlab"
    (pkg / "okx").mkdir(parents=True)
    f = pkg / "okx" / "bad.py"
    f.write_text("from hftlab.collect.collector import Collector\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, pkg
    try:
        assert upward_imports([f]) == [
            f"hftlab/okx/bad.py:1 imports hftlab.collect.collector.Collector: collect is above okx "
            f"(imports run down: {' -> '.join(LAYERS)})"]
    finally:
        PACKAGE = saved


@pytest.mark.parametrize("pair", NEVER_TOGETHER, ids=lambda p: "-".join(sorted(p)))
def test_risk_and_execution_never_import_each_other(pair):
    bad = [f"{p.relative_to(PACKAGE.parent)}:{line} imports {m}" for p in _modules() if _owner(p) in pair
           for line, m in _imports(p) if _layer_of(m) in pair - {_owner(p)}]
    assert not bad, bad


def test_libraries_import_neither_argparse_nor_the_cli():
    bad = []
    for path in _modules():
        if _owner(path) in CLI_CODE or path.name == "__main__.py":
            continue
        text = path.read_text()
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} imports argparse")
        bad += [f"{path.relative_to(PACKAGE.parent)}:{line} imports {m}" for line, m in _imports(path)
                if _layer_of(m) in CLI_CODE]
        bad += [f"{path.relative_to(PACKAGE.parent)}:{i} has '# noqa: E402' (an import placed late to dodge a cycle)"
                for i, line in enumerate(text.splitlines(), 1) if "noqa: E402" in line]
    assert not bad, "\n".join(bad)


def test_the_simulator_uses_only_okx_signing_and_checksum():
    bad = [f"{p.relative_to(PACKAGE.parent)}:{line} imports {m}" for p in _modules() if _owner(p) == "sim"
           for line, m in _imports(p)
           if _layer_of(m) == "okx" and not any(m == ok or m.startswith(ok + ".") for ok in SIM_MAY_USE_FROM_OKX)]
    assert not bad, bad
