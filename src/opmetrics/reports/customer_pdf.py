"""The customer pack PDF: the party's own report, laid out with the shared report specs.

The pack is built as a `opmetrics.reports.spec.Report` (plain data: tables of cells, one chart)
and typeset with Typst from the shared packs' template, with the cover's two differences: it
names the party the pack is for and the per-User due date (the 10th Working Day of the next
month, design §7). Success rates rest on no Target Response Time, but a
business process's figures rest on which SRVs belong to it: a process with an SRV whose
membership the catalog marks `assumed` is marked, with a footnote, as in the shared packs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from opmetrics.analytics.insights import ACTIONS
from opmetrics.catalog import Catalog
from opmetrics.contract.schema import ALL, MAX_DSP_ATTEMPTS
from opmetrics.month import Month
from opmetrics.reports import fmt
from opmetrics.reports.assumed import Assumptions
from opmetrics.reports.customer_data import MIN_OTHERS, PackData
from opmetrics.reports.response_codes import listed_response, meaning
from opmetrics.reports.spec import (
    Assumption,
    Block,
    Cell,
    Chart,
    Column,
    Cover,
    Paragraph,
    Report,
    Section,
    Table,
    canonical_json,
    with_footnotes,
)
from opmetrics.reports.typst_render import chart_pdf, render_pdf
from opmetrics.results.manifest import Manifest
from opmetrics.workdays import Lateness, user_reports_due_date

DUE_RULE = "the 10th Working Day after month end, England & Wales"
YOU = "You"
OTHER = "Another party"


def _c(text: object, bold: bool = False, assumed: tuple[Assumption, ...] = ()) -> Cell:
    return Cell(str(text), None, bold, assumed)


class Names:
    """Display names of processes and SRVs from the catalog (reference data, not results), and
    the assumed values a process's figures rest on (which SRVs belong to it)."""

    def __init__(self, catalog: Catalog, assumed: Assumptions | None = None) -> None:
        self.catalog = catalog
        self.assumed = assumed or Assumptions(Manifest(), catalog)

    def bp(self, bp: str) -> str:
        b = self.catalog.business_processes.get(bp)
        return b.name if b else bp

    def bp_marks(self, bp: str) -> tuple[Assumption, ...]:
        return self.assumed.of_process_counts(bp)

    def bp_cell(self, bp: str, bold: bool = False) -> Cell:
        """A process's name, marked when its figures rest on assumed values."""
        return _c(self.bp(bp), bold, self.bp_marks(bp))

    def srv(self, srv: str) -> str:
        s = self.catalog.srvs.get(srv)
        return fmt.srv_title(srv, s.name if s else None)


def _rank_text(r: Mapping[Any, Any], min_volume: int) -> str:
    if not r["shown"]:
        return "not shown"
    if pd.isna(r["rank"]):
        return f"not ranked (under {min_volume:,})"
    return f"{int(r['rank'])} of {int(r['parties_ranked'])}"


def against_table(d: PackData, names: Names, srv_level: bool) -> Table:
    rows = d.against[(d.against["srv"] != ALL) if srv_level else (d.against["srv"] == ALL)]
    cols = (
        Column("SRV" if srv_level else "Business process", "left", "3.2fr"),
        Column("Requests", width="1.1fr"),
        Column("You", width="1fr", group="Success %"),
        Column("Average", width="1fr", group="Success %"),
        Column("Best", width="1fr", group="Success %"),
        Column("vs average", width="1.1fr", group="Points"),
        Column("vs best", width="1fr", group="Points"),
        Column("Your rank", width="1.5fr"),
    )
    out = []
    for r in rows.to_dict("records"):
        out.append(
            (
                _c(names.srv(r["srv"]))
                if srv_level
                else names.bp_cell(r["business_process"], True),
                _c(fmt.count(r["submitted"])),
                _c(fmt.percent(r["party_success_percent"]), bold=True),
                _c(fmt.percent(r["industry_average_percent"])),
                _c(fmt.percent(r["industry_best_percent"])),
                _c(fmt.points(r["gap_points"])),
                _c(fmt.points(r["best_gap_points"])),
                _c(_rank_text(r, d.min_volume)),
            )
        )
    hidden = int((~rows["shown"]).sum())
    note = (
        ""
        if srv_level
        else (
            f"Industry average: all parties' successes over their successes and failures. Industry best: "
            f"the highest rate among parties with at least {d.min_volume:,} requests counted in a rate "
            f"(succeeded + failed) this month; the same minimum decides who is ranked."
        )
    )
    if hidden:
        note += (" " if note else "") + (
            f"{hidden} row{'s' if hidden != 1 else ''} without industry figures: fewer than "
            f"{MIN_OTHERS} other parties sent those requests, so their figures would point at them."
        )
    return Table(
        "against_srv" if srv_level else "against_bp",
        "Per SRV" if srv_level else "Per business process",
        cols,
        tuple(out),
        note=note,
        small=srv_level,
    )


