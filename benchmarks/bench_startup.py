"""How fast the `opmetrics` command starts: wall time of the light commands, and what they import.

For each command (`--help`, `--version`, `calendar 2021-04`) the installed entry point runs
`--repeat` times in a fresh process after one warm-up run (which writes the bytecode cache, as
a user's first run does; `PYTHONDONTWRITEBYTECODE` is removed from the environment so that it
can). Prints the median and the fastest run, then, from `python -X importtime`, the slowest
top-level imports of each command and whether any data library (pandas, Arrow, Ibis, DuckDB,
Altair, vl-convert, Typst, NumPy) was loaded.

    uv run python benchmarks/bench_startup.py [--repeat 15] [--opmetrics PATH]

`--opmetrics` (default: the one beside this interpreter) and `--pythonpath` let the same script
time another checkout, e.g. `--pythonpath /tmp/base/src` for an earlier commit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = (["--help"], ["--version"], ["calendar", "2021-04"])
HEAVY = ("pandas", "pyarrow", "ibis", "duckdb", "altair", "vl_convert", "typst", "numpy")


def _env(pythonpath: str | None, cache: str | None) -> dict[str, str]:
    """The runs' environment: with a bytecode cache Python may write, or (`cache`, an empty
    folder) none that it can read or write, so that every run compiles every module."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if cache is not None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = cache
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env["COLUMNS"] = "100"
    return env


def wall_times(
    exe: str, args: list[str], repeat: int, env: dict[str, str]
) -> tuple[list[float], int]:
    """Wall times of `repeat` runs after a warm-up, and the exit code."""
    code = subprocess.run([exe, *args], env=env, capture_output=True).returncode  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([exe, *args], env=env, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times, code


def imports(args: list[str], env: dict[str, str]) -> tuple[list[tuple[float, str]], list[str]]:
    """(import time in ms by top-level package, slowest first; the data libraries loaded).

    Each package's figure adds up its top-level imports (a module imported by no other one,
    e.g. from inside a function), each with everything it imported in turn."""
    probe = (
        "import sys\nfrom opmetrics.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe], env=env, capture_output=True, text=True
    )
    by_package: dict[str, float] = {}
    loaded: list[str] = []
    for line in done.stderr.splitlines():
        if line.startswith("LOADED"):
            loaded = json.loads(line.removeprefix("LOADED ").replace("'", '"'))
        elif line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|", 2)
            if not name.startswith("  ") and cumulative.strip().isdigit():  # top level only
                package = name.strip().split(".")[0]
                by_package[package] = by_package.get(package, 0.0) + int(cumulative) / 1000
    top = sorted(((ms, name) for name, ms in by_package.items()), reverse=True)
    return top[:6], loaded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--opmetrics", default=str(Path(sys.executable).parent / "opmetrics"))
    ap.add_argument("--pythonpath", help="PYTHONPATH for the runs (another checkout's src).")
    ap.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="Compile every module on every run (as where PYTHONDONTWRITEBYTECODE is set and "
        "no cache was ever written).",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as empty:
        env = _env(args.pythonpath, empty if args.no_bytecode_cache else None)
        run_all(args.opmetrics, args.repeat, env, args.no_bytecode_cache)


def run_all(exe: str, repeat: int, env: dict[str, str], no_cache: bool) -> None:
    load = os.getloadavg()[0]
    print(
        f"{os.cpu_count()} CPUs, load average {load:.2f}; {repeat} runs per command, "
        f"{'no bytecode cache' if no_cache else 'bytecode cache written by a first run'}"
    )
    for cmd in COMMANDS:
        times, code = wall_times(exe, cmd, repeat, env)
        top, loaded = imports(cmd, env)
        print(
            f"opmetrics {' '.join(cmd):<18} median {statistics.median(times):.3f} s, "
            f"fastest {min(times):.3f} s{'' if code == 0 else f' (exit code {code})'}; "
            f"data libraries loaded: {', '.join(loaded) or 'none'}"
        )
        print("    imports by package: " + ", ".join(f"{name} {ms:.0f} ms" for ms, name in top))


if __name__ == "__main__":
    main()
