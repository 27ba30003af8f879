"""Write a catalog back as TOML: the file a user edits and passes with `--catalog FILE`.

`opmetrics catalog --write FILE` writes the catalog in use (the shipped one, or the one given
with `--catalog`, or one with an imported Target Response Time table) so that confirming an
assumed value is an edit of one line. The catalog's values are few kinds (strings, numbers,
booleans, lists of them, and the `sources` map), so this small emitter writes them in the
shipped file's layout: one `[[section]]` per record, fields in model order, `sources` inline.
Reading the written text back gives the same catalog (a test checks it).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from opmetrics.catalog.model import Catalog
from opmetrics.errors import OutputError

TABLES = ("meta", "alerts")  # single tables; every other section is an array of tables

HEADER = """\
# opmetrics reference catalog: the SEC Operational Metrics (MP122) reference data.
# Written by `opmetrics catalog --write` from {origin}.
#
# Every record carries `source`, the provenance of its values:
#   "seed"        - the MP122 modification and its seed (authoritative for this project)
#   "DUIS schema" - the DCC User Interface Specification XML Schema (V5.4)
#   "assumed"     - not confirmed from a public source; packs mark every figure resting on it.
# A field whose provenance differs from its record names it in `sources`, e.g.
#   sources = { device_types = "assumed" }
# Confirm a value by setting it and its source (e.g. `source = "seed"`), then run
# `opmetrics --catalog THIS_FILE compute ...`.
"""

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(k: str) -> str:
    return k if _BARE_KEY.fullmatch(k) else _string(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)  # shortest text that reads back as the same float
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _record(fields: dict[str, Any]) -> list[str]:
    """A record's lines: its own fields first, then its provenance (as in the shipped file)."""
    last = ("source", "sources")
    ordered = [*(k for k in fields if k not in last), *(k for k in last if k in fields)]
    return [
        f"{_key(k)} = {_value(fields[k])}"
        for k in ordered
        if fields[k] is not None and not (k == "sources" and not fields[k])
    ]


def catalog_toml(catalog: Catalog, origin: str | None = None) -> str:
    """The catalog as TOML text, in the shipped file's layout."""
    data = catalog.model_dump(mode="json", by_alias=True, exclude={"sha256", "path"})
    lines = [HEADER.replace("{origin}", origin or catalog.path or "the shipped catalog")]
    for section in Catalog.model_fields:
        if section not in data:
            continue
        value = data[section]
        if section in TABLES:
            lines += [f"[{section}]", *_record(value), ""]
        else:
            for rec in value:
                lines += [f"[[{section}]]", *_record(rec), ""]
    return "\n".join(lines)


def write_catalog(catalog: Catalog, path: str | Path, origin: str | None = None) -> Path:
    """Write the catalog as TOML to `path` (replaced whole, never half-written)."""
    target = Path(path)
    text = catalog_toml(catalog, origin)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write the catalog ({exc.strerror})", path=str(target)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write the catalog ({exc.strerror})", path=str(target)) from None
    return target


__all__ = ["catalog_toml", "write_catalog"]