def against_chart(d: PackData, names: Names) -> Chart | None:
    rows = d.against[(d.against["srv"] == ALL) & d.against["shown"]]
    data = []
    for r in rows.to_dict("records"):
        label = names.bp(r["business_process"])
        for series, col in (
            (YOU, "party_success_percent"),
            ("Industry average", "industry_average_percent"),
            ("Industry best", "industry_best_percent"),
        ):
            if pd.notna(r[col]):
                data.append(
                    {"process": label, "series": series, "percent": round(float(r[col]), 4)}
                )
    if not data:
        return None
    order = [str(p) for p in dict.fromkeys(x["process"] for x in data)]
    marks = tuple(
        {a.key: a for bp in rows["business_process"] for a in names.bp_marks(bp)}.values()
    )
    chart = (
        alt.Chart(alt.Data(values=data))
        .mark_point(filled=True, size=70)
        .encode(
            y=alt.Y("process:N", sort=order, title=None, axis=alt.Axis(labelLimit=240)),
            x=alt.X("percent:Q", title="success %", scale=alt.Scale(zero=False, nice=True)),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(
                    domain=[YOU, "Industry average", "Industry best"],
                    range=["#c62828", "#1f5fa8", "#2e7d32"],
                ),
                legend=alt.Legend(orient="top"),
            ),
            shape=alt.Shape(
                "series:N",
                title=None,
                scale=alt.Scale(
                    domain=[YOU, "Industry average", "Industry best"],
                    range=["circle", "diamond", "triangle-up"],
                ),
            ),
            tooltip=["process:N", "series:N", alt.Tooltip("percent:Q", format=".2f")],
        )
        .properties(width=380, height=max(60, 26 * len(order)))
        .configure(font="Liberation Sans, Arial, Helvetica, sans-serif")
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=9.5, titleFontSize=9.5)
        .configure_legend(labelFontSize=10)
    )
    spec = chart.to_dict(validate=False)
    spec.pop("$schema", None)
    return Chart(
        "against",
        "Your success rate against the industry",
        "Per business process: your rate, the industry average and the industry best."
        + fmt.marked_in(marks, "Processes", "the tables"),
        canonical_json(spec),
        marks,
    )


def league_blocks(d: PackData, names: Names) -> list[Block]:
    blocks: list[Block] = [
        Paragraph(
            f"Every other party is shown only by its rank and rate. Parties are ranked by success "
            f"rate, highest first, among those with at least {d.min_volume:,} requests counted in a "
            f"rate; tied parties share a rank and the next rank is skipped (1, 2, 2, 4)."
        )
    ]
    for (bp, srv), lt in d.leagues.items():
        if srv != ALL:
            continue
        a = d.against[(d.against["business_process"] == bp) & (d.against["srv"] == ALL)].iloc[0]
        rows = tuple(
            (
                _c(int(r["rank"]), bold=bool(r["you"])),
                _c(YOU if r["you"] else OTHER, bold=bool(r["you"])),
                _c(fmt.percent(r["success_percent"]), bold=bool(r["you"])),
            )
            for r in lt.to_dict("records")
        )
        below = int(a["parties_below_min_volume"])
        note = f"{len(lt)} parties ranked; {below} part{'ies' if below != 1 else 'y'} with fewer than {d.min_volume:,} requests left out"
        if pd.isna(a["rank"]):
            note += " (you among them)"
        marks = names.bp_marks(bp)
        blocks.append(
            Table(
                f"league_{bp}",
                names.bp(bp) + fmt.mark(marks),
                (
                    Column("Rank", width="1fr"),
                    Column("Party", "left", "3fr"),
                    Column("Success %", width="1.2fr"),
                ),
                rows,
                note=note + ".",
                small=True,
                assumed=marks,
            )
        )
    hidden = d.against[(d.against["srv"] == ALL) & ~d.against["shown"]]
    if not hidden.empty:
        blocks.append(
            Paragraph(
                "Not shown (fewer than 3 other parties): "
                + ", ".join(names.bp(b) for b in hidden["business_process"])
                + ".",
                "note",
            )
        )
    return blocks


