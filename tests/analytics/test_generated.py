"""On a generated month: the insights find the injected anomalies, and a party's pack names no
other party (nor gives its label).

One month of 300,000 requests (seed 1) is generated with the four anomalies of the default
scenario and computed once for the module. The insights must report every anomaly of
`truth.json` with the right kind, subject and action, and at most 2 findings that were not
injected. Then one party's customer pack is written and every file of it read back (the PDF's
text with pdftotext, every XLSX cell, the CSV) looking for any other party's name, user_id,
adaptor or party label.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

import opmetrics
from opmetrics.generator import generate_month
from opmetrics.reports.customer_packs import customer_packs
from opmetrics.results.io import read_results
from opmetrics.results.schema import PARTY_LABELS_FILE, RESTRICTED_DIR
from tests.analytics.scoring import score_folders

pytestmark = pytest.mark.slow

SEED = 1
REQUESTS = 300_000


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("gen")
    data, results = root / "data", root / "results"
    generate_month(data, "2021-04", requests=REQUESTS, seed=SEED)
    opmetrics.compute(data, "2021-04", results)
    return data, results


def test_insights_find_every_injected_anomaly(month: tuple[Path, Path]) -> None:
    data, results = month
    truth = json.loads((data / "truth.json").read_text())
    assert {a["id"] for a in truth["anomalies"]} == {"a", "b", "c", "d"}
    s = score_folders(data, results)
    assert s.missed == [], f"missed {s.missed}"
    assert sorted(s.found) == ["a", "b", "c", "d"]
    assert len(s.not_injected) <= 2, s.not_injected
    ins = pq.read_table(results / "insights.parquet").to_pylist()
    assert [r["rank"] for r in ins] == list(range(1, len(ins) + 1))
    affected = [r["requests_affected"] for r in ins]
    assert affected == sorted(affected, reverse=True)
    for r in ins:
        # Statistical support is stated, and the shared table names no party.
        assert r["p_value_adjusted"] <= 0.01 and "Holm-adjusted p" in r["evidence"]
        assert r["failure_odds_ratio"] >= 1.75


def test_the_user_finding_names_the_injected_peer(month: tuple[Path, Path]) -> None:
    data, results = month
    truth = json.loads((data / "truth.json").read_text())
    a = next(x for x in truth["anomalies"] if x["id"] == "a")
    labels = {
        r["user_id"]: r["party_label"]
        for r in pacsv.read_csv(results / RESTRICTED_DIR / PARTY_LABELS_FILE).to_pylist()
    }
    ins = pq.read_table(results / "insights.parquet").to_pylist()
    r = next(
        x
        for x in ins
        if x["kind"] == "user" and x["party_label"] == labels[a["subject"]["user_id"]]
    )
    # The peer the generator put 15 points above average on the same adaptor and device sets.
    assert r["recommended_action"].endswith(labels[a["peer"]["user_id"]])
    assert r["observed_percent"] == pytest.approx(a["realised"]["success_percent"], abs=1.0)


def _pdf_text(path: Path) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    )
    return out.stdout


def _xlsx_text(path: Path) -> str:
    wb = load_workbook(path, read_only=True)
    parts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            parts.extend("" if v is None else str(v) for v in row)
    parts.append(str(wb.properties.title or ""))
    return "\n".join(parts)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")
def test_a_party_pack_names_no_other_party(month: tuple[Path, Path], tmp_path: Path) -> None:
    data, results = month
    parties = pq.read_table(data / "parties.parquet").to_pylist()
    truth = json.loads((data / "truth.json").read_text())
    own_id = next(x for x in truth["anomalies"] if x["id"] == "a")["subject"]["user_id"]
    own = next(p for p in parties if p["user_id"] == own_id)
    out = tmp_path / "pack"
    summary = customer_packs(results, out, user_ids=[own_id])
    files = sorted(out.iterdir())
    assert {f.suffix for f in files} == {".pdf", ".xlsx", ".csv"}
    assert summary.files and all(f.exists() for fs in summary.files.values() for f in fs)
    texts = {}
    for f in files:
        if f.suffix == ".pdf":
            texts[f.name] = _pdf_text(f)
        elif f.suffix == ".xlsx":
            texts[f.name] = _xlsx_text(f)
        else:
            texts[f.name] = f.read_text(encoding="utf-8")
    pdf = next(t for n, t in texts.items() if n.endswith(".pdf"))
    assert own["name"] in pdf and own_id in pdf  # the pack is the party's own: it says so
    others = [p for p in parties if p["user_id"] != own_id]
    assert len(others) >= 30
    labels = {
        r["user_id"]: r["party_label"]
        for r in pacsv.read_csv(results / RESTRICTED_DIR / PARTY_LABELS_FILE).to_pylist()
    }
    for name, text in texts.items():
        flat = re.sub(r"\s+", " ", text).replace(own["name"], "")
        for p in others:
            assert p["user_id"] not in flat, f"{name} holds user_id {p['user_id']}"
            assert p["name"] not in flat, f"{name} holds the name {p['name']}"
            assert p["adaptor"] not in flat, f"{name} holds the adaptor {p['adaptor']}"
            assert labels[p["user_id"]] not in flat, f"{name} holds the label of {p['name']}"
    # The failed-requests file holds every failed request of the party and nothing else.
    label = next(iter(summary.files))
    failures = read_results(results).restricted("party_failures")
    own_failures = sum(1 for x in failures.column("party_label").to_pylist() if x == label)
    csv_name = next(n for n in texts if n.endswith(".csv"))
    with (out / csv_name).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == own_failures > 0
    assert all(r["request_id"].startswith(own_id + ":") for r in rows)
