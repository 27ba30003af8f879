"""Typed, immutable reference data (design §2 "Reference data is data", §6).

The catalog is the only place where SEC reference values live: measures, validation, the
generator and the reports all ask it. Models are frozen pydantic objects so that a loaded
catalog can be shared freely; cross-references (an SRV's business process, its device types)
are checked once, at load time, with errors that name the offending key.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opmetrics.month import UK_ZONE

# every Code Performance Measure a catalog must give a target and a minimum for
CPM_IDS = ("CPM1", "CPM2", "CPM3", "CPM4", "CPM5", "CPM5A", "CPM6", "CPM6A", "CPM6B", "CPM6C")


class Source(StrEnum):
    """Provenance of a catalog value (the catalog file's header says what each means)."""

    SEED = "seed"
    DUIS = "DUIS schema"
    TEMPLATES = "DUIS templates"
    ASSUMED = "assumed"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Source
    sources: dict[str, Source] = Field(default_factory=dict)

    def source_of(self, field: str) -> Source:
        """Provenance of one field: its own if declared, else the record's."""
        return self.sources.get(field, self.source)

    @model_validator(mode="after")
    def _sources_name_fields(self) -> _Record:
        unknown = set(self.sources) - set(type(self).model_fields)
        if unknown:
            raise ValueError(f"`sources` names unknown field(s): {', '.join(sorted(unknown))}")
        return self


class Meta(_Record):
    version: str
    title: str
    # The Code's months, days and time bands are UK local time (design §4): `opmetrics.month.UK`
    # everywhere. The key states it in the catalog file; any other zone is refused rather than
    # silently ignored, since no measure could honour it.
    timezone: str = UK_ZONE

    @field_validator("timezone")
    @classmethod
    def _uk_local_time(cls, v: str) -> str:
        if v != UK_ZONE:
            raise ValueError(
                f"the SEC's months, days and time bands are UK local time: only {UK_ZONE!r}, "
                f"not {v!r}"
            )
        return v


class Region(_Record):
    id: str
    service_provider: str
    technology: Literal["SMETS1", "SMETS2"]


class DeviceType(_Record):
    id: str
    name: str
    fuel: Literal["electricity", "gas", "none"]


class BusinessProcess(_Record):
    id: str
    name: str
    order: int
    standing: bool
    in_cpm6a: bool
    reported_from: Literal["service_requests", "alerts"]


class Srv(_Record):
    id: str
    name: str
    business_process: str
    device_types: tuple[str, ...]
    command_variants: tuple[int, ...]
    critical: bool
    on_demand: bool
    future_dated: bool
    non_device: bool

    @field_validator("id")
    @classmethod
    def _srv_id_shape(cls, v: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+){1,2}", v):
            raise ValueError(f"SRV id {v!r} is not of the form N.N or N.N.N")
        return v

    @field_validator("command_variants")
    @classmethod
    def _cv_range(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        bad = [c for c in v if not 1 <= c <= 8]
        if bad or not v:
            raise ValueError("command variants must be a non-empty list of 1..8")
        return v


Execution = Literal["on_demand", "future_dated", "non_device"]


class TrtRule(_Record):
    """A Target Response Time. Fields left unset match any request; among the rules that
    match, one naming the command variant wins, then one naming the SRV, then one naming the
    device type; ties go to the first in file order (`Catalog.trt_for`)."""

    id: str
    execution: Execution
    command_variant: int | None = None
    srv: str | None = None
    device_type: str | None = None
    seconds: float = Field(gt=0)
    clock_start: Literal["received", "execution"]
    description: str = ""

    @property
    def precedence(self) -> int:
        return (
            4 * (self.command_variant is not None)
            + 2 * (self.srv is not None)
            + (self.device_type is not None)
        )

    def matches(
        self, execution: str, command_variant: int | None, srv: str | None, device_type: str | None
    ) -> bool:
        return (
            self.execution == execution
            and (self.command_variant is None or self.command_variant == command_variant)
            and (self.srv is None or self.srv == srv)
            and (self.device_type is None or self.device_type == device_type)
        )


class AlertsConfig(_Record):
    trt_seconds: float = Field(gt=0)


ResponseClass = Literal["success", "interim", "user_caused", "dcc_failure"]


class ResponseCodeRule(_Record):
    id: str
    class_: ResponseClass = Field(alias="class")
    codes: tuple[str, ...] = ()
    pattern: str | None = None
    description: str = ""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _codes_or_pattern(self) -> ResponseCodeRule:
        if bool(self.codes) == bool(self.pattern):
            raise ValueError("give exactly one of `codes` or `pattern`")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(
                    f"pattern {self.pattern!r} is not a regular expression: {exc}"
                ) from exc
        return self

    def matches(self, code: str) -> bool:
        if self.codes:
            return code in self.codes
        assert self.pattern is not None
        return re.fullmatch(self.pattern, code) is not None


class Cpm(_Record):
    id: str
    name: str
    description: str
    dimensions: tuple[str, ...]
    target_percent: float = Field(ge=0, le=100)
    minimum_percent: float = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _minimum_below_target(self) -> Cpm:
        if self.minimum_percent > self.target_percent:
            raise ValueError("minimum_percent is above target_percent")
        return self


# Item (f) of the SEC's definition of DCC Interface: CPM6 excludes it by definition.
CPM6_EXCLUDED_ITEM = "f"


class Interface(_Record):
    id: str
    sec_item: str = ""
    in_cpm6: bool = True

    @model_validator(mode="after")
    def _item_f_not_in_cpm6(self) -> Interface:
        if self.in_cpm6 and self.sec_item.strip().lower() == CPM6_EXCLUDED_ITEM:
            raise ValueError(
                "an interface that is item (f) of the SEC's definition of DCC Interface is "
                "excluded from CPM6 by definition: set in_cpm6 = false"
            )
        return self


Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
WEEKDAYS: tuple[Weekday, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class TimeBand(_Record):
    id: Literal["core"]
    weekdays: tuple[Weekday, ...]
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        m = re.fullmatch(r"(\d{2}):(\d{2})", v)
        if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59:
            raise ValueError(f"{v!r} is not a time HH:MM")
        return v

    def minutes(self) -> tuple[int, int]:
        """Start and end as minutes after local midnight."""
        sh, sm = (int(x) for x in self.start.split(":"))
        eh, em = (int(x) for x in self.end.split(":"))
        return sh * 60 + sm, eh * 60 + em


class IncidentCategory(_Record):
    category: int = Field(ge=1, le=5)
    resolution_hours: float = Field(gt=0)
    initial_response_hours: float | None = Field(default=None, gt=0)


class Catalog(BaseModel):
    """The whole reference catalog. Build it with `opmetrics.catalog.load_catalog`."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    meta: Meta
    region: tuple[Region, ...]
    device_type: tuple[DeviceType, ...]
    business_process: tuple[BusinessProcess, ...]
    srv: tuple[Srv, ...]
    trt: tuple[TrtRule, ...]
    alerts: AlertsConfig
    response_code: tuple[ResponseCodeRule, ...]
    cpm: tuple[Cpm, ...]
    interface: tuple[Interface, ...]
    time_band: tuple[TimeBand, ...]
    incident_category: tuple[IncidentCategory, ...]
    sha256: str = ""
    path: str = ""

    def check_references(self) -> None:
        """Check what field validation cannot: uniqueness and references between sections.

        Raises `CatalogKeyError` naming the key; the loader turns it into a `CatalogError`.
        """
        _unique(self.region, "region", "id")
        _unique(self.device_type, "device_type", "id")
        _unique(self.business_process, "business_process", "id")
        _unique(self.srv, "srv", "id")
        _unique(self.cpm, "cpm", "id")
        _unique(self.interface, "interface", "id")
        _unique(self.incident_category, "incident_category", "category")
        bps = {b.id for b in self.business_process}
        dts = {d.id for d in self.device_type}
        for i, s in enumerate(self.srv):
            if s.business_process not in bps:
                raise CatalogKeyError(
                    f"srv[{i}].business_process", f"unknown business process {s.business_process!r}"
                )
            for dt in s.device_types:
                if dt not in dts:
                    raise CatalogKeyError(f"srv[{i}].device_types", f"unknown device type {dt!r}")
            if s.non_device != (s.device_types == ("NONE",)):
                raise CatalogKeyError(
                    f"srv[{i}].device_types", 'a non-device SRV targets exactly ["NONE"]'
                )
        for kind in ("on_demand", "future_dated", "non_device"):
            if not any(t.execution == kind and t.precedence == 0 for t in self.trt):
                raise CatalogKeyError(
                    "trt",
                    f"no default TRT rule (without command_variant, srv or device_type) for {kind!r}",
                )
        _unique(self.trt, "trt", "id")
        srvs = {s.id for s in self.srv}
        for i, t in enumerate(self.trt):
            if t.srv is not None and t.srv not in srvs:
                raise CatalogKeyError(f"trt[{i}].srv", f"unknown SRV {t.srv!r}")
            if t.device_type is not None and t.device_type not in dts:
                raise CatalogKeyError(
                    f"trt[{i}].device_type", f"unknown device type {t.device_type!r}"
                )
        missing = set(CPM_IDS) - {c.id for c in self.cpm}
        if missing:
            raise CatalogKeyError("cpm", f"missing measure(s) {', '.join(sorted(missing))}")
        if {c.category for c in self.incident_category} != {1, 2, 3, 4, 5}:
            raise CatalogKeyError("incident_category", "categories 1 to 5 must each be given once")
        for i, c in enumerate(self.incident_category):
            if c.category >= 3 and c.initial_response_hours is None:
                raise CatalogKeyError(
                    f"incident_category[{i}].initial_response_hours", "required for categories 3-5"
                )

    # -- lookups -------------------------------------------------------------------------------

    @cached_property
    def srvs(self) -> dict[str, Srv]:
        return {s.id: s for s in self.srv}

    @cached_property
    def business_processes(self) -> dict[str, BusinessProcess]:
        return {b.id: b for b in sorted(self.business_process, key=lambda b: b.order)}

    @cached_property
    def cpms(self) -> dict[str, Cpm]:
        return {c.id: c for c in self.cpm}

    @cached_property
    def regions(self) -> dict[str, Region]:
        return {r.id: r for r in self.region}

    @cached_property
    def csp_regions(self) -> tuple[str, ...]:
        """The SMETS2 (Communications Service Provider) regions, in catalog order."""
        return tuple(r.id for r in self.region if r.technology == "SMETS2")

    @cached_property
    def smets1_region(self) -> str:
        return next(r.id for r in self.region if r.technology == "SMETS1")

    @cached_property
    def device_types(self) -> dict[str, DeviceType]:
        return {d.id: d for d in self.device_type}

    @cached_property
    def interfaces(self) -> dict[str, Interface]:
        return {i.id: i for i in self.interface}

    @cached_property
    def incident_categories(self) -> dict[int, IncidentCategory]:
        return {c.category: c for c in self.incident_category}

    def srvs_of(self, business_process: str) -> tuple[Srv, ...]:
        return tuple(s for s in self.srv if s.business_process == business_process)

    def classify_response(self, code: str | None) -> ResponseClass | None:
        """Class of a final response code, or None when no rule knows it."""
        if code is None:
            return None
        for rule in self.response_code:
            if rule.matches(code):
                return rule.class_
        return None

    def trt_for(
        self,
        execution: str,
        command_variant: int | None,
        srv: str | None = None,
        device_type: str | None = None,
    ) -> TrtRule:
        """The TRT rule that applies to a request (precedence: `TrtRule`)."""
        best: TrtRule | None = None
        for rule in self.trt:
            if rule.matches(execution, command_variant, srv, device_type) and (
                best is None or rule.precedence > best.precedence
            ):
                best = rule
        if best is None:
            raise KeyError(execution)
        return best

    @cached_property
    def trt_by_precedence(self) -> tuple[TrtRule, ...]:
        """The TRT rules in the order a first-match search must try them."""
        return tuple(sorted(self.trt, key=lambda r: -r.precedence))  # stable: file order on ties


class CatalogKeyError(ValueError):
    """A cross-reference failure that knows which catalog key it is about."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _unique(records: tuple[BaseModel, ...], table: str, attr: str) -> None:
    seen: set[object] = set()
    for i, r in enumerate(records):
        v = getattr(r, attr)
        if v in seen:
            raise CatalogKeyError(f"{table}[{i}].{attr}", f"duplicate {attr} {v!r}")
        seen.add(v)
