"""Service request facts and the one pass that turns a month of requests into aggregates.

Every result about service requests (srv_summary, srv_daily, srv_party, dcc_proxy,
srv_device_set, CPM1, CPM2, CPM6A) is derived from two compact aggregates built here in a single
scan of the raw rows: the *fine* aggregate (counts and sums per local date × SRV × reporting
region × device type × party × execution × device set) and the *RTT histogram* (successful
requests per SRV × region × device type × log bucket). Both come out of one Ibis aggregation:
each row is paired with a two-row "set" table, set 0 carrying the fine keys and set 1 the
histogram keys, so the engine reads the data once (a grouping-sets query written portably).
The same pass also counts rows per quarantine reason and rows outside the month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from opmetrics.catalog import Catalog
from opmetrics.contract.validate import REASON_CODE, US_PREFIX
from opmetrics.engine import Engine
from opmetrics.measures.rtt import bucket_expr
from opmetrics.month import UK, Month

UNKNOWN = "UNKNOWN"
FINE_KEYS = (
    "date",
    "srv",
    "region",
    "device_type",
    "user_id",
    "execution",
    "comms_hub_model",
    "meter_model",
    "firmware_version",
)
SUMS = (
    "submitted",
    "succeeded",
    "failed",
    "excluded",
    "responded",
    "within_trt",
    "dcc_counted",
    "dcc_within",
    "rtt_sum_us",
)


def _local_offsets(month: Month) -> tuple[timedelta, datetime | None, timedelta]:
    """UK offset at the month's start, the instant it changes inside the month (if any), the offset after."""
    start, end = month.start_utc, month.end_utc
    off0 = start.astimezone(UK).utcoffset() or timedelta(0)
    off1 = (end - timedelta(seconds=1)).astimezone(UK).utcoffset() or timedelta(0)
    if off0 == off1:
        return off0, None, off1
    lo, hi = start, end  # binary search the change to the second
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if (mid.astimezone(UK).utcoffset() or timedelta(0)) == off0:
            lo = mid
        else:
            hi = mid
    return off0, hi.replace(microsecond=0), off1


US_PER_DAY = 86_400_000_000


