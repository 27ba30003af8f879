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
import pyarrow.csv as pacsv

from opmetrics.catalog import Catalog, load_catalog
from opmetrics.contract.schema import ALL
from opmetrics.errors import OutputError, UsageError
from opmetrics.month import Month
from opmetrics.progress import NO_PROGRESS, Progress
from opmetrics.reports import fmt
from opmetrics.reports.assumed import Assumptions
from opmetrics.reports.customer_data import (
    PackData,
    Party,
    find_party,
    pack_data,
    party_directory,
)
from opmetrics.reports.customer_pdf import build_report, render
from opmetrics.reports.response_codes import failures_file
from opmetrics.reports.typst_render import pdf_date
from opmetrics.reports.xlsx import Sheet, write_workbook
from opmetrics.results.io import csv_ready, read_results
from opmetrics.results.manifest import Manifest
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


def _frame(df: pd.DataFrame, columns: dict[str, str]) -> pa.Table:
    """Columns of `df` renamed to the workbook's headers, typed as Arrow infers them."""
    out = df[list(columns)].rename(columns=columns)
    return pa.Table.from_pandas(out, preserve_index=False)


def workbook_sheets(
    d: PackData,
    catalog: Catalog,
    produced_on: date,
    names: dict[str, str],
    assumed: Assumptions | None = None,
) -> list[Sheet]:
    srv_name = {s.id: s.name for s in catalog.srv}
    bp_name = {b.id: b.name for b in catalog.business_process}
    capped = d.failures.num_rows > XLSX_FAILURE_ROWS
    about = [
        ("Customer pack", d.party.name or d.party.label),
        ("Party label", d.party.label),
        ("User ID", d.party.user_id),
        ("Reporting month", d.month),
        ("Produced", produced_on.isoformat()),
        (
            "Minimum volume",
            f"{d.min_volume:,} requests (succeeded + failed) to be ranked and to set the industry best",
        ),
        (
            "Other parties",
            "appear only as ranks and rates; a comparison over fewer than 3 other parties is "
            "merged or not shown",
        ),
        ("Device sets merged", f"{d.by_device_set.merged_cells:,}"),
        ("Device sets suppressed", f"{d.by_device_set.suppressed_cells:,}"),
        ("Region cells suppressed", f"{d.by_region.suppressed_cells:,}"),
        ("Failed requests", f"{d.failures.num_rows:,}"),
        (
            "Failed requests sheet",
            f"the first {XLSX_FAILURE_ROWS:,}; {names['csv']} holds all"
            if capped
            else f"all of them; also in {names['csv']}",
        ),
    ]
    assumed = assumed or Assumptions(Manifest(), catalog)
    marks = {b: assumed.of_process_counts(b) for b in bp_name}
    listed = sorted({x.key: x for m in marks.values() for x in m}.values(), key=lambda x: x.key)
    if listed:
        about.append(
            (
                "Assumed values",
                fmt.assumed_note([x.text for x in listed], assumed.override)
                + " Rows resting on them name them in the assumed column.",
            )
        )

    def keys(bp: str, srv: str = ALL) -> str | None:
        """A process total's assumed keys (an SRV's own rows rest on none)."""
        if srv != ALL:
            return None
        return "; ".join(x.key for x in marks.get(bp, ())) or None

    a = d.against.copy()
    a["process"] = a["business_process"].map(lambda b: bp_name.get(b, b))
    a["assumed"] = [keys(b, s) for b, s in zip(a["business_process"], a["srv"], strict=True)]
    a["srv_name"] = a["srv"].map(
        lambda s: "all SRVs of the process" if s == ALL else srv_name.get(s, s)
    )
    a["rank"] = a["rank"].astype("Int64")
    leagues = pd.DataFrame(
        [
            {
                "process": bp_name.get(bp, bp),
                "srv": srv,
                "rank": int(r["rank"]),
                "party": "You" if r["you"] else "Another party",
                "success_percent": float(r["success_percent"]),
            }
            for (bp, srv), lt in d.leagues.items()
            for r in lt.to_dict("records")
        ],
        columns=["process", "srv", "rank", "party", "success_percent"],
    )
    reg = d.by_region.rows.copy()
    reg["process"] = reg["business_process"].map(lambda b: bp_name.get(b, b))
    reg["assumed"] = [keys(b, s) for b, s in zip(reg["business_process"], reg["srv"], strict=True)]
    ds = d.by_device_set.rows.copy()
    ds["process"] = ds["business_process"].map(lambda b: bp_name.get(b, b))
    fail = failures_file(d.failures.slice(0, XLSX_FAILURE_ROWS), catalog)
    counts = ("submitted", "succeeded", "failed", "excluded")
    return [
        Sheet(
            "about",
            pa.table({"item": [x[0] for x in about], "value": [x[1] for x in about]}),
        ),
        Sheet(
            "against industry",
            _frame(
                a,
                {
                    "process": "business process",
                    "srv": "srv",
                    "srv_name": "srv name",
                    **{c: c for c in ("submitted", "succeeded", "failed")},
                    "party_success_percent": "your success %",
                    "industry_average_percent": "industry average %",
                    "industry_best_percent": "industry best %",
                    "gap_points": "vs average (points)",
                    "best_gap_points": "vs best (points)",
                    "rank": "your rank",
                    "parties_ranked": "parties ranked",
                    "parties_below_min_volume": "parties under the minimum volume",
                    "meets_min_volume": "you meet the minimum volume",
                    "shown": "industry figures shown",
                    "assumed": "assumed",
                },
            ),
        ),
        Sheet(
            "league tables",
            _frame(
                leagues,
                {
                    "process": "business process",
                    "srv": "srv",
                    "rank": "rank",
                    "party": "party",
                    "success_percent": "success %",
                },
            ),
        ),
        Sheet(
            "by region",
            _frame(
                reg,
                {
                    "process": "business process",
                    "srv": "srv",
                    "region": "region",
                    **{c: c for c in counts},
                    "success_percent": "your success %",
                    "others_percent": "other parties %",
                    "comparison": "comparison",
                    "assumed": "assumed",
                },
            ),
        ),
        Sheet(
            "by device set",
            _frame(
                ds,
                {
                    "process": "business process",
                    "device_type": "device type",
                    "comms_hub_model": "comms hub model",
                    "meter_model": "model",
                    "firmware_version": "firmware",
                    **{c: c for c in counts},
                    "success_percent": "your success %",
                    "others_percent": "other parties %",
                    "comparison": "comparison",
                },
            ),
        ),
        Sheet(
            "findings",
            _frame(
                d.findings,
                {
                    "rank": "rank",
                    "kind": "kind",
                    "subject": "subject",
                    "business_process": "business process",
                    "srv": "srv",
                    "requests": "requests",
                    "observed_percent": "your success %",
                    "comparison_percent": "comparison %",
                    "gap_points": "gap (points)",
                    "requests_affected": "requests affected",
                    "recommended_action": "recommended action",
                },
            ),
        ),
        Sheet("failed requests", fail),
    ]


