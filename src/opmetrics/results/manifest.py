"""The manifest of a results folder (`manifest.json`): what was computed, from what, and how.

`compute` builds a `Manifest`; `results.io.write_manifest` writes it and `results.io.read_results`
reads it back, validated. Nothing else reads or writes the file, so a field has one name and one
type for the writer and for every report.

`schema_version` numbers the results contract (the tables and this manifest):

- 1 (or no `schema_version` key, which folders written before the key existed lack): no exact
  numerators in `cpm`, no `assumed_values`, no delivery proxy in `dcc_proxy`;
- 2: exact numerators, assumed values and the delivery proxy; the restricted failed-request
  extract one file, `restricted/party_failures.parquet`;
- 3: this version: the extract a dataset with a folder per party label,
  `restricted/party_failures/party_label=<label>/part-NNNNN.parquet`, written by the engine's
  workers (an opmetrics reading up to version 2 would find no extract and write packs without
  failed requests, so it must refuse the folder).

Folders of every version are read: every field a version-1 folder lacks is optional here, and the
reports fall back as they always did (the assumed values from the reports' catalog, every proxy
row as CHF/GPF round trips). A folder of a later version than `SCHEMA_VERSION` was written by a
newer opmetrics and is refused with a clear error rather than misread. A field written is written
exactly as given: `model_dump(exclude_unset=True)` leaves out what a writer did not set (an input
table that is absent has only `present: false`), so the file is the same bytes as before the model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 3


class _Record(BaseModel):
    # A key this version does not know (a newer minor addition) is kept, not refused.
    model_config = ConfigDict(extra="allow")


class CatalogRecord(_Record):
    version: str = ""
    sha256: str = ""
    path: str = ""


class Anonymisation(_Record):
    method: str = ""
    key_origin: str = ""
    key_fingerprint: str = ""
    labels_from: dict[str, Any] | None = None  # the earlier labels given, with their sha256
    parties_labelled: int | None = None
    parties_remembered: int | None = None
    lengthened: list[str] = Field(default_factory=list)  # labels longer than 6 hex digits


class Percentiles(_Record):
    method: str = ""
    relative_bound: float | None = None
    absolute_bound_s: float | None = None
    bound: str | None = None  # results of early versions: the bound in words


class InputFile(_Record):
    path: str
    sha256: str


class InputRecord(_Record):
    """One table of the data dir: where it was read from and how its rows reconcile."""

    present: bool
    path: str | None = None
    format: str | None = None
    files: list[InputFile] = Field(default_factory=list)
    rows_read: int = 0
    accepted: int = 0
    quarantined: dict[str, int] = Field(default_factory=dict)  # rows, by reason code
    partition_files_skipped: int | None = None  # day partitions of other months, not read
    outside_month: int | None = None  # service requests received in another month

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())


class Reportability(_Record):
    status: str  # reportable or not_reportable
    reason: str | None = None


class AssumedValue(_Record):
    key: str
    value: str = ""
    text: str = ""
    used_by: list[str] = Field(default_factory=list)  # CPMs and tables resting on it


class AssumedValues(_Record):
    values: list[AssumedValue] = Field(default_factory=list)
    override: str = ""


class TableRecord(_Record):
    rows: int


class Reproduce(_Record):
    command: str = ""
    needs: str = ""
    varies: str = ""


class Manifest(_Record):
    """manifest.json, field by field, in the order the file gives them."""

    opmetrics_version: str = ""
    schema_version: int = 1
    month: str = ""
    month_start_utc: str | None = None
    month_end_utc: str | None = None
    data_dir: str | None = None
    catalog: CatalogRecord = Field(default_factory=CatalogRecord)
    engine: dict[str, str] = Field(default_factory=dict)
    ibis: str | None = None
    anonymisation: Anonymisation = Field(default_factory=Anonymisation)
    percentiles: Percentiles = Field(default_factory=Percentiles)
    inputs: dict[str, InputRecord] = Field(default_factory=dict)
    reportability: dict[str, Reportability] = Field(default_factory=dict)
    assumed_values: AssumedValues | None = None  # None: a version-1 folder
    service_requests_note: str | None = None
    tables: dict[str, TableRecord] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    restricted: dict[str, int] = Field(default_factory=dict)  # rows of each restricted table
    analytics: dict[str, Any] = Field(default_factory=dict)  # how benchmarks and insights were made
    reproduce: Reproduce | None = None

    def not_reportable(self) -> dict[str, str]:
        """CPM -> reason, for every measure the manifest says cannot be reported."""
        return {
            cpm: r.reason or "inputs missing or incomplete"
            for cpm, r in self.reportability.items()
            if r.status == "not_reportable"
        }

    def to_json(self) -> dict[str, Any]:
        """The file's content: the fields set, in order (see the module's docstring)."""
        return self.model_dump(mode="json", exclude_unset=True)


__all__ = [
    "SCHEMA_VERSION",
    "Anonymisation",
    "AssumedValue",
    "AssumedValues",
    "CatalogRecord",
    "InputFile",
    "InputRecord",
    "Manifest",
    "Percentiles",
    "Reportability",
    "Reproduce",
    "TableRecord",
]
