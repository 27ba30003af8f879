"""The reporting packs of one month, read from a results folder only (design §2).

`render` writes the Performance Measurement Report, one Business Process pack per business
process, the CPM6A Performance Indicator report and the OPSG summary paper as PDF, the offline
HTML dashboard, and every results table as CSV and XLSX; `customer_packs` writes one SEC
Party's own pack. Display formatting (`fmt`) is light; the rest loads the chart and PDF
libraries, so it is imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opmetrics.reports.packs import RenderSummary, build_reports, render

_RENDER = ("RenderSummary", "build_reports", "render")


def __getattr__(name: str) -> Any:
    if name in _RENDER:
        from opmetrics.reports import packs

        return getattr(packs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RenderSummary", "build_reports", "render"]
