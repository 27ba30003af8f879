"""Party labels never change for a party from month to month under one key (design §4).

A pair of user_ids whose 6-digit labels collide is found by brute force under the test's key
(a birthday search over 24 bits: a few thousand HMACs). The golden case
`tests/golden/party_label_collision` (see its CASE.md) runs two months through compute with
the earlier month's labels; here the same ids are also computed without them, a third month
carries the registry forward, and labels made with another key are refused.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import itertools
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import opmetrics
from opmetrics.errors import ConfigError, ExitCode
from opmetrics.measures.anonymise import AnonKey, assign_labels, digest, is_label_of

# Its expensive fixtures are built once: every test of the group runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("label-months")

KEY = AnonKey(b"labels-test-key", "option")
GOLDEN = Path(__file__).parents[1] / "golden" / "party_label_collision"
A = "90-B3-D5-1F-30-00-0E-42"  # March and April; digest under `golden` 3ECFA36E...
B = "90-B3-D5-1F-30-00-08-B2"  # April only; digest 3ECFA354...


def _eui(n: int) -> str:
    h = f"{n:016X}"
    return "-".join(h[i : i + 2] for i in range(0, 16, 2))


def _hmac_hex(key: bytes, user_id: str) -> str:
    """The digest computed here, independently of the code under test."""
    return hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest().upper()


@pytest.fixture(scope="module")
def pair() -> tuple[str, str]:
    """(earlier, newcomer): two EUI-64s sharing the first 6 hex digits of their digest under
    KEY, the newcomer's digest the smaller (so without memory it would take the short label)."""
    seen: dict[str, str] = {}
    for n in range(0x90B3D51F30000001, 0x90B3D51F30000001 + 200_000):
        u = _eui(n)
        d = _hmac_hex(KEY.key, u)
        if d[:6] in seen:
            a, b = seen[d[:6]], u
            return (a, b) if _hmac_hex(KEY.key, a) > d else (b, a)
        seen[d[:6]] = u
    raise AssertionError("no collision in 200,000 ids")


def test_a_remembered_party_keeps_its_label_and_the_newcomer_is_lengthened(
    pair: tuple[str, str],
) -> None:
    earlier, newcomer = pair
    other = _eui(0x90B3D51F30FFFFFF)  # collides with neither
    d_earlier, d_new = _hmac_hex(KEY.key, earlier), _hmac_hex(KEY.key, newcomer)
    assert d_earlier[:6] == d_new[:6] and d_new < d_earlier
    month1 = assign_labels([earlier, other], KEY)
    assert month1.labels == {earlier: "P-" + d_earlier[:6], other: "P-" + digest(other, KEY)[:6]}
    assert month1.lengthened == ()
    month2 = assign_labels([earlier, newcomer, other], KEY, known=month1.labels)
    assert month2.labels[earlier] == "P-" + d_earlier[:6]  # unchanged
    assert month2.labels[newcomer] == "P-" + d_new[:8]  # the first free prefix of its digest
    assert month2.labels[other] == month1.labels[other]
    assert month2.lengthened == ("P-" + d_new[:8],)
    assert month2.collisions() == [("P-" + d_earlier[:6], "P-" + d_new[:8])]
    # a later month where only the newcomer is active: everyone keeps their label
    month3 = assign_labels([newcomer], KEY, known=month2.labels)
    assert month3.labels == month2.labels and month3.lengthened == ()


def test_without_memory_the_smallest_digest_keeps_the_short_label_whatever_the_order(
    pair: tuple[str, str],
) -> None:
    earlier, newcomer = pair
    other = _eui(0x90B3D51F30FFFFFF)
    d_earlier, d_new = _hmac_hex(KEY.key, earlier), _hmac_hex(KEY.key, newcomer)
    results = {
        tuple(sorted(assign_labels(order, KEY).labels.items()))
        for order in itertools.permutations([earlier, newcomer, other])
    }
    assert len(results) == 1
    labels = dict(results.pop())
    assert labels[newcomer] == "P-" + d_new[:6]
    assert labels[earlier] == "P-" + d_earlier[:8]
    assert labels[other] == "P-" + _hmac_hex(KEY.key, other)[:6]  # not a party of the collision


def test_labels_of_another_key_are_recognised() -> None:
    label = "P-" + _hmac_hex(KEY.key, A)[:8]
    assert is_label_of(label, A, KEY)
    assert not is_label_of(label, A, AnonKey(b"another key", "option"))
    assert not is_label_of(label[:-1], A, KEY)  # 7 digits: never given
    assert not is_label_of("P-" + _hmac_hex(KEY.key, B)[:6], A, KEY)


# -- through compute ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> dict[str, opmetrics.ComputeSummary]:
    """The golden case: March; April with March's labels; April without them."""
    root = tmp_path_factory.mktemp("labels")
    with opmetrics.Context() as ctx:
        march = ctx.compute(GOLDEN, "2021-03", root / "march", anon_key="golden")
        april = ctx.compute(GOLDEN, "2021-04", root / "april", anon_key="golden", labels=march.out)
        alone = ctx.compute(GOLDEN, "2021-04", root / "alone", anon_key="golden")
    return {"march": march, "april": april, "alone": alone}


def _labels(summary: opmetrics.ComputeSummary) -> dict[str, str]:
    path = summary.out / "restricted" / "party_labels.parquet"
    return {r["user_id"]: r["party_label"] for r in pq.read_table(path).to_pylist()}


def _active(summary: opmetrics.ComputeSummary) -> set[str]:
    return set(summary.tables["srv_party"]["party_label"].to_pylist())


