"""The device inventory: premises with a comms hub, meters, gas proxy and prepayment display.

Every premises has a Comms Hub (CHF) and an electricity meter (ESME); dual-fuel premises add a
GSME and the GPF on the hub; prepayment premises usually have a PPMID. A premises belongs to one
supplier and one CSP region; SMETS1 premises keep the CSP region of their hub. Models and
firmware come from the scenario by share (comms hub models depend on the region). Requests pick
their targets through per-scope index lists (a supplier's own premises, a network operator's
region, or the whole estate), so drawing a million targets is a few array lookups.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from opmetrics.generator.ids import (
    EUI_WIDTH,
    as_items,
    eui64_matrix,
    parse_octets,
    scrambled,
    strings_from_matrix,
)
from opmetrics.generator.market import Market
from opmetrics.generator.scenario import Scenario

# Device type codes used in every array of the generator; NONE marks a non-device request.
DEVICE_TYPES = ("ESME", "GSME", "GPF", "CHF", "PPMID", "NONE")
ESME, GSME, GPF, CHF, PPMID, NONE = range(6)
# Target categories: which premises a request may pick.
# CAT_SMETS2 holds the premises a new installation may be (SMETS1 meters are not installed any more).
CAT_ALL, CAT_GAS, CAT_PPM, CAT_PPM_GAS, CAT_PPMID, CAT_SMETS2 = range(6)
N_CATS = 6


@dataclass
class Inventory:
    regions: tuple[str, ...]  # CSP regions, by index
    # per premises
    supplier: np.ndarray
    region: np.ndarray
    smets1: np.ndarray
    gas: np.ndarray
    prepay: np.ndarray
    has_ppmid: np.ndarray
    ch_model: np.ndarray  # index into scenario.device_model
    device_of: np.ndarray  # (premises, 5): device index per type ESME..PPMID, -1 if none
    # per device
    dev_premises: np.ndarray
    dev_type: np.ndarray
    dev_model: np.ndarray  # scenario.device_model index (GPF: its hub's)
    dev_fw: np.ndarray  # global firmware index
    dev_wake: np.ndarray  # GSME: phase of the 30-minute wake-up, microseconds
    id_matrix: np.ndarray  # (devices, 23) uint8: EUI-64 text of each device
    # firmware, flattened over models
    fw_model: np.ndarray
    fw_version: list[str]
    fw_latest: np.ndarray  # bool: the model's last-listed version
    # target lists
    lists: np.ndarray
    list_start: np.ndarray  # (scopes, N_CATS)
    list_len: np.ndarray

    @property
    def n_premises(self) -> int:
        return len(self.supplier)

    @property
    def n_devices(self) -> int:
        return len(self.dev_type)

    @property
    def id_items(self) -> np.ndarray:
        """Device ids as one 23-byte item each (a view): gathering them moves whole ids."""
        return as_items(self.id_matrix)

    def scope_of(self, market: Market) -> np.ndarray:
        """Scope index of each party: its own premises, its region, or the whole estate."""
        n = market.n
        scope = np.arange(n)
        role = market.role
        region_scope = n + market.home_region
        national = n + len(self.regions)
        scope = np.where((role == 1) | (role == 2), region_scope, scope)
        return np.where(role == 3, national, scope)

    def pick(self, scope: np.ndarray, cat: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Premises drawn uniformly from the (scope, category) lists; national if a list is empty."""
        n_cats = self.list_len.shape[1]
        flat = scope * n_cats + cat
        lengths, starts = self.list_len.reshape(-1), self.list_start.reshape(-1)
        length = lengths[flat]
        empty = np.flatnonzero(length == 0)
        if len(empty):
            national = self.list_len.shape[0] - 1
            flat[empty] = national * n_cats + cat[empty]
            length[empty] = lengths[flat[empty]]
        # a uniform scaled by a hair under 1 stays below the list's length, rounding included
        offset = np.multiply(u, length * (1.0 - 2.0**-30)).astype(np.int64)
        offset += starts[flat]
        return self.lists[offset]

    def table_chunks(self, s: Scenario, rows: int = 1_000_000) -> Iterator[pa.Table]:
        """The devices table, in chunks of rows."""
        models = s.device_model
        # dictionaries of distinct values: Parquet writes a dictionary with repeated values
        # differently from run to run
        manu_of, manu = _distinct([m.manufacturer for m in models])
        model_of, model = _distinct([m.model for m in models])
        fw_of, fw = _distinct(self.fw_version)
        types = pa.array(list(DEVICE_TYPES), pa.string())
        smets = pa.array(["SMETS2", "SMETS1"], pa.string())
        regions = pa.array(list(self.regions), pa.string())
        chf = self.device_of[:, CHF]
        for lo in range(0, self.n_devices, rows):
            hi = min(lo + rows, self.n_devices)
            prem = self.dev_premises[lo:hi]
            yield pa.table(
                {
                    "device_id": strings_from_matrix(self.id_matrix[lo:hi]),
                    "device_type": _dict(self.dev_type[lo:hi], types),
                    "smets": _dict(self.smets1[prem].astype(np.int8), smets),
                    "region": _dict(self.region[prem], regions),
                    "manufacturer": _dict(manu_of[self.dev_model[lo:hi]], manu),
                    "model": _dict(model_of[self.dev_model[lo:hi]], model),
                    "firmware_version": _dict(fw_of[self.dev_fw[lo:hi]], fw),
                    "comms_hub_id": strings_from_matrix(self.id_items[chf[prem]]),
                }
            )


