"""The suite's xdist groups take effect: tests that share an expensive month are sent to one
worker (`--dist loadgroup`), so the month is built once. pytest 9.2 keeps node ids where
pytest-xdist 3.8 cannot add the group, and every test then went wherever it fell, building each
shared month on both workers; this fails if a pytest or xdist upgrade brings that back."""

from __future__ import annotations

import os

import pytest


@pytest.mark.xdist_group("self-check")
def test_a_grouped_test_carries_its_group(request: pytest.FixtureRequest) -> None:
    if "PYTEST_XDIST_WORKER" not in os.environ or not request.config.getvalue("loadgroup"):
        pytest.skip("not run by pytest-xdist with --dist loadgroup")
    assert request.node.nodeid.endswith("@self-check")
