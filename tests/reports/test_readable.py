"""Readable outputs: names instead of catalog ids, roll-up rows flagged, honest axes, full pages.

The rendered month (fake results with a month of history) is searched for the ids a reader
should never meet: a business process's, a finding kind's or a status's slug, the device type
`NONE`. Page fill is measured on the rendered pages: the lowest inked row of each page's body
(between the header and footer margins) at 30 dpi.
"""

from __future__ import annotations

import csv
import html
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pytest

from opmetrics.catalog import default_catalog
from opmetrics.contract.schema import ALL
from opmetrics.reports import RenderSummary, fmt
from opmetrics.reports.assumed import Assumptions
from opmetrics.reports.datafiles import data_tables
from opmetrics.reports.named import name_table
from opmetrics.results.io import read_results
from tests.reports.conftest import pdftotext

CAT = default_catalog()
# Ids no reader should meet: process ids that are not plain words, statuses, finding kinds, NONE.
SLUGS = sorted(
    {b.id for b in CAT.business_process if "_" in b.id}
    | {"below_target", "below_minimum", "no_activity", "not_reportable", "service_provider"}
)
SLUG_RE = re.compile(r"\b(?:" + "|".join(map(re.escape, SLUGS)) + r")\b|\bNONE\b")
# A page other than the last whose body is inked to less than this share of its height is
# near-empty (a page of a three-line contents list is about 0.2).
MIN_FILL = 0.35
TOP_MM, BOTTOM_MM, A4_MM = 21.0, 16.0, 297.0


def visible_text(page: str) -> str:
    """What a reader of a dashboard page sees: no scripts, no tags, no attributes."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def page_fills(pdf: Path, work: Path) -> list[float]:
    """Per page, the share of the body's height down to its lowest inked row."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        pytest.skip("pdftoppm not found: install poppler-utils")
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([exe, "-r", "30", "-gray", str(pdf), str(work / "p")], check=True)
    fills = []
    for f in sorted(work.glob("p-*.pgm"), key=lambda p: int(p.stem.split("-")[-1])):
        raw = f.read_bytes()
        _magic, w, h, _max, data = raw.split(maxsplit=4)
        width, height = int(w), int(h)
        img = np.frombuffer(data[-width * height :], np.uint8).reshape(height, width)
        top = int(height * TOP_MM / A4_MM) + 1
        bottom = height - int(height * BOTTOM_MM / A4_MM) - 1
        inked = np.nonzero((img[top:bottom] < 200).any(axis=1))[0]
        fills.append(0.0 if inked.size == 0 else (inked[-1] + 1) / (bottom - top))
    return fills


@pytest.mark.slow
def test_no_slug_or_none_in_pdfs_dashboard_or_data_file_headers(
    rendered: RenderSummary,
) -> None:
    found = []
    for key, pdf in rendered.pdfs.items():
        for m in SLUG_RE.finditer(pdftotext(pdf)):
            found.append((key, m.group(0)))
    for page in (rendered.out_dir / "dashboard").glob("*.html"):
        for m in SLUG_RE.finditer(visible_text(page.read_text(encoding="utf-8"))):
            found.append((page.name, m.group(0)))
    assert found == []
    named = ("business_process", "device_type", "status", "kind")
    csv_dir = rendered.out_dir / "data" / "csv"
    wb = openpyxl.load_workbook(rendered.out_dir / "data" / "2021-04-results.xlsx", read_only=True)
    for path in csv_dir.glob("*.csv"):
        with path.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        header = list(rows[0]) if rows else next(csv.reader(path.open(encoding="utf-8")))
        sheet = [c.value for c in next(wb[path.stem].iter_rows(max_row=1))]
        assert sheet == header, path.name
        assert "incident_cat12" not in header
        for col in (c for c in named if c in header):
            # the machine id sits just before the name, and the name column holds no id
            assert header[header.index(col) - 1] == f"{col}_id", (path.name, col)
            shown = {r[col] for r in rows if r[col]}
            assert not {s for s in shown if SLUG_RE.search(s) or s == ALL}, (path.name, col)
        if "srv" in header:
            assert header[header.index("srv") + 1] == "srv_name", path.name


@pytest.mark.slow
def test_no_near_empty_page_but_the_last(rendered: RenderSummary, tmp_path: Path) -> None:
    thin = {}
    for key, pdf in rendered.pdfs.items():
        fills = page_fills(pdf, tmp_path / key)
        assert len(fills) == pdftotext(pdf).count("\f")
        low = [i + 1 for i, f in enumerate(fills[:-1]) if f < MIN_FILL]
        if low:
            thin[key] = [(p, round(fills[p - 1], 2)) for p in low]
    assert thin == {}


@pytest.mark.slow
def test_contents_shares_its_page_with_the_first_section(rendered: RenderSummary) -> None:
    packs = [k for k in rendered.pdfs if k.startswith("bp-")]
    assert packs
    for key in packs:
        page2 = pdftotext(rendered.pdfs[key]).split("\f")[1]
        lines = [" ".join(ln.split()) for ln in page2.splitlines() if ln.strip()]
        at = lines.index("Contents")
        first = re.sub(r"[\s.\u2060]*\d+$", "", lines[at + 1])  # the first entry, without its page
        # the first section's heading follows the contents list on the same page
        assert first in lines[at + 2 :], (key, first)


