"""compute agrees with a row-by-row reference implementation of design §5 on random months,
and the results keep their invariants whatever the rows and their layout (Hypothesis)."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import opmetrics
from opmetrics.catalog import default_catalog
from opmetrics.contract.schema import SERVICE_REQUESTS
from tests.measures.randomrows import daily_background, random_requests
from tests.measures.reference import check_cpm_table, in_month, klass, outcome, summarise

CATALOG = default_catalog()
RESULT_FILES = ("cpm", "srv_summary", "srv_daily", "srv_party", "dcc_proxy", "srv_device_set")


def write_requests(folder: Path, rows: list[dict[str, Any]], parts: int = 1) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=SERVICE_REQUESTS.arrow_schema())
    if parts == 1:
        pq.write_table(table, folder / "service_requests.parquet")
        return
    sub = folder / "service_requests"
    sub.mkdir()
    step = math.ceil(len(rows) / parts)
    for k in range(parts):
        pq.write_table(table.slice(k * step, step), sub / f"part-{k:03d}.parquet")


@pytest.fixture(scope="module")
def ctx() -> Any:
    with opmetrics.Context() as c:
        yield c


@pytest.mark.parametrize("seed", [1, 2])
def test_srv_summary_and_cpm_match_the_reference(tmp_path: Path, ctx: Any, seed: int) -> None:
    rows = random_requests(3000, seed, CATALOG) + daily_background(2021, 4, 30)
    write_requests(tmp_path / "data", rows)
    s = ctx.compute(tmp_path / "data", "2021-04", tmp_path / "out", anon_key="k")
    ref = summarise(rows, CATALOG, 2021, 4)

    got = {
        (r["srv"], r["region"], r["device_type"]): r
        for r in s.tables["srv_summary"].to_pylist()
        if r["srv"] != "ALL" and r["business_process"] != "ALL"
    }
    for key, want in ref["srv"].items():
        if key[1] == "ALL" and key[2] != "ALL":
            continue
        g = got[key]
        for col in ("submitted", "succeeded", "failed", "excluded", "responded", "within_trt"):
            assert g[col] == want[col], (key, col, g[col], want[col])
        if want["succeeded"]:
            assert g["rtt_mean_s"] == pytest.approx(want["rtt_sum"] / want["succeeded"], abs=1e-6)
    # no row in the results that the reference does not have (ignoring zero-activity padding)
    extra = {
        k
        for k, r in got.items()
        if r["submitted"] and k not in ref["srv"] and k[1] != "ALL" and k[2] != "ALL"
    }
    assert not extra

    cpm = {
        (r["cpm"], r["region"]): r
        for r in s.tables["cpm"].to_pylist()
        if r["cpm"] in ("CPM1", "CPM2")
    }
    for (name, region), (num, den) in ref["cpm"].items():
        assert (cpm[name, region]["numerator"], cpm[name, region]["denominator"]) == (num, den), (
            name,
            region,
        )

    daily = {
        (r["date"].isoformat(), r["srv"], r["region"]): r for r in s.tables["srv_daily"].to_pylist()
    }
    for key, (ok, bad, excl) in ref["daily"].items():
        d = daily[key]
        assert (d["succeeded"], d["failed"], d["excluded"]) == (ok, bad, excl), key

    # the restricted extract holds exactly the month's failed requests (success codes after more
    # than 3 DSP attempts included, user-caused codes never)
    failed = [
        r["request_id"] for r in rows if in_month(r, 2021, 4) and outcome(r, CATALOG) == "failure"
    ]
    extract = opmetrics.results.io.read_results(tmp_path / "out").restricted("party_failures")
    assert sorted(extract["request_id"].to_pylist()) == sorted(failed)
    classes = {
        (klass(r["response_code"], CATALOG), (r["dsp_attempts"] or 0) > 3)
        for r in rows
        if in_month(r, 2021, 4)
    }
    assert {("success", True), ("user_caused", False), ("none", False)} <= classes


def _results(folder: Path) -> dict[str, list[dict[str, Any]]]:
    r = opmetrics.results.io.read_results(folder)
    return {name: r.table(name).to_pylist() for name in RESULT_FILES}


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 400), parts=st.integers(2, 7))
@pytest.mark.slow
def test_invariants_and_layout_independence(
    tmp_path_factory: pytest.TempPathFactory, ctx: Any, seed: int, n: int, parts: int
) -> None:
    base = tmp_path_factory.mktemp("prop")
    rows = random_requests(n, seed, CATALOG) + daily_background(2021, 4, 30)
    write_requests(base / "a", rows)
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    write_requests(base / "b", shuffled, parts=parts)
    ctx.compute(base / "a", "2021-04", base / "ra", anon_key="k")
    ctx.compute(base / "b", "2021-04", base / "rb", anon_key="k")
    a, b = _results(base / "ra"), _results(base / "rb")
    assert a == b  # shuffling rows and splitting the file into many change nothing

    check_cpm_table(a["cpm"])  # no status disagrees with exact arithmetic
    for r in a["cpm"]:
        assert r["value_percent"] is None or 0 <= r["value_percent"] <= 100
    for r in a["srv_summary"]:
        for col in ("success_percent", "within_trt_percent"):
            assert r[col] is None or 0 <= r[col] <= 100
        assert r["submitted"] == r["succeeded"] + r["failed"] + r["excluded"]
        assert r["within_trt"] <= r["succeeded"]
    # per-region counts add up to ALL, for every SRV and device type
    by: dict[tuple[str, str, str], int] = {}
    for r in a["srv_summary"]:
        if r["region"] != "ALL":
            k = (r["business_process"], r["srv"], r["device_type"])
            by[k] = by.get(k, 0) + r["submitted"]
    for r in a["srv_summary"]:
        if r["region"] == "ALL" and (r["business_process"], r["srv"], r["device_type"]) in by:
            assert by[r["business_process"], r["srv"], r["device_type"]] == r["submitted"]
    cpm1 = {r["region"]: r for r in a["cpm"] if r["cpm"] == "CPM1"}
    assert sum(cpm1[k]["denominator"] for k in cpm1 if k != "ALL") == cpm1["ALL"]["denominator"]
    assert sum(cpm1[k]["numerator"] for k in cpm1 if k != "ALL") == cpm1["ALL"]["numerator"]
