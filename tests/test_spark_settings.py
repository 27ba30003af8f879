"""The Spark settings opmetrics chooses when none are given: shuffle partitions and file-listing
tasks from the cores the application has, and the driver's JVM options left to whoever set
them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opmetrics.engine.spark import (
    LISTING_TASKS,
    SHUFFLE_PARTITIONS,
    _driver_java_options_given,
    _per_core_settings,
)


class _Conf:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


class _Context:
    def __init__(self, values: dict[str, str], parallelism: int) -> None:
        self._conf = _Conf(values)
        self.defaultParallelism = parallelism

    def getConf(self) -> _Conf:  # Spark's name
        return self._conf


class _Session:
    def __init__(self, values: dict[str, str], parallelism: int) -> None:
        self.sparkContext = _Context(values, parallelism)


@pytest.mark.parametrize(
    ("values", "parallelism", "partitions", "listing"),
    [
        ({"spark.cores.max": "64"}, 2, 256, 64),  # the cores asked for, not those registered
        ({"spark.executor.instances": "10", "spark.executor.cores": "4"}, 3, 160, 40),
        ({"spark.executor.instances": "3"}, 2, 12, 8),  # one core each unless told
        ({}, 24, 96, 24),  # what the application has
        ({}, 2, 8, 8),  # never fewer than 8
    ],
)
def test_shuffle_partitions_are_four_per_core_and_listing_tasks_one(
    values: dict[str, str], parallelism: int, partitions: int, listing: int
) -> None:
    assert _per_core_settings(_Session(values, parallelism)) == {
        SHUFFLE_PARTITIONS: partitions,
        LISTING_TASKS: listing,
    }


def test_the_driver_java_options_are_ours_only_when_nobody_set_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS", raising=False)
    assert not _driver_java_options_given({})
    assert _driver_java_options_given({"spark.driver.extraJavaOptions": "-Xss4m"})
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--driver-java-options -Xss4m pyspark-shell")
    assert _driver_java_options_given({})
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "pyspark-shell")
    assert not _driver_java_options_given({})
    (tmp_path / "spark-defaults.conf").write_text("spark.driver.extraJavaOptions -Xss4m\n")
    assert _driver_java_options_given({})
