"""The review file: validation names file, line and key; the writer's text reads back equal;
actions not closed are carried forward with their history."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from opmetrics.errors import ExitCode, ReviewFileError
from opmetrics.reports.review import carry_forward
from opmetrics.review.model import Action, AddedItem, Review, line_of, load_review
from opmetrics.review.write import Entry, Guide, review_text, string

GOOD = """\
schema_version = 1
month = "2021-04"
status = "draft"
opsg_meeting = 2021-06-16

[commentary.metrics]
CPM1 = "Below target again."

[commentary.findings]
"F-0a1b2c3d" = ""

[adhoc]
remove = ["cpm:CPM6"]

[[adhoc.add]]
title = "Firmware roll-out"
text = "The OPSG asked to see the roll-out plan."

[[actions]]
id = "OPSG-2021-06-01"
raised = 2021-06-16
owner = "DCC"
due = 2021-07-21
status = "open"
request = "Explain the CPM1 shortfall."
response = ""

[[actions]]
id = "OPSG-2021-06-02"
raised = 2021-06-16
owner = "P-4763F0"
due = 2021-07-21
status = "open"
request = "Share the adaptor set-up."
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "review.toml"
    p.write_text(text, encoding="utf-8")
    return p


def _error(tmp_path: Path, text: str) -> ReviewFileError:
    with pytest.raises(ReviewFileError) as info:
        load_review(_write(tmp_path, text))
    assert info.value.exit_code == ExitCode.CATALOG
    assert "\n" not in str(info.value)
    return info.value


def test_a_good_file_reads(tmp_path: Path) -> None:
    r = load_review(_write(tmp_path, GOOD))
    assert r.month == "2021-04" and not r.final
    assert r.opsg_meeting == date(2021, 6, 16)
    assert r.commentary.of_metric("CPM1") == "Below target again."
    assert r.adhoc.remove == ("cpm:CPM6",)
    assert r.adhoc.add == (
        AddedItem(title="Firmware roll-out", text="The OPSG asked to see the roll-out plan."),
    )
    assert [a.id for a in r.actions] == ["OPSG-2021-06-01", "OPSG-2021-06-02"]
    assert r.actions[1].response == "" and r.actions[1].status == "open"


def test_an_owner_that_is_not_a_role_or_label_names_file_line_and_key(tmp_path: Path) -> None:
    # A party's EUI-64 or name is refused: the second action's owner, on line 31.
    text = GOOD.replace('owner = "P-4763F0"', 'owner = "00-11-22-33-44-55-66-77"')
    err = _error(tmp_path, text)
    lines = text.splitlines()
    assert lines[30] == 'owner = "00-11-22-33-44-55-66-77"'
    assert (err.line, err.key) == (31, "actions[2].owner")
    assert str(err).startswith(f"{tmp_path / 'review.toml'}:31: actions[2].owner: ")
    assert "never write a party's id or name" in str(err)
    assert "00-11-22-33" not in str(err)  # the refused value may name a party: not echoed


def test_a_bad_status_names_its_line(tmp_path: Path) -> None:
    err = _error(tmp_path, GOOD.replace('status = "draft"', 'status = "agreed"'))
    assert (err.line, err.key) == (3, "status")


def test_a_missing_key_points_at_its_table(tmp_path: Path) -> None:
    text = GOOD.replace('request = "Explain the CPM1 shortfall."\n', "")
    err = _error(tmp_path, text)
    assert err.key == "actions[1].request" and "missing" in err.message
    assert text.splitlines()[err.line - 1] == "[[actions]]"  # type: ignore[operator]
    assert err.line == 19


def test_an_unknown_key_is_named(tmp_path: Path) -> None:
    err = _error(tmp_path, GOOD.replace('month = "2021-04"', 'month = "2021-04"\nreviewer = "x"'))
    assert (err.line, err.key) == (3, "reviewer")


def test_answered_needs_a_response_and_due_follows_raised(tmp_path: Path) -> None:
    err = _error(
        tmp_path,
        GOOD.replace(
            'status = "open"\nrequest = "Explain', 'status = "answered"\nrequest = "Explain'
        ),
    )
    assert err.key == "actions[1]" and "response" in err.message and err.line == 19
    err = _error(tmp_path, GOOD.replace("due = 2021-07-21", "due = 2021-05-19", 1))
    assert err.key == "actions[1]" and "before the meeting" in err.message


