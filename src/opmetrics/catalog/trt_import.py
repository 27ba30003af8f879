"""Import a Target Response Time table from CSV into a catalog (`opmetrics catalog --import-trt`).

The shipped TRTs are `assumed` (design §6): when the real table is known, a user lists it as
CSV, one rule a line, and writes a full catalog to pass with `--catalog FILE`. Columns:

    srv, execution, device_type, seconds, source          (required, in any order)
    command_variant, clock_start                          (optional)

`srv` and `device_type` may be blank (a rule for every SRV, or every device type, of that
execution). `source` is the rule's provenance (`seed`, `DUIS schema` or `assumed`): a rule
imported as `seed` is no longer assumed, and the packs stop marking the figures it decides.
`clock_start` defaults to the execution's (`execution` for future-dated requests, else
`received`). Each CSV rule replaces the catalog's rule of the same scope (execution, command
variant, SRV, device type) and keeps its id; other catalog rules stay, so a TRT the CSV does not
give keeps its value and its provenance.

Every problem is one `CatalogError` naming the file, the line and the column (exit code 3).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from opmetrics.catalog import parse_catalog
from opmetrics.catalog.assumptions import EXECUTION_WORDS
from opmetrics.catalog.model import Catalog, Source, Srv
from opmetrics.catalog.write import catalog_toml
from opmetrics.errors import CatalogError

REQUIRED = ("srv", "execution", "device_type", "seconds", "source")
OPTIONAL = ("command_variant", "clock_start")
CLOCK_STARTS = ("received", "execution")

Scope = tuple[str, int | None, str | None, str | None]  # execution, command variant, SRV, device


def _name(header: str) -> str:
    """A header as a column name: `Device type` -> `device_type`."""
    return header.strip().lower().replace(" ", "_").replace("-", "_")


def _executions(s: Srv) -> tuple[str, ...]:
    if s.non_device:
        return ("non_device",)
    return tuple(
        k for k, on in (("on_demand", s.on_demand), ("future_dated", s.future_dated)) if on
    )


class _Reader:
    """Checks one CSV line's cells against the catalog; errors name file, line and column."""

    def __init__(self, catalog: Catalog, path: str) -> None:
        self.catalog = catalog
        self.path = path
        self.line = 1

    def fail(self, column: str | None, message: str) -> CatalogError:
        where = f"line {self.line}" + (f", column {column}" if column else "")
        return CatalogError(message, path=self.path, key=where)

    def execution(self, raw: str) -> str:
        v = _name(raw)
        if v not in EXECUTION_WORDS:
            raise self.fail(
                "execution",
                f"{raw.strip()!r} is not an execution: give on_demand, future_dated or non_device",
            )
        return v

    def srv(self, raw: str, execution: str) -> Srv | None:
        v = raw.strip()
        if not v:
            return None
        s = self.catalog.srvs.get(v)
        if s is None:
            raise self.fail("srv", f"unknown SRV {v!r} (not in the catalog)")
        if execution not in _executions(s):
            can = ", ".join(EXECUTION_WORDS[e] for e in _executions(s))
            raise self.fail(
                "srv", f"SRV {v} is never {EXECUTION_WORDS[execution]} in the catalog (it is {can})"
            )
        return s

    def device_type(self, raw: str, srv: Srv | None) -> str | None:
        v = raw.strip().upper()
        if not v:
            return None
        if v not in self.catalog.device_types:
            raise self.fail("device_type", f"unknown device type {raw.strip()!r}")
        if srv is not None and v not in srv.device_types:
            raise self.fail(
                "device_type",
                f"SRV {srv.id} does not target a {v} (it targets {', '.join(srv.device_types)})",
            )
        return v

    def seconds(self, raw: str) -> float:
        try:
            v = float(raw.strip())
        except ValueError:
            raise self.fail("seconds", f"{raw.strip()!r} is not a number of seconds") from None
        if not math.isfinite(v) or v <= 0:
            raise self.fail("seconds", f"{raw.strip()!r}: a Target Response Time must be above 0 s")
        return v

    def source(self, raw: str) -> Source:
        for s in Source:
            if raw.strip().lower() == s.value.lower():
                return s
        raise self.fail(
            "source", f"{raw.strip()!r} is not a source: give seed, DUIS schema or assumed"
        )

    def command_variant(self, raw: str, srv: Srv | None) -> int | None:
        v = raw.strip()
        if not v:
            return None
        if not v.isdigit() or not 1 <= int(v) <= 8:
            raise self.fail("command_variant", f"{v!r} is not a Command Variant 1 to 8")
        if srv is not None and int(v) not in srv.command_variants:
            raise self.fail(
                "command_variant",
                f"SRV {srv.id} does not take Command Variant {v} "
                f"(it takes {', '.join(map(str, srv.command_variants))})",
            )
        return int(v)

    def clock_start(self, raw: str, execution: str) -> str:
        v = _name(raw)
        if not v:
            return "execution" if execution == "future_dated" else "received"
        if v not in CLOCK_STARTS:
            raise self.fail(
                "clock_start", f"{raw.strip()!r} is not a clock start: give received or execution"
            )
        return v


