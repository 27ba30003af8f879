"""The restricted extract of failed requests: which rows, with which columns (design §4).

Every failed request of the month, keyed by its party's anonymised label, for that party's own
pack. A failed request is an accepted row (no row rule broken, not a repeat of an earlier
request id) received in the month, whose response class is neither success nor user-caused,
or a success after more than `MAX_DSP_ATTEMPTS` DSP attempts: `_live & _failure` of
`requests.request_facts` (`checked_failures`).

By the time the extract is written, the aggregation pass has already decided which rows are
accepted: every other row is in the quarantine, fetched with its file and row
(`validation.fetch_quarantined`). So `failed_requests` checks no rule again. It reads the
columns the extract outputs plus those that decide failure and month, keeps the rows that may
fail in the month next to the scan, and drops the quarantined ones by (file, row): no value
lookup joined on the categorical columns, no duplicate flags, no row rule evaluated. When the
quarantine fetched was capped (`QUARANTINE_ROW_LIMIT`) it does not hold every quarantined row,
and the caller falls back to `checked_failures`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from opmetrics.catalog import Catalog
from opmetrics.contract.schema import FILE_COLUMN, ROW_COLUMN
from opmetrics.contract.sources import TableSource
from opmetrics.engine.base import Engine
from opmetrics.measures.requests import (
    SET_ID,
    clock_start_us,
    in_month_us,
    may_fail,
    not_negative,
    reporting_region,
    trt_rule,
)
from opmetrics.month import Month

# Within a party, the extract's rows are ordered by these (request_id is unique among accepted
# rows, so the order is total); files are partitioned by the label (`Engine.write_parquet_dataset`).
PARTY_KEY = "party_label"
ORDER = ("received_at", "request_id")
KEYS = (FILE_COLUMN, ROW_COLUMN)  # a row's provenance: how quarantined rows are dropped


def failed_requests(
    engine: Engine,
    source: TableSource,
    catalog: Catalog,
    month: Month,
    lookup: pa.Table,
    quarantined: pa.Table,
    device_ids: ir.Table | None,
    labels: dict[str, str],
    sets: pa.Table,
) -> ir.Table:
    """The extract from the raw requests and what validation established: `quarantined` holds
    (`_file`, `_row`) of *every* quarantined request (all months); `lookup` is the value lookup
    of the aggregation pass (the response codes of each class)."""
    raw = engine.read_table(source)
    t = raw.filter(may_fail(raw, lookup) & in_month_us(engine.epoch_us(raw.received_at), month))
    if quarantined.num_rows:
        t = t.anti_join(engine.memtable(quarantined.select(list(KEYS))), list(KEYS))
    us = {c: engine.epoch_us(t[c]) for c in ("received_at", "execute_at", "responded_at")}
    _, from_exec = trt_rule(t, catalog)
    rtt_us = not_negative(us["responded_at"] - clock_start_us(t, from_exec, us))
    t = t.mutate(region=reporting_region(t, catalog), _rtt_us=rtt_us)
    if device_ids is None:
        t = t.mutate(**{SET_ID: ibis.literal(0, "int32")})
    else:
        j = t.left_join(device_ids, t.target_id == device_ids._dev_id)
        t = j.mutate(**{SET_ID: j[SET_ID].fill_null(0)}).drop("_dev_id")
    return _extract(engine, t, labels, sets)


def checked_failures(
    engine: Engine, facts: ir.Table, lookup: pa.Table, labels: dict[str, str], sets: pa.Table
) -> ir.Table:
    """The extract by definition: the checked facts' live failures (every rule evaluated again).

    `may_fail` first lets the engine drop the rows that cannot fail next to the scan."""
    f = facts.filter(may_fail(facts, lookup))
    return _extract(engine, f.filter(f["_live"] & f["_failure"]), labels, sets)


def _extract(engine: Engine, t: ir.Table, labels: dict[str, str], sets: pa.Table) -> ir.Table:
    """Label, device set and the extract's columns (PARTY_FAILURES) of the failed rows `t`."""
    lab = engine.memtable(pa.table({"_uid": list(labels), PARTY_KEY: list(labels.values())}))
    j = t.inner_join(lab, t.user_id == lab["_uid"]).inner_join(engine.memtable(sets), SET_ID)
    return j.select(
        PARTY_KEY,
        "request_id",
        "srv",
        "target_id",
        "device_type",
        "comms_hub_model",
        "meter_model",
        "firmware_version",
        "region",
        "response_code",
        dsp_attempts=j.dsp_attempts.cast("int64"),
        rtt_s=(j["_rtt_us"].cast("float64") / 1e6),
        received_at=j.received_at,
    )


__all__ = ["KEYS", "ORDER", "PARTY_KEY", "checked_failures", "failed_requests"]
