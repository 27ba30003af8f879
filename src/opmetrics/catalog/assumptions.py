"""Which catalog values marked `assumed` decide which figure (design §2, "Say what is assumed").

A value the catalog marks `assumed` was not confirmed from a public source: a Target Response
Time, an incident target, whether an interface is measured by CPM6. Wherever such a value
decides a figure or a status, the results say so: each `cpm` row lists the assumed values it
rests on (column `assumed`), and the manifest lists every assumed value used with its value and
how to override it, so the packs can put a marker beside the figure and a footnote under it.

Keys are stable, readable paths into the catalog: `trt.<rule id>`, `alerts.trt_seconds`,
`incident_category.<n>.resolution_hours`, `incident_category.<n>.initial_response_hours`,
`interface.<id>.in_cpm6`, `srv.<id>.business_process`.
"""

from __future__ import annotations

from dataclasses import dataclass

from opmetrics.catalog.model import Catalog, Source, Srv, TrtRule

OVERRIDE = (
    "give the confirmed value in a catalog file (`opmetrics catalog --write FILE`, edit, then "
    "`--catalog FILE`); a Target Response Time table can be imported from CSV with "
    "`opmetrics catalog --import-trt CSV --write FILE`"
)

EXECUTION_WORDS = {
    "on_demand": "on-demand",
    "future_dated": "future-dated",
    "non_device": "non-device",
}


@dataclass(frozen=True)
class Assumed:
    """One assumed catalog value, in words a reader of a pack understands."""

    key: str
    value: str  # e.g. "30 s"
    text: str  # e.g. "Target Response Time for on-demand requests: 30 s"


def _seconds(v: float) -> str:
    return f"{v:g} s"


def _hours(v: float) -> str:
    return f"{v:g} h"


def trt_text(rule: TrtRule) -> str:
    scope = [f"{EXECUTION_WORDS[rule.execution]} requests"]
    if rule.srv is not None:
        scope.append(f"SRV {rule.srv}")
    if rule.device_type is not None:
        scope.append(f"to {rule.device_type}s")
    if rule.command_variant is not None:
        scope.append(f"Command Variant {rule.command_variant}")
    start = " after the execution time" if rule.clock_start == "execution" else ""
    return f"Target Response Time for {', '.join(scope)}: {_seconds(rule.seconds)}{start}"


def assumed_values(catalog: Catalog) -> dict[str, Assumed]:
    """Every assumed catalog value that can decide a figure, by key."""
    out: dict[str, Assumed] = {}
    for r in catalog.trt:
        if r.source_of("seconds") == Source.ASSUMED:
            out[f"trt.{r.id}"] = Assumed(f"trt.{r.id}", _seconds(r.seconds), trt_text(r))
    a = catalog.alerts
    if a.source_of("trt_seconds") == Source.ASSUMED:
        out["alerts.trt_seconds"] = Assumed(
            "alerts.trt_seconds",
            _seconds(a.trt_seconds),
            f"Target Response Time for alerts: {_seconds(a.trt_seconds)}",
        )
    for c in catalog.incident_category:
        if c.source_of("resolution_hours") == Source.ASSUMED:
            key = f"incident_category.{c.category}.resolution_hours"
            out[key] = Assumed(
                key,
                _hours(c.resolution_hours),
                f"Target Resolution Time, Category {c.category}: {_hours(c.resolution_hours)}",
            )
        if (
            c.initial_response_hours is not None
            and c.source_of("initial_response_hours") == Source.ASSUMED
        ):
            key = f"incident_category.{c.category}.initial_response_hours"
            out[key] = Assumed(
                key,
                _hours(c.initial_response_hours),
                f"Target Initial Response Time, Category {c.category}: "
                f"{_hours(c.initial_response_hours)}",
            )
    for i in catalog.interface:
        if i.in_cpm6 and i.source_of("in_cpm6") == Source.ASSUMED:
            key = f"interface.{i.id}.in_cpm6"
            out[key] = Assumed(key, "measured", f"{i.id} is one of the interfaces CPM6 measures")
    for s in catalog.srv:
        if s.source_of("business_process") == Source.ASSUMED:
            key = f"srv.{s.id}.business_process"
            bp = catalog.business_processes[s.business_process].name
            out[key] = Assumed(key, bp, f"SRV {s.id} {s.name} belongs to {bp}")
    return out


def _executions(s: Srv) -> list[str]:
    if s.non_device:
        return ["non_device"]
    return [k for k, on in (("on_demand", s.on_demand), ("future_dated", s.future_dated)) if on]


def trt_rules_of_srv(
    catalog: Catalog, srv: Srv, executions: list[str] | None = None
) -> list[TrtRule]:
    """The TRT rules that decide some request of this SRV (its executions, command variants
    and device types), in catalog order."""
    used: set[str] = set()
    for execution in executions or _executions(srv):
        for cv in (*srv.command_variants, None):
            for dt in srv.device_types:
                used.add(catalog.trt_for(execution, cv, srv.id, dt).id)
    return [r for r in catalog.trt if r.id in used]


def cpm_assumptions(
    catalog: Catalog,
    cpm: str,
    *,
    interface: str | None = None,
    business_process: str | None = None,
    incident_category: str | None = None,
) -> list[str]:
    """The keys of the assumed values one `cpm` row rests on (empty when none)."""
    known = assumed_values(catalog)
    keys: list[str] = []
    if cpm in ("CPM1", "CPM2"):
        execution = "on_demand" if cpm == "CPM1" else "future_dated"
        for s in catalog.srv:
            if execution in _executions(s):
                keys += [f"trt.{r.id}" for r in trt_rules_of_srv(catalog, s, [execution])]
    elif cpm == "CPM3":
        keys.append("alerts.trt_seconds")
    elif cpm in ("CPM4", "CPM5", "CPM5A") and incident_category:
        lo, _, hi = incident_category.partition("-")
        field = "initial_response_hours" if cpm == "CPM5A" else "resolution_hours"
        for n in range(int(lo), int(hi or lo) + 1):
            keys.append(f"incident_category.{n}.{field}")
    elif cpm == "CPM6" and interface:
        keys.append(f"interface.{interface}.in_cpm6")
    elif cpm == "CPM6A" and business_process:
        for s in catalog.srvs_of(business_process):
            keys.append(f"srv.{s.id}.business_process")
            keys += [f"trt.{r.id}" for r in trt_rules_of_srv(catalog, s)]
    return [k for k in dict.fromkeys(keys) if k in known]


__all__ = ["OVERRIDE", "Assumed", "assumed_values", "cpm_assumptions", "trt_rules_of_srv"]
