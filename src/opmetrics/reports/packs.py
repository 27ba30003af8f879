"""`render`: one month's results folder in, the month's shared reporting packs out.

Reads only results folders (design §2): the month's, and earlier months' for the trends. Builds
every report spec first, draws each distinct chart once, then writes the PDFs, the dashboard
folder and the data files into a temporary folder that replaces `out_dir` only when complete.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from opmetrics.catalog import Catalog, default_catalog
from opmetrics.errors import UsageError
from opmetrics.progress import NO_PROGRESS, Progress
from opmetrics.reports import (
    cpm6a_report,
    dashboard,
    datafiles,
    panel,
    pmr,
    process_pack,
    summary_paper,
)
from opmetrics.reports import review as reviewed
from opmetrics.reports.common import PackContext, cover
from opmetrics.reports.data import View, load_month
from opmetrics.reports.drawing import draw_all
from opmetrics.reports.html_render import report_html
from opmetrics.reports.spec import Chart, Report
from opmetrics.reports.typst_render import pdf_date, render_pdf
from opmetrics.results.io import read_results
from opmetrics.review.model import Review, load_review
from opmetrics.workspace import atomic_output_dir, scratch_dir

DASHBOARD_DIR = "dashboard"
DATA_DIR = "data"
PACKS_DIR = "business-processes"


@dataclass(frozen=True)
class RenderSummary:
    """What `render` wrote, and the month's standing against its deadline."""

    out_dir: Path
    month: str
    produced_on: date
    due_on: date
    late: bool
    lateness: str
    pdfs: dict[str, Path]  # report key → PDF path
    pages: dict[str, int]
    dashboard: Path
    data_files: tuple[Path, ...]
    not_reportable: dict[str, str]
    warnings: tuple[str, ...] = ()
    charts: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def build_reports(ctx: PackContext) -> list[Report]:
    """Every pack's spec, in reading order: PMR, business processes, CPM6A, summary paper,
    Panel summary."""
    reports = [pmr.build(ctx)]
    reports += [process_pack.build(ctx, bp) for bp in ctx.view.packs()]
    reports += [cpm6a_report.build(ctx), summary_paper.build(ctx), panel.build(ctx)]
    return reports


PAPERS = ("summary", "panel")  # dated for the OPSG paper day; DRAFT until the review is final
PANEL_MARKDOWN = "panel-summary.md"


def paper_options(report: Report, ctx: PackContext) -> dict[str, str | bool]:
    """A paper's watermark and, with a review file, its due rule (the OPSG paper day); the
    Panel summary's cover is a title block, so that it stays within two pages."""
    if report.key not in PAPERS:
        return {}
    out: dict[str, str | bool] = {
        "watermark": reviewed.watermark(ctx.review),
        "compact_cover": report.key == "panel",
    }
    if ctx.review is not None:
        out["due_rule"] = reviewed.paper_due_rule(ctx.review)
    return out


def pdf_name(report: Report, month: str) -> str:
    if report.key.startswith("bp-"):
        return f"{PACKS_DIR}/{month}-{report.key.removeprefix('bp-')}.pdf"
    if report.key == "panel":
        return "panel-summary.pdf"
    names = {
        "pmr": "performance-measurement-report",
        "cpm6a": "cpm6a-performance-indicator",
        "summary": "opsg-summary-paper",
    }
    return f"{month}-{names.get(report.key, report.key)}.pdf"


def _history(paths: tuple[str | Path, ...], month_view: View, catalog: Catalog) -> tuple[View, ...]:
    views = []
    for p in paths:
        v = View(load_month(p), catalog)
        if v.month >= month_view.month:
            raise UsageError(
                f"--history {p} holds {v.month}, which is not earlier than the reported month {month_view.month}"
            )
        views.append(v)
    months = [v.month for v in views]
    dup = {m for m in months if months.count(m) > 1}
    if dup:
        raise UsageError(f"--history gives {', '.join(sorted(map(str, dup)))} more than once")
    return tuple(sorted(views, key=lambda v: v.month))


def _warnings(view: View, catalog: Catalog) -> list[str]:
    out = []
    cat = view.r.manifest.catalog
    if cat.sha256 and catalog.sha256 and cat.sha256 != catalog.sha256:
        out.append(
            f"the results were computed with catalog version {cat.version or '?'} but the reports use "
            f"version {catalog.meta.version}: names and order follow the reports' catalog"
        )
    known = {s.id for s in catalog.srv}
    unknown = sorted(set(view.summary_rows()["srv"]) - known - {"ALL"})
    if unknown:
        out.append(
            f"SRVs not in the catalog are reported under their process as given: {', '.join(unknown)}"
        )
    return out


