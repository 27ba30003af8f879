"""What a party's pack may show about others, on a results folder made by hand.

Own party P-A; others P-B, P-C, P-D. Prepayment (2.2) device sets:
    S1 (ESME, H1, M1, 1.0): P-A 100 (90 ok), P-B 100 (80), P-C 100 (70), P-D 100 (60) -> shown:
        other parties 3, others' rate (80 + 70 + 60) / 300 = 70 %
    S2 (ESME, H1, M2, 2.0): P-A 50 (45), P-B 50 (40)            -> 1 other party
    S3 (GSME, H2, G1, 1.0): P-A 50 (40), P-C 50 (30), P-D 50 (20) -> 2 other parties
        S2 + S3 merged: others B, C, D = 3 -> shown merged: (40 + 30 + 20) / 150 = 60 %
Meter reads (4.8.1): only P-A and P-B send it -> industry figures, league and device-set
comparison suppressed (1 other party, even merged).
Regions (prepayment): North P-A, P-B, P-C, P-D -> shown, others (80 + 70 + 60 + 30 + 20) / 400
= 65 %; South P-A, P-B -> suppressed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opmetrics.analytics.benchmark import benchmark
from opmetrics.analytics.league import league_tables
from opmetrics.errors import UsageError
from opmetrics.measures.derive import to_arrow
from opmetrics.reports.customer_data import MERGED, find_party, pack_data, party_directory
from opmetrics.results import schema as rs
from opmetrics.results.io import read_results, write_table

SETS = {
    "S1": ("ESME", "H1", "M1", "1.0"),
    "S2": ("ESME", "H1", "M2", "2.0"),
    "S3": ("GSME", "H2", "G1", "1.0"),
}
# (process, srv, party, set, region, requests, successes)
CELLS = [
    ("prepayment", "2.2", "P-A", "S1", "North", 100, 90),
    ("prepayment", "2.2", "P-B", "S1", "North", 100, 80),
    ("prepayment", "2.2", "P-C", "S1", "North", 100, 70),
    ("prepayment", "2.2", "P-D", "S1", "North", 100, 60),
    ("prepayment", "2.2", "P-A", "S2", "South", 50, 45),
    ("prepayment", "2.2", "P-B", "S2", "South", 50, 40),
    ("prepayment", "2.2", "P-A", "S3", "North", 50, 40),
    ("prepayment", "2.2", "P-C", "S3", "North", 50, 30),
    ("prepayment", "2.2", "P-D", "S3", "North", 50, 20),
    ("meter_reads", "4.8.1", "P-A", "S1", "North", 80, 79),
    ("meter_reads", "4.8.1", "P-B", "S1", "North", 80, 70),
]
NAMES = {"P-A": "Alpha Energy", "P-B": "Beta Power", "P-C": "Gamma Gas", "P-D": "Delta Supply"}
IDS = {p: f"90-B3-D5-1F-30-00-00-0{i}" for i, p in enumerate(NAMES, start=1)}


def _srv_party(ds: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for srv_all in (False, True):
        for region_all in (False, True):
            d = ds.copy()
            if srv_all:
                d["srv"] = "ALL"
            if region_all:
                d["region"] = "ALL"
            g = d.groupby(["business_process", "srv", "party_label", "region"], as_index=False)[
                ["submitted", "succeeded", "failed", "excluded"]
            ].sum()
            g["device_type"] = "ALL"
            parts.append(g)
    sp = pd.concat(parts, ignore_index=True)
    sp["month"] = "2021-04"
    sp["success_percent"] = 100 * sp["succeeded"] / (sp["succeeded"] + sp["failed"])
    return sp


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("res")
    rows = []
    for bp, srv, party, s, region, n, ok in CELLS:
        dt, hub, meter, fw = SETS[s]
        rows.append(
            {
                "month": "2021-04",
                "business_process": bp,
                "srv": srv,
                "party_label": party,
                "adaptor": "Secret Adaptor",
                "region": region,
                "device_type": dt,
                "comms_hub_model": hub,
                "meter_model": meter,
                "firmware_version": fw,
                "submitted": n,
                "succeeded": ok,
                "failed": n - ok,
                "excluded": 0,
            }
        )
    ds = pd.DataFrame(rows)
    sp = _srv_party(ds)
    write_table(root, "srv_device_set", to_arrow(ds, rs.SRV_DEVICE_SET))
    write_table(root, "srv_party", to_arrow(sp, rs.SRV_PARTY))
    write_table(root, "benchmark", to_arrow(benchmark(sp, "2021-04", 100), rs.BENCHMARK))
    write_table(root, "league_table", to_arrow(league_tables(sp, "2021-04", 100), rs.LEAGUE_TABLE))
    write_table(root, "insights", rs.INSIGHTS.empty_table())
    (root / "manifest.json").write_text(
        json.dumps({"month": "2021-04", "analytics": {"min_volume": 100}})
    )
    r = root / rs.RESTRICTED_DIR
    r.mkdir()
    pd.DataFrame(
        {"user_id": list(IDS.values()), "name": list(NAMES.values()), "party_label": list(IDS)}
    ).to_csv(r / rs.PARTY_LABELS_FILE, index=False)
    fails = pa.Table.from_pylist(
        [
            {
                "party_label": p,
                "request_id": f"{IDS[p]}:00-00-00-00-00-00-00-0{i}:{i}",
                "srv": "2.2",
            }
            for i, p in enumerate(["P-A", "P-B", "P-A", "P-C"])
        ],
        schema=rs.PARTY_FAILURES,
    )
    pq.write_table(fails, r / "party_failures.parquet")
    return root


def test_device_sets_merged_and_suppressed(results: Path) -> None:
    res = read_results(results)
    d = pack_data(res, find_party(party_directory(res), IDS["P-A"]))
    b = d.by_device_set
    rows = b.rows.set_index(["business_process", "comms_hub_model", "meter_model"])
    s1 = rows.loc[("prepayment", "H1", "M1")]
    assert s1["success_percent"] == pytest.approx(90.0)
    assert s1["others_percent"] == pytest.approx(70.0)
    assert s1["other_parties"] == 3
    merged = rows.loc[("prepayment", MERGED, "2 device sets")]
    assert merged["rated"] == 100 and merged["succeeded"] == 85
    assert merged["others_percent"] == pytest.approx(60.0)
    reads = rows.loc[("meter_reads", MERGED, "1 device set")]
    assert pd.isna(reads["others_percent"])
    assert str(reads["comparison"]).startswith("suppressed")
    assert (b.merged_cells, b.suppressed_cells) == (2, 1)
    # No row of the pack's breakdown holds another party's rate over fewer than 3 parties.
    shown = b.rows[b.rows["others_percent"].notna()]
    assert (shown["other_parties"] >= 3).all()


def test_regions_and_industry_figures_suppressed(results: Path) -> None:
    res = read_results(results)
    d = pack_data(res, find_party(party_directory(res), IDS["P-A"]))
    reg = d.by_region.rows.set_index(["srv", "region"])
    assert reg.loc[("2.2", "North"), "others_percent"] == pytest.approx(65.0)
    assert pd.isna(reg.loc[("2.2", "South"), "others_percent"])
    a = d.against.set_index("srv")
    assert a.loc["2.2", "shown"] and not a.loc["4.8.1", "shown"]
    assert pd.isna(a.loc["4.8.1", "industry_average_percent"])
    assert pd.isna(a.loc["4.8.1", "industry_best_percent"])
    assert ("meter_reads", "4.8.1") not in d.leagues
    lt = d.leagues[("prepayment", "2.2")]
    assert list(lt.columns) == ["rank", "success_percent", "you"]  # no label of anyone
    assert lt["you"].sum() == 1


def test_own_failures_only(results: Path) -> None:
    res = read_results(results)
    d = pack_data(res, find_party(party_directory(res), IDS["P-A"]))
    assert d.failures.num_rows == 2
    assert "party_label" not in d.failures.column_names
    assert all(r.startswith(IDS["P-A"]) for r in d.failures.column("request_id").to_pylist())


def test_unknown_party(results: Path) -> None:
    with pytest.raises(UsageError, match="no party with user_id"):
        find_party(party_directory(read_results(results)), "00-00-00-00-00-00-00-99")


def _run(argv: list[str]) -> int:
    from opmetrics.cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def test_cli_writes_one_pack_and_refuses_bad_requests(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pack"
    argv = ["customer-pack", str(results), "--party", IDS["P-A"], "--out", str(out)]
    assert _run([*argv, "--produced-on", "2021-05-10"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "2021-04-P-A-customer-pack.pdf",
        "2021-04-P-A-customer-pack.xlsx",
        "2021-04-P-A-failed-requests.csv",
    ]
    # The same results give the same bytes (fixed PDF, workbook and zip dates).
    again = tmp_path / "again"
    assert _run([*argv[:-1], str(again), "--produced-on", "2021-05-10"]) == 0
    for name in names:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    capsys.readouterr()
    assert _run(["customer-pack", str(results), "--party", "00-11", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no party with user_id 00-11" in err and "Traceback" not in err
    assert _run(["customer-pack", str(results), "--out", str(out)]) == 2
    assert _run([*argv, "--produced-on", "May 10"]) == 2
    # Two parties: a folder each, named by label.
    two = tmp_path / "two"
    assert (
        _run(["customer-pack", str(results), "-p", IDS["P-A"], "-p", IDS["P-B"], "--out", str(two)])
        == 0
    )
    assert sorted(p.name for p in two.iterdir()) == ["P-A", "P-B"]
