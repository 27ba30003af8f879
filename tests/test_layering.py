"""The package's layers, checked: every module of `src/opmetrics` sits in one layer of the
pipeline a reader sees in docs/design.md §2, and no import runs from a lower layer to a higher one.
No code outside `engine/` names DuckDB or Spark or touches a raw connection (`.con`).

A new top-level module or package must be placed in `LAYERS` before this test passes: that is
the point at which its place in the pipeline gets decided."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "opmetrics"

# bottom to top; a unit may import units of its own layer or of any layer below it
LAYERS: list[set[str]] = [
    {"errors", "month", "workspace", "defaults", "progress", "console"},  # foundations
    {"workdays", "catalog", "review"},  # reference data, the calendar, a month's review file
    {"contract"},  # the data contract: table schemas, row rules, sources
    {"engine"},  # DuckDB and Spark behind one interface
    {"validation"},  # reading and checking a data dir on the engine
    {"generator", "duis"},  # producers of data dirs (synthetic months, DUIS archives)
    {"measures"},  # the one pass over the events
    {"analytics"},  # compute-time derivations: benchmarks, league tables, diagnosis
    {"results"},  # results schemas, the typed manifest, writing and reading results
    {"reports"},  # every pack, the dashboard, customer packs, data files
    {"context"},  # the one way in
    {"api", "__init__", "cli", "__main__"},  # wrappers and the command line
]
RANK = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}


def _unit(path: Path) -> str:
    return path.relative_to(SRC).with_suffix("").parts[0]


def _imported_units(path: Path) -> list[tuple[int, str]]:
    """(line, unit) of every opmetrics unit a module imports, relative imports resolved."""
    package = list(path.relative_to(SRC).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package[:-1]  # a module's relative imports start from its package
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                parts = base + (node.module.split(".") if node.module else [])
                names = parts[:1] if parts else [a.name for a in node.names]
            elif node.module == "opmetrics":
                names = [a.name for a in node.names]
            elif node.module and node.module.startswith("opmetrics."):
                names = [node.module.split(".")[1]]
            else:
                names = []
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith("opmetrics.")]
        else:
            continue
        found += [(node.lineno, n) for n in names]
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_unit_has_a_layer() -> None:
    units = {_unit(p) for p in _modules()}
    assert units - RANK.keys() == set(), "place these in LAYERS"


def test_no_import_runs_up_the_pipeline() -> None:
    upward = []
    for path in _modules():
        unit = _unit(path)
        for line, imported in _imported_units(path):
            if imported in RANK and RANK[imported] > RANK[unit]:
                upward.append(f"{path.relative_to(SRC)}:{line} imports {imported}")
    assert upward == []


def test_only_the_engine_touches_a_connection_or_names_an_engine_library() -> None:
    found = []
    for path in _modules():
        if _unit(path) == "engine":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "con":
                found.append(f"{path.relative_to(SRC)}:{node.lineno} .con")
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                mods = [node.module]
            found += [
                f"{path.relative_to(SRC)}:{node.lineno} imports {m}"
                for m in mods
                if m.split(".")[0] in {"duckdb", "pyspark"}
            ]
    assert found == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The walker resolves the import forms the package uses (absolute, from-package, relative)."""
    pkg = tmp_path / "measures"
    pkg.mkdir()
    mod = pkg / "x.py"
    mod.write_text(
        "from opmetrics.reports import fmt\nfrom opmetrics import results\n"
        "from ..analytics import stats\nfrom . import rtt\nimport opmetrics.context\n",
        encoding="utf-8",
    )
    global SRC
    saved, SRC = SRC, tmp_path
    try:
        units = [u for _, u in _imported_units(mod)]
    finally:
        SRC = saved
    assert units == ["reports", "results", "analytics", "measures", "context"]
