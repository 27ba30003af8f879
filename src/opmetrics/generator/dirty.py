"""Deliberately broken rows (`--dirty P`), one way per validation reason, counted exactly.

A fraction P of each table's rows is broken, spread evenly over the ways the contract's row
rules know for that table (the CSV-only ways, unparsable values and malformed records, only in
CSV). Each way changes one value so that exactly its rule is the first one the row breaks
(rules are tried in order), so `validate` must quarantine exactly the counts written to
truth.json. Duplicates copy the key of an earlier, unbroken row of the same file.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from opmetrics.catalog import Catalog

Replace = Callable[[pa.Table, np.ndarray], tuple[str, pa.Array]]


def _const(col: str, value: object, type_: pa.DataType | None = None) -> Replace:
    def f(t: pa.Table, rows: np.ndarray) -> tuple[str, pa.Array]:
        typ = type_ or _plain(t.schema.field(col).type)
        return col, pa.array([value] * len(rows), typ)

    return f


def _plain(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def _shift(col: str, base: str, delta: timedelta) -> Replace:
    def f(t: pa.Table, rows: np.ndarray) -> tuple[str, pa.Array]:
        v = pc.take(t[base].combine_chunks(), pa.array(rows))
        return col, pc.add(v, pa.scalar(delta, pa.duration("us")))

    return f


def _srv_based(catalog: Catalog, col: str, pick: Callable[[str], str]) -> Replace:
    def f(t: pa.Table, rows: np.ndarray) -> tuple[str, pa.Array]:
        srvs = pc.take(t["srv"], pa.array(rows)).to_pylist()
        return col, pa.array([pick(s) for s in srvs], pa.string())

    return f


def ways(table: str, catalog: Catalog, csv: bool) -> list[tuple[str, Replace | None]]:
    """(reason code, change) for every way a row of `table` can be broken; None = special."""
    day = timedelta(days=1)
    out: list[tuple[str, Replace | None]] = []
    if csv:
        invalid_col = {
            "service_requests": "dsp_attempts",
            "alerts": "consolidated",
            "incidents": "category",
            "outages": "planned",
            "firmware": "requested_at",
        }.get(table)
        if invalid_col:
            out.append(("invalid_value", _const(invalid_col, "unknown", pa.string())))
        out.append(("malformed_row", None))
    if table == "service_requests":

        def mismatch(srv: str) -> str:
            s = catalog.srvs[srv]
            return next(d for d in catalog.device_types if d not in s.device_types)

        def wrong_execution(srv: str) -> str:
            return "on_demand" if catalog.srvs[srv].non_device else "non_device"

        out += [
            ("missing_required", _const("target_id", None)),
            ("bad_request_id", _const("request_id", "REQ-0001")),
            ("bad_user_id", _const("user_id", "USER-0001")),
            ("unknown_srv", _const("srv", "99.9")),
            ("unknown_device_type", _const("device_type", "TOASTER")),
            ("device_type_mismatch", _srv_based(catalog, "device_type", mismatch)),
            ("unknown_smets", _const("smets", "SMETS3")),
            ("unknown_region", _const("region", "Wales")),
            ("unknown_execution", _const("execution", "scheduled")),
            ("execution_mismatch", _srv_based(catalog, "execution", wrong_execution)),
            ("bad_command_variant", _const("command_variant", 9)),
            ("unknown_response_code", _const("response_code", "X99")),
            (
                "timestamps_out_of_order",
                _shift("responded_at", "received_at", -timedelta(seconds=1)),
            ),
            ("implausible_timestamp", _shift("execute_at", "received_at", 500 * day)),
            ("bad_dsp_attempts", _const("dsp_attempts", 0)),
            ("duplicate_key", None),
        ]
    elif table == "devices":
        out += [
            ("missing_required", _const("device_type", None)),
            ("unknown_device_type", _const("device_type", "TOASTER")),
            ("unknown_smets", _const("smets", "SMETS3")),
            ("unknown_region", _const("region", "Wales")),
            ("duplicate_key", None),
        ]
    elif table == "parties":
        out += [
            ("missing_required", _const("name", None)),
            ("bad_user_id", _const("user_id", "USER-0001")),
            ("duplicate_key", None),
        ]
    elif table == "alerts":
        out += [
            ("missing_required", _const("alert_code", None)),
            ("unknown_alert_type", _const("alert_type", "cloud")),
            ("unknown_region", _const("region", "Wales")),
            ("unknown_smets", _const("smets", "SMETS3")),
            ("timestamps_out_of_order", _shift("delivered_at", "raised_at", -timedelta(seconds=1))),
            ("implausible_timestamp", _shift("delivered_at", "raised_at", 500 * day)),
            ("duplicate_key", None),
        ]
    elif table == "incidents":
        out += [
            ("missing_required", _const("dcc_responsible", None)),
            ("bad_category", _const("category", 7)),
            ("unknown_interface", _const("interfaces", "Carrier Pigeon Interface")),
            ("unknown_region", _const("regions", "Atlantis")),
            ("timestamps_out_of_order", _shift("assigned_at", "raised_at", -timedelta(hours=1))),
            ("implausible_timestamp", _shift("resolved_at", "raised_at", 500 * day)),
            ("duplicate_key", None),
        ]
    elif table == "outages":
        out += [
            ("missing_required", _const("interface", None)),
            ("unknown_interface", _const("interface", "Carrier Pigeon Interface")),
            ("unknown_region", _const("region", "Atlantis")),
            ("end_before_start", _shift("end_at", "start_at", -timedelta(hours=1))),
            ("implausible_timestamp", _shift("end_at", "start_at", 500 * day)),
            ("duplicate_key", None),
        ]
    elif table == "firmware":
        out += [
            ("missing_required", _const("image", None)),
            ("unknown_region", _const("region", "Wales")),
            ("unknown_status", _const("delivery_status", "unknown")),
            (
                "timestamps_out_of_order",
                _shift("delivered_at", "requested_at", -timedelta(hours=1)),
            ),
            ("implausible_timestamp", _shift("activated_at", "requested_at", 500 * day)),
        ]
    return out


KEYS = {
    "service_requests": "request_id",
    "devices": "device_id",
    "parties": "user_id",
    "alerts": "alert_id",
    "incidents": "incident_id",
    "outages": "outage_id",
}


@dataclass
class Broken:
    table: pa.Table  # the rows that stay in the table (malformed ones are removed)
    kept: np.ndarray  # bool per input row: still in `table`
    broken: np.ndarray  # bool per input row: quarantined by validation
    counts: dict[str, int] = field(default_factory=dict)
    raw_lines: bytes = b""  # CSV records with a field too many, to append to the file


def break_rows(
    name: str,
    t: pa.Table,
    fraction: float,
    rng: np.random.Generator,
    catalog: Catalog,
    csv: bool,
    group: np.ndarray | None = None,
) -> Broken:
    """Break round(fraction * rows) rows of `t`, spread over the table's ways."""
    n = t.num_rows
    kept = np.ones(n, dtype=bool)
    broken = np.zeros(n, dtype=bool)
    k = round(fraction * n)
    if k <= 0 or n == 0:
        return Broken(t, kept, broken)
    all_ways = ways(name, catalog, csv)
    rows = np.sort(rng.choice(n, size=min(k, n), replace=False))
    assignment = rng.permutation(len(rows)) % len(all_ways)
    counts: dict[str, int] = {}
    broken[rows] = True
    chosen: dict[str, np.ndarray] = {}
    for wi, (code, _) in enumerate(all_ways):
        sel = rows[assignment == wi]
        if code == "duplicate_key":
            sel = _duplicate_targets(sel, broken, group)
        chosen[code] = sel
    broken[:] = False
    for sel in chosen.values():
        broken[sel] = True
    # unparsable values last: they turn a column into text that later changes cannot shift
    for code, change in sorted(all_ways, key=lambda w: w[0] == "invalid_value"):
        sel = chosen[code]
        if not len(sel):
            continue
        counts[code] = counts.get(code, 0) + len(sel)
        if change is not None:
            t = _apply(t, sel, *change(t, sel))
    if "duplicate_key" in chosen and len(chosen["duplicate_key"]):
        sel = chosen["duplicate_key"]
        key = KEYS[name]
        src = _sources(sel, broken)
        t = _apply(t, sel, key, pc.take(t[key], pa.array(src)))
    raw = b""
    mal = chosen.get("malformed_row", np.array([], dtype=np.int64))
    if len(mal):
        buf = io.BytesIO()
        pacsv.write_csv(t.take(pa.array(mal)), buf, pacsv.WriteOptions(include_header=False))
        lines = buf.getvalue().rstrip(b"\n").split(b"\n")
        raw = b"".join(line + b',"extra field"\n' for line in lines)
        kept[mal] = False
        t = t.filter(pa.array(kept))
    return Broken(t, kept, broken, {c: v for c, v in counts.items() if v}, raw)


