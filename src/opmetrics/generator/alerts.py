"""Alerts, one chunk at a time: device alerts to suppliers and AD1 power outage bursts.

Device alerts come from devices of the inventory following a daily profile and go to the
premises' supplier. A power cut makes every comms hub of a group of premises in one region
raise AD1 within a couple of minutes; the DCC sends those to the region's electricity
distributor. Some alerts are consolidated, a few are late (delivered after the alert TRT) and
a very few are never delivered. SMETS1 devices report in the SMETS1 region.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from opmetrics.catalog import Catalog
from opmetrics.generator.devices import CHF, Inventory
from opmetrics.generator.ids import padded_numbers, strings_from_matrix
from opmetrics.generator.market import Market
from opmetrics.generator.outcomes import NULL_TS, Categorical
from opmetrics.generator.requests import time_order
from opmetrics.generator.scenario import Scenario
from opmetrics.generator.timegrid import US, Intensity, TimeGrid, intensity


@dataclass
class AlertPlan:
    s: Scenario
    grid: TimeGrid
    inv: Inventory
    market: Market
    device_alerts: Intensity
    codes: list[str]  # device alert codes, then the power outage code last
    code_draw: Categorical
    regions: list[str]  # CSP regions, then the SMETS1 region
    dno_of_region: np.ndarray  # per CSP region: party index of its electricity distributor
    trt_us: int


def build_alert_plan(
    s: Scenario, c: Catalog, grid: TimeGrid, inv: Inventory, market: Market
) -> AlertPlan:
    a = s.alerts
    per_slot = grid.profile_weights(s.profile[a.profile])
    codes = [*list(a.codes), a.power_outage_code]
    w = np.array(list(a.codes.values()), dtype=np.float64)
    dno = np.full(len(inv.regions), -1, dtype=np.int64)
    for r in range(len(inv.regions)):
        eds = np.flatnonzero((market.role == 1) & (market.home_region == r))
        if not len(eds):
            eds = np.flatnonzero(market.role == 1)
        if not len(eds):
            eds = np.flatnonzero(market.role == 0)
        dno[r] = eds[0]
    return AlertPlan(
        s=s,
        grid=grid,
        inv=inv,
        market=market,
        device_alerts=intensity(grid, per_slot, np.ones(len(grid.days))),
        codes=codes,
        code_draw=Categorical(w),
        regions=[*inv.regions, c.smets1_region],
        dno_of_region=dno,
        trt_us=int(c.alerts.trt_seconds * US),
    )


def alert_chunk(
    plan: AlertPlan, rng: np.random.Generator, n: int, lo: float, hi: float
) -> dict[str, np.ndarray]:
    """About `n` alerts raised in the mass slice [lo, hi) of the device alert profile."""
    a = plan.s.alerts
    inv = plan.inv
    n_cut = round(n * a.power_outage_percent / 100)
    n_dev = n - n_cut
    # device alerts
    t = plan.device_alerts.sample(rng, n_dev, lo, hi)
    dev = rng.integers(0, inv.n_devices, n_dev)
    prem = inv.dev_premises[dev]
    code = plan.code_draw.sample(rng.random(n_dev))
    party = inv.supplier[prem]
    # power cuts: bursts of AD1 from the comms hubs of premises in one region
    t_lo = plan.device_alerts.time_at(lo)
    t_hi = plan.device_alerts.time_at(hi)
    sizes: list[int] = []
    lo_n, hi_n = a.premises_per_power_cut
    while sum(sizes) < n_cut:
        sizes.append(
            int(min(np.exp(rng.uniform(np.log(lo_n), np.log(hi_n + 1))), n_cut - sum(sizes)))
        )
    cut_t = rng.integers(t_lo, max(t_hi, t_lo + 1), len(sizes))
    cut_region = rng.integers(0, len(inv.regions), len(sizes))
    per = np.array(sizes, dtype=np.int64)
    which = np.repeat(np.arange(len(sizes)), per)
    # each burst stays in its region: premises from the region's list (scopes after the parties)
    scope = plan.market.n + cut_region[which]
    cut_prem = inv.pick(scope, np.zeros(len(which), dtype=np.int64), rng.random(len(which)))
    cut_time = cut_t[which] + rng.integers(0, 120 * US, len(which))
    t = np.concatenate([t, cut_time])
    prem = np.concatenate([prem, cut_prem.astype(np.int64)])
    dev = np.concatenate([dev, inv.device_of[cut_prem, CHF]])
    code = np.concatenate([code, np.full(len(which), len(plan.codes) - 1)])
    party = np.concatenate([party, plan.dno_of_region[inv.region[cut_prem]]])
    is_dcc = np.concatenate([np.zeros(n_dev, dtype=bool), np.ones(len(which), dtype=bool)])
    m = len(t)
    delay = (a.delivery_median_s * US * np.exp(0.6 * rng.standard_normal(m))).astype(np.int64)
    delay = np.minimum(delay, plan.trt_us - US)
    late = rng.random(m) < a.late_percent / 100
    delay[late] = plan.trt_us + rng.integers(US, 900 * US, int(late.sum()))
    delivered = t + delay
    delivered[rng.random(m) < a.undelivered_percent / 100] = NULL_TS
    order = time_order(t)
    out = {
        "t": t,
        "premises": prem,
        "device": dev,
        "code": code,
        "party": party,
        "dcc": is_dcc,
        "delivered": delivered,
        "consolidated": rng.random(m) < a.consolidated_percent / 100,
    }
    return {k: v[order] for k, v in out.items()}


def to_arrow(plan: AlertPlan, r: dict[str, np.ndarray], id0: int) -> pa.Table:
    """The chunk's alerts as the contract's table; ids number the month's alerts from `id0`."""
    from opmetrics.generator.requests import _dict, _ts

    inv = plan.inv
    n = len(r["t"])
    ids = padded_numbers(np.arange(id0, id0 + n), 12, "AL")
    prem = r["premises"]
    s1 = inv.smets1[prem]
    region = np.where(s1, len(plan.regions) - 1, inv.region[prem])
    return pa.table(
        {
            "alert_id": ids,
            "alert_code": _dict(r["code"], plan.codes),
            "alert_type": _dict(r["dcc"].astype(np.int8), ["device", "dcc"]),
            "device_id": strings_from_matrix(inv.id_items[r["device"]]),
            "user_id": _dict(r["party"], plan.market.user_id),
            "region": _dict(region, plan.regions),
            "smets": _dict(s1.astype(np.int8), ["SMETS2", "SMETS1"]),
            "raised_at": _ts(r["t"]),
            "delivered_at": _ts(r["delivered"]),
            "consolidated": pa.array(r["consolidated"], pa.bool_()),
        }
    )
