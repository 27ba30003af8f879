"""Find each table of a data dir and check its structure before any engine touches it.

Structural problems (a required table missing, a column missing or of the wrong type, a file
that is not Parquet, a CSV that is not UTF-8) stop the run here with an error naming the file
and the column or byte offset. Row problems are left to the row rules (`rules.py`).

CSV files are staged once into Parquet (typed, with the line number of every row and the first
cell that did not parse), so engines only ever read Parquet.

A folder of the big event tables may be partitioned by day (`service_requests/date=2021-04-01/
part-0.parquet`, hive style). When a month is given, a partition dated outside the month's dates
is left unread (partition pruning) only when its Parquet footers prove that it holds no row of
the month: producers date partitions in UTC or in UK local time, and a misdated partition must
not lose the month's rows in silence (see `prune_month`).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from opmetrics.contract.partitions import (
    MONTH_INSTANT,
    PARTITION_KEY,
    partition_date,
    prune_month,
)
from opmetrics.contract.schema import (
    ARROW_TYPES,
    FILE_COLUMN,
    INVALID_COLUMN,
    ROW_COLUMN,
    TABLES,
    ColumnType,
    TableSpec,
)
from opmetrics.errors import (
    ColumnTypeError,
    DataContractError,
    MissingColumnError,
    MissingTableError,
    NoDataError,
    UnreadableFileError,
)

SourceKind = Literal["parquet", "parquet_dir", "csv"]


@dataclass
class TableSource:
    """One table of a data dir, as found on disk."""

    spec: TableSpec
    kind: SourceKind
    path: Path  # the file or folder named after the table
    files: tuple[Path, ...]  # the data files (Parquet files, or the CSV)
    columns: tuple[str, ...]  # contract columns present
    extra_columns: tuple[str, ...]  # columns the contract does not know (ignored)
    rows: int | None = None  # known without a scan (Parquet metadata); None for CSV until staged
    staged: tuple[Path, ...] = ()  # Parquet files the engines read (CSV: the staged copy)
    malformed: list[MalformedRow] = field(default_factory=list)  # CSV rows that did not parse
    skipped: tuple[Path, ...] = ()  # partition files proven to hold no row of the month
    # What the month's reader must be told: partitions dated outside the month that were read
    # because they hold (or may hold) rows of it. Compute adds them to the manifest's warnings.
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def read_paths(self) -> tuple[Path, ...]:
        return self.staged or self.files

    def split(self, parts: int) -> list[TableSource]:
        """The table as up to `parts` tables of consecutive files of about equal bytes, which
        together read every row once: for an engine that works on a large table a part at a
        time. A table of one file stays whole; a part's row count is not known."""
        paths = self.read_paths
        n = min(parts, len(paths))
        if n <= 1:
            return [self]
        sizes = [p.stat().st_size for p in paths]
        total = sum(sizes) or 1
        groups: list[list[Path]] = [[] for _ in range(n)]
        before = 0
        for path, size in zip(paths, sizes, strict=True):
            groups[min(n - 1, before * n // total)].append(path)
            before += size
        if self.staged:
            return [replace(self, staged=tuple(g), rows=None) for g in groups if g]
        return [replace(self, files=tuple(g), rows=None) for g in groups if g]


@dataclass(frozen=True)
class MalformedRow:
    """A CSV record that could not be split into the header's fields."""

    line: int | None
    text: str
    expected_fields: int
    found_fields: int


def locate(
    data_dir: Path, spec: TableSpec, dates: Collection[date] | None = None
) -> TableSource | None:
    """Find the file(s) of one table; None when absent and not required.

    With `dates` (a month's UK local dates), a folder of a table in `MONTH_INSTANT` that is
    partitioned by `date=` keeps the files of those dates and of any other date whose footers do
    not prove it holds no row of the month (`prune_month`); the others go to `skipped`.
    """
    candidates: list[tuple[SourceKind, Path]] = []
    for kind, p in (
        ("parquet", data_dir / f"{spec.name}.parquet"),
        ("parquet_dir", data_dir / spec.name),
        ("csv", data_dir / f"{spec.name}.csv"),
    ):
        if (kind == "parquet_dir" and p.is_dir()) or (kind != "parquet_dir" and p.is_file()):
            candidates.append((kind, p))  # type: ignore[arg-type]
    if not candidates:
        if spec.required:
            raise MissingTableError(
                f"required table {spec.name!r} not found (expected {spec.name}.parquet, "
                f"{spec.name}.csv or a folder {spec.name}/ of Parquet files)",
                path=str(data_dir),
                table=spec.name,
            )
        return None
    if len(candidates) > 1:
        names = ", ".join(p.name for _, p in candidates)
        raise DataContractError(
            f"table {spec.name!r} is given more than once ({names}); keep one",
            path=str(data_dir),
            table=spec.name,
        )
    kind, path = candidates[0]
    if kind == "csv":
        return _inspect_csv(spec, path)
    files = (path,) if kind == "parquet" else tuple(sorted(path.rglob("*.parquet")))
    if not files:
        raise DataContractError(
            f"folder holds no .parquet files for table {spec.name!r}",
            path=str(path),
            table=spec.name,
        )
    skipped: tuple[Path, ...] = ()
    warnings: list[str] = []
    if dates is not None and kind == "parquet_dir" and spec.name in MONTH_INSTANT:
        files, skipped, warnings = prune_month(path, files, dates, spec.name)
    if not files:  # a partitioned folder with no partition holding a row of the month
        if spec.required:
            found = sorted({d for f in skipped if (d := partition_date(f, path)) is not None})
            raise NoDataError(
                f"no {PARTITION_KEY}= partition of {spec.name} falls in the month or holds a "
                f"row of it (its partitions run from {found[0]} to {found[-1]})",
                path=str(path),
                table=spec.name,
            )
        empty = _inspect_parquet(spec, kind, path, skipped[:1])  # structure from one file
        empty.files, empty.rows, empty.skipped = (), 0, skipped
        return empty
    src = _inspect_parquet(spec, kind, path, files)
    src.skipped, src.warnings = skipped, warnings
    return src


def locate_all(
    data_dir: Path, tables: tuple[str, ...] | None = None, dates: Collection[date] | None = None
) -> dict[str, TableSource]:
    """Every table of a data dir; with `dates`, day partitions holding no row of them are
    pruned (`prune_month`)."""
    if not data_dir.is_dir():
        raise DataContractError("data dir does not exist or is not a folder", path=str(data_dir))
    out: dict[str, TableSource] = {}
    for name in tables or tuple(TABLES):
        src = locate(data_dir, TABLES[name], dates)
        if src is not None:
            out[name] = src
    return out


# -- Parquet ---------------------------------------------------------------------------------


def _type_ok(expected: ColumnType, found: pa.DataType) -> bool:
    if pa.types.is_dictionary(found):
        found = found.value_type
    if expected == "string":
        return (
            pa.types.is_string(found)
            or pa.types.is_large_string(found)
            or pa.types.is_string_view(found)
        )
    if expected == "int":
        return pa.types.is_integer(found)
    if expected == "timestamp":
        return pa.types.is_timestamp(found)
    if expected == "bool":
        return pa.types.is_boolean(found)
    return False


def _inspect_parquet(
    spec: TableSpec, kind: SourceKind, path: Path, files: tuple[Path, ...]
) -> TableSource:
    schema: pa.Schema | None = None
    rows = 0
    for f in files:
        try:
            meta = pq.read_metadata(f)
            file_schema = meta.schema.to_arrow_schema()
        except (pa.ArrowInvalid, OSError, pa.ArrowException) as exc:
            raise UnreadableFileError(
                f"not a readable Parquet file ({_short(exc)})", path=str(f), table=spec.name
            ) from None
        rows += meta.num_rows
        if schema is None:
            schema = file_schema
            first = f
        else:
            for name in spec.column_names:
                a = schema.field(name).type if name in schema.names else None
                b = file_schema.field(name).type if name in file_schema.names else None
                if (a is None) != (b is None) or (
                    a is not None and b is not None and not _same_family(a, b)
                ):
                    raise ColumnTypeError(
                        f"column {name!r} is {b} here but {a} in {first.name}",
                        path=str(f),
                        table=spec.name,
                        column=name,
                        expected=str(a),
                        found=str(b),
                    )
    assert schema is not None
    _check_columns(
        spec,
        str(files[0]) if kind == "parquet" else str(path),
        {n: schema.field(n).type for n in schema.names},
    )
    present = tuple(c for c in spec.column_names if c in schema.names)
    extra = tuple(n for n in schema.names if n not in spec.column_names)
    return TableSource(spec, kind, path, files, present, extra, rows=rows)


def _same_family(a: pa.DataType, b: pa.DataType) -> bool:
    for fam in ("string", "int", "timestamp", "bool"):
        if _type_ok(fam, a):
            return _type_ok(fam, b)
    return a == b


def _check_columns(spec: TableSpec, where: str, found: dict[str, pa.DataType]) -> None:
    missing = [c.name for c in spec.columns if c.name not in found]
    if missing:
        raise MissingColumnError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} (table {spec.name})",
            path=where,
            table=spec.name,
            column=missing[0],
            details={"missing": missing},
        )
    for c in spec.columns:
        t = found[c.name]
        if t is not None and not _type_ok(c.type, t):
            raise ColumnTypeError(
                f"column {c.name!r} has type {t}, expected {c.type} (table {spec.name})",
                path=where,
                table=spec.name,
                column=c.name,
                expected=c.type,
                found=str(t),
            )


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


