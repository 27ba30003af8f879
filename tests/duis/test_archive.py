"""Archives as folders, zips, tars and line files: every message found once, with its times."""

from __future__ import annotations

import gzip
import io
import os
import struct
import tarfile
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from opmetrics.duis.archive import RawMessage, iter_messages, parse_prefix
from opmetrics.errors import DataContractError, UnreadableFileError

MSG = (
    b'<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"/>'
)
WHEN = datetime(2021, 4, 12, 9, 30, 15, 250000, tzinfo=UTC)


def all_of(path: Path) -> list[RawMessage]:
    return list(iter_messages(path))


def test_line_file_with_prefixes(tmp_path: Path) -> None:
    f = tmp_path / "duis.log"
    f.write_bytes(
        b"\xef\xbb\xbf2021-04-12T09:30:15.250Z " + MSG + b"\n"
        b"\n"
        b"2021-04-12T10:30:15.25+01:00\t" + MSG + b"\r\n"
        b"2021-04-12 09:30:15,25Z | " + MSG + b"\n"
        b"2021-04-12T09:30:15 " + MSG + b"\n"
        b"not a message at all\n"
    )
    msgs = all_of(f)
    assert [m.line for m in msgs] == [1, 3, 4, 5, 6]
    assert [m.kind for m in msgs] == ["line"] * 4 + ["unrecognised"]
    assert [m.prefix_time for m in msgs[:3]] == [WHEN] * 3
    assert all(m.data == MSG for m in msgs[:4])
    assert msgs[3].prefix_time is None and "no time zone" in (msgs[3].prefix_error or "")
    assert all(m.source == str(f) for m in msgs)
    assert msgs[0].mtime == datetime.fromtimestamp(f.stat().st_mtime_ns / 1e9, tz=UTC)


def test_prefix_parsing() -> None:
    assert parse_prefix(b"2021-04-12T09:30:15.250Z") == (WHEN, None)
    at, err = parse_prefix(b"2021-10-31T01:30:00+00:00")
    assert at == datetime(2021, 10, 31, 1, 30, tzinfo=UTC) and err is None
    at, err = parse_prefix(b"2021-13-01T00:00:00Z")
    assert at is None and "not an ISO 8601" in (err or "")


def test_one_message_per_line_without_prefixes(tmp_path: Path) -> None:
    f = tmp_path / "messages.xml"
    f.write_bytes(b"\n" + MSG + b"\n" + MSG + b"\n" + MSG + b"\n")
    msgs = all_of(f)
    assert [(m.kind, m.line, m.prefix_time) for m in msgs] == [("line", i, None) for i in (2, 3, 4)]


def test_pretty_printed_document_is_one_message(tmp_path: Path) -> None:
    doc = b'<?xml version="1.0"?>\n<sr:Request xmlns:sr="x" schemaVersion="5.4">\n  <sr:Header>\n  </sr:Header>\n</sr:Request>\n'
    f = tmp_path / "one.xml"
    f.write_bytes(doc)
    (m,) = all_of(f)
    assert (m.kind, m.line, m.data) == ("document", None, doc)


def test_folder_order_hidden_and_empty_files(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    (root / "b").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "__MACOSX").mkdir()
    (root / "b" / "2.xml").write_bytes(MSG)
    (root / "a.xml").write_bytes(MSG)
    (root / ".DS_Store").write_bytes(b"junk")
    (root / ".git" / "x.xml").write_bytes(MSG)
    (root / "__MACOSX" / "x.xml").write_bytes(MSG)
    (root / "empty.xml").write_bytes(b"")
    msgs = all_of(root)
    assert [Path(m.source).relative_to(root).as_posix() for m in msgs] == [
        "a.xml",
        "empty.xml",
        "b/2.xml",
    ]
    assert [m.kind for m in msgs] == ["document", "unrecognised", "document"]


def test_gzip_file(tmp_path: Path) -> None:
    f = tmp_path / "day.log.gz"
    f.write_bytes(gzip.compress(b"2021-04-12T09:30:15.25Z " + MSG + b"\n"))
    (m,) = all_of(f)
    assert (m.prefix_time, m.data) == (WHEN, MSG)


