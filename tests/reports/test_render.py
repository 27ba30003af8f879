"""The rendered month: files, what the PDFs say, data files, reproducibility, errors."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from opmetrics.catalog import default_catalog
from opmetrics.errors import ExitCode, OpmetricsError, OutputError, UsageError
from opmetrics.reports import RenderSummary, render
from opmetrics.results.schema import RESULT_TABLES
from tests.reports.conftest import PRODUCED, pdftotext
from tests.reports.fake_results import CPM6_REASON, write_fake_results

pytestmark = pytest.mark.slow


def data_tables(results_dir: Path) -> list[str]:
    """The data files of a results folder: each results table it holds (an older folder lacks
    the tables added since), then the assumed values."""
    return [t for t in RESULT_TABLES if (results_dir / f"{t}.parquet").exists()] + [
        "assumed_values"
    ]


def test_files(rendered: RenderSummary, results_dir: Path) -> None:
    out = rendered.out_dir
    bps = [b for b in default_catalog().business_processes if default_catalog().srvs_of(b)]
    assert len(rendered.pdfs) == 4 + len(bps)  # PMR, CPM6A, summary paper, Panel summary
    assert rendered.pdfs["panel"] == out / "panel-summary.pdf"
    assert (
        (out / "panel-summary.md")
        .read_text(encoding="utf-8")
        .startswith("# Panel summary: April 2021")
    )
    for p in rendered.pdfs.values():
        assert p.is_file() and p.read_bytes().startswith(b"%PDF")
    assert (out / "dashboard" / "index.html").is_file()
    assert (out / "dashboard" / "assets" / "vega.js").stat().st_size > 100_000
    for key in rendered.pdfs:
        assert (out / "dashboard" / f"{key}.html").is_file()
    tables = data_tables(results_dir)
    assert {p.name for p in (out / "data" / "csv").iterdir()} == {f"{n}.csv" for n in tables}
    assert rendered.late and rendered.due_on == date(2021, 6, 8)
    # a cover and at least one page of content; the Panel summary has a title block instead
    assert all(n >= (1 if k == "panel" else 2) for k, n in rendered.pages.items()), rendered.pages


def test_page_counts_are_the_pdfs_own(rendered: RenderSummary) -> None:
    """The pages the command reports for each PDF are what a PDF reader counts (pdfinfo), not
    one more for the page tree's own `/Type /Pages` object."""
    import shutil
    import subprocess

    exe = shutil.which("pdfinfo")
    if exe is None:
        pytest.skip("pdfinfo not found: install poppler-utils (.ci/run does)")
    for key, pdf in rendered.pdfs.items():
        info = subprocess.run([exe, str(pdf)], capture_output=True, text=True, check=True).stdout
        (pages,) = [int(ln.split()[1]) for ln in info.splitlines() if ln.startswith("Pages:")]
        assert rendered.pages[key] == pages, key


def test_every_srv_of_a_pack_is_in_its_pdf(rendered: RenderSummary) -> None:
    cat = default_catalog()
    for bp in cat.business_processes:
        srvs = [s.id for s in cat.srvs_of(bp)]
        if not srvs:
            assert f"bp-{bp}".replace("_", "-") not in rendered.pdfs  # Alerts: reported from CPM3
            continue
        text = pdftotext(rendered.pdfs[f"bp-{bp}".replace("_", "-")])
        for srv in srvs:
            assert f"SRV {srv} {cat.srvs[srv].name}" in " ".join(text.split()), srv


def test_covers(rendered: RenderSummary) -> None:
    """Every PDF's first page says the month, when it was produced, when it was due and how
    late: a cover (its text in reading order, so that a DRAFT watermark drawn behind it cannot
    split a label from its value), or the Panel summary's title block."""
    import subprocess

    for key, p in rendered.pdfs.items():
        pdftotext(p)  # skips without poppler
        raw = subprocess.run(
            ["pdftotext", "-raw", "-l", "1", str(p), "-"], capture_output=True, text=True
        ).stdout
        flat = " ".join(raw.split())
        assert "April 2021" in flat, key
        if key == "panel":
            assert "Date 10 June 2021 (due 8 June 2021:" in flat
            assert "late by 2 Working Days" in flat
            continue
        assert "Date produced 10 June 2021" in flat, key
        assert "Due date 8 June 2021" in flat, key
        assert "LATE BY 2 WORKING DAYS" in flat, key
        assert flat.startswith("DRAFT") == (key == "summary"), key  # no review file: a draft


def test_pmr_text(rendered: RenderSummary) -> None:
    text = " ".join(pdftotext(rendered.pdfs["pmr"]).split())
    for cpm in ("CPM1", "CPM2", "CPM3", "CPM4", "CPM5", "CPM5A", "CPM6", "CPM6A", "CPM6B", "CPM6C"):
        assert cpm in text
    assert "Self-Service Interface" in text and "Month-on-month trends" in text
    assert "Below minimum" in text  # CPM1 SMETS1 in the fake month
    summary = " ".join(pdftotext(rendered.pdfs["summary"]).split())
    assert "Alerts (CPM3)" in summary and "Items for discussion" in summary
    assert "Work with the service provider" in summary  # an insight row, as an ad-hoc item


def _xlsx_xml(path: Path) -> list[bytes]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return [z.read(n) for n in z.namelist()]


