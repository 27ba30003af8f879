"""Arrow schemas of the results tables (design §4). Writers conform to them; readers rely on them.

Rolled-up dimensions hold the literal `ALL`; a dimension that does not apply is null.
Percentages are 0-100, null when their denominator is 0.
"""

from __future__ import annotations

import pyarrow as pa

from opmetrics.contract.schema import QUARANTINE_ROWS_SCHEMA, QUARANTINE_SCHEMA

_s, _i, _f, _b = pa.string(), pa.int64(), pa.float64(), pa.bool_()


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(n, t) for n, t in fields])


CPM = _schema(
    ("month", _s),
    ("cpm", _s),
    ("interface", _s),
    ("region", _s),
    ("time_band", _s),
    ("business_process", _s),
    ("incident_category", _s),
    ("numerator", _f),
    ("denominator", _f),
    ("value_percent", _f),
    ("target_percent", _f),
    ("minimum_percent", _f),
    ("status", _s),
    ("note", _s),
    # The exact integers the status is decided on: counts, or microseconds for CPM6 (whose
    # numerator and denominator above are minutes, as the SEC states them).
    ("numerator_exact", _i),
    ("denominator_exact", _i),
    # Catalog values marked `assumed` that decide this row's figure ("; "-separated keys).
    ("assumed", _s),
)

_RTT = (("trt_s", _f), ("rtt_mean_s", _f), ("rtt_p50_s", _f), ("rtt_p90_s", _f), ("rtt_p95_s", _f))

SRV_SUMMARY = _schema(
    ("month", _s),
    ("business_process", _s),
    ("srv", _s),
    ("srv_name", _s),
    ("region", _s),
    ("device_type", _s),
    ("submitted", _i),
    ("succeeded", _i),
    ("failed", _i),
    ("excluded", _i),
    ("success_percent", _f),
    ("responded", _i),
    ("within_trt", _i),
    ("within_trt_percent", _f),
    *_RTT,
)

SRV_DAILY = _schema(
    ("date", pa.date32()),
    ("business_process", _s),
    ("srv", _s),
    ("region", _s),
    ("succeeded", _i),
    ("failed", _i),
    ("excluded", _i),
    ("success_percent", _f),
    ("incident_cat12", _b),
)

SRV_PARTY = _schema(
    ("month", _s),
    ("business_process", _s),
    ("srv", _s),
    ("party_label", _s),
    ("region", _s),
    ("device_type", _s),
    ("submitted", _i),
    ("succeeded", _i),
    ("failed", _i),
    ("excluded", _i),
    ("success_percent", _f),
)

# `proxy` says what the time statistics measure: `chf_gpf_rtt`, the RTT of requests targeted at
# a CHF or GPF; or `delivery_to_comms_hub`, for a process whose SRVs never target one, the time
# from the clock start to the command reaching the Comms Hub (`within_trt` = delivered within
# the TRT; mean and percentiles over the `delivered` requests).
DCC_PROXY = _schema(
    ("month", _s),
    ("business_process", _s),
    ("srv", _s),
    ("region", _s),
    ("device_type", _s),
    ("proxy", _s),
    ("submitted", _i),
    ("succeeded", _i),
    ("failed", _i),
    ("responded", _i),
    ("delivered", _i),
    ("within_trt", _i),
    ("within_trt_percent", _f),
    *_RTT,
)

# The Alerts business process split as the OPSG slides ask: AD1 (the DCC's power outage alert,
# alert_type `dcc`) and device alerts, with ALL roll-ups of alert_group and region. `counted`
# are the alerts CPM3 counts (not consolidated); `delivered` and `within_trt` are of those.
ALERTS_SUMMARY = _schema(
    ("month", _s),
    ("alert_group", _s),
    ("region", _s),
    ("raised", _i),
    ("consolidated", _i),
    ("counted", _i),
    ("delivered", _i),
    ("within_trt", _i),
    ("within_trt_percent", _f),
    ("trt_s", _f),
)

ALERTS_DAILY = _schema(
    ("date", pa.date32()),
    ("alert_group", _s),
    ("region", _s),
    ("counted", _i),
    ("within_trt", _i),
    ("within_trt_percent", _f),
    ("incident_cat12", _b),
)

# The party x device set x region breakdown customer packs and insights read (no real ids).
SRV_DEVICE_SET = _schema(
    ("month", _s),
    ("business_process", _s),
    ("srv", _s),
    ("party_label", _s),
    ("adaptor", _s),
    ("region", _s),
    ("device_type", _s),
    ("comms_hub_model", _s),
    ("meter_model", _s),
    ("firmware_version", _s),
    ("submitted", _i),
    ("succeeded", _i),
    ("failed", _i),
    ("excluded", _i),
)

