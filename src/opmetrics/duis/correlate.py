"""Correlate an archive's messages into data contract rows, as expressions on the engine.

Requests, responses and alerts were spilled to Parquet by the scan; here they are joined by
RequestID. Of a request's responses the acknowledgements (catalog class `interim`, I99) are
passed over and the latest other one is final: its code decides the outcome (design §5). A
request with no final response within the wait counts as unanswered (a failure), unless the
archive ends before its wait runs out: then it is held back (`awaiting_response`) rather than
failed, so a later, longer archive counts it properly.

Each row is then checked against the contract's own row rules, so the data dir written from the
accepted rows passes `opmetrics validate`. Device type, SMETS and region the inventory does not
know are written as `UNKNOWN`; for that check only they stand in as valid values, so the rest of
the row is still checked. A row the rules refuse is quarantined with their code even while it
awaits its response: that refusal is final, the wait is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from opmetrics.catalog import Catalog
from opmetrics.contract.rules import ROW_RULES, US
from opmetrics.contract.schema import ALERTS, INVALID_COLUMN, SERVICE_REQUESTS, TableSpec
from opmetrics.duis.scan import ScanResult
from opmetrics.engine.base import Engine

UNKNOWN = "UNKNOWN"
CODE = "_code"
REASON = "_reason"
TS = "timestamp('UTC', 6)"

REQUEST_PAYLOAD = (
    "request_id",
    "srv",
    "command_variant",
    "target_id",
    "execute_at",
    "received_at",
)
RESPONSE_PAYLOAD = ("request_id", "response_id", "response_code", "responded_at", "srv")
ALERT_PAYLOAD = ("alert_id", "alert_code", "alert_type", "device_id", "user_id", "raised_at")


@dataclass(frozen=True)
class QuarantinePart:
    """Quarantined items of one kind: `expr` has table, source, row, reason_code, reason,
    the `payload` columns written as the JSON `raw` text, and `seq` (QUARANTINE_ORDER)."""

    kind: str  # requests, responses or alerts
    expr: ir.Table
    payload: tuple[str, ...]


# The order rows are written in: stable, whatever the engine.
SERVICE_REQUESTS_ORDER = ("received_at", "request_id")
ALERTS_ORDER = ("raised_at", "alert_id")
QUARANTINE_ORDER = ("seq",)  # the message's place in the archive


@dataclass
class Correlation:
    service_requests: ir.Table  # accepted rows, contract columns (SERVICE_REQUESTS_ORDER)
    alerts: ir.Table  # (ALERTS_ORDER)
    quarantine: list[QuarantinePart]


@dataclass(frozen=True)
class Roles:
    """The User Role of each originator (DUIS headers do not carry it)."""

    default: str = UNKNOWN
    by_user: Mapping[str, str] | None = None

    def expr(self, user_id: ir.StringValue) -> ir.StringValue:
        if not self.by_user:
            return ibis.literal(self.default)
        branches = [(user_id == u.upper(), ibis.literal(r)) for u, r in self.by_user.items()]
        return ibis.cases(*branches, else_=ibis.literal(self.default))


def correlate(
    engine: Engine,
    scan: ScanResult,
    catalog: Catalog,
    devices: ir.Table | None,
    wait_seconds: float,
    roles: Roles,
) -> Correlation:
    wait_us = round(wait_seconds * 1_000_000)
    end_us = _epoch_us(scan.latest)
    req = engine.read_parquet(scan.requests, "duis_requests")
    resp = engine.read_parquet(scan.responses, "duis_responses")
    alr = engine.read_parquet(scan.alerts, "duis_alerts")
    inv = _inventory(devices)

    ok = req.filter(req.reject.isnull())
    ranked = ok.mutate(_rank=ibis.row_number().over(group_by=ok.request_id, order_by=ok.seq))
    kept = ranked.filter(ranked._rank == 0).drop("_rank")
    dups = ranked.filter(ranked._rank > 0)

    fin = resp.filter(~resp.interim & resp.request_id.notnull())
    fin = fin.mutate(
        _r=ibis.row_number().over(
            group_by=fin.request_id, order_by=[fin.responded_at.desc(), fin.seq.desc()]
        )
    )
    fin = fin.filter(fin._r == 0).select(
        f_id="request_id", f_code="response_code", f_at="responded_at", f_seq="seq"
    )
    t = kept.left_join(fin, kept.request_id == fin.f_id).drop("f_id")

    start_us = ibis.greatest(
        engine.epoch_us(t.received_at),
        engine.epoch_us(t.execute_at.fill_null(t.received_at)),
    )
    late = t.f_at.notnull() & ((engine.epoch_us(t.f_at) - start_us) > wait_us)
    pending = t.f_at.isnull() & ((start_us + wait_us) > end_us)
    t = t.mutate(_late=late, _pending=pending)
    answered = t.f_at.notnull() & ~t._late

    non_device_srvs = [s.id for s in catalog.srv if s.non_device]
    non_device = t.srv.isin(non_device_srvs) | (t.command_variant == 8)
    d1 = inv.select(d1_id="_id", d1_type="device_type", d1_smets="smets", d1_region="region")
    d2 = inv.select(d2_id="_id", d2_smets="smets", d2_region="region")
    t = t.left_join(d1, t.target_id == d1.d1_id).left_join(d2, t.subject_device == d2.d2_id)
    t = t.mutate(_nd=non_device)
    unknown = ibis.literal(UNKNOWN)
    rows = t.select(
        "seq",
        "source",
        "line",
        "_late",
        "_pending",
        "f_seq",
        request_id=t.request_id,
        user_id=t.user_id,
        user_role=roles.expr(t.user_id),
        srv=t.srv,
        command_variant=t.command_variant,
        target_id=t.target_id,
        device_type=ibis.cases((t._nd, ibis.literal("NONE")), else_=t.d1_type.fill_null(UNKNOWN)),
        smets=ibis.cases(
            (t._nd, ibis.coalesce(t.d1_smets, t.d2_smets, unknown)),
            else_=t.d1_smets.fill_null(UNKNOWN),
        ),
        region=ibis.cases(
            (t._nd, ibis.coalesce(t.d1_region, t.d2_region, unknown)),
            else_=t.d1_region.fill_null(UNKNOWN),
        ),
        execution=ibis.cases(
            (t._nd, ibis.literal("non_device")),
            (t.execute_at.notnull(), ibis.literal("future_dated")),
            else_=ibis.literal("on_demand"),
        ),
        execute_at=t.execute_at,
        received_at=t.received_at,
        delivered_at=ibis.null(TS),
        device_response_at=ibis.null(TS),
        responded_at=ibis.cases((answered, t.f_at), else_=ibis.null(TS)),
        response_code=ibis.cases((answered, t.f_code), else_=ibis.null("string")),
        dsp_attempts=ibis.null("int64"),
    )
    checked = _check(engine, rows, SERVICE_REQUESTS, catalog, _request_stand_ins(rows, catalog))
    checked = engine.keep(checked)

    accepted = checked.filter(~checked._pending & checked[CODE].isnull())
    service_requests = accepted.select(*SERVICE_REQUESTS.column_names)

    # Every response: used, or quarantined with the reason its request did not become a row.
    acc_ids = accepted.select(a_id="request_id", a_late="_late", a_seq="f_seq")
    known = req.select(k_id="request_id").distinct()
    r = resp.left_join(acc_ids, resp.request_id == acc_ids.a_id).left_join(
        known, resp.request_id == known.k_id
    )
    r_code = ibis.cases(
        (r.a_id.notnull() & r.a_late & (r.seq == r.a_seq), ibis.literal("late_response")),
        (r.a_id.notnull(), ibis.null("string")),
        (r.k_id.notnull(), ibis.literal("request_quarantined")),
        else_=ibis.literal("response_without_request"),
    )
    r_reason = ibis.cases(
        (r.a_id.notnull(), ibis.literal("final response came after the wait: ") + r.request_id),
        (r.k_id.notnull(), ibis.literal("its request was quarantined: ") + r.request_id),
        (r.request_id.isnull(), ibis.literal("no RequestID; ResponseID ") + r.response_id),
        else_=ibis.literal("no request in the archive for ") + r.request_id,
    )
    r = r.mutate(reason_code=r_code, reason=r_reason)
    responses_q = r.filter(r.reason_code.notnull())

    alerts, alert_parts = _alerts(engine, alr, inv, catalog)

    parts = [
        _part("requests", req.filter(req.reject.notnull()), req.reject, req.reject_reason),
        _part(
            "requests",
            dups,
            ibis.literal("duplicate_request"),
            ibis.literal("RequestID already sent earlier in the archive: ") + dups.request_id,
        ),
        _part(
            "requests",
            checked.filter(checked._pending & checked[CODE].isnull()),
            ibis.literal("awaiting_response"),
            ibis.literal("no final response, and the archive ends within the wait"),
        ),
        _part(
            "requests",
            checked.filter(checked[CODE].notnull()),
            checked[CODE],
            checked[REASON],
            table="service_requests",
            payload=SERVICE_REQUESTS.column_names,
        ),
        _part(
            "responses",
            responses_q,
            responses_q.reason_code,
            responses_q.reason,
            payload=RESPONSE_PAYLOAD,
        ),
        *alert_parts,
    ]
    return Correlation(service_requests, alerts, parts)


def _epoch_us(at: datetime | None) -> int:
    if at is None:
        return 0
    return int(at.timestamp()) * 1_000_000 + at.microsecond


def _inventory(devices: ir.Table | None) -> ir.Table:
    """One row per device id (upper case), with its type, SMETS and region."""
    if devices is None:
        cols = ("_id", "device_type", "smets", "region")
        return ibis.memtable(pa.table({c: pa.array([], pa.string()) for c in cols}))
    d = devices.mutate(_id=devices.device_id.upper())
    d = d.mutate(_n=ibis.row_number().over(group_by=d._id, order_by=d.device_id))
    return d.filter(d._n == 0).select("_id", "device_type", "smets", "region")


def _request_stand_ins(rows: ir.Table, catalog: Catalog) -> dict[str, ir.Value]:
    """Valid values standing in for UNKNOWN while the rest of a row is checked."""
    first_type = [(rows.srv == s.id, ibis.literal(s.device_types[0])) for s in catalog.srv]
    return {
        "device_type": ibis.cases(
            (rows.device_type == UNKNOWN, ibis.cases(*first_type, else_=ibis.literal("ESME"))),
            else_=rows.device_type,
        ),
        "smets": ibis.cases((rows.smets == UNKNOWN, ibis.literal("SMETS2")), else_=rows.smets),
        "region": ibis.cases(
            (rows.region == UNKNOWN, ibis.literal(catalog.csp_regions[0])), else_=rows.region
        ),
    }


def _check(
    engine: Engine,
    rows: ir.Table,
    spec: TableSpec,
    catalog: Catalog,
    stand_ins: Mapping[str, ir.Value],
) -> ir.Table:
    """`rows` with the code and reason of the first contract row rule each breaks (else null).

    The rules see what the validator gives them: `_invalid` (null: these rows were never CSV)
    and `_us_<column>`, each timestamp in microseconds since the epoch.
    """
    keep = {f"_real_{c}": rows[c] for c in stand_ins}
    sub = rows.mutate(**keep).mutate(**{INVALID_COLUMN: ibis.null("string")}, **stand_ins)
    sub = sub.mutate(
        **{
            f"{US}{c.name}": engine.epoch_us(sub[c.name])
            for c in spec.columns
            if c.type == "timestamp"
        }
    )
    rules = ROW_RULES[spec.name]
    first = ibis.cases(
        *[(r.broken(sub, catalog), ibis.literal(i)) for i, r in enumerate(rules)],
        else_=ibis.null("int64"),
    )
    sub = sub.mutate(_first=first)
    code = ibis.cases(
        *[(sub._first == i, ibis.literal(r.code)) for i, r in enumerate(rules)],
        else_=ibis.null("string"),
    )
    reason = ibis.cases(
        *[(sub._first == i, r.reason_expr(sub)) for i, r in enumerate(rules)],
        else_=ibis.null("string"),
    )
    out = sub.mutate(**{CODE: code, REASON: reason})
    out = out.mutate(**{c: out[f"_real_{c}"] for c in stand_ins})
    helpers = [c for c in out.columns if c.startswith(US)]
    return out.drop(INVALID_COLUMN, "_first", *keep, *helpers)


def _alerts(
    engine: Engine, alr: ir.Table, inv: ir.Table, catalog: Catalog
) -> tuple[ir.Table, list[QuarantinePart]]:
    ok = alr.filter(alr.reject.isnull())
    ranked = ok.mutate(_rank=ibis.row_number().over(group_by=ok.alert_id, order_by=ok.seq))
    kept = ranked.filter(ranked._rank == 0).drop("_rank")
    dups = ranked.filter(ranked._rank > 0)
    d = inv.select(d_id="_id", d_smets="smets", d_region="region")
    t = kept.left_join(d, kept.device_id == d.d_id)
    rows = t.select(
        "seq",
        "source",
        "line",
        alert_id=t.alert_id,
        alert_code=t.alert_code,
        alert_type=t.alert_type,
        device_id=t.device_id,
        user_id=t.user_id,
        region=t.d_region.fill_null(UNKNOWN),
        smets=t.d_smets,
        raised_at=t.raised_at,
        delivered_at=t.delivered_at,
        consolidated=ibis.null("boolean"),
    )
    stand_in = {
        "region": ibis.cases(
            (rows.region == UNKNOWN, ibis.literal(catalog.csp_regions[0])), else_=rows.region
        )
    }
    checked = _check(engine, rows, ALERTS, catalog, stand_in)
    checked = engine.keep(checked)
    accepted = checked.filter(checked[CODE].isnull())
    alerts = accepted.select(*ALERTS.column_names)
    parts = [
        _part(
            "alerts",
            alr.filter(alr.reject.notnull()),
            alr.reject,
            alr.reject_reason,
            table="alerts",
            payload=ALERT_PAYLOAD,
        ),
        _part(
            "alerts",
            dups,
            ibis.literal("duplicate_alert"),
            ibis.literal("alert already seen earlier in the archive: ") + dups.alert_id,
            table="alerts",
            payload=ALERT_PAYLOAD,
        ),
        _part(
            "alerts",
            checked.filter(checked[CODE].notnull()),
            checked[CODE],
            checked[REASON],
            table="alerts",
            payload=ALERTS.column_names,
        ),
    ]
    return alerts, parts


def _part(
    kind: str,
    t: ir.Table,
    code: ir.StringValue,
    reason: ir.StringValue,
    table: str = "service_requests",
    payload: tuple[str, ...] = REQUEST_PAYLOAD,
) -> QuarantinePart:
    expr = t.mutate(
        _table=ibis.literal(table),
        _q_source=t.source,
        _q_row=t.line,
        _q_code=code,
        _q_reason=reason,
    )
    return QuarantinePart(kind, expr, payload)
