"""Shared fixtures. Tiers: plain tests run everywhere; `slow`, `spark` and `browser` are marked."""

from __future__ import annotations

import shutil
import subprocess

import pytest


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
