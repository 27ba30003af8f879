"""Determinism, dirty rows, CSV, day partitions, clock changes, scenarios and the command line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opmetrics import validate
from opmetrics.catalog import default_catalog
from opmetrics.contract.rules import REASONS
from opmetrics.errors import ConfigError, OutputError, UsageError
from opmetrics.generator import chunks, generate_month, load_scenario, parse_scenario
from tests.cli_runner import run_cli

CAT = default_catalog()
SMALL = {"scale": {"chunk_rows": 7000}}  # several chunks even for a small month


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_arguments_same_bytes_whatever_the_workers(tmp_path: Path) -> None:
    scenario = parse_scenario(SMALL, CAT)
    a = generate_month(tmp_path / "a", "2021-04", 20_000, seed=5, scenario=scenario, workers=1)
    b = generate_month(tmp_path / "b", "2021-04", 20_000, seed=5, scenario=scenario, workers=2)
    c = generate_month(tmp_path / "c", "2021-04", 20_000, seed=6, scenario=scenario, workers=2)
    ha, hb, hc = hashes(a.out), hashes(b.out), hashes(c.out)
    assert ha == hb
    parts = [f"service_requests/part-0000{k}.parquet" for k in range(3)]
    assert [f for f in ha if f.startswith("service_requests")] == parts
    assert a.files["service_requests"] == parts and len(a.files["alerts"]) == 3
    assert len(ha) == 5 + 3 + 3 + 1  # five one-file tables, 3 chunks of the big ones, truth
    assert ha[parts[0]] != hc[parts[0]]
    assert [pq.ParquetFile(a.out / f).metadata.num_rows for f in parts] == [6666, 6667, 6667]
    assert all(pq.ParquetFile(a.out / f).num_row_groups == 1 for f in parts)
    # counters rise with the month's rows for every party, across the chunks' files
    t = pa.concat_tables(
        [pq.read_table(a.out / f, columns=["user_id", "request_id"]) for f in parts]
    )
    ids = t["request_id"].to_pylist()
    assert len(set(ids)) == len(ids) == 20_000
    last: dict[str, int] = {}
    for user, rid in zip(t["user_id"].to_pylist(), ids, strict=True):
        counter = int(rid.rsplit(":", 1)[1])
        assert counter > last.get(user, 0) and len(str(counter)) == 10
        last[user] = counter
    # the parts read as one table: clean, keys unique across the chunks' files
    summary = validate(a.out)
    assert summary.quarantined_total == 0
    assert summary.tables["service_requests"].accepted == 20_000
    # one chunk: one file per table
    d = generate_month(tmp_path / "d", "2021-04", 5_000, seed=5, scenario=scenario, workers=2)
    assert d.files["service_requests"] == ["service_requests.parquet"]


@pytest.mark.slow  # validation fetches the quarantined rows: ~30 s here
def test_dirty_csv_month_quarantines_exactly_what_truth_says(tmp_path: Path) -> None:
    s = generate_month(
        tmp_path / "dirty", "2021-10", 40_000, seed=3, fmt="csv", dirty=0.03,
        scenario=parse_scenario(SMALL, CAT), workers=2,
    )  # fmt: skip
    assert s.files["service_requests"] == ["service_requests.csv"]  # 6 chunks, one file
    truth = json.loads(s.truth.read_text())
    summary = validate(s.out)
    found = {name: dict(r.quarantined) for name, r in summary.tables.items() if r.quarantined}
    assert found == truth["dirty"]
    reasons = set().union(*(set(v) for v in found.values()))
    expected_sr = {
        "malformed_row", "invalid_value", "missing_required", "bad_request_id", "bad_user_id",
        "unknown_srv", "unknown_device_type", "device_type_mismatch", "unknown_smets",
        "unknown_region", "unknown_execution", "execution_mismatch", "bad_command_variant",
        "unknown_response_code", "timestamps_out_of_order", "implausible_timestamp",
        "bad_dsp_attempts", "duplicate_key",
    }  # fmt: skip
    assert set(found["service_requests"]) == expected_sr
    assert reasons <= set(REASONS)
    sr = summary.tables["service_requests"]
    assert sr.rows_read == 40_000 and sr.quarantined_total == round(0.03 * 40_000)
    # the accepted rows are exactly those truth.json counts per SRV
    counted = sum(v["submitted"] for v in truth["service_requests"]["by_srv"].values())
    assert counted == sr.accepted


@pytest.mark.slow  # validation fetches the quarantined rows: ~30 s here
def test_partitioned_dirty_march_month(tmp_path: Path) -> None:
    s = generate_month(
        tmp_path / "march", "2021-03", 40_000, seed=4, dirty=0.02, partition_by_day=True,
        scenario=parse_scenario(SMALL, CAT), workers=2,
    )  # fmt: skip
    truth = json.loads(s.truth.read_text())
    summary = validate(s.out)
    found = {name: dict(r.quarantined) for name, r in summary.tables.items() if r.quarantined}
    assert found == truth["dirty"]
    assert "duplicate_key" in found["service_requests"]
    days = sorted(p.name for p in (s.out / "service_requests").iterdir())
    assert days[0] == "date=2021-03-01" and days[-1] == "date=2021-03-31" and len(days) == 31
    assert (s.out / "alerts" / "date=2021-03-28").is_dir()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    wrong = con.sql(
        f"""SELECT count(*) FROM read_parquet('{s.out}/service_requests/*/*.parquet', filename = true)
            WHERE filename NOT LIKE '%date=' || strftime((received_at AT TIME ZONE 'Europe/London')::DATE, '%Y-%m-%d') || '/%'"""
    ).fetchone()[0]  # type: ignore[index]
    assert wrong == 0
    # a planned outage spans the clock change (01:00 UTC on 28 March 2021)
    spans = con.sql(
        f"""SELECT count(*) FROM read_parquet('{s.out}/outages.parquet')
            WHERE planned AND start_at < '2021-03-28 01:00:00+00' AND end_at > '2021-03-28 01:00:00+00'"""
    ).fetchone()[0]  # type: ignore[index]
    assert spans >= 1


def test_a_worker_that_cannot_write_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(chunks, "write_part", full)  # the forked workers inherit it
    with pytest.raises(OutputError, match="No space left on device"):
        generate_month(
            tmp_path / "m", "2021-04", 20_000, seed=1, scenario=parse_scenario(SMALL, CAT),
            workers=2,
        )  # fmt: skip
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_scenario_file_is_merged_and_checked(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('[anomalies.b]\nsuccess_percent = 55.0\n[srv."2.2"]\nsuccess_percent = 85.0\n')
    s = load_scenario(f, CAT)
    assert s.anomalies.b.success_percent == 55.0 and s.srv["2.2"].success_percent == 85.0
    assert s.srv["4.8.1"].share == load_scenario(None, CAT).srv["4.8.1"].share
    cases = {
        '[srv."4.10"]\ndevice_types = { CHF = 1.0 }\n': 'srv."4.10".device_types',
        '[srv."2.2"]\nfuture_dated_percent = 10.0\n': 'srv."2.2".future_dated_percent',
        '[srv."9.9"]\nshare = 0.1\nsuccess_percent = 90.0\nprofile = "flat"\nsenders = { supplier = 1.0 }\ndevice_types = { ESME = 1.0 }\n': 'srv."9.9"',
        "[outcomes]\nsuccess_codes = { E21 = 1.0 }\n": "outcomes.success_codes",
        "[scale]\nchunk_rows = 5\n": "scale.chunk_rows",
        '[anomalies.c]\nmeter = "Nobody N1"\n': "anomalies.c.meter",
        "[outcomes]\nfailure_kinds = { gremlins = 1.0 }\n": "outcomes.failure_kinds",
    }
    for text, key in cases.items():
        f.write_text(text)
        with pytest.raises(ConfigError) as err:
            load_scenario(f, CAT)
        assert err.value.key == key, (text, err.value)
    f.write_text("not toml [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(f, CAT)


def test_bad_arguments(tmp_path: Path) -> None:
    for kwargs in ({"requests": 0}, {"dirty": 0.9}, {"fmt": "csv", "partition_by_day": True}):
        with pytest.raises(UsageError):
            generate_month(tmp_path / "x", "2021-04", **{"requests": 1000, **kwargs})  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        generate_month(tmp_path / "x", "2021-13", 1000)
    assert not (tmp_path / "x").exists()


def test_command_line(tmp_path: Path) -> None:
    run = run_cli

    ok = run(
        "generate",
        "--month",
        "2022-07",
        "--requests",
        "5000",
        "--seed",
        "2",
        "--out",
        str(tmp_path / "m"),
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "m" / "truth.json").is_file() and "5,000" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[srv."2.2"]\nshare = "lots"\n')
    res = run(
        "generate", "--out", str(tmp_path / "n"), "--requests", "5000", "--scenario", str(bad)
    )
    assert res.returncode == 3 and "Traceback" not in res.stderr
    assert 'srv."2.2".share' in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = run("generate", "--out", str(tmp_path / "n"), "--requests", "0")
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_truth_uses_the_trt_rule_of_each_request(tmp_path: Path) -> None:
    """With TRT rules specific to an SRV and a device type, truth.json's within-TRT counts use
    the rule of each request (execution, command variant, SRV, device type), as the measures
    do: recounted here from the rows with the same rules written out by hand."""
    from importlib import resources

    from opmetrics.catalog import load_catalog

    text = (resources.files("opmetrics.catalog") / "default.toml").read_text(encoding="utf-8")
    text += """
