"""The engine's verbs for its callers: reading a file this process wrote, a small evaluation in
process (closed with the engine), keeping a result, streaming and writing it in order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

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


# SHA-256 test vectors (FIPS 180-2): the empty message and "abc"
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def _files(folder: Path) -> tuple[list[Path], dict[Path, str]]:
    """Files with known hashes, in a folder whose name needs encoding in a URI."""
    import hashlib

    d = folder / "data dir+1 %20"
    d.mkdir(parents=True)
    (d / "empty.csv").write_bytes(b"")
    (d / "abc.csv").write_bytes(b"abc")
    big = bytes(range(256)) * 40_000  # 10 MB: more than one read chunk
    (d / "big.parquet").write_bytes(big)
    paths = [d / "empty.csv", d / "abc.csv", d / "big.parquet"]
    return paths, {
        paths[0]: EMPTY,
        paths[1]: ABC,
        paths[2]: hashlib.sha256(big).hexdigest(),
    }


def test_file_hashes_in_process(tmp_path: Path) -> None:
    paths, expected = _files(tmp_path)
    with connect(EngineOptions(threads=2)) as engine:
        assert engine.file_sha256(paths) == expected
        assert engine.file_sha256(paths[1:2]) == {paths[1]: ABC}
        assert engine.file_sha256([]) == {}


@pytest.mark.spark
def test_file_hashes_on_spark_executors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Spark's executors hash the files (binaryFile, sha2); past the byte-array limit (here set
    to 1 MB) a file is hashed by the driver: the same hashes either way."""
    import opmetrics.engine.spark as spark_engine

    paths, expected = _files(tmp_path)
    engine = connect(EngineOptions(name="spark", threads=2))
    assert engine.file_sha256(paths) == expected
    monkeypatch.setattr(spark_engine, "BINARY_FILE_LIMIT", 1_000_000)
    assert engine.file_sha256(paths) == expected
