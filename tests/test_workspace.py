"""Scratch folders: named for their host and process, and swept when their process is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from opmetrics import workspace
from opmetrics.workspace import make_scratch, remove_abandoned, scratch_dir

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the sweep is POSIX only")


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    p = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(p.stdout)


@pytest.fixture
def tmp_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(workspace, "_swept", False)
    return tmp_path


def test_scratch_name_carries_host_and_pid(tmp_base: Path) -> None:
    with scratch_dir("opmetrics-typst-") as d:
        assert d.parent == tmp_base
        m = workspace._SCRATCH_NAME.match(d.name)
        assert m is not None and m["pid"] == str(os.getpid())
        assert m["host"] == workspace._host_tag()
    assert not d.exists()


def test_folders_of_dead_processes_are_removed_and_nothing_else(tmp_base: Path) -> None:
    host = workspace._host_tag()
    dead = _dead_pid()
    abandoned = tmp_base / f"opmetrics-spill-h{host}-{dead}-abc123_x"
    (abandoned / "sub").mkdir(parents=True)
    (abandoned / "sub" / "spill.tmp").write_bytes(b"x" * 1000)
    abandoned_plain = tmp_base / f"opmetrics-h{host}-{dead}-zz9"
    abandoned_plain.mkdir()
    live = tmp_base / f"opmetrics-spill-h{host}-{os.getppid()}-live01"  # our parent is alive
    live.mkdir()
    other_host = tmp_base / f"opmetrics-spill-h{'0' * 8 if host != '0' * 8 else '1' * 8}-{dead}-x1"
    other_host.mkdir()
    old_style = tmp_base / "opmetrics-spill-k3j4h5g6"  # no host and pid: cannot tell, kept
    old_style.mkdir()
    unrelated = tmp_base / f"other-h{host}-{dead}-abc"
    unrelated.mkdir()
    a_file = tmp_base / f"opmetrics-h{host}-{dead}-file1"
    a_file.write_text("not a folder")

    removed = remove_abandoned(tmp_base)

    assert sorted(removed) == sorted([abandoned, abandoned_plain])
    assert not abandoned.exists() and not abandoned_plain.exists()
    for kept in (live, other_host, old_style, unrelated, a_file):
        assert kept.exists(), kept


def test_first_scratch_of_a_process_sweeps(tmp_base: Path) -> None:
    stale = tmp_base / f"opmetrics-spill-h{workspace._host_tag()}-{_dead_pid()}-stale1"
    stale.mkdir()
    d = make_scratch("opmetrics-spill-")
    assert not stale.exists() and d.is_dir()
    stale.mkdir()  # only the first folder a process makes sweeps
    d2 = make_scratch("opmetrics-spill-")
    assert stale.exists()
    for p in (d, d2):
        p.rmdir()