def _distinct(values: list[str]) -> tuple[np.ndarray, pa.Array]:
    """Index of each value in the list of distinct values (first-seen order), and that list."""
    first: dict[str, int] = {}
    index = np.array([first.setdefault(v, len(first)) for v in values], dtype=np.int64)
    return index, pa.array(list(first), pa.string())


def _dict(indices: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), dictionary)


def _choose(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights, dtype=np.float64)
    return np.searchsorted(cdf / cdf[-1], rng.random(n), side="right").clip(0, len(weights) - 1)


def premises_count(s: Scenario, requests: int) -> int:
    n = round(requests / 1e6 * s.scale.premises_per_million_requests)
    return int(min(max(n, s.scale.min_premises), s.scale.max_premises))


def build_inventory(
    s: Scenario, market: Market, regions: tuple[str, ...], n_premises: int, rng: np.random.Generator
) -> Inventory:
    p = n_premises
    pm = s.premises
    supplier_ids = np.flatnonzero(market.fleet_share > 0)
    supplier = supplier_ids[_choose(rng, p, market.fleet_share[supplier_ids])]
    region = _choose(rng, p, np.array([pm.region_shares[r] for r in regions])).astype(np.int8)
    smets1 = rng.random(p) < pm.smets1_share
    gas = rng.random(p) < pm.dual_fuel_share
    prepay = rng.random(p) < pm.prepayment_share
    models = s.device_model
    fw_offset = np.cumsum([0] + [len(m.firmware) for m in models])
    fw_model = np.repeat(np.arange(len(models)), [len(m.firmware) for m in models])
    fw_version = [f.version for m in models for f in m.firmware]
    fw_latest = np.zeros(len(fw_version), dtype=bool)
    fw_latest[fw_offset[1:] - 1] = True

    def assign(kind: str, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model and firmware of `kind` for the premises in `mask` (-1 elsewhere)."""
        model_of = np.full(p, -1, dtype=np.int32)
        for is_s1 in (False, True):
            for ri, r in enumerate(regions):
                sel = np.flatnonzero(mask & (smets1 == is_s1) & (region == ri))
                cand = [
                    i
                    for i, m in enumerate(models)
                    if m.device_type == kind
                    and m.smets == ("SMETS1" if is_s1 else "SMETS2")
                    and (is_s1 or not m.regions or r in m.regions)
                ]
                if not cand or not len(sel):
                    continue
                w = np.array([models[i].share for i in cand])
                model_of[sel] = np.array(cand)[_choose(rng, len(sel), w)]
        fw_of = np.full(p, -1, dtype=np.int32)
        for mi in np.unique(model_of[model_of >= 0]):
            sel = np.flatnonzero(model_of == mi)
            w = np.array([f.share for f in models[mi].firmware])
            fw_of[sel] = fw_offset[mi] + _choose(rng, len(sel), w)
        return model_of, fw_of

    ch_model, ch_fw = assign("CHF", np.ones(p, dtype=bool))
    esme_model, esme_fw = assign("ESME", np.ones(p, dtype=bool))
    gsme_model, gsme_fw = assign("GSME", gas)
    ppmid_candidates = prepay & (rng.random(p) < pm.ppmid_share_of_prepayment)
    ppmid_model, ppmid_fw = assign("PPMID", ppmid_candidates)
    has_ppmid = ppmid_model >= 0

    # Anomaly (a): both suppliers run one and the same set of every device type.
    a = s.anomalies.a
    if a.enabled:
        from opmetrics.generator.market import anomaly_a_peer

        parties = [market.by_rank(a.supplier_rank), anomaly_a_peer(market, s)]
        sel = np.isin(supplier, parties)
        for arr_m, arr_f, kind in (
            (ch_model, ch_fw, "CHF"),
            (esme_model, esme_fw, "ESME"),
            (gsme_model, gsme_fw, "GSME"),
            (ppmid_model, ppmid_fw, "PPMID"),
        ):
            for is_s1 in (False, True):
                for ri, r in enumerate(regions):
                    rows = sel & (smets1 == is_s1) & (region == ri) & (arr_m >= 0)
                    mi = next(
                        (
                            i
                            for i, m in enumerate(models)
                            if m.device_type == kind
                            and m.smets == ("SMETS1" if is_s1 else "SMETS2")
                            and (is_s1 or not m.regions or r in m.regions)
                        ),
                        None,
                    )
                    if mi is None:
                        continue
                    top = int(np.argmax([f.share for f in models[mi].firmware]))
                    arr_m[rows] = mi
                    arr_f[rows] = fw_offset[mi] + top
    # Anomaly (b): part of one supplier's estate is an inherited comms hub + meter set.
    b = s.anomalies.b
    if b.enabled:
        party = market.by_rank(b.supplier_rank)
        hub = s.model_by_label(b.comms_hub, "CHF")
        meter = s.model_by_label(b.meter, "ESME")
        fw_index = fw_offset[meter] + [f.version for f in models[meter].firmware].index(b.firmware)
        hub_regions = [
            i for i, r in enumerate(regions) if not models[hub].regions or r in models[hub].regions
        ]
        eligible = np.flatnonzero((supplier == party) & ~smets1 & np.isin(region, hub_regions))
        take = rng.random(len(eligible)) < b.inherited_percent / 100
        rows_b = eligible[take]
        ch_model[rows_b] = hub
        ch_fw[rows_b] = fw_offset[hub] + int(np.argmax([f.share for f in models[hub].firmware]))
        esme_model[rows_b] = meter
        esme_fw[rows_b] = fw_index

    # Devices, premises by premises: CHF, ESME, then GPF + GSME (gas), then PPMID.
    per = 2 + 2 * gas.astype(np.int64) + has_ppmid.astype(np.int64)
    start = np.concatenate([[0], np.cumsum(per)[:-1]])
    n_dev = int(per.sum())
    device_of = np.full((p, 5), -1, dtype=np.int64)
    device_of[:, CHF] = start
    device_of[:, ESME] = start + 1
    device_of[gas, GPF] = start[gas] + 2
    device_of[gas, GSME] = start[gas] + 3
    device_of[has_ppmid, PPMID] = start[has_ppmid] + 2 + 2 * gas[has_ppmid]
    dev_premises = np.repeat(np.arange(p), per)
    dev_type = np.empty(n_dev, dtype=np.int8)
    dev_model = np.empty(n_dev, dtype=np.int32)
    dev_fw = np.empty(n_dev, dtype=np.int32)
    for t, m_arr, f_arr in (
        (CHF, ch_model, ch_fw),
        (ESME, esme_model, esme_fw),
        (GPF, ch_model, ch_fw),
        (GSME, gsme_model, gsme_fw),
        (PPMID, ppmid_model, ppmid_fw),
    ):
        has = device_of[:, t] >= 0
        idx = device_of[has, t]
        dev_type[idx] = t
        dev_model[idx] = m_arr[has]
        dev_fw[idx] = f_arr[has]
    # EUI-64s: the model's OUI, then 40 bits unique over (model, serial, GPF flag).
    # serial: the device's rank among its model's devices, GPFs after the others, in device
    # order (a radix sort of the small (model, GPF) key)
    is_gpf = dev_type == GPF
    order = np.argsort((dev_model * 2 + is_gpf).astype(np.int16), kind="stable")
    sizes = np.bincount(dev_model, minlength=len(models))
    first = np.cumsum(sizes) - sizes
    serial = np.empty(n_dev, dtype=np.int64)
    serial[order] = np.arange(n_dev) - first[dev_model[order]]
    key = (dev_model.astype(np.int64) << 34) | (serial << 1) | is_gpf
    salt = int(rng.integers(0, 1 << 40))
    low = scrambled(key.astype(np.uint64), 40, salt)
    oui = np.array([parse_octets(m.oui) for m in models], dtype=np.uint64)
    ids = (oui[dev_model] << np.uint64(40)) | low
    id_matrix = eui64_matrix(ids)
    dev_wake = np.zeros(n_dev, dtype=np.int32)  # phase in microseconds, under 2**31
    gs = dev_type == GSME
    dev_wake[gs] = rng.integers(0, s.timing.gsme_wake_interval_s * 1_000_000, int(gs.sum()))

    lists, list_start, list_len = _target_lists(
        market,
        supplier,
        region,
        [np.ones(p, dtype=bool), gas, prepay, prepay & gas, has_ppmid, ~smets1],
        len(regions),
    )
    return Inventory(
        regions=regions,
        supplier=supplier,
        region=region,
        smets1=smets1,
        gas=gas,
        prepay=prepay,
        has_ppmid=has_ppmid,
        ch_model=ch_model,
        device_of=device_of,
        dev_premises=dev_premises,
        dev_type=dev_type,
        dev_model=dev_model,
        dev_fw=dev_fw,
        dev_wake=dev_wake,
        id_matrix=id_matrix,
        fw_model=fw_model,
        fw_version=fw_version,
        fw_latest=fw_latest,
        lists=lists,
        list_start=list_start,
        list_len=list_len,
    )


def _target_lists(
    market: Market,
    supplier: np.ndarray,
    region: np.ndarray,
    masks: list[np.ndarray],
    n_regions: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Premises lists per (scope, category); scopes: parties, then regions, then national."""
    n_scopes = market.n + n_regions + 1
    parts: list[np.ndarray] = []
    start = np.zeros((n_scopes, N_CATS), dtype=np.int64)
    length = np.zeros((n_scopes, N_CATS), dtype=np.int64)
    pos = 0
    for cat, mask in enumerate(masks):
        idx = np.flatnonzero(mask).astype(np.int32)
        for key, offset, n_keys in (
            (supplier[idx].astype(np.int16), 0, market.n),
            (region[idx].astype(np.int16), market.n, n_regions),
            (None, market.n + n_regions, 1),
        ):
            if key is None:  # national: every premises of the category, in order
                counts = np.array([len(idx)])
                parts.append(idx)
            else:
                counts = np.bincount(key, minlength=n_keys)
                parts.append(idx[np.argsort(key, kind="stable")])  # radix sort of small keys
            starts = pos + np.concatenate([[0], np.cumsum(counts)[:-1]])
            start[offset : offset + n_keys, cat] = starts
            length[offset : offset + n_keys, cat] = counts
            pos += len(idx)
    return np.concatenate(parts), start, length


__all__ = [
    "CHF",
    "DEVICE_TYPES",
    "ESME",
    "EUI_WIDTH",
    "GPF",
    "GSME",
    "NONE",
    "PPMID",
    "Inventory",
    "build_inventory",
    "premises_count",
]