def _duplicate_targets(sel: np.ndarray, broken: np.ndarray, group: np.ndarray | None) -> np.ndarray:
    """Rows that may become duplicates: the row before is unbroken and in the same file group."""
    ok = sel[sel > 0]
    src = _sources(ok, broken)
    good = src >= 0
    if group is not None:
        good &= group[np.maximum(src, 0)] == group[ok]
    return ok[good]


def _sources(sel: np.ndarray, broken: np.ndarray) -> np.ndarray:
    """For each row, the nearest earlier row that is not broken (-1 if none)."""
    clean = np.flatnonzero(~broken)
    pos = np.searchsorted(clean, sel) - 1
    return np.where(pos >= 0, clean[np.maximum(pos, 0)], -1)


def _apply(t: pa.Table, rows: np.ndarray, col: str, values: pa.Array) -> pa.Table:
    i = t.schema.get_field_index(col)
    old = t.column(i).combine_chunks()
    if pa.types.is_dictionary(old.type):
        old = old.dictionary_decode()
    if values.type != old.type:
        old = old.cast(values.type) if pa.types.is_string(values.type) else old
        values = values.cast(old.type)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    mask = np.zeros(len(old), dtype=bool)
    mask[rows] = True
    new = pc.replace_with_mask(old, pa.array(mask), values)
    return t.set_column(i, pa.field(col, new.type), new)
