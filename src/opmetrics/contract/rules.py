"""Row rules of the data contract: what makes one input row unusable, with a reason code.

Rules are engine-neutral Ibis predicates (true = the row breaks the rule), tried in order; the
first broken rule gives the row its reason code. Reference values (SRVs, device types, regions,
response-code patterns, interfaces) come from the catalog, so a new catalog changes validation
without code. The reason codes are a public contract: they appear in `quarantine.csv`.

Each rule has two texts. `reason` is the detailed one, computed by the engine, which may quote
the offending value (an unknown SRV, a malformed request_id, which embeds the sender's user_id);
it goes to a results folder's `restricted/` only, beside the raw row. `public` is value-free: it
names the column and the rule, never a value, so the shared quarantine can name no party. It is
declared here, next to its rule, and worked out on the client for the few rows fetched, from the
rule that fired (`_rule`), so the validation query itself carries no extra text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from opmetrics.catalog import Catalog
from opmetrics.contract.schema import INVALID_COLUMN, TABLES, TableSpec

Predicate = Callable[[ir.Table, Catalog], ir.BooleanValue]
Reason = Callable[[ir.Table], ir.StringValue]
Record = Mapping[str, Any]  # one fetched row: contract columns and validation's `_` columns
Public = Callable[[Record], str]

EUI64 = r"[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){7}"
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_SPAN_DAYS = 400
US = "_us_"  # validation adds `_us_<column>`: epoch microseconds of each timestamp column


@dataclass(frozen=True)
class RowRule:
    code: str
    description: str  # what the rule asks, for docs and `opmetrics validate --rules`
    broken: Predicate
    reason: Reason | None = None  # detailed per-row text (may quote a value); default: description
    row_only: bool = False  # cheap null checks that stay per row, before any per-value rule
    public: str | Public | None = None  # value-free text; default: the description

    def reason_expr(self, t: ir.Table) -> ir.StringValue:
        return self.reason(t) if self.reason else ibis.literal(self.description)

    def public_reason(self, record: Record) -> str:
        """The value-free reason of a row this rule quarantined (names columns, never values)."""
        if self.public is None:
            return self.description
        return self.public if isinstance(self.public, str) else self.public(record)


def duplicate_public(key: str) -> str:
    """The value-free reason of a repeated key (the detailed one quotes the key)."""
    return f"duplicate {key}: an earlier row has the same {key}"


def malformed_public(expected: int, found: int) -> str:
    """A CSV record of the wrong number of fields (counts only: the record itself is raw)."""
    return f"expected {expected} fields, found {found}"


# Reason codes, one line each (also the documentation of quarantine.csv).
REASONS: dict[str, str] = {
    "malformed_row": "the CSV record has the wrong number of fields (a stray quote or delimiter)",
    "invalid_value": "a value does not parse as its column's type",
    "missing_required": "a required value is missing",
    "bad_request_id": "request_id is not originator:target:counter (two EUI-64s and a number)",
    "bad_user_id": "user_id is not an EUI-64",
    "unknown_srv": "the SRV is not in the catalog",
    "unknown_device_type": "the device type is not in the catalog",
    "device_type_mismatch": "the SRV does not target this device type",
    "unknown_smets": "smets is not SMETS1 or SMETS2",
    "unknown_region": "the region is not one the contract allows for this table",
    "unknown_execution": "execution is not on_demand, future_dated or non_device",
    "execution_mismatch": "the execution kind is not one the SRV allows",
    "bad_command_variant": "command_variant is not 1..8",
    "unknown_response_code": "the response code matches no catalog rule",
    "timestamps_out_of_order": "the row's timestamps are not in their natural order",
    "implausible_timestamp": "a timestamp lies before 2000, after 2099, or over 400 days after the row's first",
    "bad_dsp_attempts": "dsp_attempts is below 1",
    "inconsistent_response": "a final response code without responded_at, or responded_at without a code",
    "unknown_alert_type": "alert_type is not device or dcc",
    "bad_category": "incident category is not 1..5",
    "unknown_interface": "the interface is not in the catalog",
    "end_before_start": "the outage ends before (or when) it starts",
    "unknown_status": "the status is not success, failed or pending",
    "duplicate_key": "the key value was already seen in an earlier row (the first is kept)",
    "value_too_long": "a text value is longer than 1,000 characters (10,000 for a summary or description)",
}

# Text columns no other rule bounds (catalog values and fixed-shape identifiers are refused by
# their own rules). A value past the limit is damage, not data: one 10 MiB device model would
# otherwise be repeated in every row of srv_device_set and in every pack that names it.
MAX_TEXT = 1_000
MAX_FREE_TEXT = 10_000
FREE_TEXT = {("incidents", "summary"), ("outages", "description")}
UNBOUNDED_TEXT: dict[str, tuple[str, ...]] = {
    "service_requests": ("target_id", "user_role"),
    "devices": ("device_id", "manufacturer", "model", "firmware_version", "comms_hub_id"),
    "parties": ("name", "role", "adaptor"),
    "alerts": ("alert_id", "alert_code", "device_id", "user_id"),
    "incidents": ("incident_id", "summary"),
    "outages": ("outage_id", "description"),
    "firmware": ("ch_id", "image"),
}


def _missing(col: str) -> Predicate:
    """Null, or an empty string. (Whitespace-only values are `_blank`, checked per value.)"""

    def broken(t: ir.Table, c: Catalog) -> ir.BooleanValue:
        v = t[col]
        if v.type().is_string():
            return v.isnull() | (v.length() == 0)
        return v.isnull()

    return broken


def _blank(col: str) -> Predicate:
    return lambda t, c: t[col].notnull() & (t[col].length() > 0) & (t[col].strip() == "")


def _not_in(col: str, values: Callable[[Catalog], list[str]]) -> Predicate:
    return lambda t, c: t[col].notnull() & ~t[col].isin(values(c))


def _fixed(text: str) -> Reason:
    return lambda t: ibis.literal(text)


def _text(prefix: str, col: str) -> Reason:
    return lambda t: ibis.literal(prefix) + t[col].cast("string").fill_null("")


def _order(pairs: list[tuple[str, str]]) -> Predicate:
    def broken(t: ir.Table, c: Catalog) -> ir.BooleanValue:
        out: ir.BooleanValue = ibis.literal(False)
        for a, b in pairs:
            out = out | (t[a].notnull() & t[b].notnull() & (t[a] > t[b]))
        return out

    return broken


def _order_reason(pairs: list[tuple[str, str]]) -> Reason:
    def reason(t: ir.Table) -> ir.StringValue:
        branches = [
            (t[a].notnull() & t[b].notnull() & (t[a] > t[b]), ibis.literal(f"{a} is after {b}"))
            for a, b in pairs
        ]
        return ibis.cases(*branches, else_=ibis.literal("timestamps out of order"))

    return reason


def _order_public(pairs: list[tuple[str, str]]) -> Public:
    """The pair `_order_reason` names, from the fetched row (column names only)."""

    def public(r: Record) -> str:
        for a, b in pairs:
            if r.get(a) is not None and r.get(b) is not None and r[a] > r[b]:
                return f"{a} is after {b}"
        return "timestamps out of order"

    return public


def _invalid_public(r: Record) -> str:
    """`_invalid` is "column=value" (staging writes it; column names hold no '='): the column."""
    return f"value does not parse: {str(r.get(INVALID_COLUMN) or '').split('=', 1)[0]}"


def _implausible(first: str, others: list[str]) -> Predicate:
    def broken(t: ir.Table, c: Catalog) -> ir.BooleanValue:
        f = t[first]
        out = f.notnull() & ((f < EARLIEST) | (f >= LATEST))
        span_us = MAX_SPAN_DAYS * 86_400_000_000
        for o in others:
            v = t[o]
            out = out | (v.notnull() & ((v < EARLIEST) | (v >= LATEST)))
            out = out | (v.notnull() & f.notnull() & ((t[US + o] - t[US + first]) > span_us))
        return out

    return broken


def _pattern(col: str, regex: str) -> Predicate:
    return lambda t, c: t[col].notnull() & ~t[col].re_search(regex)


REQUEST_ID_SHAPE = "__-__-__-__-__-__-__-__:__-__-__-__-__-__-__-__:%"


def _request_id_malformed(t: ir.Table, c: Catalog) -> ir.BooleanValue:
    """Two EUI-64-shaped parts and a decimal counter: a LIKE and a regex on the short counter.

    A full regular expression over every request_id costs several times more and adds little:
    the originator is the party, whose user_id is checked as an EUI-64 per value.
    """
    rid = t.request_id
    counter = rid.substr(48)
    return rid.notnull() & (~rid.like(REQUEST_ID_SHAPE) | ~counter.re_search("^[0-9]{1,20}$"))


def _response_code_unknown(t: ir.Table, c: Catalog) -> ir.BooleanValue:
    code = t.response_code
    known: ir.BooleanValue = ibis.literal(False)
    for rule in c.response_code:
        known = known | (
            code.isin(list(rule.codes)) if rule.codes else code.re_search(f"^(?:{rule.pattern})$")
        )
    return code.notnull() & ~known


def _device_type_mismatch(t: ir.Table, c: Catalog) -> ir.BooleanValue:
    pairs = [f"{s.id}|{d}" for s in c.srv for d in s.device_types]
    return (
        t.srv.isin(c.srvs.keys())
        & t.device_type.isin(c.device_types.keys())
        & ~(t.srv + "|" + t.device_type).isin(pairs)
    )


def _execution_mismatch(t: ir.Table, c: Catalog) -> ir.BooleanValue:
    pairs = []
    for s in c.srv:
        if s.non_device:
            pairs.append(f"{s.id}|non_device")
        else:
            if s.on_demand:
                pairs.append(f"{s.id}|on_demand")
            if s.future_dated:
                pairs.append(f"{s.id}|future_dated")
    return t.srv.isin(c.srvs.keys()) & ~(t.srv + "|" + t.execution).isin(pairs)


def _list_of(col: str, values: Callable[[Catalog], list[str]]) -> Predicate:
    def broken(t: ir.Table, c: Catalog) -> ir.BooleanValue:
        alt = "|".join(re.escape(v) for v in values(c))
        regex = rf"^\s*({alt})(\s*;\s*({alt}))*\s*$"
        return t[col].notnull() & (t[col].strip() != "") & ~t[col].re_search(regex)

    return broken


_SMETS = ["SMETS1", "SMETS2"]
_STATUSES = ["success", "failed", "pending"]


def _csp_regions(c: Catalog) -> list[str]:
    return list(c.csp_regions)


def _outage_regions(c: Catalog) -> list[str]:
    return [*c.regions.keys(), "ALL"]


# Identifier columns of the big tables: too many distinct values to check for whitespace-only
# values per value, and too costly per row (an empty one is still `missing_required`).
IDENTIFIERS = {
    "service_requests": ("request_id", "target_id"),
    "devices": ("device_id",),
    "alerts": ("alert_id",),
    "firmware": ("ch_id",),
}


def _common(spec: TableSpec) -> list[RowRule]:
    rules = [
        RowRule(
            "invalid_value",
            REASONS["invalid_value"],
            lambda t, c: t[INVALID_COLUMN].notnull(),
            lambda t: "value does not parse: " + t[INVALID_COLUMN],
            row_only=True,
            public=_invalid_public,
        ),
    ]
    for col in spec.columns:
        if col.required:
            rules.append(
                RowRule(
                    "missing_required",
                    REASONS["missing_required"],
                    _missing(col.name),
                    _fixed(f"required value missing: {col.name}"),
                    row_only=True,
                    public=f"required value missing: {col.name}",
                )
            )
    for col in spec.columns:
        if col.required and col.type == "string" and col.name not in IDENTIFIERS.get(spec.name, ()):
            rules.append(
                RowRule(
                    "missing_required",
                    REASONS["missing_required"],
                    _blank(col.name),
                    _fixed(f"required value missing: {col.name} (blank)"),
                    public=f"required value missing: {col.name} (blank)",
                )
            )
    return rules


def _unknown(
    code: str, col: str, values: Callable[[Catalog], list[str]], name: str, public: str
) -> RowRule:
    """A value outside the list `values` gives: detailed `unknown <name>: <value>`."""
    return RowRule(
        code, REASONS[code], _not_in(col, values), _text(f"unknown {name}: ", col), public=public
    )


def _unknown_region(regions: Callable[[Catalog], list[str]]) -> RowRule:
    return _unknown(
        "unknown_region", "region", regions, "region", "region is not one this table allows"
    )


def _unknown_status(col: str) -> RowRule:
    return _unknown(
        "unknown_status", col, lambda c: _STATUSES, col, f"{col} is not success, failed or pending"
    )


def _timestamps(first: str, others: list[str], order: list[tuple[str, str]]) -> list[RowRule]:
    """A table's timestamp rules: `order` (a before b, where both are given), then plausible
    dates (`first` and `others` within 2000..2099, `others` within 400 days of `first`)."""
    in_order = RowRule(
        "timestamps_out_of_order",
        REASONS["timestamps_out_of_order"],
        _order(order),
        _order_reason(order),
        public=_order_public(order),
    )
    plausible = RowRule(
        "implausible_timestamp", REASONS["implausible_timestamp"], _implausible(first, others)
    )
    return [in_order, plausible] if order else [plausible]


BAD_USER_ID = RowRule(
    "bad_user_id",
    REASONS["bad_user_id"],
    _pattern("user_id", f"^{EUI64}$"),
    _text("user_id is not an EUI-64: ", "user_id"),
    public="user_id is not an EUI-64",
)
UNKNOWN_DEVICE_TYPE = _unknown(
    "unknown_device_type",
    "device_type",
    lambda c: list(c.device_types),
    "device type",
    "device_type is not in the catalog",
)
UNKNOWN_SMETS = _unknown(
    "unknown_smets", "smets", lambda c: _SMETS, "smets", "smets is not SMETS1 or SMETS2"
)


def _build() -> dict[str, list[RowRule]]:
    sr_ts = [
        ("received_at", "delivered_at"),
        ("received_at", "device_response_at"),
        ("received_at", "responded_at"),
        ("delivered_at", "device_response_at"),
        ("delivered_at", "responded_at"),
        ("device_response_at", "responded_at"),
    ]
    rules: dict[str, list[RowRule]] = {name: _common(spec) for name, spec in TABLES.items()}
    rules["service_requests"] += [
        BAD_USER_ID,
        _unknown("unknown_srv", "srv", lambda c: list(c.srvs), "SRV", "srv is not in the catalog"),
        UNKNOWN_DEVICE_TYPE,
        RowRule(
            "device_type_mismatch",
            REASONS["device_type_mismatch"],
            _device_type_mismatch,
            lambda t: "SRV " + t.srv + " does not target " + t.device_type,
            public="the SRV does not target this device_type",
        ),
        UNKNOWN_SMETS,
        _unknown_region(_csp_regions),
        _unknown(
            "unknown_execution",
            "execution",
            lambda c: ["on_demand", "future_dated", "non_device"],
            "execution",
            "execution is not on_demand, future_dated or non_device",
        ),
        RowRule(
            "execution_mismatch",
            REASONS["execution_mismatch"],
            _execution_mismatch,
            lambda t: "SRV " + t.srv + " cannot be " + t.execution,
            public="the SRV cannot run with this execution",
        ),
        RowRule(
            "bad_command_variant",
            REASONS["bad_command_variant"],
            lambda t, c: t.command_variant.notnull() & ~t.command_variant.between(1, 8),
            _text("command_variant out of range: ", "command_variant"),
            public="command_variant is not 1..8",
        ),
        RowRule(
            "unknown_response_code",
            REASONS["unknown_response_code"],
            _response_code_unknown,
            _text("unknown response code: ", "response_code"),
            public="response_code matches no catalog rule",
        ),
        RowRule(
            "bad_request_id",
            REASONS["bad_request_id"],
            _request_id_malformed,
            _text("malformed request_id: ", "request_id"),
            public="request_id is not originator:target:counter",
        ),
        *_timestamps(
            "received_at",
            ["execute_at", "delivered_at", "device_response_at", "responded_at"],
            sr_ts,
        ),
        RowRule(
            "inconsistent_response",
            REASONS["inconsistent_response"],
            lambda t, c: t.response_code.isnull() != t.responded_at.isnull(),
            lambda t: ibis.ifelse(
                t.responded_at.isnull(),
                ibis.literal("response_code given but responded_at missing"),
                ibis.literal("responded_at given but response_code missing"),
            ),
            public=lambda r: (
                "response_code given but responded_at missing"
                if r.get("responded_at") is None
                else "responded_at given but response_code missing"
            ),
        ),
        RowRule(
            "bad_dsp_attempts",
            REASONS["bad_dsp_attempts"],
            lambda t, c: t.dsp_attempts.notnull() & (t.dsp_attempts < 1),
            _text("dsp_attempts below 1: ", "dsp_attempts"),
            public="dsp_attempts is below 1",
        ),
    ]
    rules["devices"] += [UNKNOWN_DEVICE_TYPE, UNKNOWN_SMETS, _unknown_region(_csp_regions)]
    rules["parties"] += [BAD_USER_ID]
    rules["alerts"] += [
        _unknown(
            "unknown_alert_type",
            "alert_type",
            lambda c: ["device", "dcc"],
            "alert_type",
            "alert_type is not device or dcc",
        ),
        _unknown_region(lambda c: list(c.regions)),
        UNKNOWN_SMETS,
        *_timestamps("raised_at", ["delivered_at"], [("raised_at", "delivered_at")]),
    ]
    inc_ts = [("raised_at", "assigned_at"), ("raised_at", "resolved_at")]
    rules["incidents"] += [
        RowRule(
            "bad_category",
            REASONS["bad_category"],
            lambda t, c: ~t.category.between(1, 5),
            _text("category out of range: ", "category"),
            public="category is not 1..5",
        ),
        RowRule(
            "unknown_interface",
            REASONS["unknown_interface"],
            _list_of("interfaces", lambda c: list(c.interfaces)),
            _text("unknown interface in: ", "interfaces"),
            public="interfaces names an interface the catalog does not know",
        ),
        RowRule(
            "unknown_region",
            REASONS["unknown_region"],
            _list_of("regions", _outage_regions),
            _text("unknown region in: ", "regions"),
            public="regions names a region this table does not allow",
        ),
        *_timestamps("raised_at", ["assigned_at", "resolved_at"], inc_ts),
    ]
    rules["outages"] += [
        _unknown(
            "unknown_interface",
            "interface",
            lambda c: list(c.interfaces),
            "interface",
            "interface is not in the catalog",
        ),
        _unknown_region(_outage_regions),
        RowRule(
            "end_before_start",
            REASONS["end_before_start"],
            lambda t, c: t.end_at.notnull() & (t.end_at <= t.start_at),
        ),
        *_timestamps("start_at", ["end_at"], []),
    ]
    fw_ts = [
        ("requested_at", "delivered_at"),
        ("activation_requested_at", "activated_at"),
        ("requested_at", "activation_requested_at"),
    ]
    rules["firmware"] += [
        _unknown_region(_csp_regions),
        _unknown_status("delivery_status"),
        _unknown_status("activation_status"),
        *_timestamps(
            "requested_at", ["delivered_at", "activation_requested_at", "activated_at"], fw_ts
        ),
    ]
    for table, columns in UNBOUNDED_TEXT.items():  # last: any other broken rule names the row
        rules[table] += [_too_long(table, col) for col in columns]
    return rules


def _too_long(table: str, col: str) -> RowRule:
    limit = MAX_FREE_TEXT if (table, col) in FREE_TEXT else MAX_TEXT
    return RowRule(
        "value_too_long",
        REASONS["value_too_long"],
        lambda t, c: t[col].notnull() & (t[col].length() > limit),
        lambda t: (
            ibis.literal(f"{col} is longer than {limit:,} characters: ")
            + t[col].length().cast("string")
            + " characters"
        ),
        row_only=True,
        public=f"{col} is longer than {limit:,} characters",
    )


ROW_RULES: dict[str, list[RowRule]] = _build()
