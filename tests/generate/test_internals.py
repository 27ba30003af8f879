"""The generator's shortcuts give what the plain definitions give.

The fast paths (log-odds folded into tables, packed sort keys, ids built as byte items,
counts per hour) are checked against the straightforward computation they replace.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from opmetrics.catalog import default_catalog
from opmetrics.generator import anomalies, load_scenario
from opmetrics.generator import requests as req
from opmetrics.generator.build import MonthPlan, plan_month
from opmetrics.generator.devices import ESME, GSME, PPMID
from opmetrics.generator.ids import (
    as_items,
    decimal_matrix,
    eui64_matrix,
    eui64_text,
    padded_numbers,
    request_ids,
)
from opmetrics.generator.outcomes import Categorical
from opmetrics.generator.timegrid import HOUR_US
from opmetrics.month import Month

CAT = default_catalog()


@pytest.fixture(scope="module")
def month() -> MonthPlan:
    return plan_month(load_scenario(None, CAT), CAT, Month.parse("2021-04"), 300_000, seed=3)


def test_logit_tables_and_subset_counts_are_the_definitions(month: MonthPlan) -> None:
    m, inv, subj = month.model, month.inv, month.subj
    parts = req.draw_units(month.plan, np.random.default_rng(1), 200_000, 0.0, 1.0, 0)
    r = parts[0]  # the single requests, in hour order: incidents are searched, not scanned
    terms = m.terms(inv)
    pcls = terms.prem_class[r["premises"]]
    got = m.logit(r, terms, pcls, terms.index(r["srv"], pcls))
    scanned = {k: v for k, v in r.items() if k != "hour"}
    np.testing.assert_array_equal(got, m.logit(scanned, terms, pcls, terms.index(r["srv"], pcls)))
    # the model's terms one by one, the anomalies from their subsets' masks
    prem, dev, t = r["premises"], r["device"], r["t"]
    has = dev >= 0
    d = np.where(has, dev, 0)
    s1 = inv.smets1[prem]
    want = m.base_logit[r["srv"]] + m.party_effect[r["party"]]
    want += np.where(s1, m.s.outcomes.smets1_effect, m.region_effect[inv.region[prem]])
    want += np.where(has, m.model_effect[inv.dev_model[d]] + m.fw_effect[inv.dev_fw[d]], 0.0)
    meter = has & np.isin(r["dtype"], [ESME, GSME, PPMID])
    want += np.where(meter, m.model_effect[inv.ch_model[prem]], 0.0)
    mk = anomalies.masks(subj, r, inv)
    for key in ("a_bad", "a_peer", "b", "c_latest", "c_older", "d"):
        assert mk[key].sum() > 50 and m.offsets[key] != 0, key
        want[mk[key]] += m.offsets[key]
    counts = anomalies.subset_counts(subj, {**r, "cls": (r["t"] % 3).astype(np.int8)}, inv)
    cls = r["t"] % 3
    assert counts.keys() == mk.keys()
    for key, mask in mk.items():
        np.testing.assert_array_equal(counts[key], np.bincount(cls[mask], minlength=3), key)
    hits = 0
    for inc in m.incidents:
        hit = (t >= inc.start_us) & (t < inc.end_us) & inc.regions[inv.region[prem]] & ~s1
        want[hit] += inc.effect
        hits += int(hit.sum())
    assert hits > 100
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_categorical_draws_follow_their_weights() -> None:
    w = np.array([[0.5, 0.0, 0.3, 0.2], [0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    c = Categorical(w)
    rng = np.random.default_rng(5)
    row = np.repeat(np.arange(3), 200_000)
    u = rng.random(len(row))
    u[:3] = [0.0, 1 - 2**-53, 0.5]
    got = c.sample(u, row)
    for r in range(3):
        freq = np.bincount(got[row == r], minlength=4) / 200_000
        np.testing.assert_allclose(freq, w[r] / w[r].sum(), atol=0.005)
        assert not np.any(freq[w[r] == 0])  # impossible outcomes never drawn
    few = Categorical(np.array([0.1, 0.0, 0.9, 0.0]))  # one distribution: compared with
    f32 = few.sample(np.r_[rng.random(100_000, dtype=np.float32), np.float32(1 - 2**-24)])
    assert abs((f32 == 2).mean() - 0.9) < 0.005 and set(np.unique(f32)) == {0, 2}


def test_time_order_is_the_stable_sort() -> None:
    rng = np.random.default_rng(2)
    t = rng.integers(0, 50, 10_000) * 1_000_000 + 1_617_235_200_000_000  # many ties
    np.testing.assert_array_equal(req.time_order(t), np.argsort(t, kind="stable"))
    wide = np.array([0, 2**62, 5, 2**62, 1], dtype=np.int64)  # too wide to pack: argsort
    np.testing.assert_array_equal(req.time_order(wide), np.argsort(wide, kind="stable"))


def test_hour_counts_stay_in_the_slice(month: MonthPlan) -> None:
    units = month.plan.units
    rng = np.random.default_rng(4)
    counts = units.hour_counts(rng, 100_000, 0.25, 0.5)
    assert counts.sum() == 100_000
    lo_h, hi_h = np.searchsorted(units.cdf, [0.25, 0.5])
    assert counts[:lo_h].sum() == 0 and counts[hi_h + 1 :].sum() == 0
    t = units.sample(rng, 1000, 0.25, 0.5)
    hours = (t - month.grid.start_us) // HOUR_US
    assert np.all(np.diff(hours) >= 0) and lo_h <= hours.min() and hours.max() <= hi_h


def test_ids_built_as_bytes_read_as_text() -> None:
    values = np.array([0, 1, 0x001BC50000000001, 2**64 - 1, 0xDEADBEEF01234567], dtype=np.uint64)
    m = eui64_matrix(values)
    assert [row.tobytes().decode() for row in m] == [eui64_text(int(v)) for v in values]
    counters = np.array([1_000_000_000, 4_999_999_999, 1_234_567_890])
    digits = decimal_matrix(counters)
    assert digits is not None and digits.tobytes() == b"100000000049999999991234567890"
    assert decimal_matrix(np.array([9, 10])) is None  # mixed widths
    eui = as_items(m[:3])
    fast = request_ids(eui, eui[::-1].copy(), counters).to_pylist()
    mixed = request_ids(eui, eui[::-1].copy(), np.array([7, 1_000, 123])).to_pylist()
    texts = [eui64_text(int(v)) for v in values[:3]]
    assert fast == [f"{a}:{b}:{c}" for a, b, c in zip(texts, texts[::-1], counters, strict=True)]
    assert mixed == [
        f"{a}:{b}:{c}" for a, b, c in zip(texts, texts[::-1], (7, 1000, 123), strict=True)
    ]
    assert padded_numbers(np.array([0, 42, 10**12 - 1]), 12, "AL").equals(
        pa.array(["AL000000000000", "AL000000000042", "AL999999999999"])
    )
