"""Render a report spec to one HTML page of the dashboard folder (the PDF's twin).

Every text is escaped here; chart specs go into `<script type="application/json">` blocks with
`<` written as `\\u003c`, so no value in the results can close the script or inject markup. Charts
are drawn by vega-embed from the bundled JavaScript in `assets/`, so the page works offline.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from opmetrics.reports import fmt
from opmetrics.reports.spec import (
    Assumption,
    Block,
    Cell,
    Chart,
    Cover,
    Footnote,
    Heading,
    PageBreak,
    Paragraph,
    Report,
    Section,
    Table,
)

ASSETS = "assets"


def e(text: object) -> str:
    return escape(str(text), quote=True)


def script_json(data: Any) -> str:
    """JSON safe inside a <script> element."""
    text = json.dumps(
        data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(title: str, body: str, *, scripts: tuple[str, ...] = ()) -> str:
    tags = "".join(f'<script src="{ASSETS}/{s}"></script>' for s in scripts)
    return (
        "<!doctype html>\n"
        '<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n"
        f'<link rel="stylesheet" href="{ASSETS}/style.css">\n'
        f"{tags}\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def nav(links: list[tuple[str, str]], current: str) -> str:
    items = "".join(
        f'<a href="{e(href)}"{" aria-current=page" if href == current else ""}>{e(label)}</a>'
        for label, href in links
    )
    return f'<nav class="top">{items}</nav>'


def cover_html(c: Cover, pdf_href: str | None = None) -> str:
    badge = (
        f'<span class="badge late">{e(c.lateness.upper())}</span>'
        if c.late
        else f'<span class="badge ok">{e(c.lateness)}</span>'
    )
    facts = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in c.facts)
    alerts = "".join(f'<p class="alert loud">{e(a)}</p>' for a in c.alerts)
    pdf = f'<p><a class="pdf" href="{e(pdf_href)}">PDF version</a></p>' if pdf_href else ""
    return (
        '<header class="cover">'
        f'<p class="subtitle">{e(c.subtitle)}</p>'
        f"<h1>{e(c.title)}</h1>"
        f'<p class="month">{e(c.month_title)}</p>'
        '<dl class="dates">'
        f"<dt>Reporting month</dt><dd>{e(c.month_title)}</dd>"
        f"<dt>Date produced</dt><dd>{e(fmt.long_date(c.produced_on))}</dd>"
        f"<dt>Due date</dt><dd>{e(fmt.long_date(c.due_on))} (25 Working Days after month end)</dd>"
        f"<dt>Timeliness</dt><dd>{badge}</dd>"
        "</dl>"
        f"{alerts}{pdf}"
        f'<dl class="facts">{facts}</dl>'
        "</header>"
    )


def mark_html(assumed: tuple[Assumption, ...]) -> str:
    """The mark of a figure resting on assumed values; hovering it names them."""
    names = "; ".join(a.text for a in assumed)
    return f'<sup class="assumed" title="Assumed: {e(names)}">{fmt.MARK}</sup>'


def marked(text: str, assumed: tuple[Assumption, ...] = ()) -> str:
    """Escaped text with each mark it holds raised (and naming `assumed` on hover)."""
    if fmt.MARK not in text:
        return e(text)
    sup = mark_html(assumed) if assumed else f'<sup class="assumed">{fmt.MARK}</sup>'
    return sup.join(e(part) for part in text.split(fmt.MARK))


def cell_html(c: Cell, align: str) -> str:
    cls = [f"a-{align}"]
    if c.status:
        cls.append(f"st-{c.status}")
    text = marked(c.text) + (mark_html(c.assumed) if c.assumed else "")
    text = f"<strong>{text}</strong>" if c.bold else text
    return f'<td class="{" ".join(cls)}">{text}</td>'


def table_html(t: Table, attrs: list[dict[str, str]] | None = None) -> str:
    """A table; `attrs` gives data-* attributes per row (the dashboard filters on them)."""
    head = ""
    if any(c.group for c in t.columns):
        groups: list[tuple[str, int]] = []
        for c in t.columns:
            if groups and groups[-1][0] == c.group:
                groups[-1] = (c.group, groups[-1][1] + 1)
            else:
                groups.append((c.group, 1))
        head += (
            "<tr>"
            + "".join(f'<th colspan="{n}" class="a-center">{e(g)}</th>' for g, n in groups)
            + "</tr>"
        )
    head += (
        "<tr>"
        + "".join(f'<th class="a-{c.align}" scope="col">{e(c.label)}</th>' for c in t.columns)
        + "</tr>"
    )
    rows = []
    for i, r in enumerate(t.rows):
        data = "".join(f' data-{k}="{e(v)}"' for k, v in (attrs[i] if attrs else {}).items())
        data += ' class="rollup"' if any(c.rollup for c in r) else ""
        rows.append(
            f"<tr{data}>"
            + "".join(cell_html(c, t.columns[k].align) for k, c in enumerate(r))
            + "</tr>"
        )
    title = f"<caption>{marked(t.title, t.assumed)}</caption>" if t.title else ""
    note = f'<p class="note">{marked(t.note, t.assumed)}</p>' if t.note else ""
    cls = "data small" if t.small else "data"
    return (
        f'<div class="table-wrap"><table class="{cls}" id="t-{e(t.key)}">{title}'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>{note}</div>"
    )


def chart_html(c: Chart, prefix: str = "") -> str:
    key = e(prefix + c.key)
    caption = (
        f'<figcaption class="caption">{marked(c.caption, c.assumed)}</figcaption>'
        if c.caption
        else ""
    )
    return (
        f'<figure class="chart"><p class="chart-title">{e(c.title)}</p>'
        f'<div class="vega" id="chart-{key}" data-spec="spec-{key}"></div>'
        f'<script type="application/json" id="spec-{key}">{script_json(c.spec)}</script>'
        f"{caption}</figure>"
    )


def footnote_html(f: Footnote) -> str:
    return f'<p class="footnote">{marked(f.text, f.assumed)}</p>'


def block_html(b: Block) -> str:
    if isinstance(b, Paragraph):
        cls = {"alert": "alert", "good": "good", "note": "note"}.get(b.tone, "")
        text = marked(b.text, b.assumed)
        return f'<p class="{cls}">{text}</p>' if cls else f"<p>{text}</p>"
    if isinstance(b, Footnote):
        return footnote_html(b)
    if isinstance(b, Heading):
        level = min(6, b.level + 1)
        anchor = f' id="{e(b.anchor)}"' if b.anchor else ""
        return f"<h{level}{anchor}>{e(b.text)}</h{level}>"
    if isinstance(b, Table):
        return table_html(b)
    if isinstance(b, Chart):
        return chart_html(b)
    if isinstance(b, PageBreak):
        return ""
    raise TypeError(f"unknown block {type(b).__name__}")


def section_html(s: Section, i: int) -> str:
    note = f'<p class="note clock">{e(s.page_note)}</p>' if s.page_note else ""
    body = "".join(block_html(b) for b in s.blocks)
    return f'<section id="{e(s.anchor or f"s{i}")}"><h2>{e(s.title)}</h2>{note}{body}</section>'


def report_html(report: Report, links: list[tuple[str, str]], pdf_href: str | None) -> str:
    toc = "".join(
        f'<li><a href="#{e(s.anchor or f"s{i}")}">{e(s.title)}</a></li>'
        for i, s in enumerate(report.sections)
    )
    sections = [section_html(s, i) for i, s in enumerate(report.sections)]
    body = (
        nav(links, f"{report.key}.html")
        + '<main class="report">'
        + cover_html(report.cover, pdf_href)
        + f'<nav class="toc"><p>Contents</p><ol>{toc}</ol></nav>'
        + "".join(sections)
        + "</main>"
        + '<script src="assets/report.js"></script>'
    )
    return page(f"{report.title} — {report.cover.month_title}", body, scripts=("vega.js",))
