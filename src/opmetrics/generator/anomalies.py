"""The four injected anomalies of the seed's use cases, and the rates they actually reached.

Each anomaly is a log-odds offset on a subset of requests (a party on one SRV, a party on one
device set, a gas meter model by firmware, a region on one SRV). The offset is solved before
generation on a pilot sample drawn like the real month, so the asked rate is met on average;
the rate the generated rows actually reached is counted from the generator's own arrays and
written to truth.json next to the asked one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from opmetrics.generator.devices import ESME, GSME, Inventory
from opmetrics.generator.market import Market, anomaly_a_peer

if TYPE_CHECKING:
    from opmetrics.generator.outcomes import OutcomeModel

SUCCESS, FAILURE = 0, 1


@dataclass
class Subjects:
    """Who each anomaly is about, resolved to indices of the generator's arrays."""

    a_bad: int = -1
    a_peer: int = -1
    a_srv: int = -1
    b_party: int = -1
    b_hub: int = -1
    b_meter: int = -1
    b_fw: int = -1
    c_model: int = -1
    d_region: int = -1
    d_srv: int = -1
    info: dict[str, Any] = field(default_factory=dict)
    devices: np.ndarray | None = field(default=None, repr=False)  # see device_subsets


def resolve(m: OutcomeModel, market: Market, inv: Inventory) -> Subjects:
    s = m.s
    an = s.anomalies
    out = Subjects()
    if an.a.enabled:
        out.a_bad = market.by_rank(an.a.supplier_rank)
        out.a_peer = anomaly_a_peer(market, s)
        out.a_srv = m.srv_ids.index(an.a.srv)
    if an.b.enabled:
        out.b_party = market.by_rank(an.b.supplier_rank)
        out.b_hub = s.model_by_label(an.b.comms_hub, "CHF")
        out.b_meter = s.model_by_label(an.b.meter, "ESME")
        versions = [f.version for f in s.device_model[out.b_meter].firmware]
        first = sum(len(x.firmware) for x in s.device_model[: out.b_meter])
        out.b_fw = first + versions.index(an.b.firmware)
    if an.c.enabled:
        out.c_model = s.model_by_label(an.c.meter, "GSME")
    if an.d.enabled:
        out.d_region = list(inv.regions).index(an.d.region)
        out.d_srv = m.srv_ids.index(an.d.srv)
    return out


def masks(subj: Subjects, r: dict[str, np.ndarray], inv: Inventory) -> dict[str, np.ndarray]:
    """Row masks of every subset an anomaly asks for or is compared with."""
    n = len(r["t"])
    none = np.zeros(n, dtype=bool)
    out: dict[str, np.ndarray] = {}
    party, srv, dt, prem = r["party"], r["srv"], r["dtype"], r["premises"]
    has_dev = r["device"] >= 0
    dev = np.where(has_dev, r["device"], 0)
    model = inv.dev_model[dev] if subj.b_party >= 0 or subj.c_model >= 0 else None
    if subj.a_srv >= 0:
        on = srv == subj.a_srv
        out["a_all"] = on
        out["a_bad"] = on & (party == subj.a_bad)
        out["a_peer"] = on & (party == subj.a_peer)
    if subj.b_party >= 0:
        assert model is not None
        in_set = (
            (dt == ESME)
            & has_dev
            & (model == subj.b_meter)
            & (inv.dev_fw[dev] == subj.b_fw)
            & (inv.ch_model[prem] == subj.b_hub)
        )
        out["b"] = in_set & (party == subj.b_party)
        out["b_others"] = in_set & (party != subj.b_party)
    if subj.c_model >= 0:
        assert model is not None
        gas = (dt == GSME) & has_dev
        of_model = gas & (model == subj.c_model)
        latest = inv.fw_latest[inv.dev_fw[dev]]
        out["c_all"] = of_model
        out["c_latest"] = of_model & latest
        out["c_older"] = of_model & ~latest
        out["c_other_gas"] = gas & ~of_model
    if subj.d_srv >= 0:
        on = (srv == subj.d_srv) & ~inv.smets1[prem]
        region = inv.region[prem]
        out["d"] = on & (region == subj.d_region)
        out["d_others"] = on & (region != subj.d_region)
    return {k: (v if v is not None else none) for k, v in out.items()}


