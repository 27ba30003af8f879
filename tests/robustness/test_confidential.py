"""SEC Parties never see each other's identity: every shared file scanned for every party.

One month (the corpus's 2,000-request base month) gets rows a validator must refuse that name
parties: a request of an unknown SRV, a repeated request_id, a malformed CSV record, a cell
holding a party's name, a request_id and a user_id that are not EUI-64s, a parties row with a
bad user_id, a repeated parties row, a malformed parties record, an alert of an unknown region.
The month goes through `validate`, `compute`, `report` and `customer-pack`, and every file a
user may pass on — everything outside a results folder's `restricted/`: results Parquet and CSV,
manifest.json, run.json, `validate`'s quarantine.csv, the reports' PDFs (their text and
metadata), the dashboard's HTML and scripts, the CSV and XLSX data files (every XML part) — and
the commands' console output are searched for every party's identity (`identity`).

Customer packs are for one party each: a pack may hold its own party's identity (its own failed
requests carry its own request_ids), never another's.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opmetrics.catalog import default_catalog
from opmetrics.reports.assumed import Assumptions
from opmetrics.reports.datafiles import write_data_files
from opmetrics.results.io import read_results
from tests.cli_runner import run_cli
from tests.robustness.conftest import Ran, pdfinfo, pdftotext
from tests.robustness.corpus import MONTH, read, to_csv, write

# Its expensive fixtures are built once: every test of the group runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("confidential-month")

KEY = "confidential-scan-key"
PRODUCED = "2021-06-01"
OPSG = "2021-06-16"  # the OPSG meeting the review file is for


@dataclass(frozen=True)
class Identity:
    user_id: str
    name: str

    @property
    def fragments(self) -> tuple[str, ...]:
        """What would identify this party if found in a file.

        The user_id, and the same without separators (a request_id or a careless export may
        carry it either way); the party's own octets in the three spellings of an EUI-64 (with
        dashes, colons, none); and the name. Only the last three octets are the party's: the
        generator draws them per party, while the first five are its `party_id_prefix`, shared
        by every party (checked in `month`), so they identify nobody and are not searched.
        """
        octets = self.user_id.split("-")
        own = octets[5:]
        return (
            self.user_id,
            "".join(octets),
            "-".join(own),
            ":".join(own),
            "".join(own),
            self.name,
        )


@dataclass(frozen=True)
class Month:
    data: Path
    parties: dict[str, Identity]  # by user_id: every party of the month
    victims: dict[str, Identity]  # the parties the refused rows name, by role in `_leaky_month`


def _copy_of(row: dict[str, Any], counter: int, **over: Any) -> dict[str, Any]:
    """A request row like `row`, with its own request_id (unless `over` sets one)."""
    origin, target, _ = row["request_id"].split(":")
    out = {**row, "request_id": f"{origin}:{target}:{counter}"}
    out.update(over)
    return out


def _csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if hasattr(v, "isoformat"):
        return str(v.isoformat()).replace("+00:00", "Z")
    return str(v)


def _append_csv(path: Path, rows: list[list[str]], raw_lines: list[str]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow(r)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(buf.getvalue())
        for line in raw_lines:
            fh.write(line + "\n")


def _leaky_month(base: Path, dest: Path) -> Month:
    import shutil

    shutil.copytree(base, dest)
    parties = read(dest, "parties").to_pylist()
    everyone = {p["user_id"]: Identity(p["user_id"], p["name"]) for p in parties}
    sr = read(dest, "service_requests")
    rows = sr.to_pylist()
    by_party: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_party.setdefault(r["user_id"], []).append(r)
    busy = [u for u in everyone if len(by_party.get(u, [])) >= 3][:7]
    assert len(busy) == 7
    roles = ("unknown_srv", "duplicate", "malformed", "name_in_cell", "bad_request_id")
    roles += ("bad_user_id", "bad_parties_row")
    v = {role: everyone[u] for role, u in zip(roles, busy, strict=True)}

    def first(role: str) -> dict[str, Any]:
        return by_party[v[role].user_id][0]

    # service_requests: rows the contract refuses, each naming its party
    cols = sr.column_names
    new = [
        _copy_of(first("unknown_srv"), 900_001, srv="99.9"),
        dict(first("duplicate")),  # a second row with the same request_id
        _copy_of(first("name_in_cell"), 900_002, dsp_attempts=v["name_in_cell"].name),
        _copy_of(
            first("bad_request_id"),
            900_003,
            request_id=v["bad_request_id"].user_id.replace("-", "") + ":X:1",
        ),
        _copy_of(first("bad_user_id"), 900_004, user_id=v["bad_user_id"].user_id.replace("-", ":")),
    ]
    stray = [_csv_cell(first("malformed")[c]) for c in cols]
    stray[2] = '"' + stray[2]  # user_role opens a quote that never closes: a malformed record
    p = to_csv(dest, "service_requests")
    _append_csv(p, [[_csv_cell(r[c]) for c in cols] for r in new], [",".join(stray)])
    # parties: a bad user_id, the same party twice, a malformed record
    bad = v["bad_parties_row"]
    write(
        dest,
        "parties",
        pa.Table.from_pylist(
            [
                {**q, "user_id": q["user_id"].replace("-", ":")}
                if q["user_id"] == bad.user_id
                else q
                for q in parties
            ],
            schema=read(dest, "parties").schema,
        ),
    )
    p = to_csv(dest, "parties")
    again = v["unknown_srv"]
    _append_csv(
        p,
        [[again.user_id, again.name, "IS", "Somewhere Adaptor"]],
        [f'{v["malformed"].user_id},"{v["malformed"].name},IS,Broken Adaptor'],
    )
    # alerts: one for a party, in a region that does not exist
    alerts = read(dest, "alerts")
    a = alerts.to_pylist()[0]
    extra = {**a, "alert_id": "ALERT-LEAK-1", "user_id": v["duplicate"].user_id, "region": "Mars"}
    write(dest, "alerts", pa.concat_tables([alerts, pa.Table.from_pylist([extra], alerts.schema)]))
    prefixes = {u.rsplit("-", 3)[0] for u in everyone}
    assert len(prefixes) == 1  # the first five octets are common to every party
    assert len({i.fragments[-2] for i in everyone.values()}) == len(everyone)  # own octets unique
    return Month(dest, everyone, v)


# -- running the commands with their console output captured ------------------------------------


def _run(*args: str) -> Ran:
    """`opmetrics ARGS...` in this process, with everything it writes (Python's streams, and
    file descriptors 1 and 2 for anything below them), without --quiet: what a user sees."""
    ran = run_cli(*args)
    return Ran(ran.returncode, ran.stdout, ran.stderr)


@dataclass
class Run:
    month: Month
    root: Path
    results: Path
    validated: Path  # the folder validate wrote quarantine.csv into
    console: dict[str, Ran]


@pytest.fixture(scope="session")  # once per worker, however xdist interleaves modules
def computed(base: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("confidential")
    month = _leaky_month(base, root / "data")
    validated = root / "validated"
    results = root / "results"
    console = {
        "validate": _run(
            "validate", str(month.data), "--quarantine", str(validated / "quarantine.csv")
        ),
        "compute": _run(
            "compute", str(month.data), "--month", MONTH, "--out", str(results), "--anon-key", KEY
        ),
    }
    for name, ran in console.items():
        assert ran.code == 0 and "Traceback" not in ran.stderr, (name, ran.stderr)
    return Run(month, root, results, validated, console)


@pytest.fixture(scope="session")  # once per worker, however xdist interleaves modules
def rendered(computed: Run) -> Run:
    """`report` and the customer packs of every party the refused rows name, and one other."""
    reports, packs = computed.root / "reports", computed.root / "packs"
    bystander = next(u for u in computed.month.parties if u not in _victim_ids(computed))
    parties = [a for u in [*_victim_ids(computed), bystander] for a in ("--party", u)]
    review = computed.root / "review" / "review.toml"  # the month's starter review file
    computed.console["review init"] = _run(
        "review", "init", str(computed.results), "--opsg", OPSG, "--out", str(review)
    )
    computed.console["report"] = _run(
        "report", str(computed.results), "--out", str(reports), "--produced-on", PRODUCED,
        "--review", str(review),
    )  # fmt: skip
    computed.console["customer-pack"] = _run(
        "customer-pack", str(computed.results), "--out", str(packs), "--produced-on", PRODUCED,
        *parties,
    )  # fmt: skip
    for name in ("review init", "report", "customer-pack"):
        ran = computed.console[name]
        assert ran.code == 0 and "Traceback" not in ran.stderr, (name, ran.stderr)
    return computed


def _victim_ids(run: Run) -> list[str]:
    # a party whose parties row was refused has no name in the results: its pack is still made
    return [i.user_id for i in run.month.victims.values()]


# -- reading every file as text ---------------------------------------------------------------


def shared_files(root: Path) -> Iterator[Path]:
    """Every file under `root` except those in a `restricted/` folder."""
    for p in sorted(root.rglob("*")):
        if p.is_file() and "restricted" not in p.relative_to(root).parts:
            yield p


def text_of(path: Path) -> str:
    """Everything a reader of the file could see, as text (HTML and XML entities decoded)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        t = pq.read_table(path)
        meta = pq.read_metadata(path).metadata or {}
        text = json.dumps(t.to_pylist(), default=str, ensure_ascii=False)
        text += " ".join(f"{k!r}{v!r}" for k, v in meta.items())
    elif suffix == ".pdf":
        text = pdftotext(path) + "\n" + pdfinfo(path)
        text += "\n" + re.sub(r"\s+", "", text)  # an id broken over two lines
    elif suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            text = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    else:
        text = path.read_bytes().decode("utf-8", "replace")
    return text + "\n" + html.unescape(text)