def test_april_with_marchs_labels(months: dict[str, opmetrics.ComputeSummary]) -> None:
    assert _labels(months["march"]) == {A: "P-3ECFA3"}
    assert _labels(months["april"]) == {A: "P-3ECFA3", B: "P-3ECFA354"}
    anon = months["april"].manifest.to_json()["anonymisation"]
    assert anon["labels_from"]["parties"] == 1 and anon["parties_remembered"] == 1
    assert anon["lengthened"] == ["P-3ECFA354"]
    assert (
        months["april"].manifest.to_json()["warnings"] == []
    )  # given the earlier labels: no warning
    assert "--labels" in months["april"].manifest.to_json()["reproduce"]["command"]


def test_april_without_marchs_labels_warns_naming_labels_only(
    months: dict[str, opmetrics.ComputeSummary],
) -> None:
    alone = months["alone"]
    assert _labels(alone) == {A: "P-3ECFA36E", B: "P-3ECFA3"}  # A's label moved: see CASE.md
    assert _active(alone) == {"P-3ECFA36E", "P-3ECFA3"}
    [warning] = alone.manifest.to_json()["warnings"]
    assert "P-3ECFA3 and P-3ECFA36E" in warning and "--labels" in warning
    assert A not in warning and B not in warning and "0E-42" not in warning


def test_the_label_file_carries_every_remembered_party_forward(
    months: dict[str, opmetrics.ComputeSummary], tmp_path: Path
) -> None:
    """May: only B sends requests. With April's labels both keep theirs, and the label file
    still holds A (not active) so June can be given May's labels."""
    data = tmp_path / "data"
    data.mkdir()
    lines = (GOLDEN / "service_requests.csv").read_text(encoding="utf-8").splitlines()
    may = [lines[0]] + [ln.replace("2021-04-", "2021-05-") for ln in lines[1:] if B + ":" in ln]
    (data / "service_requests.csv").write_text("\n".join(may) + "\n", encoding="utf-8")
    summary = opmetrics.compute(
        data, "2021-05", tmp_path / "may", anon_key="golden", labels=months["april"].out
    )
    assert _active(summary) == {"P-3ECFA354"}
    assert _labels(summary) == {A: "P-3ECFA3", B: "P-3ECFA354"}
    assert summary.manifest.to_json()["anonymisation"]["parties_remembered"] == 2
    with (summary.out / "restricted" / "party_labels.csv").open(encoding="utf-8") as fh:
        assert {r["party_label"] for r in csv.DictReader(fh)} == {"P-3ECFA3", "P-3ECFA354"}


def test_labels_made_with_another_key_are_refused(
    months: dict[str, opmetrics.ComputeSummary], tmp_path: Path
) -> None:
    march = months["march"].out
    with pytest.raises(ConfigError) as err:
        opmetrics.compute(GOLDEN, "2021-04", tmp_path / "x", anon_key="other", labels=march)
    assert err.value.exit_code == ExitCode.CATALOG == 3
    theirs = json.loads((march / "manifest.json").read_text())["anonymisation"]["key_fingerprint"]
    assert "another anonymisation key" in str(err.value) and theirs in str(err.value)
    assert not (tmp_path / "x").exists()
    # a bare copy of the label file (no manifest to compare): every label is checked instead
    bare = tmp_path / "party_labels.csv"
    shutil.copy(march / "restricted" / "party_labels.csv", bare)
    with pytest.raises(ConfigError, match="label P-3ECFA3 is not one this run's key") as err:
        opmetrics.compute(GOLDEN, "2021-04", tmp_path / "y", anon_key="other", labels=bare)
    assert A not in str(err.value)
    ok = opmetrics.compute(GOLDEN, "2021-04", tmp_path / "z", anon_key="golden", labels=bare)
    assert _labels(ok) == {A: "P-3ECFA3", B: "P-3ECFA354"}


def test_cli_labels_option(
    months: dict[str, opmetrics.ComputeSummary],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from opmetrics.cli import main

    def run(*args: str) -> int:
        try:
            main(["--quiet", *args])
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    base = ["compute", str(GOLDEN), "--month", "2021-04", "--labels", str(months["march"].out)]
    assert run(*base, "--out", str(tmp_path / "ok"), "--anon-key", "golden") == 0
    assert json.loads((tmp_path / "ok" / "manifest.json").read_text())["anonymisation"][
        "lengthened"
    ] == ["P-3ECFA354"]
    capfd.readouterr()
    assert run(*base, "--out", str(tmp_path / "bad"), "--anon-key", "other") == 3
    err = capfd.readouterr().err
    assert [ln for ln in err.splitlines() if ln.startswith("error:")] and "Traceback" not in err
    assert run(*base[:-1], str(tmp_path / "nowhere"), "--out", str(tmp_path / "b")) == 3


def test_an_unreadable_label_file_is_a_configuration_error_naming_no_party(tmp_path: Path) -> None:
    from opmetrics.results.labels import load_registry

    bad = tmp_path / "party_labels.csv"
    bad.write_text(f'user_id,name,party_label\n"{A},Alpha Energy\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_registry(bad, AnonKey(b"golden", "option"))
    assert err.value.exit_code == 3
    assert A not in str(err.value) and "Alpha" not in str(err.value)
    twice = tmp_path / "twice.csv"
    label = "P-" + _hmac_hex(b"golden", A)[:6]
    twice.write_text(f"user_id,name,party_label\n{A},x,{label}\n{A},y,{label}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 3 repeats a party or the label P-3ECFA3") as err:
        load_registry(twice, AnonKey(b"golden", "option"))
    assert A not in str(err.value)