# Which anomaly subset a device's requests belong to (device_subsets).
_B_SET, _C_LATEST, _C_OLDER, _C_OTHER_GAS = 1, 2, 3, 4


def device_subsets(subj: Subjects, inv: Inventory) -> np.ndarray:
    """Per device (one trailing 0 for requests without one): the device-defined subset of
    anomaly (b) or (c) its requests fall in (0: none). Built once per month."""
    if subj.devices is None:
        code = np.zeros(inv.n_devices + 1, dtype=np.int8)
        t, model, fw = inv.dev_type, inv.dev_model, inv.dev_fw
        if subj.b_party >= 0:
            in_set = (
                (t == ESME)
                & (model == subj.b_meter)
                & (fw == subj.b_fw)
                & (inv.ch_model[inv.dev_premises] == subj.b_hub)
            )
            code[:-1][in_set] = _B_SET
        if subj.c_model >= 0:
            gas = t == GSME
            of_model = gas & (model == subj.c_model)
            latest = inv.fw_latest[fw]
            code[:-1][of_model & latest] = _C_LATEST
            code[:-1][of_model & ~latest] = _C_OLDER
            code[:-1][gas & ~of_model] = _C_OTHER_GAS
        subj.devices = code
    return subj.devices


def subset_counts(
    subj: Subjects, r: dict[str, np.ndarray], inv: Inventory
) -> dict[str, np.ndarray]:
    """Outcome counts (success, failure, excluded) of every subset `masks` defines.

    The same subsets, from each device's subset (looked up once per row) and narrowed step
    by step over the few rows each can hold, instead of masks over every row: counting a
    chunk costs a fraction of building its masks.
    """
    cls = r["cls"]
    out: dict[str, np.ndarray] = {}

    def count(idx: np.ndarray) -> np.ndarray:
        return np.bincount(cls[idx], minlength=3)[:3].astype(np.int64)

    party, srv, prem = r["party"], r["srv"], r["premises"]
    if subj.a_srv >= 0:
        on = np.flatnonzero(srv == subj.a_srv)
        out["a_all"] = count(on)
        out["a_bad"] = count(on[party[on] == subj.a_bad])
        out["a_peer"] = count(on[party[on] == subj.a_peer])
    if subj.b_party >= 0 or subj.c_model >= 0:
        code = device_subsets(subj, inv)[r["device"]]  # -1 (no device) reads the trailing 0
        by_code = np.bincount(code * 3 + cls, minlength=15)[:15].reshape(5, 3).astype(np.int64)
        if subj.b_party >= 0:
            in_set = np.flatnonzero(code == _B_SET)
            own = party[in_set] == subj.b_party
            out["b"] = count(in_set[own])
            out["b_others"] = count(in_set[~own])
        if subj.c_model >= 0:
            out["c_all"] = by_code[_C_LATEST] + by_code[_C_OLDER]
            out["c_latest"] = by_code[_C_LATEST]
            out["c_older"] = by_code[_C_OLDER]
            out["c_other_gas"] = by_code[_C_OTHER_GAS]
    if subj.d_srv >= 0:
        on = np.flatnonzero(srv == subj.d_srv)
        on = on[~inv.smets1[prem[on]]]
        here = inv.region[prem[on]] == subj.d_region
        out["d"] = count(on[here])
        out["d_others"] = count(on[~here])
    return out


def _rate(p: np.ndarray, w: np.ndarray, mask: np.ndarray, extra: np.ndarray | float = 0.0) -> float:
    """Expected success rate over `mask` when the log-odds move by `extra` there.

    `w` is (weight of a first request, retry probability, retries allowed): a failed request
    is sent again with that probability, so rows with a low rate weigh more among all rows.
    """
    if not mask.any():
        return float("nan")
    shift: np.ndarray | float = float(extra) if np.isscalar(extra) else np.asarray(extra)[mask]  # type: ignore[arg-type]
    return _Subset(p, w, mask).rate(shift)


class _Subset:
    """The rows of one anomaly subset, cut out once so that solving for an offset is cheap."""

    def __init__(self, p: np.ndarray, w: np.ndarray, mask: np.ndarray) -> None:
        pm = p[mask]
        self.logit = np.log(pm / (1 - pm))
        self.weight = w[0][mask]
        self.rho = w[1][mask]
        self.rounds = int(w[2][0]) if len(w[2]) else 0

    def rate(self, shift: np.ndarray | float) -> float:
        q = 1 / (1 + np.exp(-(self.logit + shift)))
        fail_again = self.rho * (1 - q)
        expected_rows = np.ones_like(q)
        term = np.ones_like(q)
        for _ in range(self.rounds):
            term = term * fail_again
            expected_rows += term
        wq = self.weight * expected_rows
        return float((q * wq).sum() / wq.sum())


