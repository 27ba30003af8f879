"""Row order of the derived tables: by value, whatever order the keys were first seen in.

The derivations hold the aggregate's string keys as pandas categoricals, and a categorical
sorts by its categories' order: party labels mapped from user ids came out in user-id order.
"""

from __future__ import annotations

import pyarrow as pa

from opmetrics.catalog import default_catalog
from opmetrics.contract.schema import ALL
from opmetrics.measures import derive
from opmetrics.measures.requests import FINE_KEYS, SUMS
from opmetrics.month import Month

# user ids in one order, their labels in the opposite order
LABELS = {"u1": "P-CCCCCC", "u2": "P-BBBBBB", "u3": "P-AAAAAA"}
ADAPTORS = {"u1": "Zeta adaptor", "u2": "Alpha adaptor", "u3": "Mid adaptor"}


def _fine() -> pa.Table:
    rows = []
    for uid in ("u1", "u2", "u3"):
        for region in ("South", "North"):
            row = dict(
                srv="1.1.1",
                region=region,
                device_type="ESME",
                user_id=uid,
                execution="on_demand",
                comms_hub_model="HubB" if uid == "u2" else "HubA",
                meter_model="M",
                firmware_version="1",
            )
            row.update(dict.fromkeys(SUMS, 1))
            rows.append(row)
    t = pa.Table.from_pylist(rows)
    return t.select([*FINE_KEYS, *SUMS])


def test_party_rows_are_in_label_order() -> None:
    cat, month = default_catalog(), Month.parse("2021-04")
    out = derive.party(derive.keyed_frame(_fine()), LABELS, cat, month)
    srv_rows = out[(out["srv"] == "1.1.1") & (out["region"] == ALL) & (out["device_type"] == ALL)]
    assert list(srv_rows["party_label"]) == ["P-AAAAAA", "P-BBBBBB", "P-CCCCCC"]
    # regions in catalog order (North before South), ALL first
    one = out[
        (out["srv"] == "1.1.1") & (out["party_label"] == "P-AAAAAA") & (out["device_type"] == ALL)
    ]
    assert list(one["region"]) == [ALL, *[r for r in cat.regions if r in ("North", "South")]]


def test_device_set_rows_are_in_label_then_value_order() -> None:
    cat, month = default_catalog(), Month.parse("2021-04")
    out = derive.device_set_breakdown(derive.keyed_frame(_fine()), LABELS, ADAPTORS, cat, month)
    labels = list(dict.fromkeys(out["party_label"]))
    assert labels == ["P-AAAAAA", "P-BBBBBB", "P-CCCCCC"]
    keys = list(zip(out["party_label"], out["adaptor"], out["region"], strict=True))
    order = list(cat.regions)
    assert keys == sorted(keys, key=lambda k: (k[0], k[1], order.index(k[2])))
