"""The reference catalog: load the shipped TOML (or a user's) into an immutable `Catalog`."""

from __future__ import annotations

import hashlib
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from opmetrics.catalog.model import (
    BusinessProcess,
    Catalog,
    CatalogKeyError,
    Cpm,
    DeviceType,
    IncidentCategory,
    Interface,
    Region,
    ResponseClass,
    ResponseCodeRule,
    Source,
    Srv,
    TimeBand,
    TrtRule,
)
from opmetrics.errors import CatalogError

__all__ = [
    "BusinessProcess",
    "Catalog",
    "Cpm",
    "DeviceType",
    "IncidentCategory",
    "Interface",
    "Region",
    "ResponseClass",
    "ResponseCodeRule",
    "Source",
    "Srv",
    "TimeBand",
    "TrtRule",
    "default_catalog",
    "load_catalog",
]

_DEFAULT_NAME = "default.toml"


def _loc_to_key(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += ("." if key else "") + str(part)
    return key


def parse_catalog(text: bytes, path: str) -> Catalog:
    """Parse catalog TOML bytes; errors name the file and the key."""
    try:
        data: dict[str, Any] = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CatalogError(f"not UTF-8 at byte {exc.start}", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"not valid TOML: {exc}", path=path) from None
    digest = hashlib.sha256(text).hexdigest()
    try:
        catalog = Catalog.model_validate({**data, "sha256": digest, "path": path})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _loc_to_key(tuple(first["loc"]))
        msg = first["msg"].removeprefix("Value error, ")
        extra = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise CatalogError(msg + extra, path=path, key=key or None) from None
    try:
        catalog.check_references()
    except CatalogKeyError as exc:
        raise CatalogError(exc.message, path=path, key=exc.key) from None
    return catalog


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load a catalog file, or the shipped default when `path` is None."""
    if path is None:
        return default_catalog()
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read: {exc.strerror}", path=str(p)) from None
    return parse_catalog(text, str(p))


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    text = resources.files("opmetrics.catalog").joinpath(_DEFAULT_NAME).read_bytes()
    return parse_catalog(text, f"opmetrics/catalog/{_DEFAULT_NAME}")
