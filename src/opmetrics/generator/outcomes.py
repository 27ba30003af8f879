"""What happens to each request: success, user-caused error or failure, and when.

Success is a coin with a probability from an additive log-odds model: the SRV's base rate plus
effects of region, SMETS1, comms hub model, meter model and firmware, party and adaptor, the
injected anomalies and the Category 1/2 incidents open at that instant. User-caused errors are
drawn first, by party, and are excluded from every rate. Failures take one of the scenario's
kinds, each with its own code and its own missing timestamps. Timings are built leg by leg from
non-negative durations, so the contract's timestamp order always holds.
"""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass, field

import numpy as np

from opmetrics.catalog import Catalog
from opmetrics.generator.anomalies import Subjects
from opmetrics.generator.devices import DEVICE_TYPES, GSME, NONE, Inventory
from opmetrics.generator.market import Market
from opmetrics.generator.scenario import FAILURE_KINDS, Scenario
from opmetrics.generator.timegrid import HOUR_US, US

SUCCESS, FAILURE, EXCLUDED = 0, 1, 2
ON_DEMAND, FUTURE_DATED, NON_DEVICE = 0, 1, 2
EXECUTIONS = ("on_demand", "future_dated", "non_device")
NULL_TS = np.iinfo(np.int64).min
KIND = {k: i for i, k in enumerate(FAILURE_KINDS)}
NO_KIND = -1


def sr_specific_code(srv: str) -> str:
    parts = [int(p) for p in srv.split(".")]
    digits = "".join(f"{p % 100:02d}" for p in parts[:3])
    return "E" + (digits + "01")[:6]


_FEW = 8  # outcomes up to which one distribution is drawn by comparisons


class Categorical:
    """Walker's alias tables: draws from many categorical distributions in O(1) per draw.

    Row r of `weights` is one distribution over the same K outcomes; a draw needs one uniform
    (its integer part picks a column, its fraction decides between the column and its alias),
    with no branches, which matters at millions of draws per chunk.
    """

    def __init__(self, weights: np.ndarray) -> None:
        w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        rows, k = w.shape
        prob = np.zeros((rows, k))
        alias = np.zeros((rows, k), dtype=np.int64)
        for r in range(rows):
            total = w[r].sum()
            if total <= 0:
                continue  # degenerate: always outcome 0
            scaled = w[r] * k / total
            small = [i for i in range(k) if scaled[i] < 1]
            large = [i for i in range(k) if scaled[i] >= 1]
            while small and large:
                lo, hi = small.pop(), large.pop()
                prob[r, lo] = scaled[lo]
                alias[r, lo] = hi
                scaled[hi] -= 1 - scaled[lo]
                (small if scaled[hi] < 1 else large).append(hi)
            for i in small + large:
                prob[r, i] = 1.0
                alias[r, i] = i
        self.k = k
        self.prob = prob.reshape(-1)
        self.alias = alias.reshape(-1)
        # A uniform scaled by a hair under k, plus row * k, lands in cell `row * k + column`
        # and never in the next row's (float rounding included); within the cell, below
        # `cell + prob` keeps the column, at or above takes its alias: (column, alias) pairs.
        self._scale = k * (1.0 - 2.0**-30)
        cells = np.arange(rows * k)
        self._threshold = cells + self.prob
        self._choice = np.stack([cells % k, self.alias], axis=1).reshape(-1)
        # one distribution over a few outcomes: its cumulative shares, compared with directly
        self._cdf: np.ndarray | None = None
        if rows == 1 and k <= _FEW:
            total = w.sum()
            cdf = np.cumsum(w[0])[:-1] / total if total > 0 else np.zeros(0)
            rest = np.cumsum(w[0][::-1])[::-1][1:]  # weight after each edge
            self._cdf = np.where(rest > 0, cdf, 2.0).astype(np.float32)  # 2: never crossed

    def sample(self, u: np.ndarray, row: np.ndarray | None = None) -> np.ndarray:
        if row is None and self._cdf is not None:
            # a handful of byte-wide comparisons beat the alias lookups' wide gathers
            out = np.zeros(len(u), dtype=np.int8)
            for edge in self._cdf:
                out += u >= edge
            return out
        x = np.multiply(u, self._scale, dtype=np.float64)
        if row is not None:
            x += np.multiply(row, self.k, dtype=np.float64)
        cell = x.astype(np.int64)
        alias = x >= self._threshold[cell]
        cell *= 2
        cell += alias
        return self._choice[cell]