[[trt]]
id = "cos_gpf"
execution = "on_demand"
srv = "6.23"
device_type = "GPF"
seconds = 2
clock_start = "received"
source = "assumed"

[[trt]]
id = "gpf"
execution = "on_demand"
device_type = "GPF"
seconds = 2.5
clock_start = "received"
source = "assumed"
"""
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    catalog = load_catalog(path)
    out = tmp_path / "m"
    generate_month(out, "2021-04", 40_000, seed=5, catalog=catalog)
    by_srv = json.loads((out / "truth.json").read_text())["service_requests"]["by_srv"]
    con = duckdb.connect()
    user = next(r.codes for r in CAT.response_code if r.id == "user_not_authorised")
    got = dict(
        con.sql(
            f"""SELECT srv, count(*) FILTER (WHERE ok AND rtt <= trt)
            FROM (SELECT srv,
                    response_code NOT IN {tuple(user)}
                      AND NOT regexp_full_match(response_code, 'E[0-9]{{6}}')
                      AND (response_code = 'I0' OR regexp_full_match(response_code, 'W[0-9]+'))
                      AND coalesce(dsp_attempts, 0) <= 3 AS ok,
                    epoch(responded_at - greatest(received_at, coalesce(execute_at, received_at))) AS rtt,
                    CASE WHEN execution = 'on_demand' AND command_variant = 4 THEN 3
                         WHEN execution = 'on_demand' AND srv = '6.23' AND device_type = 'GPF' THEN 2
                         WHEN execution = 'on_demand' AND device_type = 'GPF' THEN 2.5
                         ELSE 30 END AS trt
                  FROM read_parquet('{out / "service_requests.parquet"}'))
            GROUP BY srv"""
        ).fetchall()
    )
    assert {srv: t["within_trt"] for srv, t in by_srv.items()} == got
    # the specific rules bite: some GPF reads and CoS commands are within 30 s but not 2-2.5 s
    n_gpf = con.sql(
        f"""SELECT count(*) FROM read_parquet('{out / "service_requests.parquet"}')
            WHERE device_type = 'GPF' AND execution = 'on_demand' AND response_code = 'I0'
              AND epoch(responded_at - received_at) BETWEEN 2.5 AND 30"""
    ).fetchone()[0]  # type: ignore[index]
    assert n_gpf > 50
