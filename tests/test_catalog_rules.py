"""Catalog rules that decide figures: the item (f) interface, TRT precedence, assumed values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opmetrics.catalog import default_catalog, load_catalog
from opmetrics.catalog.assumptions import assumed_values, cpm_assumptions
from opmetrics.errors import CatalogError

DEFAULT = Path(default_catalog().path.replace("opmetrics/", "src/opmetrics/", 1))


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "catalog.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_item_f_interface_is_not_measured_by_cpm6() -> None:
    cat = default_catalog()
    item_f = [i for i in cat.interface if i.sec_item == "f"]
    assert [i.id for i in item_f] == ["DCCKI Services Interface"]
    assert not item_f[0].in_cpm6
    assert len([i for i in cat.interface if i.in_cpm6]) == 6


def test_catalog_cannot_put_item_f_in_cpm6(tmp_path: Path) -> None:
    path = _edited(
        tmp_path,
        'sec_item = "f"\nin_cpm6 = false',
        'sec_item = "f"\nin_cpm6 = true',
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert "item (f)" in str(info.value)
    assert info.value.key is not None and info.value.key.startswith("interface[5]")


def test_trt_precedence_command_variant_then_srv_then_device_type(tmp_path: Path) -> None:
    rules = """
[[trt]]
id = "srv_2_2"
execution = "on_demand"
srv = "2.2"
seconds = 20
clock_start = "received"
source = "seed"

[[trt]]
id = "srv_2_2_gsme"
execution = "on_demand"
srv = "2.2"
device_type = "GSME"
seconds = 1800
clock_start = "received"
source = "seed"

[[trt]]
id = "transform"
"""
    path = _edited(tmp_path, '[[trt]]\nid = "transform"', rules)
    cat = load_catalog(path)
    assert cat.trt_for("on_demand", 1, "2.2", "ESME").id == "srv_2_2"
    assert cat.trt_for("on_demand", 1, "2.2", "GSME").id == "srv_2_2_gsme"
    assert cat.trt_for("on_demand", 4, "2.2", "GSME").id == "transform"  # CV 4 first
    assert cat.trt_for("on_demand", 1, "4.8.1", "ESME").id == "on_demand"
    assert cat.trt_for("future_dated", 5, "2.2", "ESME").id == "future_dated"
    assert [r.id for r in cat.trt_by_precedence][:2] == ["transform", "srv_2_2_gsme"]


def test_trt_rule_naming_an_unknown_srv_is_refused(tmp_path: Path) -> None:
    path = _edited(
        tmp_path,
        '[[trt]]\nid = "transform"',
        '[[trt]]\nid = "x"\nexecution = "on_demand"\nsrv = "9.9.9"\nseconds = 5\n'
        'clock_start = "received"\nsource = "seed"\n\n[[trt]]\nid = "transform"',
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert info.value.key == "trt[0].srv"


def test_cpm_rows_name_the_assumed_values_they_rest_on() -> None:
    cat = default_catalog()
    known = assumed_values(cat)
    assert known["trt.on_demand"].text == "Target Response Time for on-demand requests: 30 s"
    assert cpm_assumptions(cat, "CPM1") == ["trt.transform", "trt.on_demand"]
    assert cpm_assumptions(cat, "CPM2") == ["trt.future_dated"]
    assert cpm_assumptions(cat, "CPM3") == ["alerts.trt_seconds"]
    assert cpm_assumptions(cat, "CPM4", incident_category="1-2") == [
        "incident_category.1.resolution_hours",
        "incident_category.2.resolution_hours",
    ]
    assert cpm_assumptions(cat, "CPM5A", incident_category="3-5") == [
        f"incident_category.{n}.initial_response_hours" for n in (3, 4, 5)
    ]
    assert cpm_assumptions(cat, "CPM6", interface="DCC User Interface") == [
        "interface.DCC User Interface.in_cpm6"
    ]
    fw = cpm_assumptions(cat, "CPM6A", business_process="firmware_management")
    assert "srv.11.1.business_process" in fw and "trt.non_device" in fw
    assert cpm_assumptions(cat, "CPM6B") == []
    assert all(re.fullmatch(r"[a-z_]+\..+", k) for k in known)


def test_a_confirmed_value_is_no_longer_assumed(tmp_path: Path) -> None:
    path = _edited(
        tmp_path,
        '[alerts]\ntrt_seconds = 60\nsource = "assumed"',
        '[alerts]\ntrt_seconds = 60\nsource = "seed"',
    )
    cat = load_catalog(path)
    assert "alerts.trt_seconds" not in assumed_values(cat)
    assert cpm_assumptions(cat, "CPM3") == []
