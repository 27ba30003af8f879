"""The SEC Parties of a synthetic month: who they are, what they run on, how big they are.

Parties are drawn from the scenario's groups: suppliers share the premises with skewed fleet
sizes, network operators each serve one CSP region, other users read meters nationally. Each
party gets an adaptor, an EUI-64 and its own behaviour (success effect, user error rate,
retry habit). Anomaly (a) needs its two suppliers on one adaptor, which is arranged here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from opmetrics.generator.ids import eui64_text, parse_octets
from opmetrics.generator.scenario import ROLES, Scenario

ROLE_CODES = {
    "supplier": "IS",
    "electricity_distributor": "ED",
    "gas_transporter": "GT",
    "other_user": "OU",
}

_SUPPLIER_NAMES = [
    "Aurora Energy",
    "Brightwell Power",
    "Cobalt Home Energy",
    "Dunmore Gas & Electric",
    "Evergreen Supply",
    "Fairway Energy",
    "Granite Utilities",
    "Harbour Light Energy",
    "Ironbridge Power",
    "Juniper Energy",
    "Kingfisher Supply",
    "Lodestar Energy",
    "Meridian Home Power",
    "Northgate Energy",
    "Oakfield Utilities",
    "Pinnacle Power",
    "Quayside Energy",
    "Riverside Supply",
    "Saltmarsh Energy",
    "Thistle Power",
    "Upland Energy",
    "Vale Energy",
    "Westerly Supply",
    "Yarrow Energy",
    "Zephyr Power",
    "Ashcombe Energy",
    "Bramble Power",
    "Cedarline Energy",
    "Driftwood Energy",
    "Elmstead Supply",
]
_ED_NAMES = [
    "Northern Distribution Networks",
    "Pennine Power Networks",
    "Midlands Electricity Networks",
    "Central Grid Distribution",
    "Southern Power Networks",
    "Channel Electricity Networks",
]
_GT_NAMES = ["North Gas Transmission", "Central Gas Networks", "Southern Gas Networks"]
_OU_NAMES = [
    "HomeInsight Data",
    "WattWise Analytics",
    "Consent Meter Services",
    "GridLens",
    "Tally Energy Data",
]


@dataclass
class Market:
    names: list[str]
    group: np.ndarray  # index of the party group
    role: np.ndarray  # index into ROLES
    user_id: list[str]  # EUI-64 text
    user_num: np.ndarray  # EUI-64 as uint64
    adaptor: np.ndarray  # index of the adaptor
    effect: np.ndarray  # log-odds effect on success
    user_caused: np.ndarray  # probability of a user-caused error
    retry: np.ndarray  # probability of retrying a failed request
    activity: np.ndarray
    fleet_share: np.ndarray  # suppliers: share of premises (sums to 1); others 0
    home_region: np.ndarray  # network operators: CSP region index; others -1
    supplier_rank: np.ndarray  # 1 = largest supplier; 0 for non-suppliers
    adaptor_names: list[str]

    @property
    def n(self) -> int:
        return len(self.names)

    def by_rank(self, rank: int) -> int:
        return int(np.flatnonzero(self.supplier_rank == rank)[0])

    def role_code(self, party: int) -> str:
        return ROLE_CODES[ROLES[int(self.role[party])]]

    def table(self) -> pa.Table:
        return pa.table(
            {
                "user_id": pa.array(self.user_id, pa.string()),
                "name": pa.array(self.names, pa.string()),
                "role": pa.array([self.role_code(i) for i in range(self.n)], pa.string()),
                "adaptor": pa.array([self.adaptor_names[a] for a in self.adaptor], pa.string()),
            }
        )


def build_market(s: Scenario, rng: np.random.Generator, n_regions: int) -> Market:
    names: list[str] = []
    group: list[int] = []
    role: list[int] = []
    share: list[float] = []
    home: list[int] = []
    pools = {
        "supplier": list(_SUPPLIER_NAMES),
        "electricity_distributor": list(_ED_NAMES),
        "gas_transporter": list(_GT_NAMES),
        "other_user": list(_OU_NAMES),
    }
    counters = dict.fromkeys(ROLES, 0)
    for gi, g in enumerate(s.party_group):
        weights = 1.0 / np.arange(1, g.count + 1) ** g.skew
        weights = weights / weights.sum() * g.fleet_share
        for k in range(g.count):
            pool = pools[g.role]
            n = counters[g.role]
            counters[g.role] += 1
            names.append(
                pool[n] if n < len(pool) else f"{pool[n % len(pool)]} {n // len(pool) + 1}"
            )
            group.append(gi)
            role.append(ROLES.index(g.role))
            share.append(float(weights[k]) if g.role == "supplier" else 0.0)
            home.append(
                n % n_regions if g.role in ("electricity_distributor", "gas_transporter") else -1
            )
    n = len(names)
    groups = s.party_group
    g_arr = np.array(group)
    effect = rng.normal(0.0, 1.0, n) * np.array([groups[i].effect_sd for i in group])
    adaptor_share = np.array([a.share for a in s.adaptor])
    adaptor = rng.choice(len(s.adaptor), size=n, p=adaptor_share / adaptor_share.sum())
    share_arr = np.array(share)
    share_arr = share_arr / share_arr.sum()
    rank = np.zeros(n, dtype=np.int64)
    sup = np.flatnonzero(np.array(role) == 0)
    order = sup[np.argsort(-share_arr[sup], kind="stable")]
    rank[order] = np.arange(1, len(order) + 1)
    prefix = parse_octets(s.scale.party_id_prefix) << 24
    low = rng.choice(1 << 24, size=n, replace=False)
    user_num = (np.uint64(prefix) + low.astype(np.uint64)).astype(np.uint64)
    market = Market(
        names=names,
        group=g_arr,
        role=np.array(role),
        user_id=[eui64_text(int(u)) for u in user_num],
        user_num=user_num,
        adaptor=adaptor,
        effect=effect,
        user_caused=np.array([groups[i].user_caused_percent / 100 for i in group]),
        retry=np.array([groups[i].retry_percent / 100 for i in group]),
        activity=np.array([groups[i].activity for i in group]),
        fleet_share=share_arr,
        home_region=np.array(home),
        supplier_rank=rank,
        adaptor_names=[a.name for a in s.adaptor],
    )
    a = s.anomalies.a
    if a.enabled:
        bad = market.by_rank(a.supplier_rank)
        peer = anomaly_a_peer(market, s)
        market.adaptor[peer] = market.adaptor[bad]
        market.effect[bad] = 0.0
        market.effect[peer] = 0.0
    return market


def anomaly_a_peer(market: Market, s: Scenario) -> int:
    gi = next(i for i, g in enumerate(s.party_group) if g.id == s.anomalies.a.peer_group)
    bad = market.by_rank(s.anomalies.a.supplier_rank)
    candidates = [int(p) for p in np.flatnonzero(market.group == gi) if p != bad]
    return candidates[0]
