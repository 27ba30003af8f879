"""Walk a party's DUIS archive and hand out its messages one at a time, with their times.

Archives come as a folder (which may itself hold .zip / .tar.gz files, as daily bundles often
do), a .zip, a .tar(.gz/.bz2/.xz), or a single file. A file holds either one XML message, or
one message per line behind a timestamp prefix (`2021-04-01T09:30:00.123Z <sr:Request ...>`).
Files and lines are streamed, never loaded all at once, so an archive may be larger than memory;
tar archives are read sequentially ("r|*"), without seeking.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import struct
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

from opmetrics.errors import DataContractError, UnreadableFileError

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ZIP_SUFFIXES = (".zip",)
SMALL_FILE = 1 << 22  # files up to this size are read whole (faster); larger ones are streamed
MAX_FIRST_LINE = 1 << 24  # a first line longer than this is not a prefixed message line

# What may separate a timestamp prefix from the XML that follows it.
_SEPARATORS = b" \t|,;"
_PREFIX_START = re.compile(rb"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
# The start of a DUIS root element (it declares namespaces) at the start of a line: a file in
# which it occurs more than once holds one message per line, without prefixes.
_ROOT_AT_LINE_START = re.compile(
    rb"^[ \t]*(?:<\?xml[^>]*\?>[ \t]*)?<(?:[A-Za-z_][\w.-]*:)?(?:Request|Response)\b[^>]*xmlns",
    re.MULTILINE,
)

RawKind = Literal["document", "line", "unrecognised"]


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message as found in the archive, before parsing."""

    source: str  # the file, or `archive!member` for a member of a .zip / .tar
    line: int | None  # 1-based line of a line file; None for a file holding one message
    data: bytes  # the XML (without the timestamp prefix)
    kind: RawKind
    prefix_time: datetime | None = None  # from the line's timestamp prefix
    prefix_error: str | None = None  # the prefix is there but is not a zoned timestamp
    mtime: datetime | None = None  # modification time of the file holding the message


def iter_messages(archive: Path) -> Iterator[RawMessage]:
    """Every message of an archive, in a stable order (folders sorted by name)."""
    if not archive.exists():
        raise DataContractError("archive not found", path=str(archive))
    if archive.is_dir():
        yield from _iter_folder(archive)
    else:
        yield from _iter_file(archive, str(archive))


def _iter_folder(folder: Path) -> Iterator[RawMessage]:
    """Files of `folder` by name, then its sub-folders by name (one stat per file)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise UnreadableFileError(f"cannot list: {_why(exc)}", path=str(folder)) from None
    subfolders = []
    for entry in entries:
        if _hidden(entry.name):
            continue
        if entry.is_dir():
            subfolders.append(entry)
        elif entry.is_file():
            yield from _iter_file(Path(entry.path), entry.path, entry.stat())
    for entry in subfolders:
        yield from _iter_folder(Path(entry.path))


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _iter_file(path: Path, source: str, st: os.stat_result | None = None) -> Iterator[RawMessage]:
    lower = path.name.lower()
    if lower.endswith(ZIP_SUFFIXES):
        yield from _iter_zip(path, source)
    elif lower.endswith(TAR_SUFFIXES):
        yield from _iter_tar(path, source)
    else:
        try:
            st = st or path.stat()
            mtime = _epoch(st.st_mtime_ns / 1e9)
            if lower.endswith(".gz"):
                with gzip.open(path, "rb") as fh:
                    yield from split_messages(fh, source, mtime)
            elif st.st_size <= SMALL_FILE:
                yield from split_messages(io.BytesIO(path.read_bytes()), source, mtime)
            else:
                with path.open("rb") as fh:
                    yield from split_messages(fh, source, mtime)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise UnreadableFileError(f"cannot read: {_why(exc)}", path=source) from None


def _iter_zip(path: Path, source: str) -> Iterator[RawMessage]:
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise UnreadableFileError(f"not a readable zip archive: {_why(exc)}", path=source) from None
    with zf:
        for info in zf.infolist():
            parts = info.filename.split("/")
            if info.is_dir() or any(_hidden(p) for p in parts if p):
                continue
            member = f"{source}!{info.filename}"
            try:
                if info.file_size <= SMALL_FILE:
                    data = io.BytesIO(zf.read(info))
                    yield from split_messages(data, member, _zip_mtime(info))
                    continue
                with zf.open(info) as fh:
                    yield from split_messages(fh, member, _zip_mtime(info))
            except (OSError, EOFError, zipfile.BadZipFile, RuntimeError) as exc:
                raise UnreadableFileError(f"cannot read: {_why(exc)}", path=member) from None


def _zip_mtime(info: zipfile.ZipInfo) -> datetime:
    """The member's time: the UTC "extended timestamp" field if present, else DOS time as UTC."""
    extra = info.extra
    i = 0
    while i + 4 <= len(extra):
        header_id, size = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4 : i + 4 + size]
        if header_id == 0x5455 and len(body) >= 5 and body[0] & 1:
            return _epoch(struct.unpack_from("<i", body, 1)[0])
        i += 4 + size
    return datetime(*info.date_time, tzinfo=UTC)


