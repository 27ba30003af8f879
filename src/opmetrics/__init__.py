"""opmetrics: the Smart Energy Code Operational Metrics (MP122) engine.

Library first: everything the `opmetrics` command does is a method of `Context`, and each
method has a one-off function of the same name here (`opmetrics.compute(...)`, ...). Importing
this package loads no data library; each operation loads what it needs when it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opmetrics.api import (
    compute,
    customer_packs,
    demo,
    diff,
    generate,
    ingest_duis,
    render,
    review_init,
    run,
    validate,
)
from opmetrics.context import Context, RunSummary, ValidationSummary
from opmetrics.engine.options import EngineOptions
from opmetrics.errors import OpmetricsError
from opmetrics.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from opmetrics.catalog import Catalog, default_catalog, load_catalog
    from opmetrics.results.compute import ComputeSummary

# Names that load a data library, resolved when first used.
_LAZY = {
    "Catalog": "opmetrics.catalog",
    "default_catalog": "opmetrics.catalog",
    "load_catalog": "opmetrics.catalog",
    "ComputeSummary": "opmetrics.results.compute",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from opmetrics.defaults import package_version

        return package_version()
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'opmetrics' has no attribute {name!r}")


__all__ = [
    "NO_PROGRESS",
    "Catalog",
    "ComputeSummary",
    "Context",
    "EngineOptions",
    "OpmetricsError",
    "Progress",
    "RunSummary",
    "ValidationSummary",
    "compute",
    "customer_packs",
    "default_catalog",
    "demo",
    "diff",
    "generate",
    "ingest_duis",
    "load_catalog",
    "render",
    "review_init",
    "run",
    "validate",
]
