"""The aggregation's packed key splits back into the keys each set groups on."""

from __future__ import annotations

import pyarrow as pa

from opmetrics.measures.requests import DAY_BITS, ID_BITS, unpack_keys


def test_each_sets_keys_come_back() -> None:
    day = 18_718  # 2021-04-01, days since the epoch
    raw = pa.table(
        {
            "_set": pa.array([0, 0, 0, 1, 2, 2], pa.int8()),
            "_reason": [None, None, "missing_value", None, None, None],
            "_k": pa.array(
                [
                    day * 2**DAY_BITS + 5,  # live: date and (srv, region) id 5
                    -1,  # valid, received outside the month
                    -2,  # quarantined
                    7 * 2**ID_BITS + 3,  # group 7, device set 3
                    2 * 2**ID_BITS + 0,  # histogram key 2, bucket -1 (stored + 1)
                    40_000 * 2**ID_BITS + 61,  # histogram key 40,000, bucket 60
                ],
                pa.int64(),
            ),
            "submitted": [10, 2, 1, 9, 4, 6],
        }
    )
    got = unpack_keys(raw).to_pydict()
    assert got["_outside"] == [False, True, False, False, False, False]
    assert got["date"] == [day, None, None, None, None, None]
    assert got["_dk"] == [5, None, None, None, None, None]
    assert got["_gk"] == [None, None, None, 7, None, None]
    assert got["_ds"] == [None, None, None, 3, None, None]
    assert got["_hk"] == [None, None, None, None, 2, 40_000]
    assert got["bucket"] == [None, None, None, None, -1, 60]
    assert got["_reason"] == raw["_reason"].to_pylist() and got["submitted"] == [10, 2, 1, 9, 4, 6]
