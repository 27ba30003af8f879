"""manifest.json is a typed, versioned `Manifest`, written and read only through results/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import opmetrics
from opmetrics.errors import OutputError
from opmetrics.results.io import read_results, write_manifest
from opmetrics.results.manifest import SCHEMA_VERSION, InputRecord, Manifest
from tests.cli_runner import run_cli
from tests.reports.fake_results import write_fake_results

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def computed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("manifest") / "results"
    opmetrics.compute(GOLDEN / "sr_no_response", "2021-04", out, anon_key="k")
    return out


def test_compute_writes_a_version_3_manifest_read_back_as_written(
    computed: Path, tmp_path: Path
) -> None:
    text = (computed / "manifest.json").read_text(encoding="utf-8")
    m = read_results(computed).manifest
    assert isinstance(m, Manifest) and m.schema_version == SCHEMA_VERSION == 3
    # version 3: the failed-request extract is a folder by party label, not one file
    assert (computed / "restricted" / "party_failures").is_dir()
    assert not (computed / "restricted" / "party_failures.parquet").exists()
    assert m.month == "2021-04" and m.month_start_utc == "2021-03-31T23:00:00Z"
    sr = m.inputs["service_requests"]
    assert (
        isinstance(sr, InputRecord)
        and sr.present
        and sr.rows_read == sr.accepted + sum(sr.quarantined.values())
    )
    assert m.inputs["outages"].model_dump(exclude_unset=True) == {"present": False}
    assert m.tables["cpm"].rows > 0 and m.reproduce is not None
    # written again from the model: the same bytes (fields in order, unset ones left out)
    write_manifest(tmp_path, m)
    assert (tmp_path / "manifest.json").read_text(encoding="utf-8") == text
    raw = json.loads(text)
    assert list(raw)[:3] == ["opmetrics_version", "schema_version", "month"]
    assert raw["inputs"]["outages"] == {"present": False}


def test_a_version_1_folder_is_read(tmp_path: Path) -> None:
    old = write_fake_results(tmp_path / "v1", n_parties=3, scale=0.02, schema_version=1)
    assert "schema_version" not in json.loads((old / "manifest.json").read_text())
    m = read_results(old).manifest
    assert m.schema_version == 1 and m.assumed_values is None and m.month == "2021-04"
    assert m.not_reportable() == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": 4}, "newer opmetrics (schema_version 4; this one reads up to 3)"),
        ({"month": 202104}, "not a results manifest (month:"),
        ({"tables": ["cpm"]}, "not a results manifest (tables:"),
    ],
)
def test_a_manifest_it_cannot_read_is_refused(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    folder = write_fake_results(tmp_path / "r", n_parties=3, scale=0.02)
    m = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**m, **change}), encoding="utf-8")
    with pytest.raises(OutputError, match="manifest") as err:
        read_results(folder)
    assert message in str(err.value)
    ran = run_cli("report", str(folder), "--out", str(tmp_path / "out"))
    assert ran.returncode == 5 and message in ran.stderr and "Traceback" not in ran.stderr