def _ut_field(epoch: int) -> bytes:
    """The zip "extended timestamp" extra field holding a UTC modification time."""
    return struct.pack("<HHB", 0x5455, 5, 1) + struct.pack("<i", epoch)


def test_zip_member_times(tmp_path: Path) -> None:
    z = tmp_path / "a.zip"
    with zipfile.ZipFile(z, "w") as zf:
        plain = zipfile.ZipInfo("dir/plain.xml", date_time=(2021, 4, 12, 9, 30, 14))
        zf.writestr(plain, MSG)
        ut = zipfile.ZipInfo("dir/ut.xml", date_time=(1999, 1, 1, 0, 0, 0))
        ut.extra = _ut_field(int(datetime(2021, 4, 12, 9, 0, tzinfo=UTC).timestamp()))
        zf.writestr(ut, MSG)
        zf.writestr("__MACOSX/._plain.xml", b"junk")
        zf.writestr("dir/", b"")
    msgs = all_of(z)
    assert [m.source for m in msgs] == [f"{z}!dir/plain.xml", f"{z}!dir/ut.xml"]
    # DOS time has no zone: read as UTC; the UT field wins when present.
    assert msgs[0].mtime == datetime(2021, 4, 12, 9, 30, 14, tzinfo=UTC)
    assert msgs[1].mtime == datetime(2021, 4, 12, 9, 0, tzinfo=UTC)


def test_tar_member_times_and_folder_of_archives(tmp_path: Path) -> None:
    root = tmp_path / "days"
    root.mkdir()
    t = root / "2021-04-12.tar.gz"
    with tarfile.open(t, "w:gz") as tf:
        for name, data in (("x/1.xml", MSG), ("x/2.log", b"2021-04-12T09:30:15.25Z " + MSG)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = datetime(2021, 4, 12, 9, 31, tzinfo=UTC).timestamp()
            tf.addfile(info, io.BytesIO(data))
    z = root / "2021-04-13.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("3.xml", MSG)
    msgs = all_of(root)
    assert [m.source for m in msgs] == [f"{t}!x/1.xml", f"{t}!x/2.log", f"{z}!3.xml"]
    assert msgs[0].mtime == datetime(2021, 4, 12, 9, 31, tzinfo=UTC)
    assert msgs[1].prefix_time == WHEN and msgs[1].line == 1


def test_corrupt_containers(tmp_path: Path) -> None:
    z = tmp_path / "bad.zip"
    z.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(UnreadableFileError, match="not a readable zip") as err:
        all_of(z)
    assert err.value.path == str(z)
    good = tmp_path / "good.tar.gz"
    with tarfile.open(good, "w:gz") as tf:
        info = tarfile.TarInfo("1.xml")
        payload = os.urandom(200_000)
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(UnreadableFileError, match="cannot read"):
        all_of(cut)
    with pytest.raises(DataContractError, match="archive not found"):
        all_of(tmp_path / "missing")


def test_prefix_offsets_are_instants() -> None:
    at, _ = parse_prefix(b"2021-04-12T10:30:15.25+01:00")
    assert at == WHEN and at.tzinfo == UTC
    assert at.astimezone(timezone(timedelta(hours=1))).hour == 10


def test_large_files_are_streamed_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Files above SMALL_FILE are read as streams rather than whole: same messages either way.
    root = tmp_path / "a"
    root.mkdir()
    (root / "day.log").write_bytes(
        b"2021-04-12T09:30:15.25Z " + MSG + b"\n" + b"2021-04-12T09:30:15.25Z " + MSG + b"\n"
    )
    with zipfile.ZipFile(root / "b.zip", "w") as zf:
        zf.writestr("1.xml", MSG)
    with tarfile.open(root / "c.tar.gz", "w:gz") as tf:
        info = tarfile.TarInfo("2.xml")
        info.size = len(MSG)
        tf.addfile(info, io.BytesIO(MSG))
    whole = [(m.source, m.line, m.data, m.prefix_time) for m in all_of(root)]
    monkeypatch.setattr("opmetrics.duis.archive.SMALL_FILE", 0)
    streamed = [(m.source, m.line, m.data, m.prefix_time) for m in all_of(root)]
    assert streamed == whole
    assert len(whole) == 4
