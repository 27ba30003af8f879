"""Shared fixtures. Tiers: plain tests run everywhere; `slow`, `spark` and `browser` are marked."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

# The tests' Spark JVMs live for seconds to minutes on months of a few thousand rows: there the
# JIT's optimising tier (C2) and the parallel collector's threads cost more CPU than they save.
# C1 only and the serial collector: the DuckDB = Spark event test 70-76 → 39 CPU s (JVM and
# Python), 43-47 → 35 s wall. Real months run with the JVM's defaults; a PYSPARK_SUBMIT_ARGS
# already set is left as it is.
QUICK_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault(
        "PYSPARK_SUBMIT_ARGS",
        f"--driver-java-options '{QUICK_JVM}' --conf 'spark.executor.extraJavaOptions={QUICK_JVM}' "
        "pyspark-shell",
    )


# Markers of the tests that take tens of seconds or more: collected first (see below).
LONG_TIERS = ("spark", "kill", "slow")


def java_available() -> bool:
    java = shutil.which("java")
    if not java:
        return False
    try:
        return subprocess.run([java, "-version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_spark = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        skip_spark = pytest.mark.skip(reason="PySpark not installed (install with --all-extras)")
    if skip_spark is None and not java_available():
        skip_spark = pytest.mark.skip(reason="Java 17 not found: Spark tests need it")
    if skip_spark is not None:
        for item in items:
            if "spark" in item.keywords:
                item.add_marker(skip_spark)
    # The long tests first: pytest-xdist hands out tests in this order (after the shared-month
    # groups), so a two-minute test started last would leave the other worker idle at the end.
    items.sort(key=lambda item: not any(m in item.keywords for m in LONG_TIERS))
