"""A generated month shows each property of issue 3, measured on its rows with DuckDB.

Rates here are recomputed from the written files with the design's counting rules (not read
from truth.json), then compared with what the scenario asked and with truth.json.
"""

from __future__ import annotations

import json
import re
from typing import Any

import duckdb
import pytest

from opmetrics import validate
from opmetrics.catalog import default_catalog
from opmetrics.contract.schema import TABLES
from opmetrics.generator import GenerationSummary

# Its expensive fixtures are built once: every test of the group runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("generated-month")

CAT = default_catalog()
USER_CODES = next(r.codes for r in CAT.response_code if r.id == "user_not_authorised")
CLASS = f"""
    CASE
      WHEN response_code IN {tuple(USER_CODES)} OR regexp_full_match(response_code, 'E[0-9]{{6}}')
        THEN 'excluded'
      WHEN (response_code = 'I0' OR regexp_full_match(response_code, 'W[0-9]+'))
           AND (dsp_attempts IS NULL OR dsp_attempts <= 3) THEN 'success'
      ELSE 'failure'
    END
"""
LOCAL = "AT TIME ZONE 'Europe/London'"


def rate(db: duckdb.DuckDBPyConnection, where: str) -> tuple[float, int]:
    """Success percent over non-excluded requests matching `where`, and how many there were."""
    s, n = db.sql(
        f"""SELECT count(*) FILTER (WHERE cls = 'success'), count(*) FILTER (WHERE cls <> 'excluded')
            FROM (SELECT *, {CLASS} AS cls FROM service_requests) WHERE {where}"""
    ).fetchone()  # type: ignore[misc]
    return 100.0 * s / n, n


def truth(month: GenerationSummary) -> dict[str, Any]:
    return json.loads(month.truth.read_text())


def anomaly(month: GenerationSummary, key: str) -> dict[str, Any]:
    return next(a for a in truth(month)["anomalies"] if a["id"] == key)


def test_clean_month_validates_with_zero_quarantine(month: GenerationSummary) -> None:
    summary = validate(month.out)
    assert summary.quarantined_total == 0, {t: r.quarantined for t, r in summary.tables.items()}
    assert summary.tables["service_requests"].accepted == 100_000
    assert set(summary.tables) == set(TABLES)
    for name, report in summary.tables.items():
        assert report.rows_read == month.rows[name] > 0, name


def test_ids_and_targets(db: duckdb.DuckDBPyConnection) -> None:
    n, distinct = db.sql(
        "SELECT count(*), count(DISTINCT request_id) FROM service_requests"
    ).fetchone()  # type: ignore[misc]
    assert n == distinct == 100_000
    eui = r"[0-9A-F]{2}(-[0-9A-F]{2}){7}"
    bad = db.sql(
        f"""SELECT count(*) FROM service_requests
            WHERE NOT regexp_full_match(request_id, '{eui}:{eui}:[0-9]+')
               OR split_part(request_id, ':', 1) <> user_id
               OR split_part(request_id, ':', 2) <> target_id"""
    ).fetchone()[0]  # type: ignore[index]
    assert bad == 0
    # every device request targets a device of the inventory, of the type it says
    orphans = db.sql(
        """SELECT count(*) FROM service_requests s LEFT JOIN devices d ON s.target_id = d.device_id
           WHERE s.device_type <> 'NONE' AND (d.device_id IS NULL OR d.device_type <> s.device_type
                 OR d.region <> s.region OR d.smets <> s.smets)"""
    ).fetchone()[0]  # type: ignore[index]
    assert orphans == 0
    dcc = db.sql(
        "SELECT DISTINCT target_id FROM service_requests WHERE device_type = 'NONE'"
    ).fetchall()
    assert dcc == [("00-DB-12-34-56-78-90-A0",)]
    # party counters rise with time
    backwards = db.sql(
        """SELECT count(*) FROM (
             SELECT CAST(split_part(request_id, ':', 3) AS BIGINT) AS c,
                    lag(CAST(split_part(request_id, ':', 3) AS BIGINT))
                      OVER (PARTITION BY user_id ORDER BY received_at, request_id) AS prev
             FROM service_requests) WHERE c <= prev"""
    ).fetchone()[0]  # type: ignore[index]
    assert backwards == 0


