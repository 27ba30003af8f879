"""Service requests, one chunk at a time: who sends what to which device, when, and retries.

A chunk covers one slice of the month's request mass. Its *units* (a single request, or an
Install & Commission job that expands into its steps for one premises) get instants drawn from
the month's intensity, a kind drawn from the mix of that local hour, a party, a device type and
a premises. Outcomes are settled (`outcomes.settle`), failed requests may be retried by the
party as new requests, and the units are cut to the chunk's exact row budget before the rows
are sorted by time and numbered (each party's DUIS counter keeps rising across chunks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from opmetrics.catalog import Catalog
from opmetrics.generator.devices import (
    CAT_ALL,
    CAT_GAS,
    CAT_PPM,
    CAT_PPM_GAS,
    CAT_PPMID,
    CAT_SMETS2,
    CHF,
    DEVICE_TYPES,
    ESME,
    GPF,
    GSME,
    NONE,
    PPMID,
    Inventory,
)
from opmetrics.generator.ids import (
    as_items,
    eui64_matrix,
    parse_octets,
    request_ids,
    strings_from_matrix,
)
from opmetrics.generator.market import Market
from opmetrics.generator.outcomes import (
    EXECUTIONS,
    FAILURE,
    NULL_TS,
    Categorical,
    OutcomeModel,
    settle,
)
from opmetrics.generator.scenario import ROLES, Scenario
from opmetrics.generator.timegrid import HOUR_US, SLOTS, US, Intensity, TimeGrid, intensity

FIELDS = ("t", "srv", "party", "dtype", "premises", "device", "unit")
ROLE_TYPES = {
    "supplier": {"ESME", "GSME", "GPF", "CHF", "PPMID", "NONE"},
    "electricity_distributor": {"ESME", "CHF", "NONE"},
    "gas_transporter": {"GSME", "GPF", "CHF", "NONE"},
    "other_user": {"ESME", "GSME", "GPF"},
}
USER_ROLES = ("IS", "GS", "ED", "GT", "OU")


@dataclass
class RequestPlan:
    s: Scenario
    c: Catalog
    grid: TimeGrid
    market: Market
    inv: Inventory
    model: OutcomeModel
    kind_srv: np.ndarray  # per unit kind: SRV code, or -1 for an install job
    kind_p: np.ndarray  # (hours x kinds): mix of unit kinds in each hour of the month
    units: Intensity
    rows_per_unit: float
    party_draw: Categorical  # per SRV: sending party
    install_party_draw: Categorical
    dtype_draw: Categorical  # per SRV * roles + role: device type
    scope: np.ndarray
    category: np.ndarray  # (SRVs x device types): target category of a request
    step_srv: np.ndarray
    step_dtype: np.ndarray
    step_cond: np.ndarray  # 0 always, 1 gas, 2 ppmid
    counter: np.ndarray  # per party: DUIS counter of the month's first request (10 digits)
    user_role: np.ndarray  # (roles x device types): USER_ROLES index of the sender
    dcc_row: np.void  # EUI-64 text of the DCC id (non-device targets), one item
    user_rows: np.ndarray  # per party: EUI-64 text of its user id (`ids.as_items`)

    @property
    def srv_ids(self) -> list[str]:
        return self.model.srv_ids


def generated_srvs(s: Scenario, c: Catalog) -> list[str]:
    used = {x for x, mix in s.srv.items() if mix.share > 0}
    if s.install.share > 0:
        used |= {step.srv for step in s.install.steps}
    return [x.id for x in c.srv if x.id in used]


def build_plan(
    s: Scenario,
    c: Catalog,
    grid: TimeGrid,
    market: Market,
    inv: Inventory,
    model: OutcomeModel,
    rng: np.random.Generator,
) -> RequestPlan:
    srv_ids = model.srv_ids
    n_srv = len(srv_ids)
    kind_srv = [i for i, x in enumerate(srv_ids) if s.srv[x].share > 0]
    profiles = [s.srv[srv_ids[i]].profile for i in kind_srv]
    unit_share = [s.srv[srv_ids[i]].share for i in kind_srv]
    rows_per = [1.0] * len(kind_srv)
    steps = s.install.steps
    step_srv = np.array([srv_ids.index(x.srv) for x in steps], dtype=np.int64)
    step_dtype = np.array([DEVICE_TYPES.index(x.device_type) for x in steps], dtype=np.int8)
    step_cond = np.array(
        [("always", "gas", "ppmid").index(x.condition) for x in steps], dtype=np.int8
    )
    s2 = ~inv.smets1
    if s.install.share > 0 and s2.any():
        gas_share = inv.gas[s2].mean()
        ppmid_share = inv.has_ppmid[s2].mean()
        per_job = float(
            ((step_cond == 0) + (step_cond == 1) * gas_share + (step_cond == 2) * ppmid_share).sum()
        )
        kind_srv.append(-1)
        profiles.append(s.install.profile)
        unit_share.append(s.install.share / per_job)
        rows_per.append(per_job)
    w = np.array(
        [u * grid.profile_weights(s.profile[p]) for u, p in zip(unit_share, profiles, strict=True)]
    )
    per_hour = w[:, grid.slot].T
    totals = per_hour.sum(axis=1, keepdims=True)
    kind_p = np.divide(per_hour, totals, out=np.full_like(per_hour, 1.0 / len(w)), where=totals > 0)
    day_factor = np.clip(1 + s.scale.volume_noise * rng.standard_normal(len(grid.days)), 0.2, None)
    units = intensity(grid, w.sum(axis=0), day_factor)
    total_unit = float(sum(unit_share))
    rows_per_unit = float(
        sum(u * r for u, r in zip(unit_share, rows_per, strict=True)) / total_unit
    )
    # who sends each SRV, and to which device type
    n_roles = len(ROLES)
    scope = inv.scope_of(market)
    reach = inv.list_len[scope, CAT_ALL].astype(np.float64)
    within = (
        np.where(market.role == 0, market.fleet_share, reach / max(reach.sum(), 1.0))
        * market.activity
    )
    party_w = np.zeros((n_srv, market.n))
    dtype_w = np.zeros((n_srv, n_roles, len(DEVICE_TYPES)))
    for i, x in enumerate(srv_ids):
        mix = s.srv[x]
        for ri, role in enumerate(ROLES):
            for dt, v in mix.device_types.items():
                if dt in ROLE_TYPES[role]:
                    dtype_w[i, ri, DEVICE_TYPES.index(dt)] = v
        weights = np.zeros(market.n)
        for ri, role in enumerate(ROLES):
            share = mix.senders.get(role, 0.0)
            members = market.role == ri
            if share <= 0 or not members.any() or dtype_w[i, ri].sum() <= 0:
                continue
            wm = np.where(members, within, 0.0)
            if wm.sum() > 0:
                weights += share * wm / wm.sum()
        if weights.sum() <= 0:  # e.g. an install SRV with no share: suppliers by fleet
            weights = np.where(market.role == 0, within, 0.0)
        party_w[i] = weights
    install_w = np.where(market.role == 0, within, 0.0)
    return RequestPlan(
        s=s,
        c=c,
        grid=grid,
        market=market,
        inv=inv,
        model=model,
        kind_srv=np.array(kind_srv, dtype=np.int64),
        kind_p=kind_p,
        units=units,
        rows_per_unit=rows_per_unit,
        party_draw=Categorical(party_w),
        install_party_draw=Categorical(install_w),
        dtype_draw=Categorical(dtype_w.reshape(n_srv * n_roles, len(DEVICE_TYPES))),
        scope=scope,
        category=_category_table(np.array([s.srv[x].prepayment_only for x in srv_ids])),
        step_srv=step_srv,
        step_dtype=step_dtype,
        step_cond=step_cond,
        counter=rng.integers(1_000_000_000, 5_000_000_000, market.n).astype(np.int64),
        user_role=_user_role_table(),
        dcc_row=as_items(eui64_matrix(np.array([parse_octets(s.scale.dcc_id)], dtype=np.uint64)))[
            0
        ],
        user_rows=as_items(eui64_matrix(market.user_num)),
    )


def _device(inv: Inventory, prem: np.ndarray, dtype: np.ndarray) -> np.ndarray:
    col = np.minimum(dtype, PPMID).astype(np.int64)
    dev = inv.device_of.reshape(-1)[prem * inv.device_of.shape[1] + col]
    dev[dtype == NONE] = -1
    return dev


def _user_role_table() -> np.ndarray:
    """A supplier sends as import supplier (IS), or gas supplier (GS) to gas devices; the
    other roles have one user role each (ED, GT, OU)."""
    table = np.zeros((len(ROLES), len(DEVICE_TYPES)), dtype=np.int8)
    for role in range(len(ROLES)):
        table[role] = role + 1
    table[0] = 0
    table[0, [GSME, GPF]] = 1
    return table.reshape(-1)


def _category_table(prepay_only: np.ndarray) -> np.ndarray:
    """Target category of a request by (SRV, device type): gas, prepayment, PPMID or any."""
    table = np.full((len(prepay_only), len(DEVICE_TYPES)), CAT_ALL, dtype=np.int64)
    for dt in range(len(DEVICE_TYPES)):
        gas = dt in (GSME, GPF)
        table[:, dt] = np.where(
            prepay_only, CAT_PPM_GAS if gas else CAT_PPM, CAT_GAS if gas else CAT_ALL
        )
    table[:, PPMID] = CAT_PPMID
    return table


def draw_units(
    plan: RequestPlan, rng: np.random.Generator, m: int, lo: float, hi: float, unit0: int
) -> list[dict[str, np.ndarray]]:
    """`m` units with instants in the mass slice [lo, hi), expanded to request rows: the
    single requests, then the install jobs' steps.

    Units are counted per hour of the slice, then per kind within the hour (two multinomial
    draws instead of a search and a categorical draw per unit); each gets a uniform instant
    within its hour.
    """
    inv = plan.inv
    hours = plan.units.hour_counts(rng, m, lo, hi)
    n_kinds = plan.kind_p.shape[1]
    per_cell = rng.multinomial(hours, plan.kind_p).reshape(-1)
    cell = np.repeat(np.arange(len(per_cell), dtype=np.int64), per_cell)
    hour = cell // n_kinds
    t = plan.grid.start_us + hour * HOUR_US + rng.integers(0, HOUR_US, m)
    srv_of = plan.kind_srv[cell - hour * n_kinds]
    # a random bucket per unit decides which units are cut to fit the row budget
    unit = unit0 + rng.integers(0, m, m)
    single = np.flatnonzero(srv_of >= 0)
    # single requests
    srv = srv_of[single]
    n1 = len(srv)
    party = plan.party_draw.sample(rng.random(n1), srv)
    role = plan.market.role[party]
    dtype = plan.dtype_draw.sample(rng.random(n1), srv * len(ROLES) + role)
    cat = plan.category.reshape(-1)[srv * len(DEVICE_TYPES) + dtype]
    prem = inv.pick(plan.scope[party], cat, rng.random(n1)).astype(np.int64)
    one = {
        "t": t[single],
        "hour": hour[single] + plan.grid.start_us // HOUR_US,  # in order: incidents search it
        "srv": srv,
        "party": party,
        "dtype": dtype.astype(np.int8),
        "premises": prem,
        "device": _device(inv, prem, dtype),
        "unit": unit[single],
    }
    # install & commission jobs
    jobs = np.flatnonzero(srv_of < 0)
    nj = len(jobs)
    if nj == 0:
        return [one]
    jp = plan.install_party_draw.sample(rng.random(nj))
    jprem = inv.pick(plan.scope[jp], np.full(nj, CAT_SMETS2), rng.random(nj)).astype(np.int64)
    cond = plan.step_cond[None, :]
    ok = (
        (cond == 0)
        | ((cond == 1) & inv.gas[jprem][:, None])
        | ((cond == 2) & inv.has_ppmid[jprem][:, None])
    )
    job, step = np.nonzero(ok)
    ist = plan.s.install
    gap = (
        ist.gap_seconds_median * US * np.exp(ist.gap_sigma * rng.standard_normal(len(job)))
    ).astype(np.int64)
    first = np.r_[True, job[1:] != job[:-1]]
    gap[first] = 0
    csum = np.cumsum(gap)
    start_of_job = np.maximum.accumulate(np.where(first, np.arange(len(job)), 0))
    offset = csum - csum[start_of_job]
    sdt = plan.step_dtype[step]
    seq = {
        "t": t[jobs][job] + offset,
        "srv": plan.step_srv[step],
        "party": jp[job],
        "dtype": sdt,
        "premises": jprem[job],
        "device": _device(inv, jprem[job], sdt),
        "unit": unit[jobs][job],
    }
    return [one, seq]


def take(r: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in r.items()}


def time_order(t: np.ndarray) -> np.ndarray:
    """The stable order of rows by time.

    Each row's position is packed under its time into one 64-bit key, so a plain (SIMD)
    sort of unique keys gives the stable order: the same on every machine whatever sort
    algorithm numpy picks.
    """
    n = len(t)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    bits = max(1, (n - 1).bit_length())
    t0 = int(t.min())
    if int(t.max()) - t0 >= 1 << (63 - bits):
        return np.argsort(t, kind="stable")
    key = (t - t0) << bits
    key |= np.arange(n, dtype=np.int64)
    key.sort()
    key &= (1 << bits) - 1
    return key


def _retries(
    plan: RequestPlan, r: dict[str, np.ndarray], rng: np.random.Generator
) -> list[dict[str, np.ndarray]]:
    """Party retries of failed requests: new requests to the same target, later."""
    o = plan.s.outcomes
    out: list[dict[str, np.ndarray]] = []
    cur = r
    for _ in range(o.max_party_retries):
        fail = (cur["cls"] == FAILURE) & (
            rng.random(len(cur["t"])) < plan.market.retry[cur["party"]]
        )
        if not fail.any():
            break
        idx = np.flatnonzero(fail)
        nxt = {k: cur[k][idx] for k in FIELDS}
        seen = cur["responded"][idx]
        lost = seen == NULL_TS
        seen[lost] = nxt["t"][lost] + int(plan.s.timing.device_timeout_s * US)
        delay = (
            o.retry_delay_minutes_median * 60 * US * np.exp(0.8 * rng.standard_normal(len(seen)))
        )
        nxt["t"] = seen + delay.astype(np.int64)
        keep = nxt["t"] < plan.grid.end_us
        if not keep.all():
            nxt = take(nxt, np.flatnonzero(keep))
        if not len(nxt["t"]):
            break
        settle(plan.model, nxt, plan.inv, plan.market, rng)
        out.append(nxt)
        cur = nxt
    return out


# what a settled request keeps once its chunk is cut to size
ROW_FIELDS = (
    *FIELDS[:-1],
    "execution",
    "cv",
    "execute_at",
    "cls",
    "code",
    "delivered",
    "dev_resp",
    "responded",
    "attempts",
)


def draw_rows_for(
    plan: RequestPlan,
    rng: np.random.Generator,
    n_rows: int,
    lo: float,
    hi: float,
    retries: bool = True,
    keep_p: bool = False,
) -> dict[str, np.ndarray]:
    """Exactly `n_rows` settled requests for the mass slice [lo, hi), in time order.

    Fewer only at month end. `keep_p` keeps each row's success probability (pilot sample).
    """
    parts: list[dict[str, np.ndarray]] = []
    total = 0
    unit0 = 0
    rounds = 0
    while total < n_rows and rounds < 20:
        rounds += 1
        m = int((n_rows - total) / plan.rows_per_unit * 1.015) + 64
        for r in draw_units(plan, rng, m, lo, hi, unit0):
            late = r["t"] >= plan.grid.end_us
            if late.any():
                r = take(r, np.flatnonzero(~late))
            settle(plan.model, r, plan.inv, plan.market, rng, keep_p=keep_p)
            parts.append(r)
            if retries:
                parts.extend(_retries(plan, r, rng))
        total = sum(len(p["t"]) for p in parts)
        unit0 += m
    fields = (*ROW_FIELDS, "p") if keep_p else ROW_FIELDS
    rows = (
        {k: np.concatenate([p[k] for p in parts]) for k in fields}
        if len(parts) > 1
        else {k: parts[0][k] for k in fields}
    )
    unit = np.concatenate([p["unit"] for p in parts]) if len(parts) > 1 else parts[0]["unit"]
    if len(unit) > n_rows:
        counts = np.bincount(unit, minlength=unit0)
        csum = np.cumsum(counts)
        cut = int(np.searchsorted(csum, n_rows))
        before = int(csum[cut - 1]) if cut > 0 else 0
        keep = unit < cut
        keep[np.flatnonzero(unit == cut)[: n_rows - before]] = True  # the cut bucket's first rows
        idx = np.flatnonzero(keep)
        return take(rows, idx[time_order(rows["t"][idx])])
    return take(rows, time_order(rows["t"]))


def allow_for_retries(plan: RequestPlan, pilot: dict[str, np.ndarray]) -> None:
    """Count the party retries in the rows a unit brings, from the pilot's failure rates.

    Units are drawn a little over the chunk's rows and the excess cut, so a close estimate
    saves settling rows only to drop them.
    """
    party = pilot["party"]
    q = (1 - plan.model.user_caused[party]) * (1 - pilot["p"]) * plan.market.retry[party]
    extra = sum(q**k for k in range(1, plan.s.outcomes.max_party_retries + 1))
    plan.rows_per_unit *= 1 + float(np.mean(extra)) if len(party) else 1.0


def finish(plan: RequestPlan, r: dict[str, np.ndarray], row0: int) -> dict[str, np.ndarray]:
    """Give each request (in time order) its party's DUIS counter.

    A counter is the party's first counter plus the request's position in the month
    (`row0` is the chunk's first), so counters rise with time for every party and each
    chunk knows its own without waiting for the ones before it.
    """
    r["counter"] = plan.counter[r["party"]] + (row0 + np.arange(len(r["t"]), dtype=np.int64))
    prem = r["premises"]
    r["region"] = plan.inv.region[prem]  # looked up once for the table and the counts
    r["smets1"] = plan.inv.smets1[prem]
    return r


def _ts(v: np.ndarray) -> pa.Array:
    """Microseconds (NULL_TS = null) as a UTC timestamp array over the same memory."""
    v = np.ascontiguousarray(v, dtype=np.int64)
    return pa.Array.from_buffers(
        pa.timestamp("us", tz="UTC"), len(v), [validity(v != NULL_TS), pa.py_buffer(v)]
    )


def validity(valid: np.ndarray) -> pa.Buffer | None:
    """An Arrow validity bitmap of a boolean mask (None when every value is valid)."""
    if valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _dict(idx: np.ndarray, values: list[str], mask: np.ndarray | None = None) -> pa.DictionaryArray:
    ind = np.ascontiguousarray(idx, dtype=np.int32)
    valid = validity(~mask) if mask is not None else None
    indices = pa.Array.from_buffers(pa.int32(), len(ind), [valid, pa.py_buffer(ind)])
    return pa.DictionaryArray.from_arrays(indices, pa.array(values, pa.string()))


def _int64(v: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    data = np.ascontiguousarray(v, dtype=np.int64)
    bitmap = validity(valid) if valid is not None else None
    return pa.Array.from_buffers(pa.int64(), len(data), [bitmap, pa.py_buffer(data)])


def to_arrow(plan: RequestPlan, r: dict[str, np.ndarray]) -> pa.Table:
    inv, market = plan.inv, plan.market
    dev = r["device"]
    party = r["party"]
    target = inv.id_items[np.maximum(dev, 0)]
    target[dev < 0] = plan.dcc_row
    request_id = request_ids(plan.user_rows[party], target, r["counter"])
    dt = r["dtype"]
    role_idx = plan.user_role[market.role[party] * len(DEVICE_TYPES) + dt]
    code = r["code"]
    attempts = r["attempts"]
    return pa.table(
        {
            "request_id": request_id,
            "user_id": _dict(party, market.user_id),
            "user_role": _dict(role_idx, list(USER_ROLES)),
            "srv": _dict(r["srv"], plan.srv_ids),
            "command_variant": _int64(r["cv"]),
            "target_id": strings_from_matrix(target),
            "device_type": _dict(dt, list(DEVICE_TYPES)),
            "smets": _dict(r["smets1"], ["SMETS2", "SMETS1"]),
            "region": _dict(r["region"], list(inv.regions)),
            "execution": _dict(r["execution"], list(EXECUTIONS)),
            "execute_at": _ts(r["execute_at"]),
            "received_at": _ts(r["t"]),
            "delivered_at": _ts(r["delivered"]),
            "device_response_at": _ts(r["dev_resp"]),
            "responded_at": _ts(r["responded"]),
            "response_code": _dict(np.maximum(code, 0), plan.model.codes, code < 0),
            "dsp_attempts": _int64(attempts, attempts != 0),
        }
    )


__all__ = [
    "CHF",
    "ESME",
    "SLOTS",
    "RequestPlan",
    "build_plan",
    "draw_rows_for",
    "finish",
    "generated_srvs",
    "to_arrow",
]