def local_day(epoch_us: ir.IntegerValue, month: Month) -> ir.IntegerValue:
    """UK local date of an instant inside the month, as days since 1970-01-01 (Arrow's date32).

    Integer arithmetic on epoch microseconds with a fixed offset on each side of the month's
    clock change: engine-neutral, exact, and much faster than time-zone-aware timestamps.
    """
    off0, change, off1 = _local_offsets(month)
    o0 = int(off0.total_seconds()) * 1_000_000
    if change is None:
        shifted = epoch_us + o0
    else:
        change_us = int(change.timestamp()) * 1_000_000
        shifted = epoch_us + ibis.ifelse(
            epoch_us >= change_us, int(off1.total_seconds()) * 1_000_000, o0
        )
    return (shifted // US_PER_DAY).cast("int32")


def response_class(code: ir.StringValue, catalog: Catalog) -> ir.StringValue:
    branches = [(code.isnull(), ibis.literal("none"))]
    for rule in catalog.response_code:
        cond = (
            code.isin(list(rule.codes)) if rule.codes else code.re_search(f"^(?:{rule.pattern})$")
        )
        branches.append((cond, ibis.literal(rule.class_)))
    return ibis.cases(*branches, else_=ibis.literal("unknown"))


def _trt(t: ir.Table, catalog: Catalog) -> tuple[ir.NumericValue, ir.BooleanValue]:
    """Per request: TRT in microseconds and whether its clock starts at the execution time."""
    specific = [r for r in catalog.trt if r.command_variant is not None]
    default = [r for r in catalog.trt if r.command_variant is None]
    conds = [
        ((t.execution == r.execution) & (t.command_variant == r.command_variant), r)
        for r in specific
    ]
    conds += [(t.execution == r.execution, r) for r in default]
    trt_us = ibis.cases(
        *[(c, ibis.literal(int(r.seconds * 1_000_000))) for c, r in conds], else_=ibis.null("int64")
    )
    from_exec = ibis.cases(
        *[(c, ibis.literal(r.clock_start == "execution")) for c, r in conds],
        else_=ibis.literal(False),
    )
    return trt_us, from_exec


def device_sets(devices: ir.Table | None) -> ir.Table | None:
    """device_id → (comms hub model, meter manufacturer + model, firmware version)."""
    if devices is None:
        return None
    d = devices.select("device_id", "manufacturer", "model", "firmware_version", "comms_hub_id")
    ch = devices.select(ch_id="device_id", ch_model="model")
    j = d.left_join(ch, d.comms_hub_id == ch.ch_id)
    meter = (j.manufacturer.fill_null("") + " " + j.model.fill_null("")).strip()
    return j.select(
        _dev_id=j.device_id,
        comms_hub_model=j.ch_model.fill_null(UNKNOWN),
        meter_model=ibis.ifelse(meter == "", UNKNOWN, meter),
        firmware_version=j.firmware_version.fill_null(UNKNOWN),
    )


def request_facts(
    checked: ir.Table, devices: ir.Table | None, engine: Engine, catalog: Catalog, month: Month
) -> ir.Table:
    """One row per input request with its outcome, timings and the keys of every report."""
    t = checked
    valid = t[REASON_CODE].isnull()
    start_us, end_us = (int(x.timestamp()) * 1_000_000 for x in (month.start_utc, month.end_utc))
    in_month = (t[f"{US_PREFIX}received_at"] >= start_us) & (t[f"{US_PREFIX}received_at"] < end_us)
    klass = response_class(t.response_code, catalog)
    excluded = klass == "user_caused"
    success = (klass == "success") & (t.dsp_attempts.isnull() | (t.dsp_attempts <= 3))
    trt_us, from_exec = _trt(t, catalog)
    us = {
        c: t[f"{US_PREFIX}{c}"]
        for c in ("received_at", "execute_at", "delivered_at", "device_response_at", "responded_at")
    }
    recv_us, exec_us = us["received_at"], us["execute_at"]
    start_us = ibis.ifelse(
        from_exec & t.execute_at.notnull() & (exec_us > recv_us), exec_us, recv_us
    )
    rtt_us = us["responded_at"] - start_us
    han_us = ibis.ifelse(
        t.device_response_at.notnull() & t.delivered_at.notnull(),
        us["device_response_at"] - us["delivered_at"],
        0,
    )
    dcc_us = rtt_us - han_us
    facts = t.mutate(
        _live=valid & in_month,
        _valid=valid,
        _in_month=in_month,
        date=local_day(recv_us, month),
        region=ibis.ifelse(t.smets == "SMETS1", catalog.smets1_region, t.region),
        _success=success,
        _failure=~success & ~excluded,
        _excluded=excluded,
        _responded=t.responded_at.notnull(),
        _within=success & rtt_us.notnull() & (rtt_us <= trt_us),
        _dcc_counted=t.execution.isin(["on_demand", "future_dated"]),
        _dcc_within=t.execution.isin(["on_demand", "future_dated"])
        & rtt_us.notnull()
        & (dcc_us <= trt_us),
        _rtt_us=rtt_us,
    )
    sets = device_sets(devices)
    if sets is None:
        facts = facts.mutate(
            comms_hub_model=ibis.literal(UNKNOWN),
            meter_model=ibis.literal(UNKNOWN),
            firmware_version=ibis.literal(UNKNOWN),
        )
    else:
        j = facts.left_join(sets, facts.target_id == sets._dev_id)
        facts = j.mutate(
            comms_hub_model=j.comms_hub_model.fill_null(UNKNOWN),
            meter_model=j.meter_model.fill_null(UNKNOWN),
            firmware_version=j.firmware_version.fill_null(UNKNOWN),
        ).drop("_dev_id")
    return facts


def aggregate_expr(facts: ir.Table, engine: Engine) -> ir.Table:
    """The single aggregation: fine keys (set 0) and RTT histogram keys (set 1) over one scan."""
    sets = engine.memtable(pa.table({"_set": pa.array([0, 1], pa.int8())}))
    x = facts.cross_join(sets)
    fine = x["_set"] == 0
    live_fine = fine & x["_live"]
    hist = (x["_set"] == 1) & x["_live"] & x["_success"]
    x = x.filter(fine | hist)

    def key(name: str, in_hist: bool = False) -> ir.Value:
        col = x[name]
        cond = (live_fine | hist) if in_hist else live_fine
        return ibis.ifelse(cond, col, ibis.null(col.type()))

    keys = {
        "_set": x["_set"],
        "_reason": ibis.ifelse(fine, x[REASON_CODE], ibis.null("string")),
        "_outside": fine & x["_valid"] & ~x["_in_month"],
        "date": key("date"),
        "srv": key("srv", True),
        "region": key("region", True),
        "device_type": key("device_type", True),
        "user_id": key("user_id"),
        "execution": key("execution"),
        "comms_hub_model": key("comms_hub_model"),
        "meter_model": key("meter_model"),
        "firmware_version": key("firmware_version"),
        "bucket": ibis.ifelse(hist, bucket_expr(x["_rtt_us"]), ibis.null("int32")),
    }
    y = x.mutate(**keys)
    i64 = "int64"
    return y.group_by(list(keys)).aggregate(
        submitted=y.count(),
        succeeded=y["_success"].cast(i64).sum(),
        failed=y["_failure"].cast(i64).sum(),
        excluded=y["_excluded"].cast(i64).sum(),
        responded=y["_responded"].cast(i64).sum(),
        within_trt=y["_within"].cast(i64).sum(),
        dcc_counted=y["_dcc_counted"].cast(i64).sum(),
        dcc_within=y["_dcc_within"].cast(i64).sum(),
        rtt_sum_us=ibis.ifelse(y["_success"], y["_rtt_us"], 0).sum(),
        first_at=y.received_at.min(),
        last_at=y.received_at.max(),
    )


@dataclass
class RequestAggregates:
    """What the single pass produced, split and typed for the derivations."""

    fine: pa.Table  # FINE_KEYS + SUMS, live rows only
    histogram: pa.Table  # srv, region, device_type, bucket, n
    reasons: dict[str, int]  # quarantined rows per reason code (all months)
    accepted_total: int  # valid rows, any month
    outside_month: int  # valid rows received outside the month
    first_at: datetime | None  # earliest / latest valid received_at (any month)
    last_at: datetime | None


def run_aggregation(facts: ir.Table, engine: Engine) -> RequestAggregates:
    raw = engine.to_arrow(aggregate_expr(facts, engine))
    is_fine = pc.equal(raw["_set"], 0)
    fine_all = raw.filter(is_fine)
    hist = raw.filter(pc.invert(is_fine))
    reasons: dict[str, int] = {}
    accepted_total = outside = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    live_mask = []
    for r, o, d, n, fa, la in zip(
        fine_all["_reason"].to_pylist(),
        fine_all["_outside"].to_pylist(),
        fine_all["date"].to_pylist(),
        fine_all["submitted"].to_pylist(),
        fine_all["first_at"].to_pylist(),
        fine_all["last_at"].to_pylist(),
        strict=True,
    ):
        live_mask.append(r is None and d is not None)
        if r is not None:
            reasons[r] = reasons.get(r, 0) + int(n)
            continue
        accepted_total += int(n)
        if o:
            outside += int(n)
        if fa is not None:
            first_at = fa if first_at is None else min(first_at, fa)
            last_at = la if last_at is None else max(last_at, la)
    fine = fine_all.filter(pa.array(live_mask, pa.bool_())).select([*FINE_KEYS, *SUMS])
    fine = fine.set_column(0, "date", pc.cast(fine["date"], pa.date32()))  # days since the epoch
    histogram = hist.select(["srv", "region", "device_type", "bucket", "submitted"]).rename_columns(
        ["srv", "region", "device_type", "bucket", "n"]
    )
    return RequestAggregates(
        fine, histogram, dict(sorted(reasons.items())), accepted_total, outside, first_at, last_at
    )
