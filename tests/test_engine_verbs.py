"""The engine's verbs for its callers: reading a file this process wrote, a small evaluation in
process (closed with the engine), keeping a result, streaming and writing it in order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from opmetrics.engine import EngineOptions, connect

TS = pa.timestamp("us", tz="UTC")


def _spill(path: Path) -> Path:
    t = pa.table(
        {
            "seq": pa.array([3, 1, 2], pa.int64()),
            "at": pa.array([datetime(2021, 4, d, 12, tzinfo=UTC) for d in (3, 1, 2)], TS),
            "code": pa.array(["c", None, "a"], pa.string()),
        }
    )
    pq.write_table(t, path)
    return path


def test_read_keep_stream_and_write_in_order(tmp_path: Path) -> None:
    spill = _spill(tmp_path / "spill.parquet")
    with connect(EngineOptions(threads=1)) as engine:
        t = engine.read_parquet(spill, "spill")
        assert t.schema() == ibis.Schema.from_pyarrow(pq.read_schema(spill))
        kept = engine.keep(t.filter(t.seq > 1))
        assert kept.schema() == t.schema()
        batches = list(engine.to_arrow_batches(kept, ["seq"], chunk_size=1))
        assert [r["seq"] for b in batches for r in b.to_pylist()] == [2, 3]
        out = tmp_path / "out.parquet"
        n = engine.write_parquet(kept, out, ["at"], pq.read_schema(spill))
        assert n == 2
        written = pq.read_table(out)
        assert written.schema.field("at").type == TS
        assert written.column("seq").to_pylist() == [2, 3]
        engine.release(kept)
        assert engine._kept == []


def test_local_evaluation_is_closed_with_the_engine() -> None:
    engine = connect(EngineOptions(threads=1))
    try:
        v = ibis.memtable(pa.table({"x": [1, 2, 3]}))
        got = engine.evaluate_locally(v.select(y=v.x * 2))
        assert got.column("y").to_pylist() == [2, 4, 6]
        local = engine._local
        assert local is not None
        assert engine.evaluate_locally(v.select(y=v.x + 1)).num_rows == 3
        assert engine._local is local  # one connection per engine, reused
    finally:
        engine.close()
    assert engine._local is None
