"""Ground truth of a generated month, counted from the generator's own arrays (truth.json).

The measures code is written by others from the design's counting rules; these counts come
from the outcome classes the generator drew (not from re-reading the codes it wrote), so the
two are independent: success / failure / excluded and within-TRT per SRV and region, daily
success per region, the anomalies with asked and realised rates, the incidents' effect, and
the rows broken on purpose by `--dirty`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from opmetrics.generator.anomalies import Realised, Subjects
from opmetrics.generator.devices import Inventory
from opmetrics.generator.market import Market
from opmetrics.generator.outcomes import NULL_TS, OutcomeModel
from opmetrics.generator.timegrid import TimeGrid


def _clock(m: OutcomeModel, r: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's TRT (the catalog rule for its execution, command variant, SRV and device
    type) and clock start (receipt, or execution when the rule starts there and it is later)."""
    trt, from_exec = m.trt(r["execution"], r["cv"], r["srv"], r["dtype"])
    t, execute_at = r["t"], r["execute_at"]
    start = t.copy()
    later = from_exec & (execute_at > t)  # a null execute_at (NULL_TS) is never later
    start[later] = execute_at[later]
    return trt, start


def within_trt(m: OutcomeModel, r: dict[str, np.ndarray]) -> np.ndarray:
    """Successful requests whose RTT (from receipt, or from execution when later) <= TRT."""
    trt, start = _clock(m, r)
    responded = r["responded"]
    return (r["cls"] == 0) & (responded != NULL_TS) & (responded - start <= trt)


def dcc_within_trt(m: OutcomeModel, r: dict[str, np.ndarray]) -> np.ndarray:
    """Requests (any outcome) whose DCC time <= TRT (design §5, CPM1 and CPM2): the RTT less
    the HAN leg where both its ends are known; the time to the Comms Hub where the device never
    answered; else the RTT; never below 0. A request without a response is never within."""
    trt, start = _clock(m, r)
    delivered, device, responded = r["delivered"], r["dev_resp"], r["responded"]
    rtt = np.maximum(responded - start, 0)
    dcc = rtt.copy()
    both = (delivered != NULL_TS) & (device != NULL_TS)
    dcc[both] = rtt[both] - (device[both] - delivered[both])
    silent = (delivered != NULL_TS) & (device == NULL_TS)
    dcc[silent] = delivered[silent] - start[silent]
    return (responded != NULL_TS) & (np.maximum(dcc, 0) <= trt)


