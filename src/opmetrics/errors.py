"""One exception tree for everything opmetrics refuses to do.

Each error carries the data a user needs to act (which file, which column, which rule, how many
rows) and knows its exit code, so the CLI can print one line and exit without a traceback while
library users can still inspect the fields. Exit codes are part of the public contract (README).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar


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
    """Base of every error opmetrics raises on purpose; each kind sets its `exit_code`."""

    message: str
    details: dict[str, Any] = field(default_factory=dict)
    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def _at(self, *where: str | None) -> str:
        """The message after the given places that are set, e.g. `path: key: message`."""
        given = ": ".join(w for w in where if w)
        return f"{given}: {self.message}" if given else self.message


# -- input data ------------------------------------------------------------------------------


@dataclass
class DataContractError(OpmetricsError):
    """The data dir cannot be read as the data contract says (design §3)."""

    path: str | None = None
    table: str | None = None
    exit_code: ClassVar[ExitCode] = ExitCode.INPUT

    def __str__(self) -> str:
        return self._at(self.path or self.table)


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
class ConfigError(OpmetricsError):
    """An option or a scenario/config file is invalid."""

    path: str | None = None
    key: str | None = None
    exit_code: ClassVar[ExitCode] = ExitCode.CATALOG

    def __str__(self) -> str:
        return self._at(self.path, self.key)


@dataclass
class CatalogError(ConfigError):
    """The catalog is malformed: `key` names where (e.g. `srv[3].business_process`)."""

    def __str__(self) -> str:
        at = self._at(self.path, self.key)
        return f"catalog {at}" if self.path or self.key else f"catalog: {at}"


@dataclass
class UsageError(OpmetricsError):
    """The command line asks for something impossible (e.g. a malformed month)."""

    exit_code: ClassVar[ExitCode] = ExitCode.INPUT


# -- engines and outputs ----------------------------------------------------------------------


@dataclass
class EngineError(OpmetricsError):
    engine: str = ""
    exit_code: ClassVar[ExitCode] = ExitCode.ENGINE

    def __str__(self) -> str:
        return self._at(self.engine and f"engine {self.engine}")


@dataclass
class OutputError(OpmetricsError):
    """An output cannot be written, or a results folder given as input is incomplete."""

    path: str | None = None
    exit_code: ClassVar[ExitCode] = ExitCode.OUTPUT

    def __str__(self) -> str:
        return self._at(self.path)


@dataclass
class ReviewFileError(ConfigError):
    """A review file cannot be used: `line` (1-based) and `key` (e.g. `actions[2].owner`) say
    where, so the one-line message reads `FILE:LINE: KEY: what is wrong`."""

    line: int | None = None

    def __str__(self) -> str:
        where = self.path or "review file"
        if self.line is not None:
            where += f":{self.line}"
        return self._at(where, self.key)
