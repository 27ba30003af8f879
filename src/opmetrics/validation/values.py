"""Rules about reference values, checked once per distinct combination instead of once per row.

Most row rules only ask whether a row's categorical values are known to the catalog (an SRV, a
device type that SRV targets, a response code pattern, ...). A month has a billion rows but only
thousands of distinct combinations of those values, so the engine first lists the combinations
(one cheap grouped count), the rules run on that small table on the client, and the verdicts
come back to the engine as a lookup joined to the rows. The same lookup can carry values derived
from the categorical columns (e.g. a request's response class and TRT), so no per-row regular
expression or catalog list is ever evaluated on the big table.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from opmetrics.catalog import Catalog
from opmetrics.contract.rules import ROW_RULES, RowRule
from opmetrics.contract.schema import IBIS_TYPES, TABLES
from opmetrics.engine.base import Engine

# Low-cardinality columns per table whose rules are checked on distinct values. Small tables
# (parties, incidents, outages) are checked row by row: a lookup would cost more than it saves.
CATEGORICAL: dict[str, tuple[str, ...]] = {
    "service_requests": (
        "user_id",
        "user_role",
        "srv",
        "device_type",
        "smets",
        "region",
        "execution",
        "command_variant",
        "response_code",
    ),
    "devices": ("device_type", "smets", "region"),
    "alerts": ("alert_code", "alert_type", "region", "smets"),
    "firmware": ("region", "image", "delivery_status", "activation_status"),
}
VALUE_CODE = "_vcode"
VALUE_TEXT = "_vtext"
VALUE_RULE = "_vrule"  # index in ROW_RULES[table] of the value rule that fired
_STRING_NULL = "\x1f<null>"
_INT_NULL = -(2**62)

Derive = Callable[[ir.Table, Catalog], dict[str, ir.Value]]


def _unbound(table: str) -> ir.Table:
    spec = TABLES[table]
    return ibis.table(
        {c: IBIS_TYPES[spec.column(c).type] for c in CATEGORICAL[table]}, name=f"{table}_values"
    )


@cache
def value_rule_span(table: str) -> tuple[int, int]:
    """[start, end) of the rules of `table` that read only its categorical columns.

    A rule qualifies when its predicate and reason text can be built on a table holding only
    those columns. They must be contiguous in rule order, so that "the first broken rule" is the
    same whether they are checked per row or per value.
    """
    if table not in CATEGORICAL:
        return (0, 0)
    probe = _unbound(table)
    from opmetrics.catalog import default_catalog

    cat = default_catalog()
    flags = []
    for r in ROW_RULES[table]:
        ok = not r.row_only
        if ok:
            try:
                r.broken(probe, cat)
                r.reason_expr(probe)
            except (AttributeError, KeyError, ibis.common.exceptions.IbisError):
                ok = False
        flags.append(ok)
    idx = [i for i, f in enumerate(flags) if f]
    if not idx:
        return (0, 0)
    start, end = idx[0], idx[-1] + 1
    if not all(flags[start:end]):
        raise AssertionError(f"value rules of {table} are not contiguous in rule order")
    return start, end


def _sentinel(v: ir.Value) -> ir.Value:
    return v.fill_null(_STRING_NULL) if v.type().is_string() else v.fill_null(_INT_NULL)


def _restore(v: ir.Value) -> ir.Value:
    sentinel = _STRING_NULL if v.type().is_string() else _INT_NULL
    return ibis.ifelse(v == sentinel, ibis.null(v.type()), v)


def join_value_checks(
    engine: Engine, t: ir.Table, table: str, catalog: Catalog, derive: Derive | None = None
) -> tuple[ir.Table, pa.Table]:
    """Add `_vcode`/`_vtext`/`_vrule` (first broken value rule) and derived columns to every row.

    Returns the joined table and the lookup (one row per distinct combination, with the
    categorical values, the verdict and the derived columns).

    Rows are matched to their combination through one 64-bit hash of all the categorical
    columns: a single-integer join is much cheaper than one on nine strings. The lookup is
    built by grouping on the columns themselves, each combination carrying its hash; every
    row's combination is in it, so the hash identifies the row's combination exactly unless
    two combinations share one. That is checked on the lookup (as many distinct hashes as
    combinations); in the unlikely event of a collision it falls back to joining on the
    columns themselves, so the match is always exact.
    """
    start, end = value_rule_span(table)
    value_rules = ROW_RULES[table][start:end]
    cols = CATEGORICAL[table]
    h = t.mutate(_ck=engine.hash64_of({c: t[c] for c in cols}))
    combos = engine.to_arrow(h.group_by(*cols).aggregate(_n=h.count(), _ck=h["_ck"].arbitrary()))
    if pc.count_distinct(combos["_ck"]).as_py() != combos.num_rows:  # two combinations, one hash
        return _join_on_columns(engine, t, table, catalog, derive, value_rules)
    restored = combos.select(["_ck", *cols])
    lookup = _evaluate(
        engine, ibis.memtable(restored), ["_ck"], cols, start, value_rules, catalog, derive
    )
    lk = engine.memtable(lookup.drop_columns(list(cols)))
    joined = h.inner_join(lk, "_ck")
    return joined.drop("_ck"), lookup


def _evaluate(
    engine: Engine,
    v: ir.Table,
    keys: list[str],
    cols: tuple[str, ...],
    start: int,
    value_rules: list[RowRule],
    catalog: Catalog,
    derive: Derive | None,
) -> pa.Table:
    """Run the value rules (and `derive`) on the small table of combinations, in this process.

    `start` is the index of the first value rule in the table's rules: `_vrule` is absolute.
    """
    preds = [r.broken(v, catalog) for r in value_rules]
    extra: dict[str, ir.Value] = {
        VALUE_CODE: ibis.cases(
            *[(p, ibis.literal(r.code)) for p, r in zip(preds, value_rules, strict=True)],
            else_=ibis.null("string"),
        )
        if preds
        else ibis.null("string"),
        VALUE_TEXT: ibis.cases(
            *[(p, r.reason_expr(v)) for p, r in zip(preds, value_rules, strict=True)],
            else_=ibis.null("string"),
        )
        if preds
        else ibis.null("string"),
        VALUE_RULE: ibis.cases(
            *[(p, ibis.literal(start + i, "int64")) for i, p in enumerate(preds)],
            else_=ibis.null("int64"),
        )
        if preds
        else ibis.null("int64"),
    }
    if derive is not None:
        extra.update(derive(v, catalog))
    return engine.evaluate_locally(v.select(*keys, *cols, **extra))


def _join_on_columns(
    engine: Engine,
    t: ir.Table,
    table: str,
    catalog: Catalog,
    derive: Derive | None,
    value_rules: list[RowRule],
) -> tuple[ir.Table, pa.Table]:
    """The exact fallback: group and join on the categorical columns themselves."""
    cols = CATEGORICAL[table]
    keys = {f"_k_{c}": _sentinel(t[c]) for c in cols}
    combos = engine.to_arrow(t.group_by(**keys).aggregate(_n=t.count()))
    v = ibis.memtable(combos)
    v = v.mutate(**{c: _restore(v[f"_k_{c}"]).cast(t[c].type()) for c in cols})
    start, _ = value_rule_span(table)
    lookup = _evaluate(engine, v, list(keys), cols, start, value_rules, catalog, derive)
    lk = engine.memtable(lookup.drop_columns(list(cols)))
    joined = t.mutate(**keys).inner_join(lk, list(keys))
    return joined.drop(*keys), lookup