def region_table(d: PackData, names: Names) -> Table:
    r = d.by_region.rows
    r = r[r["srv"] == ALL]
    rows = tuple(
        (
            names.bp_cell(x["business_process"]),
            _c(x["region"]),
            _c(fmt.count(x["submitted"])),
            _c(fmt.percent(x["success_percent"]), bold=True),
            _c(fmt.percent(x["others_percent"])),
            _c("" if x["comparison"] == "shown" else "fewer than 3 other parties"),
        )
        for x in r.to_dict("records")
    )
    return Table(
        "by_region",
        "Per business process and region",
        (
            Column("Business process", "left", "2.4fr"),
            Column("Region", "left", "1fr"),
            Column("Requests", width="1fr"),
            Column("Your success %", width="1.1fr"),
            Column("Other parties %", width="1.2fr"),
            Column("Note", "left", "2fr"),
        ),
        rows,
        note=f"Other parties %: every other party's successes over their successes and failures in the same process and region; not shown where fewer than {MIN_OTHERS} other parties sent requests. The workbook has the same per SRV.",
        small=True,
    )


def _known(v: object) -> str:
    return fmt.DASH if v in (None, "UNKNOWN") else str(v)


def device_set_table(d: PackData, names: Names) -> Table:
    b = d.by_device_set
    rows = tuple(
        (
            names.bp_cell(x["business_process"]),
            _c(fmt.device_type_name(str(x["device_type"]))),
            _c(_known(x["comms_hub_model"])),
            _c(_known(x["meter_model"])),
            _c(_known(x["firmware_version"])),
            _c(fmt.count(x["submitted"])),
            _c(fmt.percent(x["success_percent"]), bold=True),
            _c(fmt.percent(x["others_percent"])),
        )
        for x in b.rows.to_dict("records")
    )
    note = (
        f"A device set is the comms hub model, the device's model and its firmware version. Other "
        f"parties %: the same process and device set at every other party; a set fewer than "
        f"{MIN_OTHERS} other parties run is merged with the process's other such sets "
        f"({b.merged_cells} merged) or, where even merged they are fewer than {MIN_OTHERS}, its "
        f"comparison is suppressed ({b.suppressed_cells} suppressed)."
    )
    return Table(
        "by_device_set",
        "Per business process and device set",
        (
            Column("Business process", "left", "2fr"),
            Column("Device", "left", "0.9fr"),
            Column("Comms hub", "left", "1.3fr"),
            Column("Model", "left", "1.5fr"),
            Column("Firmware", "left", "1fr"),
            Column("Requests", width="1fr"),
            Column("Your %", width="0.9fr"),
            Column("Others %", width="0.9fr"),
        ),
        rows,
        note=note,
        small=True,
    )


def findings_blocks(d: PackData, names: Names) -> list[Block]:
    if d.findings.empty:
        return [
            Paragraph(
                "The month's diagnosis found nothing about your requests that needs action.", "good"
            )
        ]
    out: list[Block] = []
    for f in d.findings.to_dict("records"):
        scope = (
            names.srv(f["srv"])
            if f["srv"] != ALL
            else (names.bp(f["business_process"]) if f["business_process"] != ALL else "all SRVs")
        )
        what = str(f["subject"]).removeprefix(d.party.label).removeprefix(": ")
        if what and what != d.party.label:
            scope = f"{what}, {scope}"
        action = str(f.get("recommended_action") or ACTIONS.get(str(f["kind"]), str(f["kind"])))
        out.append(
            Paragraph(
                f"{scope}: {fmt.percent(f['observed_percent'], 1)} % success on {fmt.count(f['requests'])} "
                f"requests where comparable requests of other parties succeeded at "
                f"{fmt.percent(f['comparison_percent'], 1)} % ({fmt.points(f['gap_points'], 1)} points, "
                f"{fmt.count(f['requests_affected'])} failures more). Action: {action}.",
                "alert",
            )
        )
    return out


