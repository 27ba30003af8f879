"""The façade every entry point goes through: a catalog, an engine and a progress sink.

The CLI is a thin layer over `Context`; library users call `opmetrics.validate(...)`,
`opmetrics.compute(...)` etc., which open a `Context` for the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from opmetrics.analytics import DEFAULT_MIN_VOLUME
from opmetrics.catalog import Catalog, load_catalog
from opmetrics.contract.sources import locate_all
from opmetrics.engine import Engine, EngineOptions, connect
from opmetrics.errors import OutputError
from opmetrics.measures.anonymise import resolve_key
from opmetrics.month import Month
from opmetrics.progress import NO_PROGRESS, Progress
from opmetrics.results.compute import ComputeSummary, compute_month
from opmetrics.results.io import write_csv
from opmetrics.results.schema import RESTRICTED_DIR
from opmetrics.validation.validate import TableReport, validate
from opmetrics.workspace import scratch_dir


@dataclass
class ValidationSummary:
    """What `validate` found: per-table counts and the quarantined rows.

    `quarantine` is value-free (table, source, row, reason code, reason) and may be shared;
    `quarantine_rows` adds the detailed reasons and the raw rows, which can name a party.
    """

    tables: dict[str, TableReport]
    quarantine: pa.Table
    warnings: list[str]
    quarantine_rows: pa.Table

    @property
    def quarantined_total(self) -> int:
        return sum(t.quarantined_total for t in self.tables.values())

    def write_quarantine(self, path: str | Path) -> list[Path]:
        """Write the value-free list to `path` (CSV) and the raw rows to
        `restricted/<stem>_rows.csv` beside it; returns the files written.

        Nothing is written when nothing was quarantined, except that files an earlier run left
        at those paths are emptied (header only), so they never describe another run.
        """
        path = Path(path)
        rows = restricted_rows_path(path)
        written: list[Path] = []
        for table, p in ((self.quarantine, path), (self.quarantine_rows, rows)):
            if self.quarantine_rows.num_rows == 0 and not p.exists():
                continue
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
                write_csv(table, p)  # raw rows may start with = + - @: neutralised
            except OSError as exc:
                raise OutputError(f"cannot write ({exc.strerror})", path=str(p)) from None
            written.append(p)
        return written


def restricted_rows_path(path: Path) -> Path:
    """Where `validate` writes the raw rows of the quarantine list at `path`."""
    return path.parent / RESTRICTED_DIR / f"{path.stem}_rows{path.suffix or '.csv'}"


class Context:
    """A catalog + an engine, opened once and shared by the steps of a run."""

    def __init__(
        self,
        catalog: Catalog | str | Path | None = None,
        engine: EngineOptions | str | None = None,
        progress: Progress = NO_PROGRESS,
    ) -> None:
        self.catalog = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
        self.engine_options = (
            EngineOptions(name=engine) if isinstance(engine, str) else (engine or EngineOptions())
        )
        self.progress = progress
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = connect(self.engine_options)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- steps -----------------------------------------------------------------------------

    def validate(self, data_dir: str | Path) -> ValidationSummary:
        """Read and check every table of a data dir (design §3); nothing is written."""
        data_dir = Path(data_dir)
        with self.progress.task("Locating tables") as task:
            sources = locate_all(data_dir)
            task.advance()
        with scratch_dir() as work, self.progress.task("Validating", total=len(sources)) as task:
            result = validate(
                self.engine,
                sources,
                self.catalog,
                work,
                on_table=lambda name: task.update(description=f"Validating {name}"),
            )
            task.advance(len(sources))
            return ValidationSummary(
                result.tables, result.quarantine, result.warnings, result.quarantine_rows
            )

    def compute(
        self,
        data_dir: str | Path,
        month: str | Month,
        out: str | Path,
        *,
        anon_key: str | None = None,
        party_failures: bool = True,
        min_volume: int = DEFAULT_MIN_VOLUME,
        labels: str | Path | None = None,
    ) -> ComputeSummary:
        """Compute every measure of one month into a results folder (design §4).

        `labels`: an earlier month's results folder (or its `restricted/party_labels.csv`),
        made with the same key; every party labelled there keeps its label.
        """
        m = month if isinstance(month, Month) else Month.parse(month)
        with scratch_dir() as work:
            return compute_month(
                self.engine,
                self.catalog,
                Path(data_dir),
                m,
                Path(out),
                work,
                resolve_key(anon_key),
                self.progress,
                party_failures,
                min_volume,
                Path(labels) if labels is not None else None,
            )


def validate_data(
    data_dir: str | Path,
    catalog: Catalog | str | Path | None = None,
    engine: EngineOptions | str | None = None,
) -> ValidationSummary:
    """Validate a data dir with a one-off `Context`."""
    with Context(catalog, engine) as ctx:
        return ctx.validate(data_dir)


def compute(
    data_dir: str | Path,
    month: str | Month,
    out: str | Path,
    *,
    catalog: Catalog | str | Path | None = None,
    engine: EngineOptions | str | None = None,
    anon_key: str | None = None,
    progress: Progress = NO_PROGRESS,
    min_volume: int = DEFAULT_MIN_VOLUME,
    labels: str | Path | None = None,
) -> ComputeSummary:
    """Compute one month into a results folder with a one-off `Context`."""
    with Context(catalog, engine, progress) as ctx:
        return ctx.compute(
            data_dir, month, out, anon_key=anon_key, min_volume=min_volume, labels=labels
        )
