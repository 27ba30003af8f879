"""The catalog's `meta.timezone` is read: UK local time, as the Code defines months, or refused."""

from __future__ import annotations

from importlib import resources

import pytest

from opmetrics.catalog import default_catalog, parse_catalog
from opmetrics.errors import CatalogError, ExitCode
from opmetrics.month import UK, Month


def _shipped() -> bytes:
    return resources.files("opmetrics.catalog").joinpath("default.toml").read_bytes()


def test_the_shipped_catalog_states_the_zone_months_are_computed_in() -> None:
    assert default_catalog().meta.timezone == str(UK) == "Europe/London"
    assert Month(2021, 4).start_utc.isoformat() == "2021-03-31T23:00:00+00:00"  # BST


def test_another_zone_is_refused_naming_the_key() -> None:
    text = _shipped().replace(b'timezone = "Europe/London"', b'timezone = "Europe/Paris"')
    with pytest.raises(CatalogError) as err:
        parse_catalog(text, "mine.toml")
    assert err.value.exit_code == ExitCode.CATALOG
    assert "meta.timezone" in str(err.value) and "Europe/Paris" in str(err.value)
