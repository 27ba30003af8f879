"""Service request facts and the one pass that turns a month of requests into aggregates.

Every result about service requests (srv_summary, srv_daily, srv_party, dcc_proxy,
srv_device_set, CPM1, CPM2, CPM6A) is derived from four compact aggregates built here in a
single scan of the raw rows: the *daily* aggregate (outcomes per local date × SRV × reporting
region), the *fine* aggregate (counts and sums per SRV × reporting region × device type × party ×
execution × device set, over the month), the *RTT histogram* (successful requests per SRV ×
region × device type × log bucket) and the *delivery histogram* (time to the Comms Hub, for the
SRVs whose DCC proxy it is). All come out of one Ibis aggregation: each row is paired
with a four-row "set" table, each set carrying its own keys, so the engine reads the data once
(a grouping-sets query written portably). The same pass also counts rows per quarantine reason
and rows outside the month.

No report needs the date and the device set together, so they are not grouped together: at
300M requests that product had 1.2M groups, more than the engine's per-thread hash tables hold,
and the partial aggregates then grew with the rows read until they spilled; apart, the daily
and fine aggregates have about 3,000 and 40,000 groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from opmetrics.catalog import Catalog
from opmetrics.contract.schema import MAX_DSP_ATTEMPTS
from opmetrics.engine.base import Engine
from opmetrics.measures.rtt import bucket_expr
from opmetrics.month import UK, Month
from opmetrics.validation.validate import REASON_CODE, US_PREFIX

UNKNOWN = "UNKNOWN"
GROUP_ID = "_gk"  # (user_id, srv, device_type, reporting region, execution)
HIST_ID = "_hk"  # (srv, device_type, reporting region)
DAY_ID = "_dk"  # (srv, reporting region)
SET_ID = "_ds"  # (comms hub model, meter model, firmware version)
GROUP_COLUMNS = ("user_id", "srv", "device_type", "region", "execution")
SET_COLUMNS = ("comms_hub_model", "meter_model", "firmware_version")
DAILY_KEYS = ("date", "srv", "region")
DAILY_SUMS = ("succeeded", "failed", "excluded")
FINE_KEYS = (
    "srv",
    "region",
    "device_type",
    "user_id",
    "execution",
    "comms_hub_model",
    "meter_model",
    "firmware_version",
)
OUTCOME_SUMS = ("submitted", "succeeded", "failed", "excluded")  # requests and how they ended
SUMS = (
    *OUTCOME_SUMS,
    "responded",
    "within_trt",
    "dcc_counted",
    "dcc_within",
    "rtt_sum_us",
    "delivered",
    "deliv_within",
    "deliv_sum_us",
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


def trt_rule(t: ir.Table, catalog: Catalog) -> tuple[ir.NumericValue, ir.BooleanValue]:
    """Per request: TRT in microseconds and whether its clock starts at the execution time.

    The rules are tried in precedence order (`Catalog.trt_for`): the first that matches wins.
    """
    conds = []
    for r in catalog.trt_by_precedence:
        cond = t.execution == r.execution
        if r.command_variant is not None:
            cond = cond & (t.command_variant == r.command_variant)
        if r.srv is not None:
            cond = cond & (t.srv == r.srv)
        if r.device_type is not None:
            cond = cond & (t.device_type == r.device_type)
        conds.append((cond, r))
    trt_us = ibis.cases(
        *[(c, ibis.literal(round(r.seconds * 1_000_000))) for c, r in conds],
        else_=ibis.null("int64"),
    )
    from_exec = ibis.cases(
        *[(c, ibis.literal(r.clock_start == "execution")) for c, r in conds],
        else_=ibis.literal(False),
    )
    return trt_us, from_exec


def request_values(v: ir.Table, catalog: Catalog) -> dict[str, ir.Value]:
    """What a request's categorical values decide, computed once per distinct combination.

    Passed to `checked_table(..., derive=request_values)`: response class, TRT, whether the
    clock starts at the execution time, and whether the request counts for CPM1/CPM2.
    """
    trt_us, from_exec = trt_rule(v, catalog)
    region = reporting_region(v, catalog)
    delivery = sorted(delivery_proxy_srvs(catalog))
    return {
        "_delivery_proxy": v.srv.isin(delivery) if delivery else ibis.literal(False),
        "_class": response_class(v.response_code, catalog),
        "_trt_us": trt_us.cast("int64"),
        "_from_exec": from_exec,
        "_device_exec": v.execution.isin(["on_demand", "future_dated"]),
        # integer ids of the aggregation keys: hashing ints is far cheaper than strings
        GROUP_ID: ibis.dense_rank()
        .over(order_by=[v.user_id, v.srv, v.device_type, region, v.execution])
        .cast("int32"),
        HIST_ID: ibis.dense_rank().over(order_by=[v.srv, v.device_type, region]).cast("int32"),
        DAY_ID: ibis.dense_rank().over(order_by=[v.srv, region]).cast("int32"),
        "_region": region,
    }


PROXY_DEVICE_TYPES = ("CHF", "GPF")


def delivery_proxy_srvs(catalog: Catalog) -> set[str]:
    """SRVs of the business processes none of whose SRVs ever targets a CHF or GPF (design §5):
    their DCC proxy is the time to deliver the command to the Comms Hub, not a CHF/GPF RTT."""
    out: set[str] = set()
    for bp in catalog.business_processes:
        srvs = catalog.srvs_of(bp)
        if srvs and not any(d in PROXY_DEVICE_TYPES for s in srvs for d in s.device_types):
            out |= {s.id for s in srvs if not s.non_device}
    return out


def reporting_region(t: ir.Table, catalog: Catalog) -> ir.StringValue:
    """SMETS1 devices report as the SMETS1 region; SMETS2 as their CSP region."""
    return ibis.ifelse(t.smets == "SMETS1", catalog.smets1_region, t.region)


def device_sets(devices: ir.Table) -> ir.Table:
    """device_id → (comms hub model, meter manufacturer + model, firmware version)."""
    d = devices.select("device_id", "manufacturer", "model", "firmware_version", "comms_hub_id")
    ch = devices.view().select(ch_id="device_id", ch_model="model")
    j = d.left_join(ch, d.comms_hub_id == ch.ch_id)
    meter = (j.manufacturer.fill_null("") + " " + j.model.fill_null("")).strip()
    return j.select(
        _dev_id=j.device_id,
        comms_hub_model=j.ch_model.fill_null(UNKNOWN),
        meter_model=ibis.ifelse(meter == "", UNKNOWN, meter),
        firmware_version=j.firmware_version.fill_null(UNKNOWN),
    )


def device_set_ids(devices: ir.Table | None, engine: Engine) -> tuple[ir.Table | None, pa.Table]:
    """device_id → integer device-set id, and the id → (hub model, meter model, firmware) table.

    Id 0 is the unknown set (a target not in the inventory, or no inventory at all).

    The checked inventory (read, validated and joined to its Comms Hubs) is computed once and
    kept by the engine: the device sets, the aggregation and the failed-request extract all
    read it, and each evaluation took 0.8 s at 10M requests (0.66M devices).
    """
    unknown = {SET_ID: [0], **{c: [UNKNOWN] for c in SET_COLUMNS}}
    if devices is None:
        return None, pa.table(unknown, schema=_SET_SCHEMA)
    sets = engine.keep(device_sets(devices))
    distinct = engine.to_arrow(sets.select(*SET_COLUMNS).distinct()).sort_by(
        [(c, "ascending") for c in SET_COLUMNS]
    )
    decode = pa.table(
        {
            SET_ID: pa.array(range(1, distinct.num_rows + 1), pa.int32()),
            **{c: distinct[c] for c in SET_COLUMNS},
        }
    )
    ids = engine.memtable(decode)
    sv = sets.view()
    by_device = engine.keep(sv.inner_join(ids, list(SET_COLUMNS)).select("_dev_id", SET_ID))
    engine.release(sets)  # only `by_device` is read from here on
    return by_device, pa.concat_tables(
        [pa.table(unknown, schema=_SET_SCHEMA), decode.cast(_SET_SCHEMA)]
    )


_SET_SCHEMA = pa.schema([(SET_ID, pa.int32()), *[(c, pa.string()) for c in SET_COLUMNS]])


def request_facts(
    checked: ir.Table, device_ids: ir.Table | None, catalog: Catalog, month: Month
) -> ir.Table:
    """One row per input request with its outcome, timings and the keys of every report.

    `checked` comes from `checked_table(..., derive=request_values)`: the response class, TRT
    and aggregation ids were computed once per distinct combination of categorical values.
    """
    t = checked
    us = {
        c: t[f"{US_PREFIX}{c}"]
        for c in ("received_at", "execute_at", "delivered_at", "device_response_at", "responded_at")
    }
    klass = t["_class"]
    excluded = klass == "user_caused"
    success = (klass == "success") & (
        t.dsp_attempts.isnull() | (t.dsp_attempts <= MAX_DSP_ATTEMPTS)
    )
    trt_us = t["_trt_us"]
    clock_us = clock_start_us(t, t["_from_exec"], us)
    # A response before the clock start (an immediate rejection of a future-dated request)
    # has RTT 0; the same clamped value feeds the mean, the histogram and the TRT comparison.
    rtt_us = not_negative(us["responded_at"] - clock_us)
    dcc_us = dcc_time_us(us, clock_us, rtt_us)
    # Time to deliver the command to the Comms Hub: the DCC proxy of processes without CHF/GPF
    # traffic, over the non-excluded requests whose command got there.
    deliv_us = not_negative(us["delivered_at"] - clock_us)
    delivered = ~excluded & t.delivered_at.notnull()
    # The outcome flags, null read as false (every later use is a filter or a count, never a
    # negation: `_failure` is decided here, with the null semantics of its parts).
    flags = {
        "_success": success,
        "_failure": ~success & ~excluded,
        "_excluded": excluded,
        "_responded": t.responded_at.notnull(),
        "_within": success & rtt_us.notnull() & (rtt_us <= trt_us),
        "_dcc_counted": t["_device_exec"],
        "_dcc_within": t["_device_exec"] & rtt_us.notnull() & (dcc_us <= trt_us),
        "_delivered": delivered,
        "_deliv_within": delivered & (deliv_us <= trt_us),
        "_delivery_proxy": t["_delivery_proxy"],
    }
    facts = t.mutate(
        region=t["_region"],
        _rtt_us=rtt_us,
        _deliv_us=ibis.ifelse(delivered, deliv_us, ibis.null("int64")),
        **{FLAGS: _pack(list(flags.values()))},
    ).drop("_delivery_proxy")
    if device_ids is not None:
        # The join to the inventory moves every request to its device's partition (on Spark a
        # shuffle of each row's columns): the flags travel packed in one integer, and what
        # follows from the validity and the receipt time is derived after it.
        j = facts.left_join(device_ids, facts.target_id == device_ids._dev_id)
        facts = j.mutate(**{SET_ID: j[SET_ID].fill_null(0)}).drop("_dev_id")
    else:
        facts = facts.mutate(**{SET_ID: ibis.literal(0, "int32")})
    return _with_flags(facts, list(flags), month)


FLAGS = "_flags"


def _pack(flags: list[ir.BooleanValue]) -> ir.IntegerValue:
    """Boolean columns as the bits of one int32 (bit i is flags[i]; null counts as false)."""
    packed: ir.IntegerValue = ibis.literal(0, "int32")
    for i, f in enumerate(flags):
        packed = packed + ibis.ifelse(f, 1 << i, 0).cast("int32")
    return packed


def _with_flags(t: ir.Table, names: list[str], month: Month) -> ir.Table:
    """`t` with its packed flags unpacked, and validity, month and local date derived."""
    us_recv = t[f"{US_PREFIX}received_at"]
    valid = t[REASON_CODE].isnull()
    in_month = in_month_us(us_recv, month)
    bits = {n: (t[FLAGS] & (1 << i)) != 0 for i, n in enumerate(names)}
    return t.mutate(
        _live=valid & in_month,
        _valid=valid,
        _in_month=in_month,
        date=local_day(us_recv, month),
        **bits,
    ).drop(FLAGS)


def clock_start_us(
    t: ir.Table, from_exec: ir.BooleanValue, us: dict[str, ir.IntegerValue]
) -> ir.IntegerValue:
    """When a request's clock starts (epoch microseconds): its execution time where its TRT
    rule says so and that time is later than its receipt, else its receipt."""
    recv_us, exec_us = us["received_at"], us["execute_at"]
    return ibis.ifelse(from_exec & t.execute_at.notnull() & (exec_us > recv_us), exec_us, recv_us)


def in_month_us(received_us: ir.IntegerValue, month: Month) -> ir.BooleanValue:
    """Whether a request was received in the month (design §5), on epoch microseconds."""
    start_us, end_us = (int(x.timestamp()) * 1_000_000 for x in (month.start_utc, month.end_utc))
    return (received_us >= start_us) & (received_us < end_us)


def dcc_time_us(
    us: dict[str, ir.IntegerValue], clock_us: ir.IntegerValue, rtt_us: ir.IntegerValue
) -> ir.IntegerValue:
    """The DCC's share of a request's time (design §5), never below 0.

    RTT minus the HAN leg where both its ends are known; where the command reached the Comms
    Hub but the device never answered, the time to the Comms Hub (the wait for a silent device
    is the HAN's); else the RTT. Null when there was no response.
    """
    delivered, device = us["delivered_at"], us["device_response_at"]
    share = ibis.cases(
        (delivered.notnull() & device.notnull(), rtt_us - (device - delivered)),
        (delivered.notnull() & us["responded_at"].notnull(), delivered - clock_us),
        else_=rtt_us,
    )
    return not_negative(share)


def not_negative(v: ir.IntegerValue) -> ir.IntegerValue:
    """max(v, 0), null stays null (GREATEST skips nulls on DuckDB and Spark: it would make a
    request without a response look instant)."""
    return ibis.ifelse(v < 0, 0, v)


def may_fail(t: ir.Table, lookup: pa.Table) -> ir.BooleanValue:
    """True for every request that can be a failure, on its raw response code and DSP attempts.

    A failure's response class is neither user-caused nor success, unless DSP attempts > 3
    (`MAX_DSP_ATTEMPTS`)
    made a success one. The class is a function of the code alone, so the codes of each class
    come from the value lookup. Filtering failed requests on this first lets the engine drop
    the other rows next to the scan, before the joins that give the class and the checks.
    """
    pairs = set(zip(lookup["response_code"].to_pylist(), lookup["_class"].to_pylist(), strict=True))
    user = sorted(c for c, k in pairs if c is not None and k == "user_caused")
    success = sorted(c for c, k in pairs if c is not None and k == "success")
    code = t.response_code
    not_user = ~code.isin(user) if user else ibis.literal(True)
    not_success = ~code.isin(success) if success else ibis.literal(True)
    return code.isnull() | (not_user & (not_success | (t.dsp_attempts > MAX_DSP_ATTEMPTS)))


def aggregate_expr(facts: ir.Table, engine: Engine) -> ir.Table:
    """The single aggregation over one scan: set 0 the daily keys (every row, for the quarantine
    and month counts too), set 1 the fine keys (live rows), set 2 the RTT histogram keys (live
    successful rows), set 3 the delivery-time histogram keys (live delivered rows of the SRVs
    whose DCC proxy is the time to the Comms Hub)."""
    sets = engine.memtable(pa.table({"_set": pa.array([0, 1, 2, 3], pa.int8())}))
    x = facts.cross_join(sets)
    daily = x["_set"] == 0
    live_daily = daily & x["_live"]
    fine = (x["_set"] == 1) & x["_live"]
    hist = (x["_set"] == 2) & x["_live"] & x["_success"]
    deliv = (x["_set"] == 3) & x["_live"] & x["_delivery_proxy"] & x["_delivered"]
    x = x.filter(daily | fine | hist | deliv)

    def only(cond: ir.BooleanValue, col: ir.Value) -> ir.Value:
        return ibis.ifelse(cond, col, ibis.null(col.type()))

    def pack(high: ir.IntegerValue, low: ir.IntegerValue, bits: int) -> ir.IntegerValue:
        return high.cast("int64") * (1 << bits) + low.cast("int64")

    # Each set's integer keys packed into one int64 (`unpack_keys`): hashing and comparing one
    # integer per row is cheaper than seven mostly-null columns.
    keys = {
        "_set": x["_set"],
        "_reason": only(daily, x[REASON_CODE]),
        KEY: ibis.cases(
            (live_daily, pack(x["date"], x[DAY_ID], DAY_BITS)),
            (daily, ibis.ifelse(x["_valid"] & ~x["_in_month"], OUTSIDE, INVALID)),
            (fine, pack(x[GROUP_ID], x[SET_ID], ID_BITS)),
            (hist, pack(x[HIST_ID], bucket_expr(x["_rtt_us"]) + 1, ID_BITS)),
            else_=pack(x[HIST_ID], bucket_expr(x["_deliv_us"]) + 1, ID_BITS),
        ),
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
        delivered=y["_delivered"].cast(i64).sum(),
        deliv_within=y["_deliv_within"].cast(i64).sum(),
        deliv_sum_us=y["_deliv_us"].fill_null(0).sum(),
        first_us=y[f"{US_PREFIX}received_at"].min(),
        last_us=y[f"{US_PREFIX}received_at"].max(),
    )


@dataclass
class RequestAggregates:
    """What the single pass produced, split and typed for the derivations."""

    daily: pa.Table  # DAILY_KEYS + DAILY_SUMS, live rows only
    fine: pa.Table  # FINE_KEYS + SUMS, live rows only
    histogram: pa.Table  # srv, region, device_type, bucket, n (RTT of successful requests)
    delivery: pa.Table  # the same, of the time to the Comms Hub (delivery-proxy SRVs only)
    reasons: dict[str, int]  # quarantined rows per reason code (all months)
    accepted_total: int  # valid rows, any month
    outside_month: int  # valid rows received outside the month
    first_at: datetime | None  # earliest / latest valid received_at (any month)
    last_at: datetime | None


def run_aggregation(
    facts: ir.Table, engine: Engine, lookup: pa.Table, sets: pa.Table
) -> RequestAggregates:
    """Run the single pass; decode the integer keys with the value lookup and device-set table."""
    raw = unpack_keys(engine.to_arrow(aggregate_expr(facts, engine)))
    days_all, fine_live, hist, deliv = (raw.filter(pc.equal(raw["_set"], k)) for k in (0, 1, 2, 3))
    reasons: dict[str, int] = {}
    for r in (
        days_all.filter(pc.is_valid(days_all["_reason"]))
        .group_by("_reason")
        .aggregate([("submitted", "sum")])
        .to_pylist()
    ):
        reasons[r["_reason"]] = int(r["submitted_sum"])
    valid = days_all.filter(pc.is_null(days_all["_reason"]))
    accepted_total = int(pc.sum(valid["submitted"]).as_py() or 0)
    outside = int(pc.sum(valid.filter(valid["_outside"])["submitted"]).as_py() or 0)
    first_us, last_us = pc.min(valid["first_us"]).as_py(), pc.max(valid["last_us"]).as_py()
    live_days = valid.filter(pc.is_valid(valid["date"]))
    daily = live_days.join(_decode(lookup, DAY_ID, ("srv", "region")), DAY_ID)
    daily = daily.set_column(
        daily.schema.get_field_index("date"), "date", pc.cast(daily["date"], pa.date32())
    )
    daily = daily.select([*DAILY_KEYS, *DAILY_SUMS])
    groups = _decode(lookup, GROUP_ID, GROUP_COLUMNS)
    fine = fine_live.join(groups, GROUP_ID).join(sets, SET_ID).select([*FINE_KEYS, *SUMS])
    hk = _decode(lookup, HIST_ID, ("srv", "device_type", "region"))
    histogram = (
        hist.select([HIST_ID, "bucket", "submitted"])
        .join(hk, HIST_ID)
        .select(["srv", "region", "device_type", "bucket", "submitted"])
    )
    histogram = histogram.rename_columns(["srv", "region", "device_type", "bucket", "n"])
    delivery = (
        deliv.select([HIST_ID, "bucket", "submitted"])
        .join(hk, HIST_ID)
        .select(["srv", "region", "device_type", "bucket", "submitted"])
        .rename_columns(["srv", "region", "device_type", "bucket", "n"])
    )
    return RequestAggregates(
        daily,
        fine,
        histogram,
        delivery,
        dict(sorted(reasons.items())),
        accepted_total,
        outside,
        _instant(first_us),
        _instant(last_us),
    )


KEY = "_k"
DAY_BITS = 24  # set 0: date (days since the epoch) << 24 | DAY_ID
ID_BITS = 32  # set 1: GROUP_ID << 32 | SET_ID; sets 2 and 3: HIST_ID << 32 | bucket + 1
OUTSIDE, INVALID = -1, -2  # set 0 rows that are valid but outside the month, or quarantined


def unpack_keys(raw: pa.Table) -> pa.Table:
    """The aggregate with its packed key split back into `_outside`, `date`, DAY_ID, GROUP_ID,
    SET_ID, HIST_ID and `bucket` (null where the row's set has no such key)."""
    k = raw[KEY]
    s = raw["_set"]

    def part(
        on_set: int, shift: int, bits: int, minus: int = 0, when: pa.ChunkedArray | None = None
    ) -> pa.ChunkedArray:
        v = pc.bit_wise_and(pc.shift_right(k, shift), (1 << bits) - 1)
        mask = pc.equal(s, on_set)
        if when is not None:
            mask = pc.and_(mask, when)
        return pc.cast(pc.if_else(mask, pc.subtract(v, minus), None), pa.int32())

    live = pc.greater_equal(k, 0)
    cols = {
        "_outside": pc.and_(pc.equal(s, 0), pc.equal(k, OUTSIDE)),
        "date": part(0, DAY_BITS, 31, when=live),
        DAY_ID: part(0, 0, DAY_BITS, when=live),
        GROUP_ID: part(1, ID_BITS, 31),
        SET_ID: part(1, 0, ID_BITS),
        HIST_ID: _either(part(2, ID_BITS, 31), part(3, ID_BITS, 31)),
        "bucket": _either(part(2, 0, ID_BITS, minus=1), part(3, 0, ID_BITS, minus=1)),
    }
    out = raw.drop_columns([KEY])
    for name, col in cols.items():
        out = out.append_column(name, col)
    return out


def _either(a: pa.ChunkedArray, b: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.coalesce(a, b)


def _decode(lookup: pa.Table, id_col: str, columns: tuple[str, ...]) -> pa.Table:
    """id → its columns, from the per-value lookup (region here is the reporting region)."""
    t = lookup.select([id_col, *[("_region" if c == "region" else c) for c in columns]])
    t = t.rename_columns([id_col, *columns])
    seen: dict[int, int] = {}
    keep = []
    for i, v in enumerate(t[id_col].to_pylist()):
        if v not in seen:
            seen[v] = i
            keep.append(i)
    return t.take(pa.array(keep, pa.int64()))


def _instant(us: int | None) -> datetime | None:
    return None if us is None else datetime.fromtimestamp(us / 1_000_000, tz=UTC)
