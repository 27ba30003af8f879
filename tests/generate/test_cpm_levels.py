"""What the generated month gives the measures: DCC-proxy rows for every business process, and
every CPM row at the level truth.json says the scenario is built for (and why)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import opmetrics
from opmetrics.catalog import default_catalog
from opmetrics.defaults import DEMO_SEED
from opmetrics.generator import GenerationSummary, generate_month

# Its expensive fixtures are built once: every test of the group runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("generated-month")

CAT = default_catalog()


def _rows(results: Path, table: str) -> list[dict[str, str]]:
    with (results / f"{table}.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_every_business_process_has_dcc_proxy_rows(results: Path) -> None:
    """Each process with service requests has DCC-proxy rows; the proxy is a CHF/GPF RTT exactly
    for the processes whose SRVs the catalog lets target a CHF or GPF (the generator sends them
    some), the time to the Comms Hub for the others."""
    proxy = _rows(results, "dcc_proxy")
    summary = _rows(results, "srv_summary")
    with_requests = {
        r["business_process"]
        for r in summary
        if r["business_process"] != "ALL" and int(r["submitted"]) > 0
    }
    assert with_requests == {
        b.id for b in CAT.business_processes.values() if b.reported_from == "service_requests"
    }
    kinds: dict[str, set[str]] = {}
    for r in proxy:
        if r["business_process"] != "ALL" and int(r["submitted"]) > 0:
            kinds.setdefault(r["business_process"], set()).add(r["proxy"])
    expected = {
        bp: {
            "chf_gpf_rtt"
            if any(d in ("CHF", "GPF") for s in CAT.srvs_of(bp) for d in s.device_types)
            else "delivery_to_comms_hub"
        }
        for bp in with_requests
    }
    assert kinds == expected
    # the seed's Change of Supplier proxy: SRV 6.23 to the GPF
    cos = [
        r
        for r in proxy
        if r["business_process"] == "change_of_supplier"
        and r["srv"] == "6.23"
        and r["device_type"] == "GPF"
        and r["region"] == "ALL"
    ]
    assert len(cos) == 1 and int(cos[0]["succeeded"]) > 100


KEYS = ("cpm", "interface", "region", "time_band", "business_process", "incident_category")


def _check_against_truth(truth: dict[str, Any], results: Path) -> list[dict[str, Any]]:
    """Every computed cpm row has its truth row with the same numerator, denominator and
    status (and no truth row is left over); returns the truth rows."""
    expected = {tuple(r[k] for k in KEYS): r for r in truth["cpm"]}
    assert len(expected) == len(truth["cpm"])
    got = pq.read_table(results / "cpm.parquet").to_pylist()
    for row in got:
        key = tuple(row[k] for k in KEYS)
        assert key in expected, f"no truth for {key}"
        e = expected.pop(key)
        assert row["numerator"] == pytest.approx(e["numerator"], abs=1e-6), key
        assert row["denominator"] == pytest.approx(e["denominator"], abs=1e-6), key
        assert row["status"] == e["status"], (key, row["value_percent"])
    assert expected == {}, f"truth rows not computed: {list(expected)[:5]}"
    return list(truth["cpm"])


def test_every_cpm_row_is_what_truth_counts(month: GenerationSummary, results: Path) -> None:
    """The generator counts every CPM row itself (its own arrays and event tables, design §5's
    rules written in numpy): the measures must compute the same numerator, denominator and
    status, row by row. Each row also says what the scenario intends and why."""
    truth = json.loads(month.truth.read_text())
    rows = _check_against_truth(truth, results)
    by_cpm: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_cpm.setdefault(r["cpm"], []).append(r)
    assert set(by_cpm) == {c.id for c in CAT.cpm}
    for r in rows:
        assert r["why"], r
        assert (r["intended"] is None) == (r["cpm"] == "CPM6A"), r
    # the injected major outage is the CPM6 exception the scenario intends, named by its id
    majors = truth["major_outages"]
    assert len(majors) == 1
    missed = [r for r in by_cpm["CPM6"] if r["intended"] != ["met"]]
    assert [(r["interface"], r["region"], r["time_band"]) for r in missed] == [
        ("DCC User Interface", "North", "core")
    ]
    assert majors[0] in missed[0]["why"] and missed[0]["status"] in (
        "below_target",
        "below_minimum",
    )


@pytest.mark.slow
def test_demo_month_meets_the_intended_levels(tmp_path: Path) -> None:
    """The demo's month (1M requests, the demo's seed): the DCC meets its own measures except
    where an injected event is the intended exception; every row as truth.json intends."""
    data, results = tmp_path / "data", tmp_path / "results"
    generate_month(data, "2021-04", 1_000_000, seed=DEMO_SEED)
    opmetrics.compute(data, "2021-04", results)
    rows = _check_against_truth(json.loads((data / "truth.json").read_text()), results)
    off = [
        (r["cpm"], r["region"], r["interface"], r["time_band"], r["status"], r["why"])
        for r in rows
        if r["intended"] is not None and r["status"] not in r["intended"]
    ]
    assert off == []
    dcc = [r for r in rows if r["cpm"] != "CPM6A"]
    assert sum(r["status"] == "met" for r in dcc) == len(dcc) - 1  # the major outage's row
