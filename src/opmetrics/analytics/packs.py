"""Customer packs: for each party asked for, a PDF, an XLSX and a CSV of its own failed requests.

Packs read only the results folder (and, for the party's own failures and the label of the
party asked for, its `restricted/` subfolder). They are written into a temporary folder that
replaces the output folder atomically: with one party its files are the folder's content, with
every party each has its own subfolder named by its label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from opmetrics.analytics.pack_data import (
    FAILURE_COLUMNS,
    PackData,
    Party,
    find_party,
    pack_data,
    party_directory,
)
from opmetrics.analytics.pack_pdf import build_report, render
from opmetrics.analytics.xlsx import Sheet, write_workbook
from opmetrics.catalog import Catalog, load_catalog
from opmetrics.errors import OutputError, UsageError
from opmetrics.month import Month
from opmetrics.progress import NO_PROGRESS, Progress
from opmetrics.reports.typst_render import pdf_date
from opmetrics.results.io import FORMULA_CHARS, neutralise_formula, read_results
from opmetrics.results.schema import ALL
from opmetrics.workspace import atomic_output_dir, scratch_dir

XLSX_FAILURE_ROWS = 100_000  # the CSV holds every failed request; the workbook the first ones


@dataclass
class PacksSummary:
    out: Path
    month: str
    files: dict[str, list[Path]] = field(default_factory=dict)  # party label -> files


def pack_names(month: str, label: str) -> dict[str, str]:
    stem = f"{month}-{label}"
    return {
        "pdf": f"{stem}-customer-pack.pdf",
        "xlsx": f"{stem}-customer-pack.xlsx",
        "csv": f"{stem}-failed-requests.csv",
    }


def _csv_safe(t: pa.Table) -> pa.Table:
    cols = []
    for name in t.column_names:
        col = t.column(name)
        if pa.types.is_string(col.type) and any(
            pc.any(pc.starts_with(col, ch)).as_py() for ch in FORMULA_CHARS
        ):
            col = pa.chunked_array(
                [
                    pa.array(
                        [None if v is None else neutralise_formula(v) for v in ch.to_pylist()],
                        pa.string(),
                    )
                    for ch in col.chunks
                ],
                pa.string(),
            )
        cols.append(col)
    return pa.Table.from_arrays(cols, names=t.column_names)


def _records(df: pd.DataFrame, cols: list[str]) -> list[list[object]]:
    return [[r[c] for c in cols] for r in df.to_dict("records")]


def workbook_sheets(
    d: PackData, catalog: Catalog, produced_on: date, names: dict[str, str]
) -> list[Sheet]:
    srv_name = {s.id: s.name for s in catalog.srv}
    bp_name = {b.id: b.name for b in catalog.business_process}
    capped = d.failures.num_rows > XLSX_FAILURE_ROWS
    about: list[list[object]] = [
        ["Customer pack", d.party.name or d.party.label],
        ["Party label", d.party.label],
        ["User ID", d.party.user_id],
        ["Reporting month", d.month],
        ["Produced", produced_on.isoformat()],
        [
            "Minimum volume",
            f"{d.min_volume} requests (succeeded + failed) to be ranked and to set the industry best",
        ],
        [
            "Other parties",
            "appear only as ranks and rates; a comparison over fewer than 3 other parties is merged or not shown",
        ],
        ["Device sets merged", d.by_device_set.merged_cells],
        ["Device sets suppressed", d.by_device_set.suppressed_cells],
        ["Region cells suppressed", d.by_region.suppressed_cells],
        ["Failed requests", d.failures.num_rows],
        [
            "Failed requests sheet",
            f"the first {XLSX_FAILURE_ROWS:,}; {names['csv']} holds all"
            if capped
            else f"all; also in {names['csv']}",
        ],
    ]
    a = d.against.copy()
    a["process"] = a["business_process"].map(lambda b: bp_name.get(b, b))
    a["srv_name"] = a["srv"].map(
        lambda s: "all SRVs of the process" if s == ALL else srv_name.get(s, s)
    )
    a_cols = [
        "process",
        "srv",
        "srv_name",
        "submitted",
        "succeeded",
        "failed",
        "party_success_percent",
        "industry_average_percent",
        "industry_best_percent",
        "gap_points",
        "best_gap_points",
        "rank",
        "parties_ranked",
        "parties_below_min_volume",
        "meets_min_volume",
        "shown",
    ]
    leagues = []
    for (bp, srv), lt in d.leagues.items():
        for r in lt.to_dict("records"):
            leagues.append(
                [
                    bp_name.get(bp, bp),
                    srv,
                    int(r["rank"]),
                    "You" if r["you"] else "Another party",
                    r["success_percent"],
                ]
            )
    reg = d.by_region.rows.copy()
    reg["process"] = reg["business_process"].map(lambda b: bp_name.get(b, b))
    ds = d.by_device_set.rows.copy()
    ds["process"] = ds["business_process"].map(lambda b: bp_name.get(b, b))
    fnd = d.findings.copy()
    fail = d.failures.slice(0, XLSX_FAILURE_ROWS).to_pylist()
    return [
        Sheet("about", ["item", "value"], about, (26, 90)),
        Sheet(
            "against industry",
            [
                "business process",
                "srv",
                "srv name",
                "submitted",
                "succeeded",
                "failed",
                "your success %",
                "industry average %",
                "industry best %",
                "vs average (points)",
                "vs best (points)",
                "your rank",
                "parties ranked",
                "parties under minimum volume",
                "you meet the minimum volume",
                "industry figures shown",
            ],
            _records(a, a_cols),
        ),
        Sheet("league tables", ["business process", "srv", "rank", "party", "success %"], leagues),
        Sheet(
            "by region",
            [
                "business process",
                "srv",
                "region",
                "submitted",
                "succeeded",
                "failed",
                "excluded",
                "your success %",
                "other parties %",
                "comparison",
            ],
            _records(
                reg,
                [
                    "process",
                    "srv",
                    "region",
                    "submitted",
                    "succeeded",
                    "failed",
                    "excluded",
                    "success_percent",
                    "others_percent",
                    "comparison",
                ],
            ),
        ),
        Sheet(
            "by device set",
            [
                "business process",
                "device type",
                "comms hub model",
                "model",
                "firmware",
                "submitted",
                "succeeded",
                "failed",
                "excluded",
                "your success %",
                "other parties %",
                "comparison",
            ],
            _records(
                ds,
                [
                    "process",
                    "device_type",
                    "comms_hub_model",
                    "meter_model",
                    "firmware_version",
                    "submitted",
                    "succeeded",
                    "failed",
                    "excluded",
                    "success_percent",
                    "others_percent",
                    "comparison",
                ],
            ),
        ),
        Sheet(
            "findings",
            [
                "rank",
                "kind",
                "subject",
                "business process",
                "srv",
                "requests",
                "your success %",
                "comparison %",
                "gap (points)",
                "requests affected",
                "recommended action",
            ],
            _records(
                fnd,
                [
                    "rank",
                    "kind",
                    "subject",
                    "business_process",
                    "srv",
                    "requests",
                    "observed_percent",
                    "comparison_percent",
                    "gap_points",
                    "requests_affected",
                    "recommended_action",
                ],
            ),
        ),
        Sheet(
            "failed requests",
            [*(c if c != "received_at" else "received_at (UTC)" for c in FAILURE_COLUMNS)],
            [[r[c] for c in FAILURE_COLUMNS] for r in fail],
        ),
    ]


def write_pack(
    d: PackData, folder: Path, catalog: Catalog, produced_on: date, work: Path
) -> list[Path]:
    """Write one party's three files into `folder`."""
    names = pack_names(d.month, d.party.label)
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / names["csv"]
    try:
        pacsv.write_csv(_csv_safe(d.failures), csv)
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror})", path=str(csv)) from None
    month = Month.parse(d.month)
    stamp = datetime.combine(pdf_date(month), datetime.min.time(), tzinfo=UTC).replace(tzinfo=None)
    xlsx = folder / names["xlsx"]
    write_workbook(
        workbook_sheets(d, catalog, produced_on, names), xlsx, stamp, f"Customer pack {d.month}"
    )
    pdf = folder / names["pdf"]
    report = build_report(d, catalog, produced_on, [names["csv"], names["xlsx"]])
    render(
        report,
        month,
        f"{d.party.name} ({d.party.label})" if d.party.name else d.party.label,
        pdf,
        work,
    )
    return [pdf, xlsx, csv]