def test_requests_fit_the_catalog(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.sql(
        "SELECT srv, device_type, execution, command_variant, count(*) FROM service_requests GROUP BY ALL"
    ).fetchall()
    for srv, dt, execution, cv, _ in rows:
        s = CAT.srvs[srv]
        assert dt in s.device_types
        assert cv in s.command_variants
        if s.non_device:
            assert execution == "non_device"
        else:
            assert execution in (["on_demand", "future_dated"] if s.future_dated else ["on_demand"])
        if cv == 4:
            assert execution == "on_demand"
    transform = db.sql(
        """SELECT count(*) FILTER (WHERE command_variant = 4) * 100.0 / count(*),
                  count(*) FILTER (WHERE command_variant = 4 AND delivered_at IS NOT NULL)
           FROM service_requests WHERE srv IN ('1.1.1', '6.8', '6.15.1', '8.1.1', '11.3')"""
    ).fetchone()
    assert 1 < transform[0] < 10 and transform[1] == 0  # type: ignore[index]


def test_market_is_skewed(db: duckdb.DuckDBPyConnection) -> None:
    shares = [
        r[0]
        for r in db.sql(
            "SELECT count(*) * 1.0 / sum(count(*)) OVER () AS s FROM service_requests GROUP BY user_id ORDER BY s DESC"
        ).fetchall()
    ]
    assert 30 <= len(shares) <= 40
    assert sum(shares[:5]) > 0.5  # a few large suppliers send most requests
    assert db.sql("SELECT count(DISTINCT adaptor) FROM parties").fetchone()[0] >= 3  # type: ignore[index]
    roles = dict(db.sql("SELECT role, count(*) FROM parties GROUP BY role").fetchall())
    assert roles["IS"] >= 20 and roles["ED"] >= 3 and roles["GT"] >= 2 and roles["OU"] >= 2
    mix = dict(
        db.sql(
            "SELECT srv, count(*) * 100.0 / sum(count(*)) OVER () FROM service_requests GROUP BY srv"
        ).fetchall()
    )
    reads = sum(mix[s] for s in ("4.6.1", "4.8.1", "4.10", "4.17"))
    assert reads > 45 and mix["2.2"] > 15  # meter reads and top-ups dominate


def test_inventory(db: duckdb.DuckDBPyConnection) -> None:
    types = dict(db.sql("SELECT device_type, count(*) FROM devices GROUP BY ALL").fetchall())
    assert set(types) == {"CHF", "ESME", "GSME", "GPF", "PPMID"}
    assert types["CHF"] == types["ESME"]  # every premises: one hub, one electricity meter
    s1 = db.sql("SELECT DISTINCT region FROM devices WHERE smets = 'SMETS1' ORDER BY 1").fetchall()
    assert s1 == [("Central",), ("North",), ("South",)]  # SMETS1 devices keep their hub's region
    hubs = db.sql(
        "SELECT count(*) FROM devices WHERE device_type = 'CHF' AND comms_hub_id <> device_id"
    ).fetchone()[0]  # type: ignore[index]
    assert hubs == 0
    dangling = db.sql(
        "SELECT count(*) FROM devices d LEFT JOIN devices h ON d.comms_hub_id = h.device_id WHERE h.device_type IS DISTINCT FROM 'CHF'"
    ).fetchone()[0]  # type: ignore[index]
    assert dangling == 0
    assert (
        db.sql("SELECT count(DISTINCT model) FROM devices WHERE device_type = 'CHF'").fetchone()[0]
        >= 4
    )  # type: ignore[index]


def test_truth_counts_match_the_rows(
    db: duckdb.DuckDBPyConnection, month: GenerationSummary
) -> None:
    got = {
        srv: (s, f, e)
        for srv, s, f, e in db.sql(
            f"""SELECT srv, count(*) FILTER (WHERE cls = 'success'), count(*) FILTER (WHERE cls = 'failure'),
                       count(*) FILTER (WHERE cls = 'excluded')
                FROM (SELECT srv, {CLASS} AS cls FROM service_requests) GROUP BY srv"""
        ).fetchall()
    }
    by_srv = truth(month)["service_requests"]["by_srv"]
    assert set(got) == set(by_srv)
    for srv, (s, f, e) in got.items():
        t = by_srv[srv]
        assert (t["success"], t["failure"], t["excluded"]) == (s, f, e), srv
    # within TRT: successful requests whose RTT (from execution when later) <= the TRT
    trt = db.sql(
        f"""SELECT srv, count(*) FROM (SELECT *, {CLASS} AS cls FROM service_requests)
            WHERE cls = 'success' AND epoch(responded_at - greatest(received_at, coalesce(execute_at, received_at)))
                  <= CASE WHEN command_variant = 4 AND execution = 'on_demand' THEN 3 ELSE 30 END
            GROUP BY srv"""
    ).fetchall()
    for srv, n in trt:
        assert by_srv[srv]["within_trt"] == n, srv


def test_outcome_mix(db: duckdb.DuckDBPyConnection) -> None:
    counts = db.sql(
        """SELECT count(*) FILTER (WHERE responded_at IS NULL AND response_code IS NULL),
                  count(*) FILTER (WHERE dsp_attempts >= 4),
                  count(*) FILTER (WHERE dsp_attempts >= 4 AND response_code = 'I0'),
                  count(*) FILTER (WHERE dsp_attempts IN (2, 3) AND response_code = 'I0'),
                  count(*) FILTER (WHERE response_code IN ('E20', 'E21', 'E30')),
                  count(*) FILTER (WHERE regexp_full_match(response_code, 'E[0-9]{6}')),
                  count(*) FILTER (WHERE regexp_full_match(response_code, 'W[0-9]+')),
                  count(*) FILTER (WHERE response_code = 'I99')
           FROM service_requests"""
    ).fetchone()
    assert all(c > 0 for c in counts), counts  # type: ignore[union-attr]
    user = db.sql(
        f"SELECT count(*) FROM service_requests WHERE response_code IN {tuple(USER_CODES)}"
    ).fetchone()[0]  # type: ignore[index]
    assert user > 0


def test_party_retries_are_new_requests_later(db: duckdb.DuckDBPyConnection) -> None:
    retried = db.sql(
        f"""WITH r AS (SELECT *, {CLASS} AS cls FROM service_requests)
            SELECT count(*) FROM r a JOIN r b
              ON a.user_id = b.user_id AND a.target_id = b.target_id AND a.srv = b.srv
             AND b.received_at > a.received_at
             AND b.received_at < a.received_at + INTERVAL 1 DAY
            WHERE a.cls = 'failure' AND a.device_type <> 'NONE'"""
    ).fetchone()[0]  # type: ignore[index]
    assert retried > 300


def test_gsme_commands_wait_for_the_wake_up(db: duckdb.DuckDBPyConnection) -> None:
    legs = [
        r[0]
        for r in db.sql(
            """SELECT epoch(device_response_at - delivered_at) FROM service_requests
           WHERE device_type = 'GSME' AND execution = 'on_demand' AND device_response_at IS NOT NULL"""
        ).fetchall()
    ]
    assert len(legs) > 5000
    assert min(legs) < 30 and max(legs) <= 1800 + 60
    bins = [sum(1 for x in legs if i * 300 <= x < (i + 1) * 300) / len(legs) for i in range(6)]
    assert all(0.12 < b < 0.22 for b in bins), bins  # spread evenly over the 30 minutes
    esme = db.sql(
        """SELECT quantile_cont(epoch(device_response_at - delivered_at), 0.99) FROM service_requests
           WHERE device_type = 'ESME' AND device_response_at IS NOT NULL AND execution = 'on_demand'"""
    ).fetchone()[0]  # type: ignore[index]
    assert esme < 20  # seconds for electricity devices


def test_future_dated_requests_run_at_execute_at(db: duckdb.DuckDBPyConnection) -> None:
    n, before, late_ok = db.sql(
        """SELECT count(*), count(*) FILTER (WHERE execute_at <= received_at),
                  count(*) FILTER (WHERE response_code = 'I0' AND delivered_at >= execute_at)
           FROM service_requests WHERE execution = 'future_dated'"""
    ).fetchone()  # type: ignore[misc]
    ok = db.sql(
        "SELECT count(*) FROM service_requests WHERE execution = 'future_dated' AND response_code = 'I0' AND delivered_at IS NOT NULL"
    ).fetchone()[0]  # type: ignore[index]
    assert n > 1000 and before == 0 and late_ok == ok > 0


def test_daily_and_weekly_cycles(db: duckdb.DuckDBPyConnection) -> None:
    by_hour = dict(
        db.sql(
            f"SELECT hour(received_at {LOCAL}), count(*) FROM service_requests WHERE srv = '2.2' GROUP BY 1"
        ).fetchall()
    )
    assert by_hour[18] > 5 * by_hour[3]  # top-ups in the evening, not at night
    reads = dict(
        db.sql(
            f"SELECT hour(received_at {LOCAL}), count(*) FROM service_requests WHERE srv = '4.8.1' GROUP BY 1"
        ).fetchall()
    )
    assert reads[2] > 2 * reads[14]  # scheduled reads overnight
    installs = dict(
        db.sql(
            f"SELECT isodow(received_at {LOCAL}), count(*) FROM service_requests WHERE srv = '8.1.1' GROUP BY 1"
        ).fetchall()
    )
    assert min(installs[d] for d in (2, 3, 4)) > 10 * installs.get(
        7, 0
    )  # installers rest on Sunday


def test_install_sequences_follow_each_other(db: duckdb.DuckDBPyConnection) -> None:
    """A Commission Device for an ESME follows the hub's HAN log update for the same premises."""
    n, followed = db.sql(
        """WITH c AS (SELECT s.user_id, s.received_at, d.comms_hub_id FROM service_requests s
                      JOIN devices d ON s.target_id = d.device_id
                      WHERE s.srv = '8.1.1' AND s.device_type = 'ESME'),
                h AS (SELECT user_id, target_id, received_at FROM service_requests
                      WHERE srv = '8.11' AND device_type = 'CHF')
           SELECT count(*), count(*) FILTER (WHERE EXISTS (
                    SELECT 1 FROM h WHERE h.target_id = c.comms_hub_id AND h.user_id = c.user_id
                      AND h.received_at BETWEEN c.received_at - INTERVAL 30 MINUTE AND c.received_at))
           FROM c"""
    ).fetchone()  # type: ignore[misc]
    assert n > 500 and followed / n > 0.95


def test_anomaly_a_party_below_and_peer_above_average(
    db: duckdb.DuckDBPyConnection, month: GenerationSummary
) -> None:
    a = anomaly(month, "a")
    avg, _ = rate(db, "srv = '2.2'")
    bad, n_bad = rate(db, f"srv = '2.2' AND user_id = '{a['subject']['user_id']}'")
    peer, n_peer = rate(db, f"srv = '2.2' AND user_id = '{a['peer']['user_id']}'")
    assert abs((bad - avg) - a["asked"]["gap_points"]) < 3, (bad, avg)
    assert abs((peer - avg) - a["asked"]["peer_gap_points"]) < 3, (peer, avg)
    assert a["subject"]["adaptor"] == a["peer"]["adaptor"]
    assert a["realised"]["success_percent"] == pytest.approx(bad, abs=1e-3)
    assert a["realised"]["industry_average_percent"] == pytest.approx(avg, abs=1e-3)
    assert n_bad > 2000 and n_peer > 500
    # the two parties run the same device sets
    sets = db.sql(
        f"""SELECT s.user_id, count(DISTINCT d.model || d.firmware_version || h.model)
            FROM service_requests s JOIN devices d ON s.target_id = d.device_id
            JOIN devices h ON d.comms_hub_id = h.device_id
            WHERE s.srv = '2.2' AND d.smets = 'SMETS2' AND s.device_type = 'ESME' AND s.region = 'Central'
              AND s.user_id IN ('{a["subject"]["user_id"]}', '{a["peer"]["user_id"]}') GROUP BY 1"""
    ).fetchall()
    assert [n for _, n in sets] == [1, 1]


def test_anomaly_b_inherited_device_set(
    db: duckdb.DuckDBPyConnection, month: GenerationSummary
) -> None:
    b = anomaly(month, "b")
    ds = b["subject"]["device_set"]
    in_set = f"""target_id IN (SELECT d.device_id FROM devices d JOIN devices h ON d.comms_hub_id = h.device_id
                 WHERE d.device_type = 'ESME' AND d.manufacturer = '{ds["manufacturer"]}' AND d.model = '{ds["model"]}'
                   AND d.firmware_version = '{ds["firmware_version"]}' AND h.model = '{ds["comms_hub_model"]}')"""
    mine, n = rate(db, f"{in_set} AND user_id = '{b['subject']['user_id']}'")
    others, n_others = rate(db, f"{in_set} AND user_id <> '{b['subject']['user_id']}'")
    assert abs(mine - b["asked"]["success_percent"]) < 3, mine
    assert others >= 80, others
    assert n > 1000 and n_others > 1000
    assert b["realised"]["success_percent"] == pytest.approx(mine, abs=1e-3)


def test_anomaly_c_gas_meter_firmware(
    db: duckdb.DuckDBPyConnection, month: GenerationSummary
) -> None:
    c = anomaly(month, "c")
    s = c["subject"]
    model = f"""device_type = 'GSME' AND target_id IN (SELECT device_id FROM devices
                WHERE manufacturer = '{s["manufacturer"]}' AND model = '{s["model"]}'"""
    whole, _ = rate(db, model + ")")
    latest, n = rate(db, model + f" AND firmware_version = '{s['latest_firmware_version']}')")
    older, _ = rate(db, model + f" AND firmware_version <> '{s['latest_firmware_version']}')")
    assert abs(whole - c["asked"]["success_percent"]) < 3
    assert abs(latest - c["asked"]["latest_firmware_success_percent"]) < 3
    assert latest - older > 4 and n > 500


def test_anomaly_d_region_service_provider(
    db: duckdb.DuckDBPyConnection, month: GenerationSummary
) -> None:
    d = anomaly(month, "d")
    region, srv = d["subject"]["region"], d["srv"]
    there, n = rate(db, f"srv = '{srv}' AND smets = 'SMETS2' AND region = '{region}'")
    elsewhere, _ = rate(db, f"srv = '{srv}' AND smets = 'SMETS2' AND region <> '{region}'")
    assert abs(there - d["asked"]["success_percent"]) < 4 and n > 800
    assert elsewhere - there > 10
    assert d["subject"]["service_provider"] == CAT.regions[region].service_provider


def test_incidents_lower_success_in_their_region(db: duckdb.DuckDBPyConnection) -> None:
    incidents = db.sql(
        f"SELECT regions, (raised_at {LOCAL})::DATE FROM incidents WHERE category <= 2"
    ).fetchall()
    assert len(incidents) == 5
    for region, day in incidents:
        daily = dict(
            db.sql(
                f"""SELECT (received_at {LOCAL})::DATE AS d,
                       100.0 * count(*) FILTER (WHERE cls = 'success') / count(*) FILTER (WHERE cls <> 'excluded')
                FROM (SELECT *, {CLASS} AS cls FROM service_requests)
                WHERE region = '{region}' AND smets = 'SMETS2' GROUP BY d"""
            ).fetchall()
        )
        others = sorted(v for d, v in daily.items() if d != day)
        median = others[len(others) // 2]
        assert median - daily[day] > 3, (region, day, daily[day], median)


def test_incident_catalog_of_cases(db: duckdb.DuckDBPyConnection) -> None:
    cats = dict(db.sql("SELECT category, count(*) FROM incidents GROUP BY 1").fetchall())
    assert set(cats) == {1, 2, 3, 4, 5}
    late = db.sql(
        """SELECT count(*) FROM incidents WHERE category >= 3 AND resolved_at IS NOT NULL AND
             epoch(resolved_at - raised_at) / 3600 > CASE category WHEN 3 THEN 24 WHEN 4 THEN 72 ELSE 120 END"""
    ).fetchone()[0]  # type: ignore[index]
    assert late > 0
    assert db.sql("SELECT count(*) FROM incidents WHERE resolved_at IS NULL").fetchone()[0] > 0  # type: ignore[index]
    assert (
        db.sql(
            "SELECT count(*) FROM incidents WHERE raised_at < '2021-03-31 23:00:00+00'"
        ).fetchone()[0]
        > 0
    )  # type: ignore[index]
    for (text,) in db.sql("SELECT interfaces FROM incidents").fetchall():
        assert all(x in CAT.interfaces for x in text.split(";"))


def test_outages(db: duckdb.DuckDBPyConnection) -> None:
    planned, unplanned, open_ = db.sql(
        "SELECT count(*) FILTER (WHERE planned), count(*) FILTER (WHERE NOT planned), count(*) FILTER (WHERE end_at IS NULL) FROM outages"
    ).fetchone()  # type: ignore[misc]
    assert planned >= 8 and unplanned >= 8 and open_ == 1
    overlaps = db.sql(
        """SELECT count(*) FROM outages a JOIN outages b ON a.interface = b.interface AND a.outage_id < b.outage_id
           AND a.start_at < coalesce(b.end_at, TIMESTAMPTZ '2100-01-01 00:00:00+00')
           AND b.start_at < coalesce(a.end_at, TIMESTAMPTZ '2100-01-01 00:00:00+00')"""
    ).fetchone()[0]  # type: ignore[index]
    assert overlaps >= 2


def test_alerts(db: duckdb.DuckDBPyConnection) -> None:
    row = db.sql(
        """SELECT count(*) FILTER (WHERE alert_code = 'AD1' AND alert_type = 'dcc'),
                  count(*) FILTER (WHERE alert_code <> 'AD1' AND alert_type = 'device'),
                  count(*) FILTER (WHERE consolidated),
                  count(*) FILTER (WHERE epoch(delivered_at - raised_at) > 60),
                  count(*) FILTER (WHERE delivered_at IS NULL),
                  count(*) FILTER (WHERE region = 'SMETS1' AND smets = 'SMETS1'),
                  count(*) FILTER (WHERE region = 'SMETS1' AND smets <> 'SMETS1'),
                  count(*)
           FROM alerts"""
    ).fetchone()
    ad1, device, consolidated, late, undelivered, s1, s1_bad, total = row  # type: ignore[misc]
    assert total == 30_000 and ad1 > 1000 and device > 20_000
    assert consolidated > 0 and late > 0 and undelivered > 0 and s1 > 0 and s1_bad == 0
    # AD1 goes to network operators, device alerts to the premises' supplier
    roles = dict(
        db.sql(
            "SELECT a.alert_type, string_agg(DISTINCT p.role, ',' ORDER BY p.role) FROM alerts a JOIN parties p USING (user_id) GROUP BY 1"
        ).fetchall()
    )
    assert roles == {"dcc": "ED", "device": "IS"}


def test_firmware_rollout(db: duckdb.DuckDBPyConnection) -> None:
    statuses = dict(db.sql("SELECT delivery_status, count(*) FROM firmware GROUP BY 1").fetchall())
    assert statuses.get("success", 0) > 50 and statuses.get("failed", 0) > 0
    act = dict(
        db.sql(
            "SELECT activation_status, count(*) FROM firmware WHERE activation_status IS NOT NULL GROUP BY 1"
        ).fetchall()
    )
    assert act.get("success", 0) > 0 and act.get("failed", 0) > 0
    outside = db.sql(
        "SELECT count(*) FROM firmware WHERE requested_at < '2021-03-31 23:00:00+00' OR requested_at >= '2021-04-30 23:00:00+00'"
    ).fetchone()[0]  # type: ignore[index]
    assert outside == 0
    assert (
        db.sql(
            "SELECT count(*) FROM firmware f LEFT JOIN devices d ON f.ch_id = d.device_id WHERE d.device_type IS DISTINCT FROM 'CHF'"
        ).fetchone()[0]
        == 0
    )  # type: ignore[index]


def test_summary_lists_what_was_written(month: GenerationSummary) -> None:
    assert month.rows["service_requests"] == 100_000
    assert month.files["service_requests"] == ["service_requests.parquet"]
    assert re.fullmatch(r"\d{4}-\d{2}", month.month)
    t = truth(month)
    assert t["rows"] == month.rows
    assert t["generator"]["seed"] == 7 and t["dirty"] == {}