# -- CSV -------------------------------------------------------------------------------------


def _inspect_csv(spec: TableSpec, path: Path) -> TableSource:
    check_utf8(path)
    try:
        head = _first_line(path)
    except OSError as exc:
        raise UnreadableFileError(
            f"cannot read ({exc.strerror})", path=str(path), table=spec.name
        ) from None
    if not head:
        raise UnreadableFileError(
            "empty file: no header line", path=str(path), table=spec.name, line=1
        )
    header = next(iter(pacsv_header(head)))
    if len(header) == 1:  # one column: most likely another delimiter
        for delimiter, what in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
            if delimiter in head:
                raise UnreadableFileError(
                    f"the header has {what} and no commas: CSV files must be comma-separated",
                    path=str(path),
                    table=spec.name,
                    line=1,
                )
    _check_columns(spec, str(path), {n: None for n in header})
    present = tuple(c for c in spec.column_names if c in header)
    extra = tuple(n for n in header if n not in spec.column_names)
    return TableSource(spec, "csv", path, (path,), present, extra)


def pacsv_header(line: str) -> Iterator[list[str]]:
    import csv

    yield next(csv.reader([line]))


def check_utf8(path: Path) -> None:
    """Fail with the byte offset of the first byte sequence that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    line = _line_of(path, offset + exc.start)
                    bom = offset == 0 and chunk.startswith((b"\xff\xfe", b"\xfe\xff"))
                    hint = "; it starts like UTF-16: save it as UTF-8" if bom else ""
                    raise UnreadableFileError(
                        f"not UTF-8: invalid byte 0x{chunk[exc.start]:02x} at byte offset {offset + exc.start} (line {line}){hint}",
                        path=str(path),
                        byte_offset=offset + exc.start,
                        line=line,
                    ) from None
                offset += len(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UnreadableFileError(
            f"not UTF-8: truncated character at end of file (byte offset {offset})",
            path=str(path),
            byte_offset=offset,
        ) from None
    except OSError as exc:
        raise UnreadableFileError(f"cannot read ({exc.strerror})", path=str(path)) from None


def _line_of(path: Path, byte_offset: int) -> int:
    with path.open("rb") as fh:
        return fh.read(byte_offset).count(b"\n") + 1


_TS_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}(:?\d{2})?)$"
_INT_PATTERN = r"^\s*[+-]?\d{1,18}\s*$"
_BOOL_TRUE = ("true", "True", "TRUE", "1", "t", "yes")
_BOOL_FALSE = ("false", "False", "FALSE", "0", "f", "no")


def stage_csv(
    source: TableSource, work_dir: Path, on_batch: Callable[[int], None] | None = None
) -> None:
    """Convert a CSV table to typed Parquet in `work_dir`, recording cells that do not parse.

    Every staged row carries its CSV line number (`_row`) and, if a cell did not convert to its
    column type, `_invalid` = "column=value" of the first such cell (the row rules quarantine it).
    Records with the wrong number of fields are kept aside as `MalformedRow`s.

    The contract's values hold no line breaks, so a record is a line. The CSV parser lets a
    quoted field run across lines, though: one stray quote would swallow every following line up
    to the next quote (or the end of the file) into a single malformed record, and a few rows
    later stop the reader altogether. When the fast pass's records do not match the file's lines,
    the file is staged again from a copy in which each line that is not a record on its own is
    set aside as malformed, so a stray quote costs its own line and nothing else.
    """
    out = work_dir / f"{source.spec.name}.parquet"
    try:
        rows, malformed = _stage_pass(source, source.path, out, [], on_batch)
        one_line_each = not any("\n" in m.text for m in malformed)
        if one_line_each and rows + len(malformed) == _data_lines(source.path):
            source.staged, source.malformed, source.rows = (out,), malformed, rows + len(malformed)
            return
    except _RecordsSpanLines:
        pass
    copy = work_dir / f"{source.spec.name}.lines.csv"
    set_aside, blank = _isolate_lines(source.path, copy, len(_header(source.path)))
    try:
        rows, malformed = _stage_pass(source, copy, out, blank, None)
    except _RecordsSpanLines as exc:  # not expected once every line is a record
        raise UnreadableFileError(
            f"cannot parse CSV ({exc})", path=str(source.path), table=source.spec.name
        ) from None
    finally:
        copy.unlink(missing_ok=True)
    malformed = sorted(set_aside + malformed, key=lambda m: m.line or 0)
    source.staged, source.malformed, source.rows = (out,), malformed, rows + len(malformed)


class _RecordsSpanLines(Exception):
    """The CSV parser lost track of lines (a quoted field ran across them)."""


# A line longer than this is not a record (the parser reads blocks of twice this size).
_MAX_LINE = 1 << 23


def _first_line(path: Path) -> str:
    """The header line, ended at LF, CRLF or a lone CR (as the parser ends lines)."""
    with path.open("r", encoding="utf-8-sig", newline=None) as fh:
        return fh.readline().rstrip("\n")


def _header(path: Path) -> list[str]:
    return next(iter(pacsv_header(_first_line(path))))


def _data_lines(path: Path) -> int:
    """Lines after the header, ended as the parser ends them (LF, CRLF or a lone CR)."""
    n, prev = 0, b""
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            n += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
            if prev == b"\r" and chunk.startswith(b"\n"):
                n -= 1  # a CRLF split between two chunks
            prev = chunk[-1:]
    return n + (prev not in (b"\n", b"\r", b"")) - 1


def _isolate_lines(
    path: Path, copy: Path, fields: int
) -> tuple[list[MalformedRow], list[tuple[int, int]]]:
    """Copy a CSV, blanking each line that is not one whole record of `fields` fields.

    Returns the blanked lines that held something (as malformed rows) and every blank line of
    the copy (the parser skips blank lines; staging must skip their numbers). Lines end at LF,
    CRLF or a lone CR, as the parser's do; the copy ends each with LF.
    """
    import csv

    malformed: list[MalformedRow] = []
    blank: list[tuple[int, int]] = []
    with (
        path.open("r", encoding="utf-8", newline=None) as src,
        copy.open("w", encoding="utf-8", newline="\n") as dst,
    ):
        dst.write(src.readline())
        for n, line in enumerate(src, start=2):
            body = line.rstrip("\n")
            if not body.strip():
                blank.append((n, n))
                dst.write("\n")
                continue
            found: int | None = None
            ok = len(body) <= _MAX_LINE
            if ok and '"' not in body:
                found = body.count(",") + 1
            elif ok:
                try:
                    found = len(next(csv.reader([body], strict=True)))
                except csv.Error:
                    found = len(next(csv.reader([body])))
                    ok = False
            if ok and found == fields:
                dst.write(body + "\n")
                continue
            malformed.append(MalformedRow(n, body, fields, found or body.count(",") + 1))
            blank.append((n, n))
            dst.write("\n")
    return malformed, blank


def _stage_pass(
    source: TableSource,
    csv_path: Path,
    out: Path,
    blank: list[tuple[int, int]],
    on_batch: Callable[[int], None] | None,
) -> tuple[int, list[MalformedRow]]:
    """One pass of the parser over `csv_path` into `out`: rows written, malformed records."""
    spec = source.spec
    malformed: list[MalformedRow] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        malformed.append(
            MalformedRow(row.number, row.text, row.expected_columns, row.actual_columns)
        )
        return "skip"

    column_types = {n: pa.string() for n in source.columns + source.extra_columns}
    try:
        reader = pacsv.open_csv(
            csv_path,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=",",
                quote_char='"',
                newlines_in_values=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=column_types,
                include_columns=list(source.columns),
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise _parse_error(exc, source) from None
    target_schema = spec.arrow_schema()
    schema = pa.schema(
        [
            *[target_schema.field(c).with_nullable(True) for c in source.columns],
            pa.field(FILE_COLUMN, pa.string()),
            pa.field(ROW_COLUMN, pa.int64()),
            pa.field(INVALID_COLUMN, pa.string()),
        ]
    )
    # Line numbers that hold no record: blank lines, and lines malformed records took.
    skipped = np.unique(np.array([n for a, b in blank for n in range(a, b + 1)], np.int64))
    next_line = 2
    rows = 0
    seen_malformed = 0
    with pq.ParquetWriter(out, schema) as writer:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, OSError) as exc:
                raise _parse_error(exc, source) from None
            taken = [
                np.arange(m.line, m.line + m.text.count("\n") + 1, dtype=np.int64)
                for m in malformed[seen_malformed:]
                if m.line is not None
            ]
            if taken:
                skipped = np.union1d(skipped, np.concatenate(taken))
            seen_malformed = len(malformed)
            lines, next_line = _line_numbers(batch.num_rows, next_line, skipped)
            converted = _convert_batch(spec, source.columns, batch)
            arrays = [
                *converted[0],
                pa.array([str(source.path)] * batch.num_rows, pa.string()),
                pa.array(lines, pa.int64()),
                converted[1],
            ]
            writer.write_batch(pa.record_batch(arrays, schema=schema))
            rows += batch.num_rows
            if on_batch:
                on_batch(batch.num_rows)
    return rows, malformed


def _parse_error(exc: BaseException, source: TableSource) -> Exception:
    text = str(exc)
    if "out of sync" in text or "straddl" in text:
        return _RecordsSpanLines(_short(exc))
    return UnreadableFileError(
        f"cannot parse CSV ({_short(exc)})", path=str(source.path), table=source.spec.name
    )


def _line_numbers(n: int, next_line: int, skipped: np.ndarray) -> tuple[np.ndarray, int]:
    """Line numbers of the next `n` records from `next_line` on, passing over `skipped` lines."""
    lo = int(np.searchsorted(skipped, next_line))
    span, hi = n, lo
    while True:  # widen the span by the skipped lines inside it until n lines remain
        hi = int(np.searchsorted(skipped, next_line + span))
        if n + (hi - lo) == span:
            break
        span = n + (hi - lo)
    candidates = np.arange(next_line, next_line + span, dtype=np.int64)
    lines = candidates[~np.isin(candidates, skipped[lo:hi], assume_unique=True)]
    return lines, int(lines[-1]) + 1 if n else next_line


def _convert_batch(
    spec: TableSpec, columns: tuple[str, ...], batch: pa.RecordBatch
) -> tuple[list[pa.Array], pa.Array]:
    """Cast each string column to its contract type; invalid cells become null and are reported."""
    out: list[pa.Array] = []
    invalid: pa.Array = pa.nulls(batch.num_rows, pa.string())
    for name in columns:
        raw = batch.column(batch.schema.get_field_index(name))
        col_type = spec.column(name).type
        values, bad = _convert_column(raw, col_type)
        out.append(values)
        if bad is not None:
            note = pc.binary_join_element_wise(pa.scalar(f"{name}="), raw, "")
            invalid = pc.if_else(pc.and_(bad, pc.is_null(invalid)), note, invalid)
    return out, invalid


def _convert_column(raw: pa.Array, col_type: ColumnType) -> tuple[pa.Array, pa.Array | None]:
    target = ARROW_TYPES[col_type]
    if col_type == "string":
        return raw, None
    present = pc.is_valid(raw)
    if col_type == "bool":
        t = pc.is_in(raw, pa.array(_BOOL_TRUE))
        f = pc.is_in(raw, pa.array(_BOOL_FALSE))
        ok = pc.or_(t, f)
        values = pc.if_else(ok, t, pa.scalar(None, pa.bool_()))
        return values, pc.and_(present, pc.invert(ok))
    pattern = _INT_PATTERN if col_type == "int" else _TS_PATTERN
    ok = pc.match_substring_regex(raw, pattern)
    cleaned = pc.if_else(
        ok, pc.utf8_trim_whitespace(raw) if col_type == "int" else raw, pa.scalar(None, pa.string())
    )
    try:
        values = pc.cast(cleaned, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Shape is right but the value is not (e.g. 2021-02-30): convert cell by cell.
        py: list[object] = []
        ok_list: list[bool] = []
        for v in cleaned.to_pylist():
            if v is None:
                py.append(None)
                ok_list.append(False)
                continue
            try:
                py.append(pc.cast(pa.array([v]), target)[0].as_py())
                ok_list.append(True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                py.append(None)
                ok_list.append(False)
        values = pa.array(py, target)
        ok = pa.array(ok_list)
    bad = pc.and_(present, pc.invert(pc.fill_null(ok, False)))
    return values, bad
