"""Write and read a results folder: each table as Parquet and CSV, plus `manifest.json`.

Reports read only this (design §2): a pack can be re-rendered without recomputing, and the
folder with its manifest is what an auditor receives. Files are written in a stable order with
stable content so the same inputs give byte-identical results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import ValidationError

from opmetrics.errors import OutputError
from opmetrics.results.manifest import SCHEMA_VERSION, Manifest
from opmetrics.results.schema import (
    PARTY_FAILURES,
    PARTY_FAILURES_DIR,
    PARTY_FAILURES_FILE,
    RESTRICTED_DIR,
    RESTRICTED_TABLES,
    RESULT_TABLES,
)

MANIFEST = "manifest.json"
PARTY_KEY = "party_label"
# What differs from one run of the same inputs to the next (when, how long each stage took):
# kept out of the manifest so that every other file of a results folder is reproducible.
RUN_RECORD = "run.json"
CSV_DECIMALS = 4
FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r")


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast/reorder a table to a results schema; missing columns become nulls."""
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            cols.append(col if col.type == f.type else pc.cast(col, f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def neutralise_formulas(col: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Text a spreadsheet would run as a formula (starting with one of FORMULA_CHARS), prefixed
    with an apostrophe so it shows as written: the one rule for every CSV and XLSX written."""
    starts = [pc.starts_with(col, ch) for ch in FORMULA_CHARS]
    formula = starts[0]
    for s in starts[1:]:
        formula = pc.or_(formula, s)
    if not pc.any(formula).as_py():
        return col
    quote, nothing = pa.scalar("'", col.type), pa.scalar("", col.type)
    return pc.if_else(formula, pc.binary_join_element_wise(quote, col, nothing), col)


def csv_ready(table: pa.Table, round_floats: bool = True) -> pa.Table:
    """Floats rounded for people (Parquet keeps full precision), formulas neutralised."""
    cols = []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_floating(col.type) and round_floats:
            col = pc.round(col, CSV_DECIMALS)
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = neutralise_formulas(col)
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names)


def write_csv(table: pa.Table, path: Path, *, round_floats: bool = True) -> None:
    """A CSV for people: floats rounded, text a spreadsheet would run as a formula neutralised."""
    pacsv.write_csv(csv_ready(table, round_floats), path)


def write_table(folder: Path, name: str, table: pa.Table) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / f"{name}.parquet", compression="zstd", write_statistics=True)
    write_csv(table, folder / f"{name}.csv")


def write_manifest(folder: Path, manifest: Manifest) -> None:
    (folder / MANIFEST).write_text(
        json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def read_manifest(path: Path) -> Manifest:
    """A results folder's manifest.json, validated; any schema version this one can read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OutputError(f"manifest.json is not valid JSON ({exc})", path=str(path)) from None
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the top level"
        raise OutputError(
            f"manifest.json is not a results manifest ({where}: {first['msg']})", path=str(path)
        ) from None
    if manifest.schema_version > SCHEMA_VERSION:
        raise OutputError(
            f"results written by a newer opmetrics (schema_version {manifest.schema_version}; "
            f"this one reads up to {SCHEMA_VERSION}): upgrade opmetrics to read them",
            path=str(path),
        )
    return manifest


def write_run_record(folder: Path, timings_s: dict[str, float]) -> None:
    record = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "timings_s": timings_s,
    }
    (folder / RUN_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


@dataclass
class Results:
    """A results folder opened for reading."""

    path: Path
    manifest: Manifest
    _cache: dict[str, pa.Table] = field(default_factory=dict)

    @property
    def month(self) -> str:
        return self.manifest.month

    def has(self, name: str) -> bool:
        return (self.path / f"{name}.parquet").exists()

    def table(self, name: str) -> pa.Table:
        """A results table; an empty one (with its schema) if this folder does not hold it."""
        if name not in self._cache:
            p = self.path / f"{name}.parquet"
            schema = RESULT_TABLES.get(name)
            if p.exists():
                try:
                    t = pq.read_table(p)
                except (pa.ArrowInvalid, OSError) as exc:
                    raise OutputError(
                        f"results table {name} is unreadable ({exc})", path=str(p)
                    ) from None
                self._cache[name] = conform(t, schema) if schema is not None else t
            elif schema is not None:
                self._cache[name] = schema.empty_table()
            else:
                raise OutputError(f"results folder has no table {name!r}", path=str(self.path))
        return self._cache[name]

    def restricted(self, name: str) -> pa.Table:
        """A restricted table (e.g. party_failures): for one party's own pack only."""
        if name == "party_failures":
            return read_party_failures(self.path / RESTRICTED_DIR)
        p = self.path / RESTRICTED_DIR / f"{name}.parquet"
        if not p.exists():
            return RESTRICTED_TABLES[name].empty_table()
        return conform(pq.read_table(p), RESTRICTED_TABLES[name])


FAILURE_ORDER = (PARTY_KEY, "received_at", "request_id")


def read_party_failures(restricted: Path, label: str | None = None) -> pa.Table:
    """Every party's failed requests, or the party `label`'s, as PARTY_FAILURES sorted by
    label, `received_at` and `request_id` (the order a pack lists them in).

    Reads the dataset `party_failures/party_label=<label>/*.parquet` (only that label's folder
    for one party) or, in a results folder written before that layout, the single file
    `party_failures.parquet`. A folder with neither has no failures (compute run without the
    extract).
    """
    folder, single = restricted / PARTY_FAILURES_DIR, restricted / PARTY_FAILURES_FILE
    parts: list[pa.Table] = []
    if folder.is_dir():
        prefix = f"{PARTY_KEY}="
        wanted = None if label is None else f"{prefix}{quote(label, safe='')}"
        for d in sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith(prefix)):
            if wanted is not None and d.name != wanted:
                continue
            value = unquote(d.name.removeprefix(prefix))
            for f in sorted(d.glob("*.parquet")):
                t = _read_restricted(f)
                t = t.append_column(PARTY_KEY, pa.array([value] * t.num_rows, pa.string()))
                parts.append(conform(t, PARTY_FAILURES))
    elif single.is_file():
        only = None if label is None else [(PARTY_KEY, "==", label)]  # row groups pruned
        parts.append(conform(_read_restricted(single, only), PARTY_FAILURES))
    if not parts:
        return PARTY_FAILURES.empty_table()
    return pa.concat_tables(parts).sort_by([(c, "ascending") for c in FAILURE_ORDER])


def _read_restricted(path: Path, filters: list[tuple[str, str, str]] | None = None) -> pa.Table:
    try:
        return pq.read_table(path, filters=filters)
    except (pa.ArrowInvalid, OSError) as exc:
        raise OutputError(f"restricted file is unreadable ({exc})", path=str(path)) from None


def read_results(path: str | Path) -> Results:
    p = Path(path)
    m = p / MANIFEST
    if not m.is_file():
        raise OutputError(
            "not a results folder (no manifest.json); run `opmetrics compute` first", path=str(p)
        )
    return Results(p, read_manifest(m))
