"""The top-level functions: each opens a `Context` for one call of the method of the same name.

`opmetrics.compute(data, "2021-04", out, anon_key=...)` is `Context().compute(data, "2021-04",
out, anon_key=...)`. `catalog`, `engine` and `progress` configure the `Context`; every other
option is the method's (see `opmetrics.Context`). To run several operations on one catalog and
one engine, open a `Context` yourself.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from opmetrics.context import Context
from opmetrics.engine.options import EngineOptions
from opmetrics.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from opmetrics.catalog import Catalog
    from opmetrics.context import RunSummary, ValidationSummary
    from opmetrics.duis import IngestSummary
    from opmetrics.generator import GenerationSummary
    from opmetrics.reports import RenderSummary
    from opmetrics.reports.customer_packs import PacksSummary
    from opmetrics.reports.review import ReviewInitSummary
    from opmetrics.results.compute import ComputeSummary
    from opmetrics.results.diff import ResultsDiff

    CatalogLike: TypeAlias = Catalog | str | Path | None
    EngineLike: TypeAlias = EngineOptions | str | None


def _open(catalog: CatalogLike, engine: EngineLike, progress: Progress) -> Context:
    return Context(catalog, engine, progress)


def validate(
    data_dir: str | Path,
    *,
    catalog: CatalogLike = None,
    engine: EngineLike = None,
    progress: Progress = NO_PROGRESS,
) -> ValidationSummary:
    """`Context.validate` with a one-off `Context`."""
    with _open(catalog, engine, progress) as ctx:
        return ctx.validate(data_dir)


def compute(
    data_dir: str | Path,
    month: str,
    out: str | Path,
    *,
    catalog: CatalogLike = None,
    engine: EngineLike = None,
    progress: Progress = NO_PROGRESS,
    **options: Any,
) -> ComputeSummary:
    """`Context.compute` with a one-off `Context`."""
    with _open(catalog, engine, progress) as ctx:
        return ctx.compute(data_dir, month, out, **options)


def render(
    results_dir: str | Path,
    out_dir: str | Path,
    *,
    catalog: CatalogLike = None,
    progress: Progress = NO_PROGRESS,
    **options: Any,
) -> RenderSummary:
    """`Context.render` with a one-off `Context`."""
    with _open(catalog, None, progress) as ctx:
        return ctx.render(results_dir, out_dir, **options)


def review_init(
    results_dir: str | Path,
    opsg: date,
    *,
    catalog: CatalogLike = None,
    progress: Progress = NO_PROGRESS,
    **options: Any,
) -> ReviewInitSummary:
    """`Context.review_init` with a one-off `Context`."""
    with _open(catalog, None, progress) as ctx:
        return ctx.review_init(results_dir, opsg, **options)


def customer_packs(
    results_dir: str | Path,
    out: str | Path,
    *,
    catalog: CatalogLike = None,
    progress: Progress = NO_PROGRESS,
    **options: Any,
) -> PacksSummary:
    """`Context.customer_packs` with a one-off `Context`."""
    with _open(catalog, None, progress) as ctx:
        return ctx.customer_packs(results_dir, out, **options)


def ingest_duis(
    archive: str | Path,
    out: str | Path,
    *,
    catalog: CatalogLike = None,
    engine: EngineLike = None,
    progress: Progress = NO_PROGRESS,
    **options: Any,
) -> IngestSummary:
    """`Context.ingest_duis` with a one-off `Context`."""
    with _open(catalog, engine, progress) as ctx:
        return ctx.ingest_duis(archive, out, **options)


def generate(
    out: str | Path,
    *,
    catalog: CatalogLike = None,
    progress: Progress = NO_PROGRESS,
    **options: Any,
) -> GenerationSummary:
    """`Context.generate` with a one-off `Context`."""
    with _open(catalog, None, progress) as ctx:
        return ctx.generate(out, **options)


def diff(old: str | Path, new: str | Path, **options: Any) -> ResultsDiff:
    """`Context.diff` with a one-off `Context`."""
    with _open(None, None, NO_PROGRESS) as ctx:
        return ctx.diff(old, new, **options)


def run(
    data_dir: str | Path,
    month: str,
    out: str | Path,
    *,
    catalog: CatalogLike = None,
    engine: EngineLike = None,
    progress: Progress = NO_PROGRESS,
    **options: Any,
) -> RunSummary:
    """`Context.run` with a one-off `Context`."""
    with _open(catalog, engine, progress) as ctx:
        return ctx.run(data_dir, month, out, **options)


def demo(
    out: str | Path,
    *,
    catalog: CatalogLike = None,
    engine: EngineLike = None,
    progress: Progress = NO_PROGRESS,
    **options: Any,
) -> RunSummary:
    """`Context.demo` with a one-off `Context`."""
    with _open(catalog, engine, progress) as ctx:
        return ctx.demo(out, **options)