BENCHMARK = _schema(
    ("month", _s),
    ("business_process", _s),
    ("srv", _s),
    ("party_label", _s),
    ("submitted", _i),
    ("party_success_percent", _f),
    ("industry_average_percent", _f),
    ("industry_best_percent", _f),
    ("gap_points", _f),
    ("succeeded", _i),
    ("failed", _i),
    ("meets_min_volume", _b),  # succeeded + failed >= the month's minimum volume
    ("best_gap_points", _f),
)

LEAGUE_TABLE = _schema(
    ("month", _s),
    ("business_process", _s),
    ("srv", _s),
    ("party_label", _s),
    ("rank", _i),
    ("success_percent", _f),
    ("submitted", _i),
    ("succeeded", _i),
    ("failed", _i),
    ("parties_ranked", _i),
    ("parties_below_min_volume", _i),  # left out of this table, counted here
)

INSIGHTS = _schema(
    ("month", _s),
    ("rank", _i),
    # Stable across re-runs of the month and across months: from what identifies the finding.
    ("finding_id", _s),
    ("kind", _s),
    ("subject", _s),
    # One plain-English sentence for OPSG: what, where, how big.
    ("headline", _s),
    ("business_process", _s),
    ("srv", _s),
    ("observed", _s),
    ("comparison", _s),
    ("evidence", _s),
    ("recommended_action", _s),
    # What the recommended action is, as a code (analytics.insights.ACTIONS): service_provider,
    # manufacturers, firmware_upgrade, top_issues_forum, trilateral_meeting, live_calls.
    ("action_code", _s),
    ("requests_affected", _i),
    ("party_label", _s),  # the party a user or party device-set finding is about, else null
    ("requests", _i),
    ("observed_percent", _f),
    ("comparison_percent", _f),
    ("gap_points", _f),
    ("failure_odds_ratio", _f),
    ("z_statistic", _f),
    ("p_value_adjusted", _f),
)

# The quarantine's two parts are the data contract's (`contract.schema`): value-free and shared,
# and restricted with the raw rows.
QUARANTINE = QUARANTINE_SCHEMA
QUARANTINE_ROWS = QUARANTINE_ROWS_SCHEMA

# Restricted: one party's own failures, keyed by its label; only that party's pack reads them.
PARTY_FAILURES = _schema(
    ("party_label", _s),
    ("request_id", _s),
    ("srv", _s),
    ("target_id", _s),
    ("device_type", _s),
    ("comms_hub_model", _s),
    ("meter_model", _s),
    ("firmware_version", _s),
    ("region", _s),
    ("response_code", _s),
    ("dsp_attempts", _i),
    ("rtt_s", _f),
    ("received_at", pa.timestamp("us", tz="UTC")),
)

RESULT_TABLES: dict[str, pa.Schema] = {
    "cpm": CPM,
    "srv_summary": SRV_SUMMARY,
    "srv_daily": SRV_DAILY,
    "srv_party": SRV_PARTY,
    "dcc_proxy": DCC_PROXY,
    "srv_device_set": SRV_DEVICE_SET,
    "alerts_summary": ALERTS_SUMMARY,
    "alerts_daily": ALERTS_DAILY,
    "benchmark": BENCHMARK,
    "league_table": LEAGUE_TABLE,
    "insights": INSIGHTS,
    "quarantine": QUARANTINE,
}

RESTRICTED_DIR = "restricted"  # inside a results dir: never shared, never read by shared packs
RESTRICTED_TABLES: dict[str, pa.Schema] = {
    "party_failures": PARTY_FAILURES,
    "quarantine_rows": QUARANTINE_ROWS,
}
# restricted/party_failures/party_label=<label>/part-NNNNN.parquet: each party's failed
# requests (PARTY_FAILURES but party_label, which the folder names). Results folders written
# before this layout hold one file, restricted/party_failures.parquet, sorted by label:
# `io.read_party_failures` reads either.
PARTY_FAILURES_DIR = "party_failures"
PARTY_FAILURES_FILE = "party_failures.parquet"
PARTY_LABELS_FILE = "party_labels.csv"  # user_id, name, party_label: the only link to real ids
PARTY_LABELS = _schema(("user_id", _s), ("name", _s), ("party_label", _s))
