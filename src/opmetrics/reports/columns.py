"""What each column of the data files holds, in words: the workbook's `columns` sheet.

Column headers stay short and stable for scripts (`within_trt_percent`, `rtt_p95_s`); a reader
opening the workbook looks the header up here instead of in the design document. A column this
list does not know (a table added to the results later) is listed with an empty description, so
the sheet never hides a column.
"""

from __future__ import annotations

import pyarrow as pa

COLUMNS: dict[str, str] = {
    "month": "Reporting month, YYYY-MM (UK local time)",
    "date": "Day, UK local time",
    "business_process_id": "Business process id in the catalog (ALL: every process)",
    "business_process": "Business process by name",
    "srv": "Service Reference Variant, by its DUIS reference (ALL: every SRV)",
    "srv_name": "SRV by name",
    "region": "Reporting region: North, Central, South (SMETS2 CSP regions) or SMETS1; ALL: every region",
    "device_type_id": "Device type id in the catalog (NONE: a request the DCC serves itself; ALL: every type)",
    "device_type": "Device type by name",
    "party_label": "Anonymised label of a SEC Party",
    "adaptor": "The party's adaptor (DCC User Interface access route)",
    "comms_hub_model": "Communications Hub model of the device set",
    "meter_model": "Meter (or device) model of the device set",
    "firmware_version": "Firmware version of the device",
    "submitted": "Service requests received in the month",
    "succeeded": "Requests that succeeded (success response within 3 DSP attempts)",
    "failed": "Requests that failed (a DCC failure, no final response, or a success after more than 3 DSP attempts)",
    "excluded": "Requests excluded from every rate: failures caused by the User",
    "requests": "Requests the finding compares",
    "success_percent": "succeeded / (succeeded + failed), in %",
    "responded": "Requests with a final response",
    "delivered": "Requests whose command reached the Comms Hub",
    "within_trt": "Successful requests answered within the Target Response Time",
    "within_trt_percent": "within_trt / (succeeded + failed), in %",
    "trt_s": "Target Response Time of the row, seconds (empty where it varies)",
    "rtt_mean_s": "Mean Round Trip Time of successful requests, seconds",
    "rtt_p50_s": "Median Round Trip Time, seconds",
    "rtt_p90_s": "90th percentile Round Trip Time, seconds",
    "rtt_p95_s": "95th percentile Round Trip Time, seconds",
    "proxy": "Which DCC proxy: chf_gpf_rtt (round trips of CHF/GPF requests) or delivery_to_comms_hub",
    "delivered_within_trt": "Requests delivered to the Comms Hub within the Target Response Time",
    "delivered_within_trt_percent": "delivered_within_trt over the requests, in %",
    "to_comms_hub_mean_s": "Mean time from receipt (or execution time) to the Comms Hub, seconds",
    "to_comms_hub_p50_s": "Median time to the Comms Hub, seconds",
    "to_comms_hub_p90_s": "90th percentile time to the Comms Hub, seconds",
    "to_comms_hub_p95_s": "95th percentile time to the Comms Hub, seconds",
    "category_1_or_2_incident": "A Category 1 or 2 incident was open that day",
    "is_rollup": "True when the row sums other rows (a dimension is ALL): leave out before a pivot",
    "rolled_up": "The dimensions the row sums over",
    "assumed": "Keys of the assumed catalog values the row's figures rest on",
    "assumed_note": "The same assumed values in words",
    "cpm": "Code Performance Measure",
    "interface": "Interface (CPM6)",
    "time_band": "Time band (CPM6): core or other hours",
    "incident_category": "Incident category (CPM4, CPM5, CPM5A)",
    "numerator": "The measure's numerator",
    "denominator": "The measure's denominator",
    "numerator_exact": "The numerator as an exact integer, which decides the status (CPM6: microseconds)",
    "denominator_exact": "The denominator as an exact integer",
    "value_percent": "numerator / denominator, in %",
    "target_percent": "The measure's target, %",
    "minimum_percent": "The measure's Minimum Service Level, %",
    "status_id": "Status id: met, below_target, below_minimum, no_activity, not_reportable",
    "status": "Status in words",
    "note": "Why a measure is not reportable, or other remarks",
    "party_success_percent": "The party's success %",
    "industry_average_percent": "Success % over every party's requests",
    "industry_best_percent": "Best success % of a party with the minimum volume",
    "gap_points": "Difference to the comparison (benchmark: to the industry average), percentage points",
    "best_gap_points": "Difference to the industry best, percentage points",
    "meets_min_volume": "The party sent the minimum volume to be ranked",
    "rank": "Rank (1 = best)",
    "parties_ranked": "Parties in the league table",
    "parties_below_min_volume": "Parties left out for sending less than the minimum volume",
    "kind_id": "Finding kind id",
    "kind": "Finding kind: where the difference lies",
    "subject": "What the finding is about",
    "observed": "What was observed, in words",
    "comparison": "What it is compared with, in words",
    "evidence": "The statistics behind the finding",
    "recommended_action": "What to do about it",
    "requests_affected": "The subject's failures beyond what it would have had at the comparison's rates",
    "observed_percent": "Observed success %",
    "comparison_percent": "Comparison success %",
    "failure_odds_ratio": "Odds of failure against the comparison's",
    "z_statistic": "Test statistic of the difference",
    "p_value_adjusted": "p-value, adjusted for the number of comparisons",
    "finding_id": "Stable id of the finding (the same on a re-run of the month; the review file uses it)",
    "headline": "The finding in one plain-English sentence",
    "action_code": "Recommended action id: service_provider, manufacturers, firmware_upgrade, top_issues_forum, trilateral_meeting or live_calls",
    "alert_group": "AD1 (the DCC's power outage alerts), Device alerts, or ALL: both",
    "raised": "Alerts raised (UK local date of raising)",
    "consolidated": "Alerts consolidated into another alert: shown, in no percentage",
    "counted": "Alerts that count towards CPM3 (raised and not consolidated)",
    "table": "Input table of the row",
    "source": "Input file",
    "row": "Row in the input file",
    "reason_code": "Why the row was quarantined (code)",
    "reason": "Why the row was quarantined",
    "key": "Catalog key of the assumed value",
    "value": "The assumed value",
    "text": "The assumed value in words",
    "used_by": "The figures that rest on it",
}


# where a column means something else in one table than in the others
BY_TABLE: dict[tuple[str, str], str] = {
    ("alerts_summary", "delivered"): "Counted alerts delivered to their recipient",
    ("alerts_daily", "delivered"): "Counted alerts delivered to their recipient",
    (
        "alerts_summary",
        "within_trt",
    ): "Counted alerts delivered within the alert Target Response Time",
    (
        "alerts_daily",
        "within_trt",
    ): "Counted alerts delivered within the alert Target Response Time",
    ("alerts_summary", "within_trt_percent"): "within_trt / counted, in % (CPM3 on the ALL rows)",
    ("alerts_daily", "within_trt_percent"): "within_trt / counted, in %",
}


def columns_table(tables: dict[str, pa.Table]) -> pa.Table:
    """Every column of every data file table, with what it holds."""
    names, cols, texts = [], [], []
    for name, t in tables.items():
        for c in t.column_names:
            names.append(name)
            cols.append(c)
            texts.append(BY_TABLE.get((name, c), COLUMNS.get(c, "")))
    return pa.table({"table": names, "column": cols, "what it holds": texts})


__all__ = ["COLUMNS", "columns_table"]