def _rule_id(scope: Scope) -> str:
    execution, cv, srv, dt = scope
    parts = [execution]
    if cv is not None:
        parts.append(f"cv{cv}")
    if srv is not None:
        parts.append(f"srv{srv}")
    if dt is not None:
        parts.append(dt.lower())
    return "-".join(parts)


def read_trt_csv(catalog: Catalog, path: str | Path) -> list[tuple[int, Scope, dict[str, Any]]]:
    """The CSV's rules, checked: (line, scope, the rule's catalog fields) in file order."""
    p = Path(path)
    r = _Reader(catalog, str(p))
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise CatalogError(f"cannot read: {exc.strerror}", path=str(p)) from None
    except UnicodeDecodeError as exc:
        raise CatalogError(f"not UTF-8 at byte {exc.start}", path=str(p)) from None
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = next(reader)
    except StopIteration:
        raise r.fail(None, "the file is empty: give a header line") from None
    except csv.Error as exc:
        raise r.fail(None, f"not CSV ({exc})") from None
    names = [_name(h) for h in header]
    for i, n in enumerate(names):
        if n not in REQUIRED + OPTIONAL:
            raise r.fail(
                header[i].strip() or f"{i + 1}",
                f"unknown column (the columns are {', '.join(REQUIRED)}, "
                f"and optionally {', '.join(OPTIONAL)})",
            )
        if names.index(n) != i:
            raise r.fail(n, "the column is given twice")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise r.fail(
            missing[0],
            "missing column"
            + (f" (also missing: {', '.join(missing[1:])})" if missing[1:] else ""),
        )
    rules: list[tuple[int, Scope, dict[str, Any]]] = []
    seen: dict[Scope, int] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            r.line = reader.line_num
            raise r.fail(None, f"not CSV ({exc})") from None
        r.line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(names):
            raise r.fail(None, f"{len(row)} fields where the header has {len(names)}")
        cells = dict(zip(names, row, strict=True))
        execution = r.execution(cells["execution"])
        srv = r.srv(cells["srv"], execution)
        device = r.device_type(cells["device_type"], srv)
        seconds = r.seconds(cells["seconds"])
        source = r.source(cells["source"])
        cv = r.command_variant(cells.get("command_variant", ""), srv)
        clock = r.clock_start(cells.get("clock_start", ""), execution)
        scope: Scope = (execution, cv, None if srv is None else srv.id, device)
        if scope in seen:
            raise r.fail(
                None,
                f"the same execution, command variant, SRV and device type as line {seen[scope]}",
            )
        seen[scope] = r.line
        fields: dict[str, Any] = {
            "execution": execution,
            "command_variant": cv,
            "srv": scope[2],
            "device_type": device,
            "seconds": seconds,
            "clock_start": clock,
            "description": f"Imported from {p.name} line {r.line}",
            "source": source.value,
        }
        rules.append((r.line, scope, fields))
    if not rules:
        raise r.fail(None, "no rules: the file has a header but no rule lines")
    return rules


def import_trt_csv(catalog: Catalog, path: str | Path) -> Catalog:
    """`catalog` with the Target Response Times of the CSV at `path` (module docstring).

    The result is the catalog as `write_catalog` writes it, read back: what the user will pass
    with `--catalog` is exactly what was checked here."""
    imported = read_trt_csv(catalog, path)
    data = catalog.model_dump(mode="json", by_alias=True, exclude={"sha256", "path"})
    by_scope = {
        (t.execution, t.command_variant, t.srv, t.device_type): i for i, t in enumerate(catalog.trt)
    }
    trt: list[dict[str, Any]] = list(data["trt"])
    ids = {t["id"] for t in trt}
    for _line, scope, fields in imported:
        if scope in by_scope:
            i = by_scope[scope]
            trt[i] = {"id": trt[i]["id"], **fields}
            continue
        rid = _rule_id(scope)
        while rid in ids:
            rid += "_"
        ids.add(rid)
        trt.append({"id": rid, **fields})
    data["trt"] = [{k: v for k, v in t.items() if v is not None} for t in trt]
    origin = f"{catalog.path or 'the shipped catalog'} with the TRTs of {Path(path).name}"
    try:
        merged = Catalog.model_validate(data)  # references are checked on parsing below
    except ValidationError as exc:  # each cell was checked above: this is not expected
        raise CatalogError(str(exc.errors()[0]["msg"]), path=str(path)) from None
    return parse_catalog(catalog_toml(merged, origin).encode("utf-8"), origin)


__all__ = ["import_trt_csv", "read_trt_csv"]