def test_raw_column_of_an_older_results_folder_never_reaches_the_data_files(
    tmp_path: Path,
) -> None:
    """Results computed before the quarantine was split kept raw rows in the shared table:
    reading conforms it to the value-free columns, so no data file carries them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from opmetrics.catalog import default_catalog
    from opmetrics.reports.assumed import Assumptions
    from opmetrics.reports.datafiles import write_data_files
    from opmetrics.results.io import read_results

    res = write_fake_results(tmp_path / "res", n_parties=5, scale=0.05)
    q = pq.read_table(res / "quarantine.parquet")
    raw = pa.array(["SECRET-RAW " + str(i) for i in range(q.num_rows)], pa.string())
    pq.write_table(q.append_column("raw", raw), res / "quarantine.parquet")
    files = write_data_files(
        read_results(res),
        tmp_path / "data",
        "2021-04",
        date(2021, 6, 1),
        datetime(2021, 5, 1),
        lambda n: None,
        Assumptions(read_results(res).manifest, default_catalog()),
    )
    blobs = [f.read_bytes() for f in files if f.suffix == ".csv"]
    blobs += _xlsx_xml(next(f for f in files if f.suffix == ".xlsx"))
    assert files and not any(b"SECRET" in b for b in blobs)


def test_not_reportable_is_loud(tmp_path: Path) -> None:
    res = write_fake_results(tmp_path / "res", cpm6_reportable=False, n_parties=5, scale=0.05)
    s = render(res, tmp_path / "out", produced_on=date(2021, 5, 20))
    assert s.not_reportable == {"CPM6": CPM6_REASON}
    assert not s.late
    text = " ".join(pdftotext(s.pdfs["pmr"]).split())
    assert "CPM6 cannot be reported for April 2021" in text  # the cover banner
    assert "CPM6 is NOT REPORTABLE for April 2021" in text
    assert "NOT REPORTABLE" in text and "on time" in text


def test_data_files(rendered: RenderSummary, results_dir: Path) -> None:
    data = rendered.out_dir / "data"
    rows = list(csv.DictReader((data / "csv" / "quarantine.csv").open(encoding="utf-8")))
    assert list(rows[0]) == ["table", "source", "row", "reason_code", "reason"]  # no raw values
    assert [r["reason"] for r in rows][:2] == [
        "srv is not in the catalog",
        "value does not parse: received_at",
    ]
    wb = openpyxl.load_workbook(data / "2021-04-results.xlsx")
    tables = data_tables(results_dir)
    assert wb.sheetnames == ["about", "columns", *tables]
    for name in tables:
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        assert ws["A1"].font.b
        n = sum(1 for _ in csv.reader((data / "csv" / f"{name}.csv").open(encoding="utf-8")))
        assert ws.max_row == n, name
    q = wb["quarantine"]
    assert [c.value for c in q[1]] == ["table", "source", "row", "reason_code", "reason"]
    # never the restricted/ subfolder (its party labels, quarantined raw rows, detailed reasons)
    every = b"".join(p.read_bytes() for p in (data / "csv").iterdir())
    every += b"".join(_xlsx_xml(data / "2021-04-results.xlsx"))
    for secret in (b"SECRET", b"Secret Energy", b"unknown SRV", b"HYPERLINK", b"interface: Foo"):
        assert secret not in every, secret
    assert not any("party_failures" in p.name or "party_labels" in p.name for p in data.rglob("*"))
    summary = wb["srv_summary"]
    header = [c.value for c in summary[1]]
    with (results_dir / "srv_summary.csv").open(encoding="utf-8") as f:
        first = next(csv.DictReader(f))
    assert summary.cell(row=2, column=header.index("submitted") + 1).value == int(
        first["submitted"]
    )


def test_reproducible(
    tmp_path: Path, results_dir: Path, history_dir: Path, rendered: RenderSummary
) -> None:
    again = render(results_dir, tmp_path / "again", [history_dir], PRODUCED)

    def digests(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    assert digests(again.out_dir) == digests(rendered.out_dir)


def test_output_replaced_atomically_and_kept_on_error(tmp_path: Path, results_dir: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("previous run")
    with pytest.raises(UsageError):
        render(results_dir, out, [results_dir], PRODUCED)  # history must be an earlier month
    assert (out / "old.txt").read_text() == "previous run"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_errors(tmp_path: Path, results_dir: Path) -> None:
    with pytest.raises(OutputError) as e:
        render(tmp_path / "nowhere", tmp_path / "out")
    assert e.value.exit_code == ExitCode.OUTPUT
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text(json.dumps({"month": "April"}))
    with pytest.raises(OutputError, match="no valid month"):
        render(bad, tmp_path / "out")
    twice = write_fake_results(tmp_path / "h", "2021-03", n_parties=3, scale=0.01)
    with pytest.raises(UsageError, match="more than once"):
        render(results_dir, tmp_path / "out", [twice, twice])
    assert all(issubclass(type(x), OpmetricsError) for x in (e.value,))


def test_hostile_labels_are_text(tmp_path: Path) -> None:
    res = write_fake_results(tmp_path / "res", n_parties=4, scale=0.05, hostile_labels=True)
    s = render(res, tmp_path / "out", produced_on=PRODUCED)
    for html in (s.out_dir / "dashboard").glob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert "<b>P-EVIL" not in text, html.name  # escaped in the page and in its JSON
    assert "&lt;b&gt;P-EVIL" in (s.out_dir / "dashboard" / "bp-change-of-supplier.html").read_text(
        encoding="utf-8"
    ) or (
        "\\u003cb\\u003eP-EVIL"
        in (s.out_dir / "dashboard" / "bp-change-of-supplier.html").read_text(encoding="utf-8")
    )
    pack = " ".join(pdftotext(s.pdfs["bp-change-of-supplier"]).split())
    assert "=<b>P-EVIL</b>" in pack  # printed literally by Typst, never run as markup
    rows = (s.out_dir / "data" / "csv" / "srv_party.csv").read_text(encoding="utf-8")
    assert "'=<b>P-EVIL" in rows and "\n=<b>" not in rows and ",=<b>" not in rows
