"""Identifier strings built with numpy: EUI-64s, request ids, padded counters.

Millions of ids are needed per chunk, so they are laid out as fixed-width byte matrices and
handed to Arrow as string arrays without a Python loop.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_HEX2 = np.stack([_HEX[np.arange(256) >> 4], _HEX[np.arange(256) & 15]], axis=1)
EUI_WIDTH = 23
_DASH = ord("-")


def parse_octets(text: str) -> int:
    """`"00-1B-C5"` -> 0x001BC5."""
    return int(text.replace("-", ""), 16)


# "XX-XX-" for each pair of octets, as one 6-byte item; the last pair has no dash ("XX-XX").
_PAIRS = np.arange(1 << 16)
_PAIR_DASH = np.empty((1 << 16, 6), dtype=np.uint8)
_PAIR_DASH[:, 0:2] = _HEX2[_PAIRS >> 8]
_PAIR_DASH[:, 2] = _DASH
_PAIR_DASH[:, 3:5] = _HEX2[_PAIRS & 255]
_PAIR_DASH[:, 5] = _DASH
_PAIR_ITEM = _PAIR_DASH.view("V6")[:, 0]
_LAST_PAIR_ITEM = np.ascontiguousarray(_PAIR_DASH[:, :5]).view("V5")[:, 0]
_EUI_ROW = np.dtype({"names": ["head", "last"], "formats": ["V18", "V5"], "offsets": [0, 18]})


def eui64_matrix(values: np.ndarray) -> np.ndarray:
    """Each uint64 as `XX-XX-XX-XX-XX-XX-XX-XX` (upper-case hex): an (n, 23) uint8 matrix.

    Built from 6-byte items per pair of octets, so millions of ids are a few item gathers.
    """
    pairs = np.ascontiguousarray(values, dtype=">u8").view(">u2").reshape(-1, 4)
    rows = np.empty(len(pairs), dtype=_EUI_ROW)
    rows["head"] = np.ascontiguousarray(_PAIR_ITEM[pairs[:, :3]]).view("V18")[:, 0]
    rows["last"] = _LAST_PAIR_ITEM[pairs[:, 3]]
    return rows.view(np.uint8).reshape(-1, EUI_WIDTH)


def strings_from_matrix(m: np.ndarray) -> pa.StringArray:
    """Fixed-width byte rows (or `as_items` items) as an Arrow string array (zero-copy)."""
    m = np.ascontiguousarray(m)
    if m.ndim == 1:
        m = m.view(np.uint8).reshape(len(m), -1)
    n, w = m.shape
    offsets = np.arange(0, w * (n + 1), w, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(m))


def eui64_text(value: int) -> str:
    h = f"{value & 0xFFFFFFFFFFFFFFFF:016X}"
    return "-".join(h[i : i + 2] for i in range(0, 16, 2))


def scrambled(indices: np.ndarray, bits: int, salt: int) -> np.ndarray:
    """A bijection of [0, 2**bits) that makes sequential numbers look random (unique ids)."""
    mask = np.uint64((1 << bits) - 1)
    x = indices.astype(np.uint64) & mask
    mult = np.uint64((0x9E3779B97F4A7C15 | 1) & ((1 << bits) - 1) | 1)
    x = (x * mult + np.uint64(salt)) & mask
    x ^= x >> np.uint64(bits // 2)
    x = (x * np.uint64(0xBF58476D1CE4E5B9 & ((1 << bits) - 1) | 1)) & mask
    return x


def decimal_matrix(values: np.ndarray) -> np.ndarray | None:
    """Non-negative integers that all have the same number of digits, as an (n, digits) uint8
    matrix of their decimal text (Arrow's integer formatting, no Python loop); None otherwise."""
    v = np.ascontiguousarray(values, dtype=np.int64)
    if not len(v) or v.min() < 0 or len(str(int(v.min()))) != len(str(int(v.max()))):
        return None
    width = len(str(int(v.max())))
    text = pa.array(v).cast(pa.string())
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8, count=len(v) * width)
    return data.reshape(len(v), width)


def padded_numbers(values: np.ndarray, width: int, prefix: str = "") -> pa.StringArray:
    """Non-negative integers as zero-padded decimal strings of `width` digits after `prefix`."""
    v = values.astype(np.int64)
    p = np.frombuffer(prefix.encode(), dtype=np.uint8)
    m = np.empty((len(v), len(p) + width), dtype=np.uint8)
    m[:, : len(p)] = p
    lead = 10**width
    digits = decimal_matrix(v + lead) if len(v) and v.max() < lead else None
    if digits is not None:  # lead + v has width + 1 digits, the first a 1
        m[:, len(p) :] = digits[:, 1:]
        return strings_from_matrix(m)
    for i in range(width - 1, -1, -1):
        m[:, len(p) + i] = 48 + (v % 10)
        v = v // 10
    return strings_from_matrix(m)


# A request id row: originator, ':', target, ':', then the counter's digits (if fixed-width).
def _request_row(digits: int) -> np.dtype:
    fields = [
        ("originator", f"V{EUI_WIDTH}", 0),
        ("colon1", "u1", EUI_WIDTH),
        ("target", f"V{EUI_WIDTH}", EUI_WIDTH + 1),
        ("colon2", "u1", 2 * EUI_WIDTH + 1),
    ]
    if digits:
        fields.append(("counter", f"V{digits}", 2 * EUI_WIDTH + 2))
    names, formats, offsets = zip(*fields, strict=True)
    return np.dtype(
        {
            "names": list(names),
            "formats": list(formats),
            "offsets": list(offsets),
            "itemsize": 2 * EUI_WIDTH + 2 + digits,
        }
    )


def as_items(m: np.ndarray) -> np.ndarray:
    """An (n, w) byte matrix as n items of w bytes: gathers and copies move whole rows."""
    m = np.ascontiguousarray(m)
    return m.view(f"V{m.shape[1]}").reshape(-1)


def request_ids(originator: np.ndarray, target: np.ndarray, counter: np.ndarray) -> pa.StringArray:
    """`originator:target:counter` from EUI-64 rows (`as_items`) and decimal counters.

    Counters of one width (the generator's are 10 digits) make fixed-width rows built in one
    byte matrix; mixed widths are joined by Arrow.
    """
    n = len(counter)
    digits = decimal_matrix(counter)
    width = digits.shape[1] if digits is not None else 0
    rows = np.empty(n, dtype=_request_row(width))
    rows["originator"] = originator
    rows["colon1"] = ord(":")
    rows["target"] = target
    rows["colon2"] = ord(":")
    if digits is not None:
        rows["counter"] = as_items(digits)
        return strings_from_matrix(rows.view(np.uint8).reshape(n, -1))
    head = rows.view(np.uint8).reshape(n, -1)[:, : 2 * EUI_WIDTH + 2]
    text = pa.array(counter.astype(np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(strings_from_matrix(head), text, "")
