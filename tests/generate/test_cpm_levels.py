"""What the generated month gives the measures: DCC-proxy rows for every business process, and
every CPM row at the level truth.json says the scenario is built for (and why)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from opmetrics.catalog import default_catalog
from opmetrics.generate import GenerationSummary

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
