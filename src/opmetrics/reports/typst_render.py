"""Render a report spec to PDF with Typst (the `typst` package bundles the compiler).

Typst needs no system libraries and ships its own fonts; system fonts are ignored so a pack looks
the same on every machine and nothing is fetched at run time. The template reads the spec as JSON
data, so a party label holding markup is printed as text. Charts become PDF (vl-convert embeds
its bundled Liberation Sans) and are placed as vector images. The document date is fixed to a
date derived from the reporting month, so the same results give the same PDF.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import typst

from opmetrics.errors import OutputError
from opmetrics.month import Month
from opmetrics.reports import fmt
from opmetrics.reports.drawing import draw
from opmetrics.reports.spec import Chart, Report

TEMPLATE = "report.typ"


def pdf_date(month: Month) -> date:
    """The PDF creation date: the first day after the reporting month."""
    return month.next().first_day


def chart_pdf(chart: Chart) -> bytes:
    """A chart as a one-page vector PDF."""
    return draw(chart.vega_lite)


# How a shared pack's cover states its due date (a customer pack states its own rule).
DUE_RULE = "25 Working Days after month end, England & Wales"


def typst_data(
    report: Report,
    month: Month,
    outline: bool,
    *,
    prepared_for: str | None = None,
    due_rule: str = DUE_RULE,
    h1_above_pt: int = 20,
    watermark: str = "",
    compact_cover: bool = False,
) -> dict[str, Any]:
    """The spec as the template reads it, with the cover's texts and the pack's layout;
    `watermark` (e.g. "DRAFT") is set across every page; a `compact_cover` is a title block at
    the top of page one rather than a page of its own (a paper of one or two pages)."""
    data = report.to_data(with_chart_specs=False)
    c = report.cover
    data["cover"]["produced_on_text"] = fmt.long_date(c.produced_on)
    data["cover"]["due_on_text"] = fmt.long_date(c.due_on)
    data["cover"]["due_rule"] = due_rule
    data["cover"]["prepared_for"] = prepared_for
    data["layout"] = {"h1_above_pt": h1_above_pt, "compact_cover": compact_cover}
    data["watermark"] = watermark
    d = pdf_date(month)
    data["pdf_date"] = [d.year, d.month, d.day]
    data["outline"] = outline
    return data


def render_pdf(
    report: Report,
    month: Month,
    target: Path,
    work: Path,
    chart_files: dict[str, bytes],
    *,
    outline: bool = False,
    **cover: Any,
) -> int:
    """Typeset one report into `target`; returns its page count. `work` is a private folder.

    `cover`: a customer pack's `prepared_for`, `due_rule` and `h1_above_pt`, a paper's
    `watermark` and `compact_cover` (see `typst_data`).
    """
    template = (
        resources.files("opmetrics.reports")
        .joinpath("templates")
        .joinpath(TEMPLATE)
        .read_text("utf-8")
    )
    return typeset(
        report,
        month,
        template,
        typst_data(report, month, outline, **cover),
        target,
        work,
        chart_files,
    )


def typeset(
    report: Report,
    month: Month,
    template: str,
    data: dict[str, Any],
    target: Path,
    work: Path,
    chart_files: dict[str, bytes],
) -> int:
    """Compile a Typst `template` reading `report.json` (= `data`) and `charts/<key>.pdf` into
    `target`, with the PDF's creation date fixed by the month (same inputs, same bytes)."""
    if work.exists():
        shutil.rmtree(work)
    (work / "charts").mkdir(parents=True)
    (work / TEMPLATE).write_text(template, encoding="utf-8")
    (work / "report.json").write_text(
        json.dumps(data, ensure_ascii=False, sort_keys=True), encoding="utf-8"
    )
    for chart in report.charts():
        (work / "charts" / f"{chart.key}.pdf").write_bytes(chart_files[chart.key])
    stamp = int(datetime.combine(pdf_date(month), datetime.min.time(), tzinfo=UTC).timestamp())
    try:
        pdf = typst.compile(
            str(work / TEMPLATE), root=str(work), ignore_system_fonts=True, timestamp=stamp
        )
    except typst.TypstError as exc:  # the template or a spec is wrong: a bug, not a user error
        raise RuntimeError(f"typesetting {report.key} failed: {exc}") from exc
    if not isinstance(pdf, bytes):
        raise RuntimeError("typst returned no PDF")
    try:
        target.write_bytes(pdf)
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror})", path=str(target)) from None
    return _pages(pdf)


def _pages(pdf: bytes) -> int:
    """Page objects in a PDF: `/Type /Page`, not the page tree's `/Type /Pages`."""
    import re

    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