@dataclass
class Incident12:
    """A Category 1/2 incident's hit on success: its window, regions and log-odds effect."""

    start_us: int
    end_us: int
    regions: np.ndarray  # bool per CSP region
    effect: float


@dataclass
class OutcomeModel:
    """Everything fixed for the month that decides outcomes, timings and codes."""

    s: Scenario
    c: Catalog
    srv_ids: list[str]
    base_logit: np.ndarray  # per SRV code
    critical: np.ndarray  # per SRV code
    non_device: np.ndarray
    future_pct: np.ndarray
    cv_draw: Categorical  # per SRV: command variant (value = index + 1)
    transform_pct: np.ndarray  # per SRV: share of CV 4 (on-demand only)
    region_effect: np.ndarray
    model_effect: np.ndarray
    fw_effect: np.ndarray
    party_effect: np.ndarray  # party + adaptor
    user_caused: np.ndarray  # per party
    retry: np.ndarray  # per party: probability of retrying a failed request
    kind_draw: Categorical
    codes: list[str]  # every response code the generator writes
    success_code_draw: Categorical
    success_code_idx: np.ndarray
    user_code_draw: Categorical
    user_code_idx: np.ndarray
    sr_code_idx: np.ndarray  # per SRV code
    kind_code_idx: np.ndarray  # per failure kind (-1: no code)
    late_success_code: int
    trt_us: np.ndarray  # (execution, cv 1..8, SRV code, device type code)
    trt_from_execution: np.ndarray  # the same shape, bool
    incidents: list[Incident12] = field(default_factory=list)
    offsets: dict[str, float] = field(default_factory=dict)
    subjects: Subjects | None = None  # set by `anomalies.calibrate`
    _terms: tuple[tuple[object, ...], RowTerms] | None = field(default=None, repr=False)

    def terms(self, inv: Inventory) -> RowTerms:
        """The model's log-odds folded into lookup tables for the current anomaly offsets."""
        key = (id(inv), tuple(sorted(self.offsets.items())), self.subjects is not None)
        if self._terms is None or self._terms[0] != key:
            self._terms = (key, _row_terms(self, inv))
        return self._terms[1]

    def logit(
        self, r: dict[str, np.ndarray], terms: RowTerms, pcls: np.ndarray, sc: np.ndarray
    ) -> np.ndarray:
        """Log-odds of success of each row: SRV, party, adaptor, region, devices, anomalies
        and the Category 1/2 incidents open at its instant (`pcls`: premises class per row,
        `sc`: SRV x class index, see `RowTerms.index`)."""
        srv, party, dev = r["srv"], r["party"], r["device"]
        lg = terms.party_srv[party * len(self.srv_ids) + srv]
        lg += terms.srv_class[sc]
        lg += terms.device[dev]  # -1 (no device) reads the trailing 0
        if terms.b_offset:
            hit = np.flatnonzero(party == terms.b_party)
            hit = hit[terms.b_device[dev[hit]]]
            lg[hit] += terms.b_offset
        t = r["t"]
        hour = r.get("hour")  # present when rows come in hour order (UTC hours since 1970)
        for inc, hit_class in zip(self.incidents, terms.incident_classes, strict=True):
            if hour is not None:  # the incident's rows lie in one range: search, not scan
                lo = int(np.searchsorted(hour, inc.start_us // HOUR_US, side="left"))
                hi = int(np.searchsorted(hour, (inc.end_us - 1) // HOUR_US, side="right"))
                near = np.arange(lo, hi)
                open_ = near[(t[near] >= inc.start_us) & (t[near] < inc.end_us)]
            else:
                open_ = np.flatnonzero((t >= inc.start_us) & (t < inc.end_us))
            lg[open_[hit_class[pcls[open_]]]] += inc.effect
        return lg

    def trt(
        self, execution: np.ndarray, cv: np.ndarray, srv: np.ndarray, dtype: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """TRT (microseconds) of each row, and whether its clock starts at execution: the
        catalog rule for its execution, command variant, SRV and device type."""
        _, n_cv, n_srv, n_dt = self.trt_us.shape
        flat = execution.astype(np.intp) * n_cv + cv - 1
        flat *= n_srv
        flat += srv
        flat *= n_dt
        flat += dtype
        return self.trt_us.reshape(-1)[flat], self.trt_from_execution.reshape(-1)[flat]


@dataclass
class RowTerms:
    """The additive log-odds model folded into small lookup tables.

    Summing the terms once per party x SRV, per premises class (CSP region, or SMETS1) and per
    device, rather than per request, turns a dozen gathers and anomaly masks per row into
    three gathers; the sum is the same (`tests/generate` checks it against the masks).
    """

    n_classes: int  # CSP regions, then SMETS1
    party_srv: np.ndarray  # (parties x SRVs): SRV base + party + adaptor + anomaly (a)
    prem_class: np.ndarray  # per premises: CSP region index, or n_regions when SMETS1
    srv_class: np.ndarray  # (SRVs x classes): region or SMETS1 effect + anomaly (d)
    device: np.ndarray  # per device, one trailing 0: model, firmware, hub model, anomaly (c)
    b_device: np.ndarray  # per device, one trailing False: in anomaly (b)'s device set
    b_party: int
    b_offset: float
    out_us: np.ndarray  # (SRVs x classes): median outbound leg, microseconds (float32)
    han_us: np.ndarray  # per device type: median HAN leg, microseconds (float32)
    incident_classes: list[np.ndarray]  # per Category 1/2 incident: classes it hits

    def index(self, srv: np.ndarray, pcls: np.ndarray) -> np.ndarray:
        """Flat (SRV, premises class) index into `srv_class` and `out_us`."""
        return srv * self.n_classes + pcls


def _row_terms(m: OutcomeModel, inv: Inventory) -> RowTerms:
    from opmetrics.generator.devices import ESME, GSME, PPMID

    subj = m.subjects
    off = m.offsets if subj is not None else {}
    n_srv, n_reg = len(m.srv_ids), len(inv.regions)
    party_srv = m.base_logit[None, :] + m.party_effect[:, None]
    srv_class = np.empty((n_srv, n_reg + 1))
    srv_class[:, :n_reg] = m.region_effect[None, :]
    srv_class[:, n_reg] = m.s.outcomes.smets1_effect
    dev_type, dev_model = inv.dev_type, inv.dev_model
    meter = (dev_type == ESME) | (dev_type == GSME) | (dev_type == PPMID)
    hub_model = inv.ch_model[inv.dev_premises]
    device = m.model_effect[dev_model] + m.fw_effect[inv.dev_fw]
    device[meter] += m.model_effect[hub_model[meter]]
    b_device = np.zeros(inv.n_devices + 1, dtype=bool)
    b_party, b_offset = -1, 0.0
    if subj is not None:
        if subj.a_srv >= 0:
            party_srv[subj.a_bad, subj.a_srv] += off.get("a_bad", 0.0)
            party_srv[subj.a_peer, subj.a_srv] += off.get("a_peer", 0.0)
        if subj.d_srv >= 0:
            srv_class[subj.d_srv, subj.d_region] += off.get("d", 0.0)
        if subj.c_model >= 0:
            gas = (dev_type == GSME) & (dev_model == subj.c_model)
            latest = inv.fw_latest[inv.dev_fw]
            device[gas & latest] += off.get("c_latest", 0.0)
            device[gas & ~latest] += off.get("c_older", 0.0)
        if subj.b_party >= 0:
            b_device[:-1] = (
                (dev_type == ESME)
                & (dev_model == subj.b_meter)
                & (inv.dev_fw == subj.b_fw)
                & (hub_model == subj.b_hub)
            )
            b_party, b_offset = subj.b_party, off.get("b", 0.0)
    prem_class = np.where(inv.smets1, n_reg, inv.region).astype(np.int8)
    tm = m.s.timing
    out_extra = np.zeros(n_reg + 1)
    if "North" in inv.regions:
        out_extra[inv.regions.index("North")] = tm.north_extra_s
    out_extra[n_reg] = tm.smets1_extra_s
    # outbound leg: longer for critical commands, SMETS1 and the North
    out_us = (
        tm.outbound_median_s + tm.critical_extra_s * m.critical[:, None] + out_extra[None, :]
    ) * US
    return RowTerms(
        n_classes=n_reg + 1,
        party_srv=party_srv.reshape(-1),
        prem_class=prem_class,
        srv_class=srv_class.reshape(-1),
        device=np.append(device, 0.0).astype(np.float32),
        b_device=b_device,
        b_party=b_party,
        b_offset=float(b_offset),
        out_us=out_us.reshape(-1).astype(np.float32),
        han_us=np.array(
            [tm.han_median_s[x] * US for x in ("ESME", "GSME", "GPF", "CHF", "PPMID")] + [0.1 * US],
            dtype=np.float32,
        ),
        incident_classes=[np.append(inc.regions, False) for inc in m.incidents],
    )


def build_outcome_model(
    s: Scenario, c: Catalog, srv_ids: list[str], market: Market, regions: tuple[str, ...]
) -> OutcomeModel:
    o = s.outcomes
    pct = np.array([s.srv[x].success_percent for x in srv_ids]) / 100
    critical = np.array([c.srvs[x].critical for x in srv_ids])
    non_device = np.array([c.srvs[x].non_device for x in srv_ids])
    cv_w = np.zeros((len(srv_ids), 8))
    transform = np.zeros(len(srv_ids))
    for i, x in enumerate(srv_ids):
        allowed = set(c.srvs[x].command_variants)
        w = np.zeros(8)
        table = o.critical_variants if critical[i] else o.non_critical_variants
        for k, v in table.items():
            if int(k) in allowed:
                w[int(k) - 1] = v
        if w.sum() <= 0:  # e.g. non-device SRVs (CV 8): the catalog's variants, evenly
            for variant in allowed:
                if variant != 4:
                    w[variant - 1] = 1.0
        if w.sum() <= 0:
            w[min(allowed) - 1] = 1.0
        cv_w[i] = w
        transform[i] = o.transform_percent / 100 if (4 in allowed and not non_device[i]) else 0.0
    model_effect = np.array([m.effect for m in s.device_model])
    fw_effect = np.array([f.effect for m in s.device_model for f in m.firmware])
    adaptor_effect = np.array([a.effect for a in s.adaptor])
    codes: list[str] = []

    def code(x: str) -> int:
        if x not in codes:
            codes.append(x)
        return codes.index(x)

    success_idx = np.array([code(k) for k in o.success_codes])
    user_idx = np.array([code(k) for k in o.user_caused_codes])
    sr_idx = np.array([code(sr_specific_code(x)) for x in srv_ids])
    kind_code = np.array(
        [code(o.failure_codes[k]) if k in o.failure_codes else -1 for k in FAILURE_KINDS]
    )
    late = code("I0") if "I0" in o.success_codes else int(success_idx[0])
    # the TRT rule of every (execution, command variant, SRV, device type) a row can have
    shape = (len(EXECUTIONS), 8, len(srv_ids), len(DEVICE_TYPES))
    trt_us = np.zeros(shape, dtype=np.int64)
    trt_exec = np.zeros(shape, dtype=bool)
    for e, name in enumerate(EXECUTIONS):
        for cv in range(1, 9):
            for i, x in enumerate(srv_ids):
                for d, dt_name in enumerate(DEVICE_TYPES):
                    rule = c.trt_for(name, cv, x, dt_name)
                    trt_us[e, cv - 1, i, d] = round(rule.seconds * US)
                    trt_exec[e, cv - 1, i, d] = rule.clock_start == "execution"
    kinds = np.array([o.failure_kinds.get(k, 0.0) for k in FAILURE_KINDS])
    return OutcomeModel(
        s=s,
        c=c,
        srv_ids=srv_ids,
        base_logit=np.log(pct / (1 - pct)),
        critical=critical,
        non_device=non_device,
        future_pct=np.array([s.srv[x].future_dated_percent / 100 for x in srv_ids]),
        cv_draw=Categorical(cv_w),
        transform_pct=transform,
        region_effect=np.array([o.region_effect.get(r, 0.0) for r in regions]),
        model_effect=model_effect,
        fw_effect=fw_effect,
        party_effect=market.effect + adaptor_effect[market.adaptor],
        user_caused=market.user_caused,
        retry=market.retry,
        kind_draw=Categorical(kinds),
        codes=codes,
        success_code_draw=Categorical(np.array(list(o.success_codes.values()))),
        success_code_idx=success_idx,
        user_code_draw=Categorical(np.array(list(o.user_caused_codes.values()))),
        user_code_idx=user_idx,
        sr_code_idx=sr_idx,
        kind_code_idx=kind_code,
        late_success_code=late,
        trt_us=trt_us,
        trt_from_execution=trt_exec,
    )


_BINS = 1 << 16


@functools.lru_cache(maxsize=8)
def _lognormal_table(sigma: float) -> np.ndarray:
    """exp(sigma * z) at the middle of each of 65,536 equally likely ranges of a normal z."""
    z = statistics.NormalDist()
    q = np.array([z.inv_cdf((i + 0.5) / _BINS) for i in range(_BINS)])
    return np.exp(sigma * q).astype(np.float32)


def _lognormal(
    rng: np.random.Generator, median_us: np.ndarray | float, sigma: float, n: int
) -> np.ndarray:
    """Durations in microseconds with the given median (microseconds), lognormal with shape
    `sigma`.

    Read from a quantile table with one uniform each (a normal draw and an exp cost three
    times as much); 65,536 quantiles are finer than anything a month's statistics show.
    """
    u = rng.random(n, dtype=np.float32)
    u *= np.float32(_BINS)  # < 65536: a float32 uniform is at most 1 - 2**-24
    x = _lognormal_table(sigma)[u.astype(np.int32)]
    x *= np.asarray(median_us, dtype=np.float32)
    return x.astype(np.int64)


def settle(
    m: OutcomeModel,
    r: dict[str, np.ndarray],
    inv: Inventory,
    market: Market,
    rng: np.random.Generator,
    keep_p: bool = False,
) -> None:
    """Draw execution, command variant, outcome, codes and timestamps of rows in place.

    Random numbers are drawn only for the rows that need them (codes of excluded rows, delays
    of future-dated ones, ...), in float32 where precision does not matter. `keep_p` keeps
    each row's success probability (the pilot sample calibrates the anomalies on it).
    """
    o, tm = m.s.outcomes, m.s.timing
    n = len(r["t"])
    srv = r["srv"]
    dt = r["dtype"]
    t = r["t"]
    terms = m.terms(inv)
    pcls = terms.prem_class[r["premises"]]
    sc = terms.index(srv, pcls)

    def uniform(k: int) -> np.ndarray:
        return rng.random(k, dtype=np.float32)

    # execution kind and command variant
    cv = m.cv_draw.sample(rng.random(n), srv).astype(np.int8)
    cv += 1
    transform = uniform(n) < m.transform_pct[srv]
    cv[transform] = 4
    non_device = m.non_device[srv]
    execution = np.where(non_device, NON_DEVICE, ON_DEMAND).astype(np.int8)
    fd = np.flatnonzero(~transform & ~non_device & (uniform(n) < m.future_pct[srv]))
    execution[fd] = FUTURE_DATED
    execute_at = np.full(n, NULL_TS, dtype=np.int64)
    start = t.copy()
    if len(fd):
        delay = rng.uniform(
            tm.future_dated_min_minutes * 60, tm.future_dated_max_hours * 3600, len(fd)
        )
        minute = 60 * US
        at = ((t[fd] + (delay * US).astype(np.int64)) // minute + 1) * minute
        execute_at[fd] = at
        start[fd] = at
    # outcome
    lg = m.logit(r, terms, pcls, sc)
    np.negative(lg, out=lg)
    np.exp(lg, out=lg)
    lg += 1.0
    p = np.reciprocal(lg, out=lg)
    excluded = uniform(n) < m.user_caused[r["party"]]
    success = ~excluded & (uniform(n) < p)
    cls = np.full(n, FAILURE, dtype=np.int8)
    cls[success] = SUCCESS
    cls[excluded] = EXCLUDED
    failed = np.flatnonzero(cls == FAILURE)
    kind = np.full(n, NO_KIND, dtype=np.int8)
    kind[failed] = m.kind_draw.sample(uniform(len(failed)))
    legless = transform | non_device | (dt == NONE)
    remap = legless & _NEEDS_DEVICE[kind + 1]
    kind[remap] = KIND["dcc_error"]
    failed_kind = kind[failed]
    # durations (microseconds)
    d_out = _lognormal(rng, terms.out_us[sc], tm.sigma, n)
    d_in = _lognormal(rng, tm.inbound_median_s * US, tm.sigma, n)
    han = _lognormal(rng, terms.han_us[dt], tm.sigma, n)
    # DSP attempts: 1-3 for deliveries, 4-5 when the DSP gave up
    u = uniform(n)
    p2 = o.dsp_retry_percent.get("2", 0.0) / 100
    p3 = o.dsp_retry_percent.get("3", 0.0) / 100
    attempts = np.ones(n, dtype=np.int8)
    attempts[u < p3 + p2] = 2
    attempts[u < p3] = 3
    gave_up = failed[failed_kind == KIND["dsp_gave_up"]]
    n_gave_up = len(gave_up)
    attempts[gave_up] = np.where(uniform(n_gave_up) < 0.8, 4, 5)
    again = np.flatnonzero(attempts > 1)
    retry_gap = np.zeros(n, dtype=np.int64)
    retry_gap[again] = (
        (attempts[again] - 1) * tm.dsp_retry_gap_s * US * rng.uniform(0.5, 1.5, len(again))
    ).astype(np.int64)
    delivered = start + d_out
    delivered += retry_gap
    # GSME commands wait at the GPF for the meter's next wake-up
    gsme = np.flatnonzero(dt == GSME)
    dev_resp = delivered + han
    if len(gsme):
        interval = tm.gsme_wake_interval_s * US
        dev_resp[gsme] += (inv.dev_wake[r["device"][gsme]] - delivered[gsme]) % interval
    responded = dev_resp + d_in
    late_success = np.zeros(n, dtype=bool)
    late_success[gave_up] = uniform(n_gave_up) < o.late_success_percent / 100
    # a success code for every row; excluded and failed rows get theirs below
    code = m.success_code_idx[m.success_code_draw.sample(uniform(n))].astype(np.int16)
    # excluded: answered by the DCC at once, never sent to a device
    ex = np.flatnonzero(excluded)
    if len(ex):
        sr_specific = uniform(len(ex)) < o.sr_specific_percent / 100
        user_code = m.user_code_idx[m.user_code_draw.sample(uniform(len(ex)))]
        code[ex] = np.where(sr_specific, m.sr_code_idx[srv[ex]], user_code)
        responded[ex] = t[ex] + _lognormal(rng, tm.user_caused_s * US, tm.sigma, len(ex))
    null_legs = excluded.copy()
    null_dev_resp = np.zeros(n, dtype=bool)
    null_responded = np.zeros(n, dtype=bool)
    null_attempts = excluded.copy()
    for name, k in KIND.items():
        sel = failed[failed_kind == k]
        if not len(sel):
            continue
        code[sel] = m.kind_code_idx[k] if name != "no_response" else -1
        if name == "device_timeout":
            null_dev_resp[sel] = True
            timeout = tm.device_timeout_s * US * rng.uniform(0.8, 1.2, len(sel))
            responded[sel] = delivered[sel] + timeout.astype(np.int64)
        elif name == "dcc_error":
            null_legs[sel] = True
            null_attempts[sel] = True
            responded[sel] = start[sel] + d_out[sel] * 2
        elif name == "no_response":
            null_dev_resp[sel] = True
            null_responded[sel] = True
        elif name == "dsp_gave_up":
            fail = sel[~late_success[sel]]
            null_legs[fail] = True
            responded[fail] = start[fail] + d_out[fail] + retry_gap[fail] + d_in[fail]
            code[sel[late_success[sel]]] = m.late_success_code
        elif name == "interim_only":
            null_dev_resp[sel] = True
            responded[sel] = delivered[sel] + d_in[sel] // 4
    # requests without device legs (transform, non-device) answer from the DCC
    quick = np.flatnonzero(legless & ~excluded & (kind != KIND["dcc_error"]))
    if len(quick):
        median = np.where(transform[quick], tm.transform_s * US, tm.non_device_s * US)
        responded[quick] = t[quick] + _lognormal(rng, median, tm.sigma, len(quick))
    null_legs |= legless
    null_attempts |= legless
    r["execution"] = execution
    r["cv"] = cv
    r["execute_at"] = execute_at
    r["cls"] = cls
    r["code"] = code
    delivered[null_legs] = NULL_TS
    null_dev_resp |= null_legs
    dev_resp[null_dev_resp] = NULL_TS
    responded[null_responded] = NULL_TS
    attempts[null_attempts] = 0
    r["delivered"] = delivered
    r["dev_resp"] = dev_resp
    r["responded"] = responded
    r["attempts"] = attempts
    if keep_p:
        r["p"] = p


# failure kinds that need a device leg (index: kind + 1, so NO_KIND reads False)
_NEEDS_DEVICE = np.zeros(len(KIND) + 1, dtype=bool)
for _k in ("device_timeout", "device_error", "dsp_gave_up"):
    _NEEDS_DEVICE[KIND[_k] + 1] = True
