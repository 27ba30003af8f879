"""A deliberately plain, row-by-row implementation of the counting rules of design §5.

It shares no code with `opmetrics.measures` (only the catalog's reference values), so agreement
between the two on random inputs is evidence that the one-pass aggregation is right.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from opmetrics.catalog import Catalog

UK = ZoneInfo("Europe/London")
US_PER_MINUTE = 60_000_000


def klass(code: str | None, catalog: Catalog) -> str:
    if code is None:
        return "none"
    for rule in catalog.response_code:
        if (rule.codes and code in rule.codes) or (
            rule.pattern and re.fullmatch(rule.pattern, code)
        ):
            return rule.class_
    raise ValueError(code)


def outcome(r: dict[str, Any], catalog: Catalog) -> str:
    k = klass(r["response_code"], catalog)
    if k == "user_caused":
        return "excluded"
    if k == "success" and (r["dsp_attempts"] is None or r["dsp_attempts"] <= 3):
        return "success"
    return "failure"


def trt_and_start(r: dict[str, Any], catalog: Catalog) -> tuple[float, datetime]:
    rule = catalog.trt_for(r["execution"], r["command_variant"], r["srv"], r["device_type"])
    start = r["received_at"]
    if rule.clock_start == "execution" and r["execute_at"] is not None and r["execute_at"] > start:
        start = r["execute_at"]
    return rule.seconds, start


def in_month(r: dict[str, Any], year: int, month: int) -> bool:
    local = r["received_at"].astimezone(UK)
    return (local.year, local.month) == (year, month)


def reporting_region(r: dict[str, Any]) -> str:
    return "SMETS1" if r["smets"] == "SMETS1" else r["region"]


def summarise(
    rows: list[dict[str, Any]], catalog: Catalog, year: int, month: int
) -> dict[str, Any]:
    """srv_summary-like counts per (srv, region, device_type) and CPM1/CPM2 per region."""
    srv: dict[tuple[str, str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    cpm: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    daily: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        if not in_month(r, year, month):
            continue
        o = outcome(r, catalog)
        trt, start = trt_and_start(r, catalog)
        rtt = None
        if r["responded_at"] is not None:  # a response before the clock start has RTT 0
            rtt = max(0.0, (r["responded_at"] - start).total_seconds())
        region = reporting_region(r)
        for key in ((r["srv"], region, r["device_type"]), (r["srv"], "ALL", "ALL")):
            s = srv[key]
            s["submitted"] += 1
            s[{"success": "succeeded", "failure": "failed", "excluded": "excluded"}[o]] += 1
            s["responded"] += r["responded_at"] is not None
            if o == "success":
                s["within_trt"] += rtt is not None and rtt <= trt
                s["rtt_sum"] += rtt or 0.0
        day = r["received_at"].astimezone(UK).date().isoformat()
        daily[day, r["srv"], region][("success", "failure", "excluded").index(o)] += 1
        if r["execution"] in ("on_demand", "future_dated"):
            dcc = rtt
            if rtt is not None and r["delivered_at"] is not None:
                if r["device_response_at"] is not None:  # RTT minus the HAN leg
                    dcc = rtt - (r["device_response_at"] - r["delivered_at"]).total_seconds()
                else:  # the device never answered: the DCC's share ends at the Comms Hub
                    dcc = (r["delivered_at"] - start).total_seconds()
            within = dcc is not None and max(0.0, dcc) <= trt
            name = "CPM1" if r["execution"] == "on_demand" else "CPM2"
            for reg in (region, "ALL"):
                cpm[name, reg][0] += within
                cpm[name, reg][1] += 1
    return {"srv": srv, "cpm": cpm, "daily": daily}


# -- CPM statuses: integer arithmetic only ----------------------------------------------------


def hundredths(percent: float) -> int:
    """A target such as 99.5 as an integer number of hundredths of a percent (9950)."""
    d = Decimal(repr(percent)) * 100
    assert d == d.to_integral_value(), percent
    return int(d)


def reference_status(n: int, d: int, target: float, minimum: float) -> str:
    if d == 0:
        return "no_activity"
    # n / d * 100 >= t / 100  <=>  n * 10_000 >= t * d   (t in hundredths of a percent)
    if n * 10_000 >= hundredths(target) * d:
        return "met"
    if n * 10_000 >= hundredths(minimum) * d:
        return "below_target"
    return "below_minimum"


def check_cpm_table(rows: list[dict[str, Any]]) -> int:
    """Every reportable row's status and value agree with its exact integers."""
    checked = 0
    for r in rows:
        if r["status"] == "not_reportable":
            assert r["numerator_exact"] is None and r["denominator_exact"] is None
            continue
        n, d = r["numerator_exact"], r["denominator_exact"]
        assert r["status"] == reference_status(n, d, r["target_percent"], r["minimum_percent"]), r
        unit = US_PER_MINUTE if r["cpm"] == "CPM6" else 1
        assert r["numerator"] == n / unit and r["denominator"] == d / unit
        if d:
            assert math.isclose(r["value_percent"], 100 * n / d, rel_tol=1e-15), r
        checked += 1
    return checked