def customer_packs(
    results_dir: str | Path,
    out: str | Path,
    *,
    user_ids: list[str] | None = None,
    all_parties: bool = False,
    produced_on: date | None = None,
    catalog: Catalog | str | Path | None = None,
    progress: Progress = NO_PROGRESS,
) -> PacksSummary:
    """Write the customer packs of one month's results (one party, several, or every party)."""
    if bool(user_ids) == all_parties:
        raise UsageError("give --party USER_ID (one or more) or --all-parties")
    results = read_results(results_dir)
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    directory = party_directory(results)
    chosen: list[Party]
    if all_parties:
        active = set(results.table("benchmark").column("party_label").to_pylist())
        chosen = [p for p in directory if p.label in active]
    else:
        chosen = [find_party(directory, u) for u in user_ids or []]
    produced = produced_on or date.today()
    summary = PacksSummary(Path(out), results.month)
    one = not all_parties and len(chosen) == 1
    with (
        atomic_output_dir(Path(out)) as tmp,
        scratch_dir() as work,
        progress.task("Writing customer packs", total=len(chosen)) as task,
    ):
        for p in chosen:
            task.update(description=f"Customer pack {p.label}")
            d = pack_data(results, p)
            folder = tmp if one else tmp / p.label
            files = write_pack(d, folder, cat, produced, work / p.label)
            summary.files[p.label] = [Path(out) / f.relative_to(tmp) for f in files]
            task.advance()
    return summary