def write_pack(
    d: PackData,
    folder: Path,
    catalog: Catalog,
    produced_on: date,
    work: Path,
    assumed: Assumptions | None = None,
    *,
    dated: bool = True,
) -> list[Path]:
    """Write one party's three files into `folder`; `assumed`: the results' assumed values;
    `dated`: `produced_on` was given, not defaulted to today (the cover then states timeliness)."""
    names = pack_names(d.month, d.party.label)
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / names["csv"]
    try:
        pacsv.write_csv(csv_ready(failures_file(d.failures, catalog), round_floats=False), csv)
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror})", path=str(csv)) from None
    month = Month.parse(d.month)
    stamp = datetime.combine(pdf_date(month), datetime.min.time(), tzinfo=UTC).replace(tzinfo=None)
    xlsx = folder / names["xlsx"]
    try:
        write_workbook(
            workbook_sheets(d, catalog, produced_on, names, assumed),
            xlsx,
            title=f"Customer pack {d.month}",
            stamp=stamp,
        )
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror})", path=str(xlsx)) from None
    pdf = folder / names["pdf"]
    report = build_report(
        d, catalog, produced_on, [names["csv"], names["xlsx"]], assumed, dated=dated
    )
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
    assumed = Assumptions(results.manifest, cat)
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
            files = write_pack(
                d, folder, cat, produced, work / p.label, assumed, dated=produced_on is not None
            )
            summary.files[p.label] = [Path(out) / f.relative_to(tmp) for f in files]
            task.advance()
    return summary
