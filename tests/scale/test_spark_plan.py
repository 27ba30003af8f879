"""What Spark runs for the one aggregation pass, and what reaches the driver.

- The aggregation is partial aggregates computed beside the data, one exchange of those, and
  the final merge: only the compact aggregate is collected.
- The requests meet the device inventory in one exchange on `target_id` that carries only the
  columns the aggregation reads, the outcome flags packed in one integer; every table sent
  from the driver (lookups, labels, quarantined keys) is joined by broadcast, whatever its size.
- The input files are listed by a job of one task per core, not one per file.
- The restricted extract of failed requests streams through the driver in range partitions of
  at most `STREAM_PARTITION_ROWS` rows, sorted exactly as DuckDB sorts it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import opmetrics.engine.spark as spark_engine
from opmetrics.catalog import default_catalog
from opmetrics.contract.sources import locate_all
from opmetrics.engine import Engine, EngineOptions, connect
from opmetrics.generator import generate_month
from opmetrics.measures.requests import (
    aggregate_expr,
    device_set_ids,
    request_facts,
    request_values,
)
from opmetrics.month import Month
from opmetrics.validation.validate import checked_table, validate

APRIL = Month.parse("2021-04")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plan") / "april"
    generate_month(out, "2021-04", 5_000, seed=9, dirty=0.01, partition_by_day=True)
    return out


def facts_of(engine: Engine, data: Path) -> Any:
    catalog = default_catalog()
    sources = locate_all(data, dates=APRIL.days)
    lookups: dict[str, pa.Table] = {}
    checked = checked_table(
        engine, sources["service_requests"], catalog, derive=request_values, lookups=lookups
    )
    devices = validate(
        engine, {"devices": sources["devices"]}, catalog, data, fetch_quarantine=False
    )
    device_ids, _ = device_set_ids(devices.accepted("devices"), engine)
    return request_facts(checked, device_ids, catalog, APRIL)


def operators(plan: str) -> list[str]:
    """The operator names of a plan's tree, top down (one per line)."""
    names = []
    for line in plan.splitlines():
        m = re.match(r"^[\s:+\-|]*([A-Za-z]+)", line)
        if m:
            names.append(m.group(1))
    return names


@pytest.fixture(scope="module")
def aggregation(data: Path) -> tuple[spark_engine.SparkEngine, Any]:
    """The Spark engine and the one aggregation pass over the month, as a DataFrame."""
    engine = connect(EngineOptions(name="spark", threads=2))
    assert isinstance(engine, spark_engine.SparkEngine)
    expr = aggregate_expr(facts_of(engine, data), engine)
    return engine, engine.session.sql(engine.con.compile(expr))


@pytest.mark.spark
def test_aggregation_is_partial_aggregates_then_one_exchange(
    aggregation: tuple[spark_engine.SparkEngine, Any],
) -> None:
    _, df = aggregation
    plan = df._jdf.queryExecution().executedPlan().toString()
    ops = operators(plan)
    assert ops[:4] == ["AdaptiveSparkPlan", "HashAggregate", "Exchange", "HashAggregate"], plan
    lines = [ln for ln in plan.splitlines() if ln.strip()]
    final, exchange, partial = lines[1], lines[2], lines[3]
    assert "partial_" not in final and "functions=[count(1)" in final
    assert "hashpartitioning(_set" in exchange
    assert "functions=[partial_count(1), partial_sum" in partial
    # the grouping keys: the set, the reason code (quarantined rows only) and one packed
    # integer, never the raw strings
    keys = re.search(r"keys=\[([^\]]*)\]", partial)
    assert keys is not None
    assert [re.sub(r"#\d+L?$", "", k.strip()) for k in keys.group(1).split(",")] == [
        "_set",
        "_reason",
        "_k",
    ]


@pytest.mark.spark
def test_the_device_join_moves_only_what_the_aggregation_needs(
    aggregation: tuple[spark_engine.SparkEngine, Any],
) -> None:
    """The requests are shuffled on `target_id` to meet the inventory: what each row carries
    through that exchange is the join key, the three lookup ids, the receipt time, the reason
    code, the two durations and one integer of packed flags - not a column per flag."""
    engine, df = aggregation
    mode = engine.session.sparkContext._jvm.org.apache.spark.sql.execution.ExplainMode  # type: ignore[union-attr]
    text = df._jdf.queryExecution().explainString(mode.fromString("formatted"))
    # each operator's details: "(n) Exchange", then "Input [k]: [col#id, ...]" and "Arguments:"
    joins = [
        block
        for block in re.split(r"\n(?=\(\d+\) )", text)
        if re.match(r"\(\d+\) Exchange", block) and "hashpartitioning(target_id#" in block
    ]
    assert len(joins) == 1, text
    cols = re.search(r"Input \[\d+\]: \[([^\]]*)\]", joins[0])
    assert cols is not None, joins[0]
    names = sorted(re.sub(r"#\d+L?$", "", c.strip()) for c in cols.group(1).split(","))
    assert names == sorted(
        [
            "target_id",
            "_gk",
            "_hk",
            "_dk",
            "_us_received_at",
            "_reason_code",
            "_rtt_us",
            "_deliv_us",
            "_flags",
        ]
    ), joins[0]


