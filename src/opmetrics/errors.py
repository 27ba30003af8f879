"""One exception tree for everything opmetrics refuses to do.

Each error carries the data a user needs to act (which file, which column, which rule, how many
rows) and knows its exit code, so the CLI can print one line and exit without a traceback while
library users can still inspect the fields. Exit codes are part of the public contract (README).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Documented process exit codes of the `opmetrics` command."""

    OK = 0
    CHANGED = 1  # `diff`: the two results differ; `validate --strict`: rows were quarantined
    INPUT = 2  # input data unusable (missing table/column, corrupt file) or bad command line
    CATALOG = 3  # catalog or configuration invalid
    ENGINE = 4  # the compute engine failed or could not be reached
    OUTPUT = 5  # an output folder could not be written, or a results folder is unusable
    INTERRUPTED = 130
    INTERNAL = 70  # a bug: run again with --debug and report the traceback


@dataclass
class OpmetricsError(Exception):
    """Base of every error opmetrics raises on purpose."""

    message: str
    details: dict[str, Any] = field(default_factory=dict)
    exit_code: ExitCode = field(default=ExitCode.INTERNAL, init=False)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


# -- input data ------------------------------------------------------------------------------


@dataclass
class DataContractError(OpmetricsError):
    """The data dir cannot be read as the data contract says (design §3)."""

    path: str | None = None
    table: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.exit_code = ExitCode.INPUT

    def __str__(self) -> str:
        where = self.path or self.table
        return f"{where}: {self.message}" if where else self.message


@dataclass
class MissingTableError(DataContractError):
    """A required table has no file in the data dir."""


@dataclass
class MissingColumnError(DataContractError):
    column: str = ""


@dataclass
class ColumnTypeError(DataContractError):
    column: str = ""
    expected: str = ""
    found: str = ""


@dataclass
class UnreadableFileError(DataContractError):
    """The file is corrupt, truncated, not the format its name says, or cannot be decoded."""

    byte_offset: int | None = None
    line: int | None = None


@dataclass
class NoDataError(DataContractError):
    """The data holds nothing for the month asked for."""


# -- reference data and configuration ---------------------------------------------------------


@dataclass
class CatalogError(OpmetricsError):
    """The catalog is malformed: `key` names where (e.g. `srv[3].business_process`)."""

    path: str | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.exit_code = ExitCode.CATALOG

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.path, self.key) if p)
        return f"catalog {where}: {self.message}" if where else f"catalog: {self.message}"


@dataclass
class ConfigError(OpmetricsError):
    """An option or a scenario/config file is invalid."""

    path: str | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.exit_code = ExitCode.CATALOG

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.path, self.key) if p)
        return f"{where}: {self.message}" if where else self.message


@dataclass
class UsageError(OpmetricsError):
    """The command line asks for something impossible (e.g. a malformed month)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.exit_code = ExitCode.INPUT


# -- engines and outputs ----------------------------------------------------------------------


@dataclass
class EngineError(OpmetricsError):
    engine: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.exit_code = ExitCode.ENGINE

    def __str__(self) -> str:
        return f"engine {self.engine}: {self.message}" if self.engine else self.message


@dataclass
class OutputError(OpmetricsError):
    """An output cannot be written, or a results folder given as input is incomplete."""

    path: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.exit_code = ExitCode.OUTPUT

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass
class ReviewFileError(ConfigError):
    """A review file cannot be used: `line` (1-based) and `key` (e.g. `actions[2].owner`) say
    where, so the one-line message reads `FILE:LINE: KEY: what is wrong`."""

    line: int | None = None

    def __str__(self) -> str:
        where = self.path or "review file"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
