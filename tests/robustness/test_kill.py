"""Atomic outputs: a run killed with SIGKILL leaves the previous complete output or the new one.

Two levels. `atomic_output_dir` is killed at each of its critical points, reached exactly (the
child announces them): while writing, just before the swap, just after it, and - where the
system cannot swap in one step - between the two renames. Then `compute` and `report` are
killed at 10 moments each spread over a whole run (kill tier): after every kill the output folder
must be, file for file, the complete output of the previous run or of the killed one, and a
final run must succeed and leave nothing behind.
"""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.robustness.conftest import invoke
from tests.robustness.corpus import CASE_BY_NAME, MONTH, build_case, small_catalog

KILLS = 10
SEED = 20210401


def fingerprint(folder: Path) -> dict[str, str] | None:
    """relative path → sha256 of every file (run.json, which holds timings, left out)."""
    if not folder.is_dir():
        return None
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "run.json"
    }


def leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.glob(f".{target.name}.*"))


# -- atomic_output_dir at its critical points ----------------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import opmetrics.workspace as w

    target, version, point, swap = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

    def at(name):
        if name == point:
            print(name, flush=True)
            time.sleep(60)  # the parent kills us here

    if swap == "two-renames":
        w._renameat2 = False
        real_rename = os.rename
        calls = []
        def rename(a, b):
            real_rename(a, b)
            calls.append(b)
            if len(calls) == 1:
                at("between-renames")
        w.os.rename = rename
    real_exchange = w._exchange
    def exchange(a, b):
        at("before-swap")
        ok = real_exchange(a, b)
        if ok:
            at("after-swap")
        return ok
    w._exchange = exchange

    with w.atomic_output_dir(target) as tmp:
        for i in range(20):
            (tmp / f"part-{i}.txt").write_text(f"{version} {i}\\n")
            if i == 10:
                at("writing")
    print("done", flush=True)
    """
)


def _write(target: Path, version: str, point: str = "", swap: str = "exchange") -> str:
    """Run the child; kill it when it reaches `point`. Returns what it printed last."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(target), version, point or "-", swap],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "done":
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return line


def _version(target: Path) -> str | None:
    fp = fingerprint(target)
    if fp is None:
        return None
    versions = {(target / name).read_text().split()[0] for name in fp}
    assert len(fp) == 20 and len(versions) == 1, (fp.keys(), versions)  # complete, not mixed
    return versions.pop()


@pytest.mark.kill
@pytest.mark.parametrize(
    ("point", "swap", "after_kill"),
    [
        ("writing", "exchange", "old"),
        ("before-swap", "exchange", "old"),
        ("after-swap", "exchange", "new"),
        ("writing", "two-renames", "old"),
        ("between-renames", "two-renames", None),  # absent until the next run puts it back
    ],
)
def test_atomic_output_dir_killed_at_each_critical_point(
    tmp_path: Path, point: str, swap: str, after_kill: str | None
) -> None:
    target = tmp_path / "out"
    assert _write(target, "old") == "done"
    assert _write(target, "new", point, swap) == point
    assert _version(target) == {"old": "old", "new": "new", None: None}[after_kill]
    assert _write(target, "next", "", swap) == "done"  # the next run succeeds ...
    assert _version(target) == "next"
    assert leftovers(target) == []  # ... and sweeps what the killed one left


def test_killed_between_renames_the_next_run_restores_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    assert _write(target, "old") == "done"
    assert _write(target, "new", "between-renames", "two-renames") == "between-renames"
    assert not target.exists() and leftovers(target)
    from opmetrics.workspace import _sweep_leftovers

    _sweep_leftovers(tmp_path, "out")  # what every run does first
    assert _version(target) == "old"


# -- compute and report killed at 10 moments ----------------------------------------------------


