"""The data contract page documents every quarantine reason code."""

from __future__ import annotations

from pathlib import Path

from opmetrics.contract.rules import REASONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-contract.md"


def test_every_reason_code_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [code for code in REASONS if f"`{code}`" not in text]
    assert not missing
