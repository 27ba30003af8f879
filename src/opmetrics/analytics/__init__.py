"""Customer analytics: benchmarks, anonymised league tables and the automated diagnosis.

`analytics_tables` derives the `benchmark`, `league_table` and `insights` results tables from the
derived `srv_party` and `srv_device_set` tables (never from raw rows); `compute` calls it after
the service request tables are derived, so they are written like every results table.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pyarrow as pa

from opmetrics.analytics.benchmark import DEFAULT_MIN_VOLUME, benchmark, check_min_volume
from opmetrics.analytics.diagnosis import InsightSettings, diagnose
from opmetrics.analytics.insights import insight_rows, insights_table
from opmetrics.analytics.league import league_tables
from opmetrics.catalog import Catalog
from opmetrics.measures.derive import to_arrow
from opmetrics.results import schema as rs


def analytics_tables(
    srv_party: pa.Table,
    srv_device_set: pa.Table,
    catalog: Catalog,
    month: str,
    min_volume: int = DEFAULT_MIN_VOLUME,
    settings: InsightSettings | None = None,
) -> tuple[dict[str, pa.Table], dict[str, Any]]:
    """The three tables, and what the manifest should record about how they were made."""
    min_volume = check_min_volume(min_volume)
    settings = settings or InsightSettings()
    party = srv_party.to_pandas()
    tables = {
        "benchmark": to_arrow(benchmark(party, month, min_volume), rs.BENCHMARK),
        "league_table": to_arrow(league_tables(party, month, min_volume), rs.LEAGUE_TABLE),
    }
    d = diagnose(srv_device_set.to_pandas(), catalog, settings)
    rows = insight_rows(d, catalog, month, settings.top_issues_parties)
    tables["insights"] = insights_table(rows)
    info = {
        "min_volume": min_volume,
        "min_volume_counts": "succeeded + failed requests of the party in the month",
        "ranking": "standard competition ranking (1, 2, 2, 4) by success rate, exact fractions",
        "insights": {
            **asdict(settings),
            "tests": d.tests,
            "month_failures": d.month_failures,
            "min_excess_failures_applied": round(d.min_excess, 3),
            "srvs_examined": d.srvs_examined,
            "findings": len(rows),
        },
    }
    return tables, info


__all__ = [
    "DEFAULT_MIN_VOLUME",
    "InsightSettings",
    "analytics_tables",
    "benchmark",
    "diagnose",
    "league_tables",
]
