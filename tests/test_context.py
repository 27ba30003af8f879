"""`Context` is the one way in: every operation is a method, with a top-level function of the
same name that shadows no module, and opening it (or importing opmetrics) loads nothing heavy."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import opmetrics
from opmetrics import Context
from tests.duis import kit
from tests.reports.fake_results import write_fake_results

OPERATIONS = (
    "validate",
    "compute",
    "render",
    "customer_packs",
    "ingest_duis",
    "generate",
    "diff",
    "run",
    "demo",
    "review_init",
)
HEAVY = ("pandas", "pyarrow", "ibis", "duckdb", "altair", "vl_convert", "typst", "numpy")


def test_every_operation_is_a_method_and_a_function() -> None:
    for name in OPERATIONS:
        method = getattr(Context, name)
        function = getattr(opmetrics, name)
        assert inspect.isfunction(method), name
        assert inspect.isfunction(function), name
        assert function.__module__ == "opmetrics.api", name
        assert f"Context.{name}" in (function.__doc__ or ""), name


def test_no_attribute_of_a_package_shadows_a_submodule() -> None:
    """`opmetrics.compute` was a function hiding the module compute.py; `opmetrics.reports.render`
    a function hiding render.py. Every submodule, once imported, is what its name gives."""
    packages = [opmetrics]
    seen = 0
    while packages:
        pkg = packages.pop()
        for info in pkgutil.iter_modules(pkg.__path__):
            full = f"{pkg.__name__}.{info.name}"
            if full == "opmetrics.__main__":
                continue
            module = importlib.import_module(full)
            assert getattr(pkg, info.name) is module, f"{full} is shadowed"
            seen += 1
            if info.ispkg:
                packages.append(module)
    assert seen > 100


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_opmetrics_and_its_command_line_loads_no_data_library() -> None:
    assert _loaded_after("import opmetrics; opmetrics.Context()") == []
    assert _loaded_after("import opmetrics.cli") == []


def test_help_and_calendar_load_no_data_library() -> None:
    for args in (["--help"], ["calendar", "2021-04"], ["--version"]):
        code = (
            "import sys\nfrom opmetrics.cli import main\n"
            f"try:\n    main({args!r})\nexcept SystemExit as e:\n    assert e.code == 0, e.code"
        )
        assert _loaded_after(code) == [], args


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    from opmetrics.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"opmetrics {version('opmetrics')}"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_results(tmp_path_factory.mktemp("ctx") / "results", n_parties=3, scale=0.02)


def test_operations_that_run_no_query_open_no_engine(results: Path) -> None:
    with Context() as ctx:
        d = ctx.diff(results, results)
        assert not d.changed and d.month == "2021-04"
        assert ctx._engine is None and ctx._catalog is None  # diff needs neither
        assert ctx.catalog is ctx.catalog  # loaded once


def test_operations_share_one_engine(tmp_path: Path) -> None:
    """An ingest and the validation of what it wrote run on the Context's one engine."""
    archive = kit.write_archive(tmp_path / "duis")
    devices = kit.write_devices(tmp_path / "devices.csv")
    with Context() as ctx:
        ingested = ctx.ingest_duis(archive, tmp_path / "data", devices=devices, roles=["IS"])
        engine = ctx._engine
        assert engine is not None
        checked = ctx.validate(tmp_path / "data")
        assert ctx._engine is engine
    assert ctx._engine is None  # closed with the context
    assert checked.tables["service_requests"].accepted == ingested.service_requests > 0


def test_top_level_functions_are_the_methods(results: Path) -> None:
    d = opmetrics.diff(results, results, tolerance=0.5)
    assert isinstance(d, object) and not d.changed
    with pytest.raises(TypeError):
        opmetrics.diff(results, results, no_such_option=1)


def test_compute_checks_its_inputs_before_opening_the_engine(
    results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad data dir, table file or labels file is reported before any engine starts (a Spark
    session would take seconds and print its own start-up lines first)."""
    import opmetrics.engine

    def refuse(*_: object) -> None:
        raise AssertionError("the engine was opened")

    monkeypatch.setattr(opmetrics.engine, "connect", refuse)
    (tmp_path / "no_requests").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "service_requests.parquet").write_bytes(b"PAR1 not Parquet")
    out = tmp_path / "out"
    cases = [
        ({"data_dir": tmp_path / "missing"}, "data dir does not exist"),
        ({"data_dir": tmp_path / "no_requests"}, "required table 'service_requests' not found"),
        ({"data_dir": tmp_path / "broken"}, "not a readable Parquet file"),
        ({"data_dir": tmp_path, "labels": tmp_path}, "--labels: not a results folder"),
    ]
    with Context() as ctx:
        for kwargs, needle in cases:
            with pytest.raises(opmetrics.errors.OpmetricsError) as raised:
                ctx.compute(**{"month": "2021-04", "out": out, **kwargs})  # type: ignore[arg-type]
            assert needle in str(raised.value), (kwargs, raised.value)
        assert ctx._engine is None and not out.exists()