@pytest.mark.spark
def test_client_side_tables_are_broadcast_whatever_their_size(data: Path) -> None:
    """The value lookup (one row per combination of categorical values) grows with the month;
    past Spark's broadcast threshold its join became a shuffle of every request. Tables sent
    from the driver are marked for broadcast: with the threshold off, no request is shuffled
    to meet them."""
    engine = connect(EngineOptions(name="spark", threads=2))
    assert isinstance(engine, spark_engine.SparkEngine)
    conf = engine.session.conf
    key = "spark.sql.autoBroadcastJoinThreshold"
    before = conf.get(key)
    conf.set(key, "-1")
    try:
        expr = aggregate_expr(facts_of(engine, data), engine)
        plan = engine.session.sql(engine.con.compile(expr))._jdf.queryExecution().executedPlan()
        text = plan.toString()
    finally:
        conf.set(key, before)
    partitioned_on = set(re.findall(r"hashpartitioning\(([A-Za-z_]+)#", text))
    # the inventory's devices meeting their Comms Hubs, the requests meeting the inventory
    # (both the engine's own tables, not the driver's) and the aggregation's exchange
    assert partitioned_on == {"ch_id", "comms_hub_id", "target_id", "_dev_id", "_set"}, text


@pytest.mark.spark
def test_input_files_are_listed_by_one_task_per_core_not_one_per_file(data: Path) -> None:
    """Spark lists more than `threshold` paths (32) with a job of one task per path, and
    opmetrics names every input file: a month in thousands of files cost the driver as many
    tasks to schedule for each table read and again to hash them. The listing job has one task
    per core of the application, at least 8 (here 2 cores). The threshold is lowered so that
    the month's 30 day files of requests are listed by a job."""
    engine = connect(EngineOptions(name="spark", threads=2))
    assert isinstance(engine, spark_engine.SparkEngine)
    source = locate_all(data, dates=APRIL.days)["service_requests"]
    assert len(source.read_paths) == 30
    context, conf = engine.session.sparkContext, engine.session.conf
    key = "spark.sql.sources.parallelPartitionDiscovery.threshold"
    before = conf.get(key)
    conf.set(key, "4")
    context.setJobGroup("listing", "read the requests' files")
    try:
        engine.read_table(source)
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)
        conf.set(key, before)
    tracker = context.statusTracker()
    tasks = [
        tracker.getStageInfo(stage).numTasks
        for job in tracker.getJobIdsForGroup("listing")
        for stage in tracker.getJobInfo(job).stageIds
    ]
    assert 8 in tasks, tasks  # the listing job (30 tasks before)
    assert max(tasks) == 8, tasks


def _failures(engine: Engine, data: Path) -> Any:
    f = facts_of(engine, data)
    f = f.filter(f["_live"] & f["_failure"])
    return f.select("user_id", "request_id", "srv", "response_code", "received_at", "responded_at")


@pytest.mark.spark
def test_streamed_failures_equal_duckdbs_in_bounded_partitions(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spark_engine, "STREAM_PARTITION_ROWS", 50)
    order = ["user_id", "received_at", "request_id"]
    duck = connect(EngineOptions(name="duckdb"))
    expected = pa.Table.from_batches(duck.to_arrow_batches(_failures(duck, data), order))
    assert expected.num_rows > 300
    spark = connect(EngineOptions(name="spark", threads=2))
    assert isinstance(spark, spark_engine.SparkEngine)
    expr = _failures(spark, data)
    n = expected.num_rows
    frame = spark.stream_frame(expr, order, n)
    parts = -(-n // 50)
    plan = frame._jdf.queryExecution().executedPlan().toString()
    assert "rangepartitioning(user_id#" in plan and f", {parts}), REPARTITION_BY_NUM" in plan
    batches = list(spark.to_arrow_batches(expr, order, rows=n, chunk_size=120))
    assert len(batches) > 1 and all(b.num_rows >= 120 for b in batches[:-1])
    got = pa.Table.from_batches(batches)
    assert got.schema == expected.schema
    assert got.equals(expected)
    # unknown size: counted first, same result
    assert pa.Table.from_batches(spark.to_arrow_batches(expr, order)).equals(expected)
    # an empty result is one empty batch of the schema
    none = list(spark.to_arrow_batches(expr.filter(expr.srv == "none"), order, rows=0))
    assert [b.num_rows for b in none] in ([], [0]) and all(
        b.schema == expected.schema for b in none
    )