class Tally:
    def __init__(self, n_srv: int, n_regions: int, n_parties: int, n_days: int) -> None:
        self.counts = np.zeros((n_srv, n_regions, 2, 3), dtype=np.int64)
        self.within = np.zeros((n_srv, n_regions, 2), dtype=np.int64)
        self.party = np.zeros((n_parties, n_srv, 3), dtype=np.int64)
        self.daily = np.zeros((n_days + 2, n_regions, 2, 3), dtype=np.int64)
        # CPM1 / CPM2: (on demand, future dated) x (CSP regions, then SMETS1) x (all, within)
        self.dcc = np.zeros((2, n_regions + 1, 2), dtype=np.int64)
        # CPM3: alerts not consolidated, and those of them delivered within the alert TRT
        self.alerts = np.zeros(2, dtype=np.int64)
        self.realised = Realised()

    def add(
        self,
        m: OutcomeModel,
        r: dict[str, np.ndarray],
        inv: Inventory,
        grid: TimeGrid,
        subj: Subjects,
    ) -> None:
        prem = r["premises"]
        region = r["region"] if "region" in r else inv.region[prem]
        smets1 = r["smets1"] if "smets1" in r else inv.smets1[prem]
        n_srv, n_reg = self.within.shape[:2]
        # (srv, region, smets1) cell of each row, then with its class, then with its day:
        # one count over the finest key gives both the monthly and the daily tables
        cell = (r["srv"] * n_reg + region) * 2 + smets1
        day = np.clip(grid.local_day_of(r["t"]), -1, len(grid.days)) + 1
        key = (day * (n_srv * n_reg * 2) + cell) * 3 + r["cls"]
        full = np.bincount(key, minlength=self.daily.shape[0] * self.counts.size)
        full = full.reshape(self.daily.shape[0], n_srv, n_reg, 2, 3)
        self.counts += full.sum(axis=0)
        self.daily += full.sum(axis=1)
        w = within_trt(m, r)
        self.within += np.bincount(cell[w], minlength=self.within.size).reshape(self.within.shape)
        device_exec = r["execution"] < 2  # on demand or future dated (not non-device)
        rep_region = np.where(smets1 != 0, n_reg, region)
        dcc_key = ((r["execution"].astype(np.int64) * (n_reg + 1) + rep_region) * 2)[device_exec]
        self.dcc += np.bincount(dcc_key, minlength=self.dcc.size).reshape(self.dcc.shape)
        dcc_key += 1
        inside = dcc_key[dcc_within_trt(m, r)[device_exec]]
        self.dcc += np.bincount(inside, minlength=self.dcc.size).reshape(self.dcc.shape)
        party_key = (r["party"] * n_srv + r["srv"]) * 3 + r["cls"]
        self.party += np.bincount(party_key, minlength=self.party.size).reshape(self.party.shape)
        self.realised.add(subj, r, inv)

    def merge(self, other: Tally) -> None:
        """Add another chunk's counts (chunks are counted apart, in any process)."""
        self.counts += other.counts
        self.within += other.within
        self.party += other.party
        self.daily += other.daily
        self.dcc += other.dcc
        self.alerts += other.alerts
        self.realised.merge(other.realised)

    def add_alerts(self, r: dict[str, np.ndarray], trt_us: int) -> None:
        """CPM3: count the chunk's alerts that are not consolidated, and those delivered within
        the alert TRT (`delivered - raised <= TRT`; an undelivered alert never is)."""
        counted = ~r["consolidated"]
        delivered = r["delivered"]
        within = counted & (delivered != NULL_TS) & (delivered - r["t"] <= trt_us)
        self.alerts += (int(counted.sum()), int(within.sum()))

    def by_srv(self, srv_ids: list[str], regions: tuple[str, ...]) -> dict[str, Any]:
        def block(c: np.ndarray, within: int) -> dict[str, Any]:
            s, f, e = (int(x) for x in c)
            return {
                "submitted": s + f + e,
                "success": s,
                "failure": f,
                "excluded": e,
                "within_trt": within,
                "success_percent": round(100 * s / (s + f), 4) if s + f else None,
            }

        out: dict[str, Any] = {}
        for i, x in enumerate(srv_ids):
            entry = block(self.counts[i].sum(axis=(0, 1)), int(self.within[i].sum()))
            entry["by_region"] = {
                r: block(self.counts[i, ri].sum(axis=0), int(self.within[i, ri].sum()))
                for ri, r in enumerate(regions)
            }
            entry["by_reporting_region"] = {
                **{
                    r: block(self.counts[i, ri, 0], int(self.within[i, ri, 0]))
                    for ri, r in enumerate(regions)
                },
                "SMETS1": block(self.counts[i, :, 1].sum(axis=0), int(self.within[i, :, 1].sum())),
            }
            out[x] = entry
        return out


def _pct(s: int, f: int) -> float | None:
    return round(100.0 * s / (s + f), 3) if s + f else None


