"""Plain-file snapshots: compare with `tests/reports/snapshots/NAME`, or rewrite it.

Regenerate every snapshot with `OPMETRICS_UPDATE_SNAPSHOTS=1 python3 -m uv run pytest tests/reports`.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

SNAPSHOTS = Path(__file__).parent / "snapshots"
ENV = "OPMETRICS_UPDATE_SNAPSHOTS"


def check(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get(ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {path}; create it with {ENV}=1"
    expected = path.read_text(encoding="utf-8")
    if expected != text:
        diff = "".join(
            list(
                difflib.unified_diff(
                    expected.splitlines(True), text.splitlines(True), "snapshot", "now", n=2
                )
            )[:80]
        )
        raise AssertionError(
            f"{name} differs from its snapshot (rewrite with {ENV}=1 if intended):\n{diff}"
        )