def found(text: str, who: Identity) -> list[str]:
    folded = text.casefold()
    return [f for f in who.fragments if f.casefold() in folded]


def leaks(paths: list[Path], parties: list[Identity]) -> list[tuple[str, str, str]]:
    out = []
    for p in paths:
        text = text_of(p)
        out += [(str(p), who.user_id, f) for who in parties for f in found(text, who)]
    return out


# -- the tests --------------------------------------------------------------------------------


def test_the_month_refuses_rows_that_name_parties(computed: Run) -> None:
    """The scan below means something: the refused rows are there, and they do name parties."""
    m = json.loads((computed.results / "manifest.json").read_text(encoding="utf-8"))
    sr = m["inputs"]["service_requests"]["quarantined"]
    assert sr == {
        "bad_request_id": 1,
        "bad_user_id": 1,
        "duplicate_key": 1,
        "invalid_value": 1,
        "malformed_row": 1,
        "unknown_srv": 1,
    }
    assert m["inputs"]["parties"]["quarantined"] == {
        "bad_user_id": 1,
        "duplicate_key": 1,
        "malformed_row": 1,
    }
    assert m["inputs"]["alerts"]["quarantined"] == {"unknown_region": 1}
    rows = pq.read_table(computed.results / "restricted" / "quarantine_rows.parquet")
    restricted = "\n".join(json.dumps(r) for r in rows.to_pylist())
    for role, who in computed.month.victims.items():
        assert found(restricted, who), role  # kept, for the analyst, under restricted/ only


