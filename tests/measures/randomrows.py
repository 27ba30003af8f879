"""Random but valid service requests that exercise every branch of the counting rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from opmetrics.catalog import Catalog

CODES = [
    "I0",
    "I0",
    "I0",
    "I0",
    "W050201",
    "E21",
    "E30",
    "E14",
    "I99",
    "E3",
    "E19",
    "E061501",
    None,
]


def random_requests(
    n: int,
    seed: int,
    catalog: Catalog,
    start: datetime = datetime(2021, 3, 31, 20, 0, tzinfo=UTC),
    span_days: float = 30.4,
) -> list[dict[str, Any]]:
    """n valid requests spread from `start` over `span_days` (crossing both month ends of April)."""
    rng = np.random.default_rng(seed)
    srvs = [s for s in catalog.srv]
    users = [f"90-B3-D5-1F-30-01-00-{i:02X}" for i in range(7)]
    rows = []
    for i in range(n):
        s = srvs[int(rng.integers(len(srvs)))]
        dt = s.device_types[int(rng.integers(len(s.device_types)))]
        if s.non_device:
            execution = "non_device"
        elif s.future_dated and rng.random() < 0.4:
            execution = "future_dated"
        else:
            execution = "on_demand"
        cv = s.command_variants[int(rng.integers(len(s.command_variants)))]
        if execution == "future_dated" and cv == 4:
            cv = 5
        received = start + timedelta(seconds=float(rng.uniform(0, span_days * 86400)))
        received = received.replace(microsecond=int(rng.integers(0, 1_000_000)))
        execute_at = None
        if execution == "future_dated":
            execute_at = received + timedelta(seconds=float(rng.uniform(-3600, 86400)))
        clock = max(received, execute_at) if execute_at else received
        code = CODES[int(rng.integers(len(CODES)))]
        delivered = device_resp = responded = None
        if not s.non_device and rng.random() < 0.9:
            delivered = clock + timedelta(seconds=float(rng.uniform(0.1, 8)))
            wait = rng.uniform(0, 1800) if dt == "GSME" else rng.uniform(0.2, 20)
            if rng.random() < 0.85:
                device_resp = delivered + timedelta(seconds=float(wait))
        if code is not None:
            base = device_resp or delivered or clock
            responded = base + timedelta(seconds=float(rng.uniform(0.05, 25)))
            if execute_at is not None and execute_at > received and rng.random() < 0.15:
                # answered before its execution time (an immediate rejection): RTT 0
                delivered = device_resp = None
                responded = received + (execute_at - received) * float(rng.uniform(0, 0.9))
        attempts = [1, 1, 1, 2, 3, 4, 6, None][int(rng.integers(8))]
        target = (
            "00-00-00-00-00-00-00-01"
            if s.non_device
            else f"00-DB-12-34-56-78-{i // 256 % 256:02X}-{i % 256:02X}"
        )
        user = users[int(rng.integers(len(users)))]
        rows.append(
            {
                "request_id": f"{user}:{target}:{i}",
                "user_id": user,
                "user_role": "IS",
                "srv": s.id,
                "command_variant": cv,
                "target_id": target,
                "device_type": dt,
                "smets": "SMETS1" if rng.random() < 0.15 else "SMETS2",
                "region": ["North", "Central", "South"][int(rng.integers(3))],
                "execution": execution,
                "execute_at": execute_at,
                "received_at": received,
                "delivered_at": delivered,
                "device_response_at": device_resp,
                "responded_at": responded,
                "response_code": code,
                "dsp_attempts": attempts,
            }
        )
    return rows


def noon_request(n: int, t: datetime) -> dict[str, Any]:
    """A valid non-device 11.1 request received at `t` and answered 2 s later with I0."""
    return {
        "request_id": f"90-B3-D5-1F-30-01-00-FF:00-00-00-00-00-00-00-01:{n}",
        "user_id": "90-B3-D5-1F-30-01-00-FF",
        "user_role": "OU",
        "srv": "11.1",
        "command_variant": 8,
        "target_id": "00-00-00-00-00-00-00-01",
        "device_type": "NONE",
        "smets": "SMETS2",
        "region": "South",
        "execution": "non_device",
        "execute_at": None,
        "received_at": t,
        "delivered_at": None,
        "device_response_at": None,
        "responded_at": t + timedelta(seconds=2),
        "response_code": "I0",
        "dsp_attempts": None,
    }


def daily_background(year: int, month: int, days: int) -> list[dict[str, Any]]:
    """One non-device 11.1 request each day at noon UTC, so no day of the month is empty."""
    return [
        noon_request(900000 + d, datetime(year, month, d, 12, 0, tzinfo=UTC))
        for d in range(1, days + 1)
    ]