def _bisect(f: Callable[[float], float], target: float) -> float:
    """The offset x in [-15, 15] with f(x) = target, for an increasing f."""
    lo, hi = -15.0, 15.0
    for _ in range(32):
        mid = (lo + hi) / 2
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _mixed_rate(
    whole: _Subset, latest: np.ndarray, latest_offset: float, older_offset: float
) -> float:
    return whole.rate(np.where(latest, latest_offset, older_offset))


def _solve(p: np.ndarray, w: np.ndarray, mask: np.ndarray, target: float) -> float:
    """The log-odds offset on `mask` that brings its expected rate to `target`."""
    if not mask.any():
        return 0.0
    sub = _Subset(p, w, mask)
    return _bisect(sub.rate, target)


def calibrate(
    m: OutcomeModel, subj: Subjects, pilot: dict[str, np.ndarray], inv: Inventory
) -> None:
    """Solve the anomaly offsets on a pilot sample whose `p` was drawn with no offsets."""
    an = m.s.anomalies
    mk = masks(subj, pilot, inv)
    base = pilot["p"].clip(1e-9, 1 - 1e-9)
    base_logit = np.log(base / (1 - base))
    party = pilot["party"]
    rounds = np.full(len(party), float(m.s.outcomes.max_party_retries))
    w = np.stack([1 - m.user_caused[party], m.retry[party], rounds])
    off = dict.fromkeys(("a_bad", "a_peer", "b", "c_latest", "c_older", "d"), 0.0)

    def p_without(*keys: str) -> np.ndarray:
        lg = base_logit.copy()
        for key, val in off.items():
            if key in mk and key not in keys and val:
                lg[mk[key]] += val
        return 1 / (1 + np.exp(-lg))

    for _ in range(3):
        if "d" in mk:
            off["d"] = _solve(p_without("d"), w, mk["d"], an.d.success_percent / 100)
        if "c_all" in mk:
            p = p_without("c_latest", "c_older")
            off["c_latest"] = _solve(
                p, w, mk["c_latest"], an.c.latest_firmware_success_percent / 100
            )
            whole = _Subset(p, w, mk["c_all"])
            latest_in_all = mk["c_latest"][mk["c_all"]]
            off["c_older"] = _bisect(
                partial(_mixed_rate, whole, latest_in_all, off["c_latest"]),
                an.c.success_percent / 100,
            )
        if "b" in mk:
            off["b"] = _solve(p_without("b"), w, mk["b"], an.b.success_percent / 100)
        if "a_all" in mk:
            for _ in range(4):
                avg = _Subset(p_without(), w, mk["a_all"]).rate(0.0)
                for key, gap in (("a_bad", an.a.gap_points), ("a_peer", an.a.peer_gap_points)):
                    target = min(max(avg + gap / 100, 0.01), 0.995)
                    off[key] = _solve(p_without(key), w, mk[key], target)
    m.offsets.update(off)
    m.subjects = subj


class Realised:
    """Success / failure counts of every anomaly subset, summed over the generated chunks."""

    def __init__(self) -> None:
        self.counts: dict[str, np.ndarray] = {}

    def add(self, subj: Subjects, r: dict[str, np.ndarray], inv: Inventory) -> None:
        for key, c in subset_counts(subj, r, inv).items():
            self.counts[key] = self.counts.get(key, np.zeros(3, dtype=np.int64)) + c

    def merge(self, other: Realised) -> None:
        for key, c in other.counts.items():
            self.counts[key] = self.counts.get(key, np.zeros(3, dtype=np.int64)) + c

    def rate(self, key: str) -> float | None:
        c = self.counts.get(key)
        if c is None or c[SUCCESS] + c[FAILURE] == 0:
            return None
        return round(100.0 * c[SUCCESS] / (c[SUCCESS] + c[FAILURE]), 3)

    def n(self, key: str) -> int:
        c = self.counts.get(key)
        return 0 if c is None else int(c.sum())
