"""Small builders of valid contract rows, for tests that break one thing at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2021, 4, 12, 10, 0, tzinfo=UTC)
USER = "90-B3-D5-1F-30-01-00-00"
DEVICE = "00-DB-12-34-56-78-90-A0"


def request(n: int, **over: Any) -> dict[str, Any]:
    """A valid, successful on-demand 2.2 request to an ESME (counter n)."""
    row: dict[str, Any] = {
        "request_id": f"{USER}:{DEVICE}:{n}",
        "user_id": USER,
        "user_role": "IS",
        "srv": "2.2",
        "command_variant": 1,
        "target_id": DEVICE,
        "device_type": "ESME",
        "smets": "SMETS2",
        "region": "North",
        "execution": "on_demand",
        "execute_at": None,
        "received_at": T0 + timedelta(minutes=n),
        "delivered_at": T0 + timedelta(minutes=n, seconds=1),
        "device_response_at": T0 + timedelta(minutes=n, seconds=3),
        "responded_at": T0 + timedelta(minutes=n, seconds=4),
        "response_code": "I0",
        "dsp_attempts": 1,
    }
    row.update(over)
    return row


def device(n: int, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "device_id": f"00-DB-12-34-56-78-{n // 256:02X}-{n % 256:02X}",
        "device_type": "ESME",
        "smets": "SMETS2",
        "region": "North",
        "manufacturer": "Acme",
        "model": "E1",
        "firmware_version": "1.0",
        "comms_hub_id": "00-DB-12-34-56-78-FF-FF",
    }
    row.update(over)
    return row