def _iter_tar(path: Path, source: str) -> Iterator[RawMessage]:
    try:
        tf = tarfile.open(path, "r|*")  # noqa: SIM115 - closed by the `with` below
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise UnreadableFileError(f"not a readable tar archive: {_why(exc)}", path=source) from None
    member_name = ""
    try:
        with tf:
            for info in tf:
                member_name = info.name
                parts = info.name.split("/")
                if not info.isfile() or any(_hidden(p) for p in parts if p not in ("", ".")):
                    continue
                fh = tf.extractfile(info)
                if fh is None:
                    continue
                with fh:
                    where, at = f"{source}!{info.name}", _epoch(info.mtime)
                    if info.size <= SMALL_FILE:
                        yield from split_messages(io.BytesIO(fh.read()), where, at)
                    else:
                        yield from split_messages(fh, where, at)
    except (OSError, tarfile.TarError, EOFError, zipfile.BadZipFile) as exc:
        where = f"{source}!{member_name}" if member_name else source
        raise UnreadableFileError(f"cannot read: {_why(exc)}", path=where) from None


def _epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


class ByteLines(Protocol):
    """What a file of messages is read through (plain, gzip, zip or tar member)."""

    def readline(self, size: int = -1, /) -> bytes: ...

    def read(self, size: int = -1, /) -> bytes: ...

    def __iter__(self) -> Iterator[bytes]: ...


def split_messages(fh: ByteLines, source: str, mtime: datetime | None) -> Iterator[RawMessage]:
    """The messages of one file: the whole file, or one per line behind a timestamp prefix."""
    first = b""
    lineno = 0
    while True:  # the first line that is not blank decides the kind of file
        line = fh.readline(MAX_FIRST_LINE)
        if not line:
            break
        lineno += 1
        if line.strip():
            first = line
            break
    if not first:
        yield RawMessage(source, None, b"", "unrecognised", mtime=mtime)
        return
    if lineno == 1 and first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    if _PREFIX_START.match(first.lstrip()):
        yield _line_message(first, source, lineno, mtime)
        for line in fh:
            lineno += 1
            if line.strip():
                yield _line_message(line, source, lineno, mtime)
        return
    if first.lstrip().startswith(b"<"):
        data = first + fh.read()
        doc = RawMessage(source, None, data, "document", mtime=mtime)
        roots = _ROOT_AT_LINE_START.finditer(data)
        if next(roots, None) is not None and next(roots, None) is not None:
            yield from split_lines(doc, first_line=lineno)
        else:
            yield doc
        return
    yield RawMessage(source, None, first + fh.read(4096), "unrecognised", mtime=mtime)


def _line_message(line: bytes, source: str, lineno: int, mtime: datetime | None) -> RawMessage:
    line = line.strip()
    lt = line.find(b"<")
    if lt < 0:
        return RawMessage(source, lineno, line, "unrecognised", mtime=mtime)
    prefix = line[:lt].strip(_SEPARATORS)
    data = line[lt:]
    if not prefix:
        return RawMessage(source, lineno, data, "line", mtime=mtime)
    at, error = parse_prefix(prefix)
    return RawMessage(source, lineno, data, "line", at, error, mtime)


def parse_prefix(prefix: bytes) -> tuple[datetime | None, str | None]:
    """A line's timestamp prefix as a UTC instant, or the reason it is not one."""
    text = prefix.decode("ascii", errors="replace").replace(",", ".")
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        return None, f"timestamp prefix is not an ISO 8601 date-time: {text!r}"
    if ts.tzinfo is None:
        return None, f"timestamp prefix has no time zone (Z or an offset): {text!r}"
    return ts.astimezone(UTC), None


def split_lines(raw: RawMessage, first_line: int = 1) -> Iterator[RawMessage]:
    """A document that turned out to hold one message per line (without prefixes)."""
    for i, line in enumerate(raw.data.splitlines(), start=first_line):
        if line.strip():
            yield _line_message(line, raw.source, i, raw.mtime)
