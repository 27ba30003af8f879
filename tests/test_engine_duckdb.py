"""DuckDB engine settings: a bounded memory default and a private spill folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from opmetrics.engine import EngineOptions, connect
from opmetrics.engine.duckdb import DEFAULT_MEMORY_LIMIT_BYTES, default_memory_limit


def _setting(engine: object, name: str) -> str:
    return engine.con.con.execute(f"SELECT current_setting('{name}')").fetchone()[0]  # type: ignore[attr-defined]


PHYSICAL = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(PHYSICAL < 4 * 2**30, reason="a machine with less than 4 GiB gets 80 %")
def test_default_memory_limit_is_bounded() -> None:
    assert default_memory_limit() == f"{DEFAULT_MEMORY_LIMIT_BYTES // 2**20}MiB"
    with connect(EngineOptions()) as e:
        assert _setting(e, "memory_limit") == "3.0 GiB"
        assert e.versions()["memory_limit"] == "3072MiB"


def test_memory_limit_option_wins() -> None:
    with connect(EngineOptions(memory_limit="5GiB")) as e:
        assert _setting(e, "memory_limit") == "5.0 GiB"


def test_spill_folder_is_private_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    e = connect(EngineOptions())
    spill = Path(_setting(e, "temp_directory"))
    assert spill.parent == tmp_path and spill.name.startswith("opmetrics-spill-")
    assert spill.is_dir()
    e.close()
    assert not spill.exists() and not (tmp_path / ".tmp").exists()


def test_given_temp_dir_is_used_and_kept(tmp_path: Path) -> None:
    with connect(EngineOptions(temp_dir=str(tmp_path / "spill"))) as e:
        assert Path(_setting(e, "temp_directory")) == tmp_path / "spill"
    assert not list(tmp_path.glob("opmetrics-spill-*"))


def test_full_disk_and_out_of_memory_are_said_as_such() -> None:
    import errno

    import duckdb

    from opmetrics.engine import resource_error
    from opmetrics.errors import ExitCode

    spill = duckdb.IOException(
        'IO Error: Could not write file "/tmp/opmetrics-spill-x/t.tmp": No space left on device'
    )
    err = resource_error(spill)
    assert err is not None and err.exit_code == ExitCode.OUTPUT
    assert "no space left" in str(err) and "TMPDIR" in str(err)
    disk = resource_error(OSError(errno.ENOSPC, "No space left on device", "/out/cpm.parquet"))
    assert disk is not None and "/out/cpm.parquet" in str(disk)
    oom = resource_error(duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate"))
    assert oom is not None and oom.exit_code == ExitCode.ENGINE and "--memory-limit" in str(oom)
    assert resource_error(ValueError("something else")) is None


def _tables(engine: object) -> set[str]:
    con = engine.con.con  # type: ignore[attr-defined]
    rows = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    return {r[0] for r in rows}


def test_kept_tables_are_dropped_on_release_and_on_close() -> None:
    import ibis
    import pyarrow as pa

    with connect(EngineOptions()) as e:
        src = e.memtable(pa.table({"x": [1, 2, 3]}))
        a = e.keep(src.filter(src.x > 1))
        b = e.keep(a.mutate(y=a.x * 2))
        assert len(_tables(e)) == 2
        e.release(a)  # b was computed from a and stays readable
        assert len(_tables(e)) == 1
        assert sorted(e.to_arrow(b)["y"].to_pylist()) == [4, 6]
        with pytest.raises(ValueError):
            e.release(a)
        with pytest.raises(ValueError):
            e.release(ibis.memtable(pa.table({"x": [1]})))
        e.release_kept()
        assert _tables(e) == set()
