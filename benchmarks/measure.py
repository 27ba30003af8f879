"""Run a command in a child process; report wall time and peak RSS of its whole process tree.

Shared by the benchmark scripts: peak RSS is sampled every 50 ms with psutil over the child and
all its descendants (DuckDB threads share the process; Spark's JVM is a descendant).
"""

from __future__ import annotations

import fcntl
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"


@dataclass
class Measured:
    seconds: float
    peak_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system time of the command and the processes it waited for
    # bytes the command read from and wrote to the disk itself (not the page cache): block
    # operations of 512 bytes, as getrusage counts them for the processes waited for
    disk_read_bytes: int = 0
    disk_written_bytes: int = 0
    page_cache_dropped: bool = False  # the run started with the page cache emptied
    # user + system time of every process of the command's tree, sampled while it ran (a
    # process it never waited for, such as a Spark driver's JVM, counts too; the last 50 ms
    # of each process may be missed)
    tree_cpu_seconds: float = 0.0

    @property
    def peak_rss_gib(self) -> float:
        return self.peak_rss_bytes / 2**30


def _children_usage() -> tuple[float, int, int]:
    """CPU seconds, disk blocks read, disk blocks written of the waited-for children so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime, r.ru_inblock, r.ru_oublock


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (needs root; False where not allowed).

    On the benchmark machine (a virtual machine) memory the page cache holds is slow to hand
    back: with 14 GiB of a 300M-request month cached, the same floor query took 7.5 s, and
    2.6 s once the cache was dropped. Each measured command therefore starts from an empty
    cache, so runs minutes apart compare; it reads its inputs from disk once, as a monthly
    job does.
    """
    try:
        subprocess.run(["sync"], check=False)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


class TreeSampler:
    """Peak RSS and CPU seconds of a set of process trees, sampled every `interval` seconds.

    `cpu_seconds` is each process's last CPU reading minus its first (a process started meanwhile
    counts from 0), or the last reading alone with `from_zero` (a command started just now: what
    it spent before the first sample counts too). A process it never waited for, such as a
    Spark driver's JVM, counts; the last moments of each process may be missed."""

    def __init__(self, pids: list[int], interval: float = 0.1, from_zero: bool = False) -> None:
        self.pids = pids
        self.interval = interval
        self.from_zero = from_zero
        self.peak = 0
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    @property
    def cpu_seconds(self) -> float:
        return sum(v - self._first.get(pid, 0.0) for pid, v in self._last.items())

    def _sample(self, first: bool = False) -> None:
        total = 0
        for pid in self.pids:
            try:
                root = psutil.Process(pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            for q in procs:
                try:
                    total += q.memory_info().rss
                    c = q.cpu_times()
                    self._last[q.pid] = c.user + c.system
                    if first and not self.from_zero:
                        self._first[q.pid] = self._last[q.pid]
                except psutil.Error:
                    pass
        self.peak = max(self.peak, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._sample(first=True)
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def measure(cmd: list[str], timeout: float | None = None, cold: bool = True) -> Measured:
    """Run `cmd` and measure it: from an empty page cache (`drop_page_cache`) when `cold`."""
    dropped = drop_page_cache() if cold else False
    before = _children_usage()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeSampler([proc.pid], interval=0.05, from_zero=True) as sampler:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    seconds = time.perf_counter() - started
    cpu, inblock, oublock = (a - b for a, b in zip(_children_usage(), before, strict=True))
    return Measured(
        seconds,
        sampler.peak,
        proc.returncode,
        out,
        err,
        cpu,
        int(inblock) * 512,
        int(oublock) * 512,
        dropped,
        sampler.cpu_seconds,
    )


def opmetrics_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "opmetrics", "--quiet", *args]


def generated_month(requests: int, seed: int = 1, month: str = "2021-04") -> Path:
    """A generated month under benchmarks/data (generated once, reused by every benchmark)."""
    out = DATA / f"month-{month}-{requests}-s{seed}"
    done = out / ".complete"
    DATA.mkdir(parents=True, exist_ok=True)
    lock = (DATA / f".{out.name}.lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # another benchmark generating the same month: wait for it
    if not done.exists():
        shutil.rmtree(out, ignore_errors=True)
        m = measure(
            opmetrics_cmd(
                "generate",
                "--month",
                month,
                "--requests",
                str(requests),
                "--seed",
                str(seed),
                "--out",
                str(out),
            )
        )
        if m.returncode != 0:
            raise SystemExit(f"generate failed:\n{m.stderr}")
        done.write_text(f"{m.seconds:.1f} s\n")
    lock.close()
    return out


def machine() -> str:
    import platform

    cache = (
        "dropped before each command"
        if os.access("/proc/sys/vm/drop_caches", os.W_OK)
        else "not dropped (not root)"
    )
    return (
        f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"Python {platform.python_version()}, page cache {cache}"
    )
