"""The data files: every results table as CSV and as one XLSX workbook (a sheet per table).

Only the shared tables are written; the `restricted/` subfolder of a results folder (one party's
own failures, the label-to-party mapping) is never read here. Text cells that a spreadsheet
would run as a formula are neutralised, in CSV and XLSX alike. Workbooks are made reproducible:
their document dates and zip entry times are fixed to a date derived from the reporting month.
Excel limits a sheet to 1,048,576 rows and a cell to 32,767 characters: a longer table's sheet holds
its first rows (the `about` sheet says so; the CSV holds every row) and a longer cell is cut with a
marker. Each table is written as `annotated` gives it: with the assumed values its rows rest on,
and the DCC proxy's times in columns named for what they measure; `assumed_values` lists them.
Each also names what its ids stand for and flags its roll-up rows (`named`); the workbook's
`columns` sheet says what every column holds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from opmetrics.errors import OutputError
from opmetrics.reports import fmt
from opmetrics.reports.annotated import annotate, assumed_values_table
from opmetrics.reports.assumed import Assumptions
from opmetrics.reports.columns import columns_table
from opmetrics.reports.named import name_table
from opmetrics.reports.xlsx import EXCEL_MAX_ROWS, Sheet, write_workbook
from opmetrics.results.io import Results, csv_ready
from opmetrics.results.schema import RESULT_TABLES

SHEET_ROWS = EXCEL_MAX_ROWS - 1  # one header row
DESCRIPTIONS = {
    "cpm": "Code Performance Measures: value, target, minimum and status per measure and dimension",
    "srv_summary": "Business process reporting per SRV, region and device type (roll-up rows: is_rollup)",
    "srv_daily": "Daily success and failure per SRV and region, with the Category 1/2 incident flag",
    "srv_party": "Per anonymised SEC Party, SRV, region and device type",
    "dcc_proxy": (
        "The DCC proxy, one of two per process (column proxy): chf_gpf_rtt, the round trip times "
        "(rtt_*) and within_trt of requests targeted at a CHF or GPF; delivery_to_comms_hub, for "
        "a process none of whose SRVs targets one, the time from the DCC receiving a request (or "
        "a future-dated one's execution time) until its command reached the Comms Hub "
        "(to_comms_hub_*, over the requests delivered) and delivered_within_trt"
    ),
    "assumed_values": (
        "Reference values assumed, not confirmed from a public source, that figures rest on: the "
        "assumed column of a table names them for each row, assumed_note in words"
    ),
    "srv_device_set": "Per anonymised party, adaptor, region and device set",
    "alerts_summary": (
        "The Alerts process split into AD1 (the DCC's power outage alert) and device alerts, per "
        "region (ALL = roll-up): raised, consolidated, counted (not consolidated, as CPM3), "
        "delivered and delivered within the alert TRT"
    ),
    "alerts_daily": (
        "Alerts per UK local day, AD1 and device alerts and region (ALL = roll-up): counted, "
        "delivered within the alert TRT, with the Category 1/2 incident flag"
    ),
    "benchmark": "Each party against the industry average and best",
    "league_table": "Anonymised league tables per business process and SRV",
    "insights": "Findings of the diagnosis, with the recommended action",
    "quarantine": "Input rows rejected, with the reason",
}


def write_csv(table: pa.Table, path: Path) -> None:
    pacsv.write_csv(csv_ready(table), path)


# -- XLSX --------------------------------------------------------------------------------------


def about_table(
    tables: dict[str, pa.Table], month: str, produced_on: date, override: str = ""
) -> pa.Table:
    names, rows, notes = [], [], []
    for name, t in tables.items():
        names.append(name)
        rows.append(t.num_rows)
        note = DESCRIPTIONS.get(name, "")
        if "is_rollup" in t.column_names and "is_rollup" not in note:
            note += ". Rows with is_rollup true sum other rows (rolled_up says over what): filter them out before a pivot"
        if t.num_rows > SHEET_ROWS:
            note += f". This sheet holds the first {SHEET_ROWS:,} rows (Excel's limit); csv/{name}.csv holds all"
        notes.append(note)
    names += ["month", "produced"]
    rows += [None, None]
    notes += [month, produced_on.isoformat()]
    if override and tables.get("assumed_values") is not None and tables["assumed_values"].num_rows:
        names.append("assumed values")
        rows.append(None)
        notes.append(
            f"Rows whose figures rest on an assumed value say so in assumed (keys) and "
            f"assumed_note ({fmt.MARK} and the values in words). To override: {override}."
        )
    return pa.table({"table": names, "rows": pa.array(rows, pa.int64()), "what it holds": notes})


def write_xlsx(
    tables: dict[str, pa.Table],
    path: Path,
    month: str,
    produced_on: date,
    stamp: datetime,
    on_rows: Callable[[int], None],
    override: str = "",
) -> None:
    sheets = [
        Sheet("about", about_table(tables, month, produced_on, override)),
        Sheet("columns", columns_table(tables)),
    ]
    sheets += [Sheet(name[:31], t.slice(0, SHEET_ROWS)) for name, t in tables.items()]
    try:
        write_workbook(
            sheets, path, title=f"Operational Metrics results {month}", stamp=stamp, on_rows=on_rows
        )
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror})", path=str(path)) from None


def shared_tables(results: Results) -> dict[str, pa.Table]:
    """Every shared results table the folder holds (never `restricted/`)."""
    return {name: results.table(name) for name in RESULT_TABLES if results.has(name)}


def data_tables(results: Results, assumed: Assumptions) -> dict[str, pa.Table]:
    """The tables of the data files: every shared results table, annotated and named (names
    beside ids, roll-up rows flagged: `named`), and the assumed values they rest on."""
    tables = {
        name: name_table(annotate(name, t, assumed), assumed.catalog)
        for name, t in shared_tables(results).items()
    }
    tables["assumed_values"] = assumed_values_table(assumed)
    return tables


def write_data_files(
    results: Results,
    folder: Path,
    month: str,
    produced_on: date,
    stamp: datetime,
    on_rows: Callable[[int], None],
    assumed: Assumptions,
) -> list[Path]:
    tables = data_tables(results, assumed)
    csv_dir = folder / "csv"
    csv_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for name, t in tables.items():
        p = csv_dir / f"{name}.csv"
        write_csv(t, p)
        out.append(p)
    x = folder / f"{month}-results.xlsx"
    write_xlsx(tables, x, month, produced_on, stamp, on_rows, assumed.override)
    out.append(x)
    return out


def total_rows(results: Results, assumed: Assumptions) -> int:
    return sum(t.num_rows for t in shared_tables(results).values()) + len(assumed.listed)


def table_names(results: Results) -> list[str]:
    """The data files' table names, in the order they are written."""
    return [*shared_tables(results), "assumed_values"]
