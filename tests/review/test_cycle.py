"""The OPSG review cycle end to end, through the command line.

April 2021: `review init` → the reviewers write commentary, take one ad-hoc item off and raise
two actions → `report --review` (draft). May: `review init --previous` carries both actions; one
is answered and the paper is final → `report --review`. June: the answered action is carried
(answered, not yet closed) and closed; July's starter file no longer holds it. The PDFs are
read back with pdftotext, the dashboard in Chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from opmetrics.review.model import load_review
from tests.cli_runner import run_cli
from tests.reports.fake_results import write_fake_results

pytestmark = pytest.mark.xdist_group("review-cycle")

PIPE = "Install & Commission held steady after the incident of 12 April."
CPM1 = "CPM1 missed its target: the DCC is to report the cause."
FINDING = "SECAS will arrange the trilateral meeting."
ADDED = ("Firmware roll-out plan", "The OPSG asked to see the roll-out plan for hub firmware.")
A1 = ("OPSG-2021-06-01", "DCC", "Explain the CPM1 shortfall in the North region.")
A2 = ("OPSG-2021-06-02", "Service provider", "Report the South region's Prepayment failures.")
ANSWER = "A routing fault at one service provider, fixed on 3 May."


def pdf_text(pdf: Path) -> str:
    """The PDF's text in content order (a table cell's wrapped lines stay together), with runs
    of white space made one space, pages kept apart by form feeds."""
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext not found: install poppler-utils")
    raw = subprocess.run([exe, "-raw", str(pdf), "-"], capture_output=True, text=True, check=True)
    return "\f".join(" ".join(page.split()) for page in raw.stdout.split("\f"))


def _ok(*args: str, cwd: Path) -> str:
    done = run_cli(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def _set(text: str, key: str, value: str) -> str:
    line = re.compile(rf"^{re.escape(key)} = .*$", re.M)
    assert line.search(text), key
    return line.sub(lambda _m: f'{key} = "{value}"', text, count=1)


def _action(ident: str, owner: str, request: str) -> str:
    return (
        f'\n[[actions]]\nid = "{ident}"\nraised = 2021-06-16\nowner = "{owner}"\n'
        f'due = 2021-07-21\nstatus = "open"\nrequest = "{request}"\nresponse = ""\n'
    )


@dataclass
class Cycle:
    root: Path
    starter: str  # April's starter file as written
    finding: str  # the finding commented on
    removed: tuple[str, str]  # id and title of the ad-hoc item taken off
    april: Path  # reports folder
    may: Path
    may_file: str
    june_file: str
    july_file: str
    init_out: str


@pytest.fixture(scope="session")  # once per worker, however xdist interleaves modules
def cycle(tmp_path_factory: pytest.TempPathFactory) -> Cycle:
    root = tmp_path_factory.mktemp("cycle")
    for month, seed in (("2021-04", 1), ("2021-05", 5), ("2021-06", 6), ("2021-07", 7)):
        write_fake_results(root / month, month, seed=seed)
    init_out = _ok(
        "review", "init", "2021-04", "--opsg", "2021-06-16", "--out", "r04.toml", cwd=root
    )
    starter = (root / "r04.toml").read_text(encoding="utf-8")
    finding = next(iter(tomllib.loads(starter)["commentary"]["findings"]))
    listed = re.findall(r"^#   (\S+)  —  (.+)$", starter, re.M)
    removed = next((i, t) for i, t in listed if i.startswith("region:") or i.startswith("cpm:CPM6"))
    text = _set(starter, "install_commission", PIPE)
    text = _set(text, "CPM1", CPM1)
    text = _set(text, finding, FINDING)
    text = text.replace("remove = []", f'remove = ["{removed[0]}"]')
    text += f'\n[[adhoc.add]]\ntitle = "{ADDED[0]}"\ntext = "{ADDED[1]}"\n'
    text += _action(*A1) + _action(*A2)
    (root / "r04.toml").write_text(text, encoding="utf-8")
    _ok("report", "2021-04", "--out", "rep04", "--review", "r04.toml", "--produced-on", "2021-06-01", cwd=root)  # fmt: skip

    _ok("review", "init", "2021-05", "--opsg", "2021-07-21", "--previous", "r04.toml", "--out", "r05.toml", cwd=root)  # fmt: skip
    may_file = (root / "r05.toml").read_text(encoding="utf-8")
    text = may_file.replace('status = "draft"', 'status = "final"', 1)
    text = text.replace(
        f'status = "open"\nrequest = "{A1[2]}"\nresponse = ""',
        f'status = "answered"\nrequest = "{A1[2]}"\nresponse = "{ANSWER}"',
    )
    (root / "r05.toml").write_text(text, encoding="utf-8")
    _ok("report", "2021-05", "--out", "rep05", "--review", "r05.toml", "--produced-on", "2021-07-01", cwd=root)  # fmt: skip

    _ok("review", "init", "2021-06", "--opsg", "2021-08-18", "--previous", "r05.toml", "--out", "r06.toml", cwd=root)  # fmt: skip
    june_file = (root / "r06.toml").read_text(encoding="utf-8")
    (root / "r06.toml").write_text(
        june_file.replace('status = "answered"', 'status = "closed"'), encoding="utf-8"
    )
    _ok("review", "init", "2021-07", "--opsg", "2021-09-15", "--previous", "r06.toml", "--out", "r07.toml", cwd=root)  # fmt: skip
    july_file = (root / "r07.toml").read_text(encoding="utf-8")
    return Cycle(root, starter, finding, removed, root / "rep04", root / "rep05", may_file,
                 june_file, july_file, init_out)  # fmt: skip


def test_starter_file_lists_the_month(cycle: Cycle) -> None:
    data = tomllib.loads(cycle.starter)
    assert data["month"] == "2021-04" and data["status"] == "draft"
    metrics = data["commentary"]["metrics"]
    assert {"install_commission", "alerts", "CPM1", "CPM6A"} <= set(metrics)
    assert all(v == "" for v in metrics.values())
    assert re.fullmatch(r"F-[0-9A-Fa-f]{8}", cycle.finding)  # compute's stable finding id
    assert "# Install & Commission: " in cycle.starter  # the value as a comment
    assert "The summary paper is dated for its paper day, 09 June 2021." in cycle.starter
    assert "actions" not in data
    assert "paper day 9 June 2021" in " ".join(cycle.init_out.split())


def test_summary_paper_holds_the_review(cycle: Cycle) -> None:
    text = pdf_text(cycle.april / "2021-04-opsg-summary-paper.pdf")
    pages = text.split("\f")
    cover = pages[0]
    assert (
        "9 June 2021 (the OPSG paper day, 5 Working Days before the meeting on 16 June 2021)"
        in cover
    )
    assert "OPSG meeting 16 June 2021" in cover
    for said in (PIPE, CPM1, f"Reviewers' commentary: {FINDING}", ADDED[0], ADDED[1]):
        assert said in text, said
    assert "Actions log" in text and "2 open, 0 answered this month, 0 closed" in text
    for ident, owner, request in (A1, A2):
        assert f"{ident} 16 Jun 2021 {owner} 21 Jul 2021 {request}" in text
    assert cycle.removed[1] not in text  # the item taken off the list
    assert "1 item taken off, 1 added by hand" in text
    assert all("DRAFT" in p for p in pages if p.strip())  # a draft on every page


def test_panel_summary_pdf_and_markdown(cycle: Cycle) -> None:
    text = pdf_text(cycle.april / "panel-summary.pdf")
    md = (cycle.april / "panel-summary.md").read_text(encoding="utf-8")
    for out in (text, " ".join(md.split())):
        assert "DRAFT" in out
        for said in (CPM1, FINDING, A1[0], A1[2], A2[2], "2 open, 0 answered this month, 0 closed"):
            assert said in out, said
        assert cycle.removed[1] not in out
    assert "| CPM1 |" in md and "Below target" in md
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) <= 2  # a title block, not a cover page: one or two pages


def test_next_month_carries_the_open_actions(cycle: Cycle) -> None:
    may = tomllib.loads(cycle.may_file)
    assert [a["id"] for a in may["actions"]] == [A1[0], A2[0]]
    assert all(a["status"] == "open" for a in may["actions"])
    assert may["actions"][0]["history"] == ["April 2021 review (OPSG 16 June 2021): open"]
    assert may["commentary"]["metrics"]["CPM1"] == ""  # commentary is per month
    assert "carried forward from the review of April 2021" in cycle.may_file


def test_answered_then_closed(cycle: Cycle) -> None:
    text = pdf_text(cycle.may / "2021-05-opsg-summary-paper.pdf")
    assert "1 open, 1 answered this month, 0 closed" in text
    assert "Answered this month (1)" in text and ANSWER in text
    assert "DRAFT" not in text  # the review is final
    june = tomllib.loads(cycle.june_file)
    assert [(a["id"], a["status"]) for a in june["actions"]] == [
        (A1[0], "answered"),
        (A2[0], "open"),
    ]
    assert (
        june["actions"][0]["history"][-1]
        == f"May 2021 review (OPSG 21 July 2021): answered; response: {ANSWER}"
    )
    july = tomllib.loads(cycle.july_file)
    assert [a["id"] for a in july["actions"]] == [A2[0]]  # closed in June: not carried
    assert len(july["actions"][0]["history"]) == 3


def test_a_review_for_another_month_is_refused(cycle: Cycle) -> None:
    done = run_cli("report", "2021-05", "--out", "x", "--review", "r04.toml", cwd=cycle.root)
    line = 1 + (cycle.root / "r04.toml").read_text().splitlines().index('month = "2021-04"')
    assert done.returncode == 3 and line == 11
    assert (
        f"r04.toml:{line}: month: the file is for 2021-04 but the results are for 2021-05"
        in done.stderr
    )
    assert "Traceback" not in done.stderr
    assert not (cycle.root / "x").exists()


def test_an_unknown_id_is_refused_with_its_line(cycle: Cycle, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = cycle.starter.replace("remove = []", 'remove = ["region:9.9:Nowhere"]')
    bad.write_text(text, encoding="utf-8")
    done = run_cli("report", "2021-04", "--out", str(tmp_path / "o"), "--review", str(bad), cwd=cycle.root)  # fmt: skip
    line = 1 + text.splitlines().index('remove = ["region:9.9:Nowhere"]')
    assert done.returncode == 3
    assert (
        f"bad.toml:{line}: adhoc.remove: 'region:9.9:Nowhere' is not an ad-hoc item" in done.stderr
    )


def test_init_keeps_an_existing_file(cycle: Cycle) -> None:
    done = run_cli("review", "init", "2021-04", "--opsg", "2021-06-16", "--out", "r04.toml", cwd=cycle.root)  # fmt: skip
    assert done.returncode == 3 and "--force" in done.stderr
    assert load_review(cycle.root / "r04.toml").actions  # the reviewers' work is intact


# -- the dashboard, in Chromium ------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.slow  # the quick suite keeps one browser test (tests/reports/test_dashboard_browser.py)
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not found")
def test_dashboard_shows_commentary_and_actions(cycle: Cycle) -> None:
    from playwright.sync_api import sync_playwright

    from tests.reports.test_dashboard_browser import ARGS

    with sync_playwright() as p:
        browser: Any = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((cycle.april / "dashboard" / "index.html").as_uri())
        page.wait_for_function(
            "['true', 'error'].includes(document.body.dataset.ready)", timeout=120_000
        )
        review = " ".join(page.inner_text("#review").split())
        actions = " ".join(page.inner_text("#actions").split())
        assert page.is_visible("#review") and page.is_visible("#actions")
        browser.close()
    assert PIPE in review and CPM1 in review and FINDING in review
    assert "DRAFT" in review and "16 June 2021" in review
    for ident, owner, request in (A1, A2):
        assert ident in actions and owner in actions and request in actions
    assert errors == []


def test_run_refuses_a_review_for_another_month_before_computing(cycle: Cycle) -> None:
    done = run_cli("run", "no-data-here", "--month", "2021-05", "--out", "run05", "--review", "r04.toml", cwd=cycle.root)  # fmt: skip
    assert done.returncode == 3
    assert (
        "r04.toml:11: month: the file is for 2021-04 but the results are for 2021-05" in done.stderr
    )
    assert not (cycle.root / "run05").exists()  # nothing computed


def test_previous_must_be_an_earlier_month(cycle: Cycle, tmp_path: Path) -> None:
    done = run_cli("review", "init", "2021-04", "--opsg", "2021-06-16", "--previous", "r05.toml", "--out", str(tmp_path / "x.toml"), cwd=cycle.root)  # fmt: skip
    assert done.returncode == 3
    assert (
        "r05.toml:11: month: is for 2021-05: --previous takes an earlier month's review file than 2021-04"
        in done.stderr
    )
    assert not (tmp_path / "x.toml").exists()


NEXT_ACTION = f'\n\n[[actions]]\nid = "{A2[0]}"'
NAMING = {
    "commentary": (f'"{PIPE}"', '"Held steady; secret energy ltd had a bad week."'),
    "action": (f'response = ""{NEXT_ACTION}', f'response = "Asked SECRET-ID."{NEXT_ACTION}'),
}


@pytest.mark.parametrize(("where", "old", "new"), [(k, *v) for k, v in NAMING.items()])
def test_a_review_naming_a_party_is_refused_without_repeating_it(
    cycle: Cycle, tmp_path: Path, where: str, old: str, new: str
) -> None:
    """The packs are shared: a reviewer's text naming a party (here the fake month's party
    `SECRET-ID`, `Secret Energy Ltd`, in another case) stops the render, naming file, line and
    key, and the error does not repeat the name."""
    text = (cycle.root / "r04.toml").read_text(encoding="utf-8")
    assert text.count(old) == 1, where
    bad = tmp_path / "named.toml"
    bad.write_text(text.replace(old, new), encoding="utf-8")
    line = 1 + next(i for i, s in enumerate(bad.read_text().splitlines()) if "ecret" in s.lower())
    key = "commentary.metrics.install_commission" if where == "commentary" else "actions[1].response"  # fmt: skip
    done = run_cli("report", "2021-04", "--out", str(tmp_path / "o"), "--review", str(bad), cwd=cycle.root)  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert f"named.toml:{line}: {key}: names a party" in done.stderr
    assert "secret" not in done.stderr.lower() and "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()