def test_a_duplicate_action_id_points_at_the_second(tmp_path: Path) -> None:
    err = _error(tmp_path, GOOD.replace('id = "OPSG-2021-06-02"', 'id = "OPSG-2021-06-01"'))
    assert (err.line, err.key) == (29, "actions[2].id") and "twice" in err.message


def test_a_meeting_before_the_month_ends_is_refused(tmp_path: Path) -> None:
    err = _error(tmp_path, GOOD.replace("opsg_meeting = 2021-06-16", "opsg_meeting = 2021-04-20"))
    assert (err.line, err.key) == (4, "opsg_meeting")


def test_toml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    err = _error(tmp_path, GOOD.replace('CPM1 = "Below target again."', "CPM1 = Below target"))
    assert err.line == 7 and "not valid TOML" in err.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReviewFileError, match="no such file"):
        load_review(tmp_path / "none.toml")


def test_line_of_quoted_and_dotted_keys() -> None:
    text = '[commentary.findings]\n"F-1" = ""\n[adhoc]\nremove = []\n'
    assert line_of(text, ("commentary", "findings", "F-1")) == 2
    assert line_of(text, ("adhoc", "remove")) == 4
    assert line_of(text, ("commentary", "metrics", "CPM1")) is None


def _action(ident: str, status: str, response: str = "") -> Action:
    return Action(id=ident, raised=date(2021, 6, 16), owner="DCC", due=date(2021, 7, 21),
                  status=status, request=f"Request {ident}", response=response)  # type: ignore[arg-type]  # fmt: skip


def test_carry_forward_keeps_what_is_not_closed_with_its_history() -> None:
    prev = Review(
        schema_version=1, month="2021-05", opsg_meeting=date(2021, 7, 21),
        actions=(_action("A1", "open"), _action("A2", "answered", "Done."), _action("A3", "closed", "Done.")),
    )  # fmt: skip
    carried = carry_forward(prev)
    assert [a.id for a in carried] == ["A1", "A2"]
    assert carried[0].history == ("May 2021 review (OPSG 21 July 2021): open",)
    assert carried[1].history == ("May 2021 review (OPSG 21 July 2021): answered; response: Done.",)
    assert carried[1].status == "answered" and carried[1].response == "Done."
    again = carry_forward(prev.model_copy(update={"month": "2021-06", "actions": carried}))
    assert len(again[0].history) == 2


def test_written_text_reads_back_equal() -> None:
    review = Review(
        schema_version=1,
        month="2021-04",
        status="final",
        opsg_meeting=date(2021, 6, 16),
        commentary={
            "metrics": {"CPM1": 'Two lines:\nthe "first" and a back\\slash'},
            "findings": {"F-1": "ok"},
        },  # type: ignore[arg-type]
        adhoc={"remove": ["cpm:CPM6"], "add": [{"title": "T | x", "text": "Tab\there"}]},  # type: ignore[arg-type]
        actions=(_action("A1", "answered", "Yes."),),
    )
    guide = Guide("April 2021", date(2021, 6, 9), (Entry("CPM1", "CPM1", "98.00 %, below target"),),
                  (Entry("F-1", "Finding one", "text"),), (Entry("cpm:CPM6", "CPM6 below its target"),))  # fmt: skip
    text = review_text(review, guide)
    assert Review.model_validate(tomllib.loads(text)) == review
    assert "# CPM1: 98.00 %, below target\nCPM1 = " in text
    assert "#   cpm:CPM6  —  CPM6 below its target" in text


def test_string_escapes() -> None:
    for s in ["plain", 'a "quote"', "back\\slash", "two\nlines", 'end quote"', "ctl\x01"]:
        assert tomllib.loads(f"k = {string(s)}")["k"] == s


def test_the_documented_example_is_a_valid_review_file() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "review.md").read_text(encoding="utf-8")
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    r = Review.model_validate(tomllib.loads(example))
    assert r.final and len(r.actions) == 2 and r.adhoc.add[0].text.startswith("The OPSG asked")
    assert r.commentary.of_finding("F-1A2B3C4D")
