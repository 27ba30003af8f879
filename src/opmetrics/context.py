"""The one way in: every operation of opmetrics is a method of `Context`.

A `Context` holds what the operations of a session share: the catalog (loaded once, when an
operation first needs it), the engine (opened once, and only by an operation that runs queries:
`validate`, `compute`, `ingest_duis`, `run`, `demo`) and the progress sink. The command line is
a thin layer over it; `opmetrics.validate(...)`, `opmetrics.compute(...)`, ... open one for a
single call.

Each operation imports its stage's package when it runs, so that opening a `Context` (or
importing `opmetrics`) loads no pandas, Arrow, Ibis or chart library: `opmetrics --help` and the
light commands start at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from opmetrics.defaults import (
    DEFAULT_MIN_VOLUME,
    DEFAULT_WAIT_SECONDS,
    DEMO_MONTH,
    DEMO_REQUESTS,
    DEMO_SEED,
    GENERATE_MONTH,
    GENERATE_REQUESTS,
    GENERATE_SEED,
    SentTime,
)
from opmetrics.engine.options import EngineOptions
from opmetrics.errors import OutputError
from opmetrics.month import Month
from opmetrics.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    import pyarrow as pa

    from opmetrics.catalog import Catalog
    from opmetrics.duis import IngestSummary
    from opmetrics.engine.base import Engine
    from opmetrics.generator import GenerationSummary, Scenario
    from opmetrics.reports import RenderSummary
    from opmetrics.reports.customer_packs import PacksSummary
    from opmetrics.reports.review import ReviewInitSummary
    from opmetrics.results.compute import ComputeSummary
    from opmetrics.results.diff import ResultsDiff
    from opmetrics.validation.validate import TableReport


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
        from opmetrics.results.io import write_csv

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
    from opmetrics.results.schema import RESTRICTED_DIR

    return path.parent / RESTRICTED_DIR / f"{path.stem}_rows{path.suffix or '.csv'}"


@dataclass
class RunSummary:
    """What `run` (and `demo`) wrote: the results folder, then the reports rendered from it."""

    data_dir: Path
    results_dir: Path
    reports_dir: Path
    compute: ComputeSummary
    reports: RenderSummary


def demo_produced_on(month: Month) -> date:
    """The date on the demo's packs: five Working Days before they are due, as a team working to
    the MP122 timetable would date them (a real run dates them today)."""
    from opmetrics.workdays import add_working_days, pack_due_date

    return add_working_days(pack_due_date(month), -5)


class Context:
    """A catalog, an engine and a progress sink, shared by the operations of a session."""

    def __init__(
        self,
        catalog: Catalog | str | Path | None = None,
        engine: EngineOptions | str | None = None,
        progress: Progress = NO_PROGRESS,
    ) -> None:
        self._catalog: Catalog | None = None
        self._catalog_path: str | Path | None = None
        if isinstance(catalog, str | Path) or catalog is None:
            self._catalog_path = catalog
        else:
            self._catalog = catalog
        self.engine_options = (
            EngineOptions(name=engine) if isinstance(engine, str) else (engine or EngineOptions())
        )
        self.progress = progress
        self._engine: Engine | None = None

    @property
    def catalog(self) -> Catalog:
        """The reference catalog (the shipped one unless another was given), loaded once."""
        if self._catalog is None:
            from opmetrics.catalog import load_catalog

            self._catalog = load_catalog(self._catalog_path)
        return self._catalog

    @property
    def engine(self) -> Engine:
        """The engine, opened by the first operation that runs a query."""
        if self._engine is None:
            from opmetrics.engine import connect

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

    # -- the operations ------------------------------------------------------------------------

    def validate(self, data_dir: str | Path) -> ValidationSummary:
        """Read and check every table of a data dir (design §3); nothing is written."""
        from opmetrics.contract.sources import locate_all
        from opmetrics.validation.validate import validate
        from opmetrics.workspace import scratch_dir

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
        from opmetrics.measures.anonymise import resolve_key
        from opmetrics.results.compute import compute_month, month_inputs
        from opmetrics.workspace import scratch_dir

        m = month if isinstance(month, Month) else Month.parse(month)
        key, catalog = resolve_key(anon_key), self.catalog
        with scratch_dir() as work:
            labels_from = Path(labels) if labels is not None else None
            inputs = month_inputs(Path(data_dir), m, work, key, self.progress, labels_from)
            # the engine opens once the arguments and the inputs are known to be good
            return compute_month(
                self.engine,
                catalog,
                inputs,
                m,
                Path(out),
                key,
                self.progress,
                party_failures,
                min_volume,
            )

    def render(
        self,
        results_dir: str | Path,
        out_dir: str | Path,
        *,
        history: Sequence[str | Path] = (),
        produced_on: date | None = None,
        review: str | Path | None = None,
    ) -> RenderSummary:
        """Render a results folder's PDF packs, dashboard and data files (design §2).

        `history`: earlier months' results folders, for the trends; `produced_on` (default
        today) is the date on the covers; `review`: the month's review file (docs/review.md).
        """
        from opmetrics.reports.packs import render

        return render(
            results_dir,
            out_dir,
            tuple(history),
            produced_on,
            self.progress,
            catalog=self.catalog,
            review=review,
        )

    def review_init(
        self,
        results_dir: str | Path,
        opsg: date,
        *,
        previous: str | Path | None = None,
        out: str | Path | None = None,
        force: bool = False,
    ) -> ReviewInitSummary:
        """Write a month's starter review file (docs/review.md): its standing metrics and
        findings to comment on, its ad-hoc list, and the actions of the `previous` review file
        that are not closed. `out` defaults to `opsg-review-YYYY-MM.toml` in the current folder;
        an existing file is kept unless `force`."""
        from opmetrics.reports.review import write_starter

        return write_starter(results_dir, opsg, previous, out, force, self.catalog)

    def customer_packs(
        self,
        results_dir: str | Path,
        out: str | Path,
        *,
        parties: Sequence[str] | None = None,
        all_parties: bool = False,
        produced_on: date | None = None,
    ) -> PacksSummary:
        """Per party (`parties`, by user_id, or `all_parties`): a PDF, an XLSX and a CSV of its
        own failed requests, against the industry (docs/customer-packs.md)."""
        from opmetrics.reports.customer_packs import customer_packs

        return customer_packs(
            results_dir,
            out,
            user_ids=list(parties) if parties else None,
            all_parties=all_parties,
            produced_on=produced_on,
            catalog=self.catalog,
            progress=self.progress,
        )

    def ingest_duis(
        self,
        archive: str | Path,
        out: str | Path,
        *,
        devices: str | Path | None = None,
        sent_time: SentTime = "auto",
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        roles: str | Mapping[str, str] | Sequence[str] = "UNKNOWN",
    ) -> IngestSummary:
        """Read a party's DUIS message archive into a data dir (docs/duis.md).

        `roles`: the User Role of every originator (a string), per originator (a mapping of
        EUI-64 to role), or as `--user-role` values (`ROLE` and/or `EUI-64=ROLE`).
        """
        from opmetrics.duis import ingest_duis, parse_roles

        given = roles if isinstance(roles, str | Mapping) else parse_roles(list(roles))
        return ingest_duis(
            archive,
            out,
            devices=devices,
            sent_time=sent_time,
            wait_seconds=wait_seconds,
            roles=given,
            catalog=self.catalog,
            engine=lambda: self.engine,  # opened once the arguments are checked
            progress=self.progress,
        )

    def generate(
        self,
        out: str | Path,
        month: str | Month = GENERATE_MONTH,
        *,
        requests: int = GENERATE_REQUESTS,
        seed: int = GENERATE_SEED,
        fmt: str = "parquet",
        scenario: Scenario | str | Path | None = None,
        dirty: float = 0.0,
        partition_by_day: bool = False,
        workers: int | None = None,
    ) -> GenerationSummary:
        """Write a synthetic month and its ground truth, truth.json (docs/generator.md)."""
        from opmetrics.generator import generate_month

        return generate_month(
            out,
            month,
            requests=requests,
            seed=seed,
            fmt=fmt,  # type: ignore[arg-type]  # checked by generate_month
            scenario=scenario,
            dirty=dirty,
            partition_by_day=partition_by_day,
            catalog=self.catalog,
            progress=self.progress,
            workers=workers,
        )

    def diff(self, old: str | Path, new: str | Path, *, tolerance: float = 0.0) -> ResultsDiff:
        """Every measure that differs between two results folders of one month (a restatement);
        figures that moved by at most `tolerance` percentage points count as unchanged."""
        from opmetrics.results.diff import diff_results

        return diff_results(old, new, tolerance=tolerance)

    def run(
        self,
        data_dir: str | Path,
        month: str | Month,
        out: str | Path,
        *,
        anon_key: str | None = None,
        history: Sequence[str | Path] = (),
        produced_on: date | None = None,
        labels: str | Path | None = None,
        review: str | Path | None = None,
    ) -> RunSummary:
        """compute into `out/results`, then render the packs into `out/reports`: what a reporting
        analyst does each month."""
        out = Path(out)
        if review is not None:  # a file that cannot be used stops the run before computing
            from opmetrics.review.model import check_month, load_review

            m = month if isinstance(month, Month) else Month.parse(month)
            check_month(load_review(review), review, m)
        results, reports = out / "results", out / "reports"
        summary = self.compute(data_dir, month, results, anon_key=anon_key, labels=labels)
        rendered = self.render(
            results, reports, history=history, produced_on=produced_on, review=review
        )
        return RunSummary(Path(data_dir), results, reports, summary, rendered)

    def demo(
        self,
        out: str | Path,
        *,
        requests: int = DEMO_REQUESTS,
        seed: int = DEMO_SEED,
        month: str = DEMO_MONTH,
    ) -> RunSummary:
        """Generate a synthetic month into `out/data`, then `run` on it: everything opmetrics
        produces, in about a minute."""
        out = Path(out)
        m = Month.parse(month)
        self.generate(out / "data", m, requests=requests, seed=seed)
        return self.run(out / "data", m, out, produced_on=demo_produced_on(m))

    # -- the reference data ----------------------------------------------------------------------

    def import_trt(self, path: str | Path) -> Catalog:
        """Replace the catalog's Target Response Times of the scopes a TRT CSV gives
        (docs/decisions.md); the operations that follow use the result."""
        from opmetrics.catalog.trt_import import import_trt_csv

        self._catalog = import_trt_csv(self.catalog, Path(path))
        return self._catalog

    def write_catalog(self, path: str | Path) -> list[str]:
        """Write the catalog in use as TOML, to edit and pass back with `--catalog`; returns the
        values it still holds as `assumed`, in words."""
        from opmetrics.catalog.assumptions import assumed_values
        from opmetrics.catalog.write import write_catalog

        write_catalog(self.catalog, Path(path))
        return [v.text for v in assumed_values(self.catalog).values()]

    @staticmethod
    def quarantine_reasons() -> dict[str, str]:
        """The quarantine's reason codes and their meaning (a public contract)."""
        from opmetrics.contract.rules import REASONS

        return dict(REASONS)