def _kill_loop(
    commands: dict[str, list[str]], target: Path, expected: dict[str, dict]
) -> list[str]:
    """Run the commands in turn, each killed at one of 10 moments spread over a whole run.

    Each run is of the command whose output is not the current one, so every run that gets
    past its swap changes the target. `expected`: name → fingerprint of its complete output.
    After each kill the target must be exactly the previous complete output or the killed
    command's. Returns where each kill landed: "before" the output was replaced, or "after".
    If no run got past its swap (a machine much busier than during the first run), the kills go
    on, each a run later, until one does.
    """
    names = list(commands)
    # one uninterrupted run of the first command: the previous output, and a run's length
    t0 = time.monotonic()
    assert subprocess.run(commands[names[0]], capture_output=True).returncode == 0
    length = time.monotonic() - t0
    state = names[0]
    assert fingerprint(target) == expected[state]
    rng = random.Random(SEED)
    # stratified over one and a half runs: a run can take longer than the first one did
    # (a busy machine), and the kills past the end must still see runs that complete
    moments = [(i + rng.random()) / KILLS * 1.5 for i in range(KILLS)]
    landed: list[str] = []
    while moments:
        name = names[1] if state == names[0] else names[0]  # always the other output
        at = moments.pop(0) * length
        started = time.monotonic()
        proc = subprocess.Popen(commands[name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            proc.wait(timeout=at)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        assert b"Traceback" not in err, err.decode()
        now = fingerprint(target)
        assert now in (expected[state], expected[name]), f"kill {len(landed)} at {at:.1f} s: a mix"
        new_state = name if now == expected[name] else state
        landed.append("after" if new_state != state else "before")
        state = new_state
        if proc.returncode == 0:  # a run that completed: the machine may be slower than at first
            length = max(length, time.monotonic() - started)
        if not moments and "after" not in landed and len(landed) < 2 * KILLS:
            # a machine so busy that no run got past its swap: the moments go on past the
            # end, each a run later, until one does (the swap must be covered, not skipped)
            moments.append(1.5 + len(landed) - KILLS + 1)
    final = names[0] if state != names[0] else names[1]
    assert subprocess.run(commands[final], capture_output=True).returncode == 0
    assert fingerprint(target) == expected[final]
    assert leftovers(target) == []
    return landed


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "opmetrics", "--quiet", *args]


@pytest.fixture(scope="module")
def two_months(base: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The base month and a corrected version of it (three duplicated requests removed)."""
    root = tmp_path_factory.mktemp("kill")
    a = build_case(CASE_BY_NAME["duplicate_request_ids"], base, root / "a")
    b = build_case(CASE_BY_NAME["timestamps_out_of_order"], base, root / "b")
    return {"a": a, "b": b}


@pytest.mark.kill
def test_compute_killed_10_times(two_months: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "results"
    commands, expected = {}, {}
    for name, data in two_months.items():
        ref = tmp_path / f"ref-{name}"
        assert invoke("compute", str(data), "--month", MONTH, "--out", str(ref)) == 0
        expected[name] = fingerprint(ref)
        commands[name] = _cmd("compute", str(data), "--month", MONTH, "--out", str(target))
    assert expected["a"] != expected["b"]
    landed = _kill_loop(commands, target, expected)
    assert landed.count("after") >= 1 and landed.count("before") >= 1, landed


@pytest.mark.kill
def test_report_killed_10_times(two_months: dict[str, Path], tmp_path: Path) -> None:
    """With a catalog of one SRV (one business process pack): a run takes seconds, not tens."""
    target = tmp_path / "reports"
    cat = ("--catalog", str(small_catalog(tmp_path / "small.toml")))
    commands, expected = {}, {}
    for name, data in two_months.items():
        results = tmp_path / f"results-{name}"
        assert invoke(*cat, "compute", str(data), "--month", MONTH, "--out", str(results)) == 0
        ref = tmp_path / f"ref-{name}"
        args = (*cat, "report", str(results), "--produced-on", "2021-06-01")
        assert invoke(*args, "--out", str(ref)) == 0
        expected[name] = fingerprint(ref)
        commands[name] = _cmd(*args, "--out", str(target))
    assert expected["a"] != expected["b"]
    landed = _kill_loop(commands, target, expected)
    assert landed.count("after") >= 1 and landed.count("before") >= 1, landed


def test_a_run_still_writing_the_same_target_is_left_alone(tmp_path: Path) -> None:
    """Two runs writing one target at once: neither sweeps the other's folder; last one wins."""
    from opmetrics.workspace import atomic_output_dir

    target = tmp_path / "out"
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        busy = tmp_path / f".out.tmp-{writer.pid}-abc"
        busy.mkdir()
        with atomic_output_dir(target) as tmp:
            (tmp / "f").write_text("mine")
        assert busy.is_dir() and (target / "f").read_text() == "mine"
    finally:
        writer.kill()
        writer.wait()
    with atomic_output_dir(target) as tmp:  # its writer is gone: swept
        (tmp / "f").write_text("next")
    assert leftovers(target) == []
