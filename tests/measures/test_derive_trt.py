"""srv_summary's `trt_s` is the TRT that applies to the row when TRTs differ by SRV and device."""

from __future__ import annotations

import pandas as pd

from opmetrics.catalog import Catalog, default_catalog
from opmetrics.contract.schema import ALL
from opmetrics.measures import derive
from opmetrics.month import Month


def _catalog_with(rules: list[dict[str, object]]) -> Catalog:
    data = default_catalog().model_dump(mode="json", by_alias=True, exclude={"sha256", "path"})
    data["trt"] += rules
    return default_catalog().model_validate(data)


def _fine(srv: str, devices: list[str]) -> pd.DataFrame:
    rows = [
        {"srv": srv, "region": "North", "device_type": d, **dict.fromkeys(derive.SUMMARY_SUMS, 1)}
        for d in devices
    ]
    return pd.DataFrame(rows)


def _trt(out: pd.DataFrame, srv: str, device: str) -> float | None:
    hit = out[(out["srv"] == srv) & (out["region"] == ALL) & (out["device_type"] == device)]
    v = hit["trt_s"].iloc[0]
    return None if pd.isna(v) else float(v)


def _summary(cat: Catalog, fine: pd.DataFrame) -> pd.DataFrame:
    hist = pd.DataFrame(columns=["srv", "region", "device_type", "bucket", "n"])
    return derive.summary(fine, hist, cat, Month.parse("2021-04"), all_srvs=True)


def test_trt_per_device_type_and_varies_for_all() -> None:
    rule = {"id": "gas_top_up", "execution": "on_demand", "srv": "2.2", "device_type": "GSME",
            "seconds": 60.0, "clock_start": "received", "source": "seed"}  # fmt: skip
    out = _summary(_catalog_with([rule]), _fine("2.2", ["ESME", "GSME"]))
    assert _trt(out, "2.2", "GSME") == 60.0
    assert _trt(out, "2.2", "ESME") == 30.0  # the shipped on-demand default
    assert _trt(out, "2.2", ALL) is None  # 30 s for ESME, 60 s for GSME: varies
    assert _trt(out, "6.23", ALL) == 30.0  # no device rule: one common TRT


def test_an_srv_rule_applies_to_every_device_type_and_to_all() -> None:
    rule = {"id": "reads", "execution": "on_demand", "srv": "4.6.1", "seconds": 45.0,
            "clock_start": "received", "source": "seed"}  # fmt: skip
    out = _summary(_catalog_with([rule]), _fine("4.6.1", ["ESME", "GPF"]))
    assert _trt(out, "4.6.1", "ESME") == 45.0 and _trt(out, "4.6.1", "GPF") == 45.0
    assert _trt(out, "4.6.1", ALL) == 45.0
    assert _trt(out, "2.2", ALL) == 30.0