def failures_blocks(d: PackData, names: Names, files: list[str]) -> list[Block]:
    t = d.failures
    n = t.num_rows
    blocks: list[Block] = [
        Paragraph(
            f"{n:,} of your requests failed this month. Each is listed, with its request ID, SRV, "
            f"device, device set, region, response code and round trip time, in "
            + " and ".join(files)
            + "."
        )
    ]
    if n:
        df = t.select(["srv", "response_code", "dsp_attempts"]).to_pandas()
        df["response_code"] = [
            listed_response(c if isinstance(c, str) else None, _attempts(a), names.catalog)
            for c, a in zip(df["response_code"], df["dsp_attempts"], strict=True)
        ]
        top = df.value_counts(["srv", "response_code"]).reset_index(name="count").head(15)
        rows = tuple(
            (
                _c(names.srv(r["srv"])),
                _c(r["response_code"]),
                _c(fmt.count(r["count"])),
                _c(fmt.percent(100.0 * r["count"] / n, 1)),
            )
            for r in top.to_dict("records")
        )
        blocks.append(
            Table(
                "failures",
                "Most frequent failures",
                (
                    Column("SRV", "left", "3fr"),
                    Column("Final response", "left", "1.2fr"),
                    Column("Failed requests", width="1.2fr"),
                    Column("% of your failures", width="1.3fr"),
                ),
                rows,
                note="The 15 most frequent SRV and final response code pairs; what each "
                "response means is below.",
                small=True,
            )
        )
        blocks.append(meanings_table(list(dict.fromkeys(top["response_code"])), names))
    return blocks


def _attempts(v: object) -> int | None:
    f = fmt.num(v)
    return None if f is None else int(f)


def meanings_table(responses: list[str], names: Names) -> Table:
    """What each response the pack lists means, from the catalog, and how MP122 counts it."""
    rows = []
    for r in sorted(responses):
        m = meaning(r, names.catalog)
        rows.append((_c(m.response), _c(m.klass), _c(m.description), _c(m.counts_as)))
    return Table(
        "response-meanings",
        "What the responses mean",
        (
            Column("Final response", "left", "1.3fr"),
            Column("Class", "left", "1.2fr"),
            Column("Meaning", "left", "3fr"),
            Column("Counts as", "left", "2.2fr"),
        ),
        tuple(rows),
        note=(
            f"Classes and meanings from the catalog's response codes. A success code (I0, or a W "
            f"warning) counts as a failure when the DSP needed more than {MAX_DSP_ATTEMPTS} "
            "delivery attempts (dsp_attempts in the failed-requests file); codes caused by the "
            "User are excluded from every rate and never listed here."
        ),
        small=True,
    )


def build_report(
    d: PackData,
    catalog: Catalog,
    produced_on: date,
    files: list[str],
    assumed: Assumptions | None = None,
    *,
    dated: bool = True,
) -> Report:
    """The pack's spec; `assumed` (from the results' manifest) says which values are assumed.
    `dated`: `produced_on` was given (`--produced-on`); without it the date is the day the pack
    was written, and a "late by N Working Days" badge would only measure when someone ran the
    command, so the cover states no timeliness."""
    month = Month.parse(d.month)
    names = Names(catalog, assumed)
    due = user_reports_due_date(month)
    late = Lateness(due, produced_on)
    cover = Cover(
        title="Customer pack",
        subtitle="Smart Energy Code · Operational Metrics (MP122) · your performance",
        month=d.month,
        month_title=month.title,
        produced_on=produced_on,
        due_on=due,
        late=late.late and dated,
        lateness=late.text if dated else "",
        facts=(
            ("Party label", d.party.label),
            ("User ID", d.party.user_id),
            ("Minimum volume", f"{d.min_volume:,} requests (succeeded + failed) to be ranked"),
            ("Confidential", "for this party only: other parties appear only as ranks and rates"),
        ),
    )
    chart = against_chart(d, names)
    first: list[Block] = [
        Paragraph(
            "Your success rate per business process and per SRV against the industry average and "
            "the industry best, and your place in the league table. A request counts as a success "
            "or a failure as the MP122 rules say; requests excluded as caused outside the DCC's "
            "control count in no rate."
        )
    ]
    if chart is not None:
        first.append(chart)
    first += [against_table(d, names, False), against_table(d, names, True)]
    sections = [
        Section("Against the industry", tuple(first)),
        Section("League tables", tuple(league_blocks(d, names))),
        Section("By region and device set", (region_table(d, names), device_set_table(d, names))),
        Section(
            "Findings and failed requests",
            (*findings_blocks(d, names), *failures_blocks(d, names, files)),
        ),
    ]
    return Report(
        f"customer-{d.party.label}",
        f"Customer pack · {d.party.name or d.party.label}",
        cover,
        with_footnotes(sections, names.assumed.override),
    )


def render(report: Report, month: Month, prepared_for: str, target: Path, work: Path) -> None:
    """Typeset the pack into `target`; `work` is a private scratch folder."""
    charts = {chart.key: chart_pdf(chart) for chart in report.charts()}
    render_pdf(
        report,
        month,
        target,
        work,
        charts,
        prepared_for=prepared_for,
        due_rule=DUE_RULE,
        h1_above_pt=0,
    )
