"""What the package declares matches what it does: its runtime dependencies are the third-party
packages src/ imports (no more, no fewer), and it ships its type information."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import resources
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "opmetrics"


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imported_distributions() -> set[str]:
    by_module = packages_distributions()
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top in sys.stdlib_module_names or top == "opmetrics":
                    continue
                found |= {d.lower().replace("_", "-") for d in by_module.get(top, [top])}
    return found


def test_runtime_dependencies_are_what_src_imports() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_name(r) for r in project["dependencies"]}
    optional = {_name(r) for reqs in project["optional-dependencies"].values() for r in reqs}
    imported = _imported_distributions()
    assert declared - imported == set(), "declared but never imported by src/"
    assert imported - declared - optional == set(), "imported by src/ but not declared"


def test_bounds_follow_the_apis_used() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = {_name(r): r for r in project["dependencies"]}
    assert "==" not in deps["ibis-framework"]  # a library gives a range, the lock file pins
    (spark,) = project["optional-dependencies"]["spark"]
    assert ">=4.0" in spark  # the engine collects with DataFrame.toArrow (PySpark 4.0+)


def test_type_information_is_shipped() -> None:
    assert resources.files("opmetrics").joinpath("py.typed").is_file()
