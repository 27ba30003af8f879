"""Which assumed catalog values each figure of a pack rests on (design §2, "say what is assumed").

The results say it for the measures: each `cpm` row lists the keys of the assumed values it rests
on, and the manifest lists every assumed value used, in words, with how to override it. The
business process figures (within-TRT shares, the TRT itself, a process's totals) are not `cpm`
rows, so their keys are worked out here from the catalog the same way `compute` does: the TRT
rules that decide some request of the SRV (for one device type, or all of them) and, for a
process's totals, the SRVs' membership of the process. A key counts only if the results'
manifest lists it as assumed, so a value the results were computed with as confirmed is never
marked, whatever catalog renders them.

Results written before the manifest listed assumed values (older months given as history) are
read with the reports' catalog instead: every row's keys come from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opmetrics.catalog import Catalog
from opmetrics.catalog.assumptions import OVERRIDE, assumed_values, cpm_assumptions
from opmetrics.contract.schema import ALL
from opmetrics.reports.spec import Assumption
from opmetrics.results.manifest import Manifest

ALERTS_TRT = "alerts.trt_seconds"


@dataclass(frozen=True)
class Listed:
    """One assumed value as the manifest lists it."""

    key: str
    value: str
    text: str
    used_by: tuple[str, ...]


def _executions(catalog: Catalog, srv: str) -> list[str]:
    s = catalog.srvs[srv]
    if s.non_device:
        return ["non_device"]
    return [k for k, on in (("on_demand", s.on_demand), ("future_dated", s.future_dated)) if on]


def default_execution(catalog: Catalog, srv: str) -> str:
    s = catalog.srvs[srv]
    return "non_device" if s.non_device else ("on_demand" if s.on_demand else "future_dated")


class Assumptions:
    """The assumed values behind one month's figures, from its manifest and the catalog."""

    def __init__(self, manifest: Manifest, catalog: Catalog) -> None:
        self.catalog = catalog
        block = manifest.assumed_values
        listed: list[Listed] = []
        self.recorded = block is not None  # a version-1 folder records none
        if block is not None:
            for v in block.values:
                listed.append(Listed(v.key, v.value, v.text or v.key, tuple(v.used_by)))
            self.override = block.override or OVERRIDE
        else:
            for k, a in assumed_values(catalog).items():
                listed.append(Listed(k, a.value, a.text, ()))
            self.override = OVERRIDE
        self.listed = {x.key: x for x in listed}

    # -- keys to values ----------------------------------------------------------------------

    def of_keys(self, keys: Iterable[str]) -> tuple[Assumption, ...]:
        """The assumed values among `keys` (unknown or confirmed keys are dropped), each once."""
        out: dict[str, Assumption] = {}
        for k in keys:
            if k in self.listed and k not in out:
                out[k] = Assumption(k, self.listed[k].text)
        return tuple(out.values())

    # -- measures ----------------------------------------------------------------------------

    def keys_of_cpm(self, row: Mapping[str, Any]) -> list[str]:
        """The keys a `cpm` row (or a headline roll-up of rows) rests on."""
        given = row.get("assumed")
        if isinstance(given, str) and given:
            return [k for k in given.split("; ") if k]
        if self.recorded:
            return []
        dims = {
            d: row.get(d) if isinstance(row.get(d), str) else None
            for d in ("interface", "business_process", "incident_category")
        }
        return cpm_assumptions(self.catalog, str(row.get("cpm")), **dims)

    def of_cpm(self, row: Mapping[str, Any]) -> tuple[Assumption, ...]:
        return self.of_keys(self.keys_of_cpm(row))

    def of_cpms(self, rows: Iterable[Mapping[str, Any]]) -> tuple[Assumption, ...]:
        return self.of_keys(k for r in rows for k in self.keys_of_cpm(r))

    # -- business process figures --------------------------------------------------------------

    def trt_keys(self, srv: str, device: str = ALL) -> list[str]:
        """The TRT rules that decide some request of `srv` (to `device`, or any of its device
        types): its executions x command variants x device types."""
        s = self.catalog.srvs.get(srv)
        if s is None:
            return []
        devices = s.device_types if device == ALL else (device,)
        used = {
            self.catalog.trt_for(e, cv, srv, d).id
            for e in _executions(self.catalog, srv)
            for cv in (*s.command_variants, None)
            for d in devices
        }
        return [f"trt.{r.id}" for r in self.catalog.trt if r.id in used]

    def trt_value_keys(self, srv: str, device: str = ALL) -> list[str]:
        """The rules behind the TRT shown for a row (`srv_summary.trt_s`: the default execution,
        no command variant)."""
        s = self.catalog.srvs.get(srv)
        if s is None:
            return []
        devices = s.device_types if device == ALL else (device,)
        kind = default_execution(self.catalog, srv)
        used = {self.catalog.trt_for(kind, None, srv, d).id for d in devices}
        return [f"trt.{r.id}" for r in self.catalog.trt if r.id in used]

    def membership_keys(self, bp: str) -> list[str]:
        """A process's totals rest on which SRVs belong to it (the network's, on none)."""
        if bp == ALL:
            return []
        return [f"srv.{s.id}.business_process" for s in self.catalog.srvs_of(bp)]

    def of_srv(self, srv: str, device: str = ALL) -> tuple[Assumption, ...]:
        """What an SRV's within-TRT figures rest on."""
        return self.of_keys(self.trt_keys(srv, device))

    def of_trt(self, srv: str, device: str = ALL) -> tuple[Assumption, ...]:
        """What the TRT shown for an SRV rests on."""
        return self.of_keys(self.trt_value_keys(srv, device))

    def of_process(self, bp: str, device: str = ALL) -> tuple[Assumption, ...]:
        """What a process's within-TRT totals rest on: its SRVs' TRTs and their membership."""
        srvs = self.catalog.srvs_of(bp) if bp != ALL else self.catalog.srv
        keys = self.membership_keys(bp)
        for s in srvs:
            if device == ALL or device in s.device_types:
                keys += self.trt_keys(s.id, device)
        return self.of_keys(keys)

    def of_process_counts(self, bp: str) -> tuple[Assumption, ...]:
        """What a process's counts (not its within-TRT figures) rest on: its SRVs' membership."""
        return self.of_keys(self.membership_keys(bp))

    def of_row(self, bp: str, srv: str, device: str = ALL) -> tuple[Assumption, ...]:
        """A srv_summary or dcc_proxy row's within-TRT figures."""
        return self.of_srv(srv, device) if srv != ALL else self.of_process(bp, device)

    def of_alerts(self) -> tuple[Assumption, ...]:
        return self.of_keys([ALERTS_TRT])

    # -- the whole list ------------------------------------------------------------------------

    def values(self) -> list[Listed]:
        return list(self.listed.values())


__all__ = ["ALERTS_TRT", "Assumptions", "Listed", "default_execution"]
