"""The data contract (design §3): table specs, locating files, row rules (no engine here).

Checking rows against the rules runs on an engine: that is `opmetrics.validation`.
"""

from opmetrics.contract.schema import TABLES, Column, TableSpec
from opmetrics.contract.sources import TableSource, locate_all

__all__ = ["TABLES", "Column", "TableSource", "TableSpec", "locate_all"]
