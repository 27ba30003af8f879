"""The Spark settings opmetrics chooses when none are given: shuffle partitions and file-listing
tasks from the cores the application has, and the driver's JVM options left to whoever set
them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opmetrics.engine.spark import (
    LISTING_TASKS,
    LOG_CONFIG,
    SHUFFLE_PARTITIONS,
    _driver_java_options,
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


def test_the_driver_logs_errors_only_unless_logging_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS", raising=False)
    monkeypatch.delenv("LOG4J_CONFIGURATION_FILE", raising=False)
    quiet = f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}"
    assert _driver_java_options({}, local=True) == quiet
    assert _driver_java_options({}, local=False) == f"{quiet} -XX:TieredStopAtLevel=1"
    given = {"spark.driver.extraJavaOptions": "-Xss4m"}
    assert _driver_java_options(given, local=True) is None  # theirs, not replaced
    assert _driver_java_options(given, local=False) is None
    monkeypatch.setenv("LOG4J_CONFIGURATION_FILE", "/etc/my-log4j2.xml")
    assert _driver_java_options({}, local=True) is None
    assert _driver_java_options({}, local=False) == "-XX:TieredStopAtLevel=1"
    monkeypatch.delenv("LOG4J_CONFIGURATION_FILE")
    (tmp_path / "log4j2.properties").write_text("rootLogger.level = info\n")
    assert _driver_java_options({}, local=True) is None
    # the shipped file: errors only, on stderr
    config = dict(ln.split(" = ", 1) for ln in LOG_CONFIG.read_text().splitlines() if " = " in ln)
    assert config["rootLogger.level"] == "error"
    assert config["appender.console.target"] == "SYSTEM_ERR"
