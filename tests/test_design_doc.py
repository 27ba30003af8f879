"""docs/design.md §4 lists every results table the code writes, shared and restricted, and no
table the code does not write: the contract a reader and an auditor go by stays the real one."""

from __future__ import annotations

import re
from pathlib import Path

from opmetrics.results.schema import RESTRICTED_TABLES, RESULT_TABLES

DESIGN = Path(__file__).resolve().parent.parent / "docs" / "design.md"


def _section_4_tables() -> set[str]:
    text = DESIGN.read_text(encoding="utf-8")
    section = text[text.index("## 4. Results contract") : text.index("## 5. ")]
    return set(re.findall(r"^\| ([a-z_0-9]+) \|", section, flags=re.MULTILINE)) - {"table"}


def test_section_4_lists_every_results_table() -> None:
    assert _section_4_tables() == set(RESULT_TABLES) | set(RESTRICTED_TABLES)