def anomalies_truth(
    m: OutcomeModel, subj: Subjects, tally: Tally, market: Market, inv: Inventory
) -> list[dict[str, Any]]:
    s = m.s
    an = s.anomalies
    real = tally.realised
    out: list[dict[str, Any]] = []
    models = s.device_model

    def party(p: int) -> dict[str, Any]:
        return {
            "user_id": market.user_id[p],
            "name": market.names[p],
            "adaptor": market.adaptor_names[int(market.adaptor[p])],
            "supplier_rank": int(market.supplier_rank[p]),
        }

    if subj.a_srv >= 0:
        srv_i = subj.a_srv
        rates = [_pct(int(c[0]), int(c[1])) for c in tally.party[:, srv_i]]
        avg = real.rate("a_all")
        bad, peer = real.rate("a_bad"), real.rate("a_peer")
        out.append(
            {
                "id": "a",
                "kind": "user",
                "action": "trilateral_meeting",
                "why": "a user difference: a peer on the same adaptor, comms hubs, meters and "
                "firmware does better, so a trilateral meeting with it",
                "subject": party(subj.a_bad),
                "peer": party(subj.a_peer),
                "business_process": m.c.srvs[an.a.srv].business_process,
                "srv": an.a.srv,
                "device_set": "both parties run the same comms hub, meter models and firmware",
                "asked": {"gap_points": an.a.gap_points, "peer_gap_points": an.a.peer_gap_points},
                "realised": {
                    "industry_average_percent": avg,
                    "industry_best_percent": max((x for x in rates if x is not None), default=None),
                    "success_percent": bad,
                    "peer_success_percent": peer,
                    "gap_points": round(bad - avg, 3)
                    if bad is not None and avg is not None
                    else None,
                    "peer_gap_points": round(peer - avg, 3)
                    if peer is not None and avg is not None
                    else None,
                    "requests": real.n("a_bad"),
                    "peer_requests": real.n("a_peer"),
                },
                "log_odds_offsets": {
                    "subject": round(m.offsets["a_bad"], 4),
                    "peer": round(m.offsets["a_peer"], 4),
                },
            }
        )
    if subj.b_party >= 0:
        hub, meter = models[subj.b_hub], models[subj.b_meter]
        out.append(
            {
                "id": "b",
                "kind": "user",
                "action": "top_issues_forum",
                "why": "a user difference: the same comms hub, meter and firmware set runs at 80 % "
                "or more for the other parties, so not the devices; best practice from the Top "
                "Issues Forum",
                "subject": {
                    **party(subj.b_party),
                    "device_set": {
                        "comms_hub_model": hub.model,
                        "comms_hub_manufacturer": hub.manufacturer,
                        "manufacturer": meter.manufacturer,
                        "model": meter.model,
                        "firmware_version": an.b.firmware,
                        "device_type": "ESME",
                    },
                },
                "business_process": "all",
                "srv": "all SRVs to the set's ESMEs",
                "asked": {"success_percent": an.b.success_percent, "others_at_least_percent": 80.0},
                "realised": {
                    "success_percent": real.rate("b"),
                    "others_success_percent": real.rate("b_others"),
                    "requests": real.n("b"),
                    "others_requests": real.n("b_others"),
                },
                "log_odds_offsets": {"subject": round(m.offsets["b"], 4)},
            }
        )
    if subj.c_model >= 0:
        gas = models[subj.c_model]
        out.append(
            {
                "id": "c",
                "kind": "device",
                "action": "firmware_upgrade",
                "why": "a device difference: the model's older firmware does worse for everyone, "
                "its latest firmware does better; the upgrade through service management",
                "subject": {
                    "device_type": "GSME",
                    "manufacturer": gas.manufacturer,
                    "model": gas.model,
                    "latest_firmware_version": gas.firmware[-1].version,
                    "older_firmware_versions": [f.version for f in gas.firmware[:-1]],
                },
                "business_process": "all",
                "srv": "all SRVs to the model's GSMEs",
                "asked": {
                    "success_percent": an.c.success_percent,
                    "latest_firmware_success_percent": an.c.latest_firmware_success_percent,
                },
                "realised": {
                    "success_percent": real.rate("c_all"),
                    "latest_firmware_success_percent": real.rate("c_latest"),
                    "older_firmware_success_percent": real.rate("c_older"),
                    "other_gas_models_success_percent": real.rate("c_other_gas"),
                    "requests": real.n("c_all"),
                    "latest_firmware_requests": real.n("c_latest"),
                },
                "log_odds_offsets": {
                    "latest": round(m.offsets["c_latest"], 4),
                    "older": round(m.offsets["c_older"], 4),
                },
            }
        )
    if subj.d_srv >= 0:
        region = inv.regions[subj.d_region]
        out.append(
            {
                "id": "d",
                "kind": "service_provider",
                "action": "service_provider",
                "why": "a service provider difference: the region is behind the other CSP "
                "regions for the same parties and devices",
                "subject": {
                    "region": region,
                    "service_provider": m.c.regions[region].service_provider,
                },
                "business_process": m.c.srvs[an.d.srv].business_process,
                "srv": an.d.srv,
                "asked": {"success_percent": an.d.success_percent},
                "realised": {
                    "success_percent": real.rate("d"),
                    "other_regions_success_percent": real.rate("d_others"),
                    "requests": real.n("d"),
                    "note": "SMETS2 requests of the region (SMETS1 devices are served by the SMETS1 providers)",
                },
                "log_odds_offsets": {"subject": round(m.offsets["d"], 4)},
            }
        )
    return out


def incidents_truth(
    notes: list[dict[str, Any]], tally: Tally, grid: TimeGrid, regions: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Category 1/2 incidents with the daily SMETS2 success of their region: that day vs others."""
    out = []
    daily = tally.daily[1:-1]  # local days of the month
    for note in notes:
        ri = list(regions).index(str(note["region"]))
        d = grid.days.index(str(note["local_date"]))
        per_day = [_pct(int(c[0]), int(c[1])) for c in daily[:, ri, 0]]
        others = [x for i, x in enumerate(per_day) if i != d and x is not None]
        out.append(
            {
                **note,
                "realised": {
                    "day_success_percent": per_day[d],
                    "other_days_median_percent": float(np.median(others)) if others else None,
                    "scope": "SMETS2 requests of the region",
                },
            }
        )
    return out