def render(
    results_dir: str | Path,
    out_dir: str | Path,
    history: tuple[str | Path, ...] | list[str | Path] = (),
    produced_on: date | None = None,
    progress: Progress = NO_PROGRESS,
    *,
    catalog: Catalog | None = None,
    review: str | Path | None = None,
) -> RenderSummary:
    """Render the month's packs, dashboard and data files from a results folder into `out_dir`.

    `review`: the month's review file (docs/review.md): the reviewers' commentary, the reviewed
    ad-hoc list and the actions log go into the summary paper, the Panel summary and the
    dashboard, and the papers are dated for the OPSG paper day."""
    catalog = catalog or default_catalog()
    produced_on = produced_on or date.today()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with progress.task("Reading results", total=1 + len(history)) as task:
        view = View(load_month(results_dir), catalog)
        task.advance()
        earlier = _history(tuple(history), view, catalog)
        task.advance(len(history))
    ctx = PackContext(view, earlier, produced_on, _review(review, view, earlier, produced_on))
    month = str(view.month)
    with progress.task("Building report specs") as task:
        reports = build_reports(ctx)
    timings["specs"] = time.perf_counter() - t0
    distinct: dict[str, Chart] = {}
    for r in reports:
        for c in r.charts():
            distinct.setdefault(hashlib.sha256(c.vega_lite.encode()).hexdigest(), c)
    t1 = time.perf_counter()
    with progress.task("Drawing charts", total=len(distinct)) as task:
        drawn = draw_all({d: c.vega_lite for d, c in distinct.items()}, task.advance)
    timings["charts"] = time.perf_counter() - t1
    stamp = datetime.combine(pdf_date(view.month), datetime.min.time(), tzinfo=UTC).replace(
        tzinfo=None
    )
    results = read_results(results_dir)
    pdfs: dict[str, Path] = {}
    pages: dict[str, int] = {}
    target = Path(out_dir)
    with atomic_output_dir(target) as tmp, scratch_dir("opmetrics-typst-") as work:
        t2 = time.perf_counter()
        (tmp / PACKS_DIR).mkdir()
        with progress.task("Typesetting PDFs", total=len(reports)) as task:
            for r in reports:
                mine = {
                    c.key: drawn[hashlib.sha256(c.vega_lite.encode()).hexdigest()]
                    for c in r.charts()
                }
                rel = pdf_name(r, month)
                pages[r.key] = render_pdf(
                    r,
                    view.month,
                    tmp / rel,
                    work / r.key,
                    mine,
                    outline=r.key.startswith("bp-"),
                    **paper_options(r, ctx),
                )
                if r.key == "panel":
                    md = panel.to_markdown(r, reviewed.watermark(ctx.review))
                    (tmp / PANEL_MARKDOWN).write_text(md, encoding="utf-8")
                pdfs[r.key] = target / rel
                task.advance()
        timings["pdf"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        with progress.task("Writing the dashboard", total=len(reports) + 1) as task:
            dash = tmp / DASHBOARD_DIR
            dashboard.write_assets(dash / "assets")
            links = [("Dashboard", "index.html")] + [(_short(r), f"{r.key}.html") for r in reports]
            for r in reports:
                (dash / f"{r.key}.html").write_text(
                    report_html(r, links, f"../{pdf_name(r, month)}"), encoding="utf-8"
                )
                task.advance()
            files = [(f"{r.title} (PDF)", f"../{pdf_name(r, month)}") for r in reports]
            files.append(("Panel summary (Markdown)", f"../{PANEL_MARKDOWN}"))
            files.append(("All results tables (XLSX)", f"../{DATA_DIR}/{month}-results.xlsx"))
            files += [
                (f"{n}.csv", f"../{DATA_DIR}/csv/{n}.csv") for n in datafiles.table_names(results)
            ]
            index = dashboard.index_html(
                ctx, cover(ctx, "Operational Metrics dashboard"), links, files
            )
            (dash / "index.html").write_text(index, encoding="utf-8")
            task.advance()
        timings["dashboard"] = time.perf_counter() - t3
        t4 = time.perf_counter()
        with progress.task(
            "Writing data files", total=datafiles.total_rows(results, view.assumed)
        ) as task:
            written = datafiles.write_data_files(
                results, tmp / DATA_DIR, month, produced_on, stamp, task.advance, view.assumed
            )
        timings["data_files"] = time.perf_counter() - t4
    timings["total"] = time.perf_counter() - t0
    data_files = tuple(target / p.relative_to(tmp) for p in written)
    return RenderSummary(
        out_dir=target,
        month=month,
        produced_on=produced_on,
        due_on=ctx.due_on,
        late=ctx.lateness.late,
        lateness=ctx.lateness.text,
        pdfs=pdfs,
        pages=pages,
        dashboard=target / DASHBOARD_DIR / "index.html",
        data_files=data_files,
        not_reportable=ctx.not_reportable(),
        warnings=tuple(_warnings(view, catalog)),
        charts=len(distinct),
        seconds=timings,
    )


def _review(
    path: str | Path | None, view: View, earlier: tuple[View, ...], produced_on: date
) -> Review | None:
    """The review file, read and checked against the month (refused if for another month)."""
    if path is None:
        return None
    r = load_review(path)
    reviewed.check(r, path, PackContext(view, earlier, produced_on, r))
    return r


def _short(r: Report) -> str:
    if r.key.startswith("bp-"):
        return r.title.removeprefix("Business Process pack: ")
    names = {"pmr": "PMR", "cpm6a": "CPM6A", "summary": "Summary paper", "panel": "Panel summary"}
    return names.get(r.key, r.title)
