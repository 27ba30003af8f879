"""opmetrics: the Smart Energy Code Operational Metrics (MP122) engine.

Library first: everything the `opmetrics` command does is a function here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from opmetrics.catalog import Catalog, default_catalog, load_catalog
from opmetrics.context import Context, ValidationSummary, compute, validate_data
from opmetrics.engine import EngineOptions
from opmetrics.errors import OpmetricsError
from opmetrics.progress import NO_PROGRESS, Progress
from opmetrics.results.compute import ComputeSummary

if TYPE_CHECKING:
    from opmetrics.reports import RenderSummary

validate = validate_data


def render(
    results_dir: str | Path,
    out_dir: str | Path,
    history: tuple[str | Path, ...] | list[str | Path] = (),
    produced_on: date | None = None,
    progress: Progress = NO_PROGRESS,
    *,
    catalog: Catalog | None = None,
) -> RenderSummary:
    """Render a results folder's packs, dashboard and data files (see `opmetrics.reports`).

    Imported lazily: the chart and PDF libraries are only loaded when something is rendered.
    """
    from opmetrics.reports import render as _render

    return _render(results_dir, out_dir, history, produced_on, progress, catalog=catalog)


__version__ = "0.1.0"

__all__ = [
    "Catalog",
    "ComputeSummary",
    "Context",
    "EngineOptions",
    "OpmetricsError",
    "ValidationSummary",
    "__version__",
    "compute",
    "default_catalog",
    "load_catalog",
    "render",
    "validate",
]
