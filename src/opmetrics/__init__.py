"""opmetrics: the Smart Energy Code Operational Metrics (MP122) engine.

Library first: everything the `opmetrics` command does is a function here.
"""

from opmetrics.catalog import Catalog, default_catalog, load_catalog
from opmetrics.compute import ComputeSummary
from opmetrics.context import Context, ValidationSummary, compute, validate_data
from opmetrics.engine import EngineOptions
from opmetrics.errors import OpmetricsError

validate = validate_data

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
    "validate",
]
