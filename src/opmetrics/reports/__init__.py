"""The reporting packs of one month, read from a results folder only (design §2).

`render` writes the Performance Measurement Report, one Business Process pack per business
process, the CPM6A Performance Indicator report and the OPSG summary paper as PDF, the offline
HTML dashboard, and every results table as CSV and XLSX.
"""

from opmetrics.reports.render import RenderSummary, build_reports, render

__all__ = ["RenderSummary", "build_reports", "render"]