def test_data_file_names_beside_ids_and_rollups_count_once(results_dir: Path) -> None:
    r = read_results(results_dir)
    tables = data_tables(r, Assumptions(r.manifest, CAT))
    s = tables["srv_summary"]
    cols = s.column_names
    assert cols[cols.index("business_process_id") + 1] == "business_process"
    assert cols[cols.index("device_type_id") + 1] == "device_type"
    rows = s.to_pylist()
    names = {b.id: b.name for b in CAT.business_process}
    for x in rows:
        bp = x["business_process_id"]
        assert x["business_process"] == ("All business processes" if bp == ALL else names[bp]), bp
        dims = [
            d
            for d in ("business_process", "srv", "region", "device_type")
            if x[f"{d}_id" if f"{d}_id" in x else d] == ALL
        ]
        assert x["is_rollup"] is bool(dims)
        assert x["rolled_up"] == ("; ".join(dims) or None)
    # The finest rows alone add up to the network total: a pivot over is_rollup false counts each
    # request once (over every row it would count each one 24 times or more).
    total = next(
        x
        for x in rows
        if x["business_process_id"] == ALL
        and x["srv"] == ALL
        and x["region"] == ALL
        and x["device_type_id"] == ALL
    )
    fine = sum(x["submitted"] for x in rows if not x["is_rollup"])
    assert fine == total["submitted"] > 0
    assert sum(x["submitted"] for x in rows) > 4 * total["submitted"]
    nonde = [x for x in rows if x["device_type_id"] == "NONE"]
    assert nonde and {x["device_type"] for x in nonde} == {"Non-device request (served by the DCC)"}
    c = tables["cpm"].to_pylist()
    assert {x["status"] for x in c} <= set(fmt.STATUS_NAMES.values())
    assert {(x["status_id"], x["status"]) for x in c if x["status_id"] == "below_minimum"} <= {
        ("below_minimum", "Below minimum")
    }
    assert "category_1_or_2_incident" in tables["srv_daily"].column_names


def test_name_table_by_hand() -> None:
    t = pa.table(
        {
            "business_process": ["no_post_ic", ALL, "no_post_ic"],
            "srv": ["8.14.1", ALL, "8.14.1"],
            "region": ["North", ALL, ALL],
            "device_type": ["NONE", ALL, "NONE"],
            "status": ["below_target", "met", "no_activity"],
            "succeeded": [1, 2, 3],
        }
    )
    out = name_table(t, CAT).to_pydict()
    assert out["business_process_id"] == ["no_post_ic", ALL, "no_post_ic"]
    assert out["business_process"] == [
        "Network Operator Post I&C",
        "All business processes",
        "Network Operator Post I&C",
    ]
    assert out["srv_name"] == [CAT.srvs["8.14.1"].name, "All SRVs", CAT.srvs["8.14.1"].name]
    assert out["device_type"][0] == "Non-device request (served by the DCC)"
    assert out["status"] == ["Below target", "Met", "No activity"]
    assert out["is_rollup"] == [False, True, True]
    assert out["rolled_up"] == [None, "business_process; srv; region; device_type", "region"]


def test_span_floor_keeps_a_small_spread_honest() -> None:
    import json

    import vl_convert as vlc

    from opmetrics.reports import charts

    rows = [
        {
            "business_process": "prepayment",
            "srv": "2.2",
            "region": r,
            "device_type": ALL,
            "success_percent": p,
            "submitted": 1000,
        }
        for r, p in (("ALL", 99.85), ("North", 99.8), ("Central", 99.9), ("South", 99.85))
    ]
    spec = charts.breakdown(
        rows, "region", ["North", "Central", "South"], charts.Sel("prepayment", "2.2")
    )
    svg = vlc.vegalite_to_svg(json.loads(json.dumps(spec)))
    ticks = [float(t) for t in re.findall(r">(\d+(?:\.\d+)?)</text>", svg)]
    # a 0.1-point spread: the axis spans at least 5 points, not 99.8-99.9
    assert ticks and max(ticks) - min(ticks) >= charts.MIN_SPAN - 1
    assert max(ticks) <= 100
    wide = [dict(x, success_percent=p) for x, p in zip(rows, (80.0, 70.0, 90.0, 80.0), strict=True)]
    svg = vlc.vegalite_to_svg(
        json.loads(
            json.dumps(
                charts.breakdown(
                    wide, "region", ["North", "Central", "South"], charts.Sel("prepayment", "2.2")
                )
            )
        )
    )
    ticks = [float(t) for t in re.findall(r">(\d+(?:\.\d+)?)</text>", svg)]
    assert min(ticks) <= 70 and max(ticks) >= 90 and max(ticks) - min(ticks) < 40  # the data's own


@pytest.mark.slow
def test_workbook_says_what_every_column_holds(rendered: RenderSummary) -> None:
    wb = openpyxl.load_workbook(rendered.out_dir / "data" / "2021-04-results.xlsx", read_only=True)
    assert wb.sheetnames[:2] == ["about", "columns"]
    listed = {(t, c): text for t, c, text in wb["columns"].iter_rows(min_row=2, values_only=True)}
    for name in wb.sheetnames[2:]:
        header = [c.value for c in next(wb[name].iter_rows(max_row=1))]
        for col in header:
            assert listed.get((name, col)), (name, col)
    assert listed[("srv_summary", "is_rollup")].startswith("True when the row sums other rows")