def test_results_validate_outputs_and_console_name_no_party(computed: Run) -> None:
    files = list(shared_files(computed.results)) + list(shared_files(computed.validated))
    assert {"quarantine.parquet", "quarantine.csv", "manifest.json", "run.json"} <= {
        p.name for p in files
    }
    parties = list(computed.month.parties.values())
    assert leaks(files, parties) == []
    # validate's raw rows are beside its list, under restricted/ (and do name parties)
    assert (computed.validated / "restricted" / "quarantine_rows.csv").is_file()
    text = "\n".join(r.stdout + r.stderr for r in computed.console.values())
    assert "quarantined row(s) written to" in text
    assert [(w.user_id, f) for w in parties for f in found(text, w)] == []


def test_data_files_name_no_party(computed: Run, tmp_path: Path) -> None:
    """The CSV and XLSX data files, written from the results as `report` writes them."""
    from datetime import date, datetime

    files = write_data_files(
        read_results(computed.results),
        tmp_path,
        MONTH,
        date(2021, 6, 1),
        datetime(2021, 5, 1),
        lambda n: None,
        Assumptions(read_results(computed.results).manifest, default_catalog()),
    )
    assert any(f.suffix == ".xlsx" for f in files) and any(
        f.name == "quarantine.csv" for f in files
    )
    assert leaks(files, list(computed.month.parties.values())) == []


@pytest.mark.slow  # every report, the dashboard and eight customer packs: about 30 s
def test_reports_and_customer_packs_name_no_other_party(rendered: Run) -> None:
    parties = list(rendered.month.parties.values())
    reports = list(shared_files(rendered.root / "reports"))
    reports += list(shared_files(rendered.root / "review"))
    kinds = {p.suffix for p in reports}
    assert {".pdf", ".html", ".js", ".csv", ".xlsx", ".md", ".toml"} <= kinds, kinds
    assert leaks(reports, parties) == []
    text = "\n".join(r.stdout + r.stderr for r in rendered.console.values())
    assert [(w.user_id, f) for w in parties for f in found(text, w)] == []
    labels = {
        r["party_label"]: r["user_id"]
        for r in pq.read_table(rendered.results / "restricted" / "party_labels.parquet").to_pylist()
    }
    packs = sorted(p for p in (rendered.root / "packs").iterdir() if p.is_dir())
    assert len(packs) == len(rendered.month.victims) + 1
    with_failures = 0
    for folder in packs:
        own = labels[folder.name]  # a pack's folder (and file names) carry its party's label
        files = list(shared_files(folder))
        assert {p.suffix for p in files} == {".pdf", ".xlsx", ".csv"}
        assert leaks(files, [w for w in parties if w.user_id != own]) == [], folder.name
        mine = rendered.month.parties[own]
        failures = next(p for p in files if p.suffix == ".csv")
        with failures.open(newline="", encoding="utf-8") as fh:
            rows = sum(1 for _ in csv.reader(fh)) - 1  # below the header
        if rows:  # the party had failed requests this month: they carry its own ids
            assert found(text_of(failures), mine), folder.name
            with_failures += 1
    assert with_failures > 0  # the scan saw packs that do hold their own party's identity
