"""Customer analytics: benchmarks, anonymised league tables and the automated diagnosis.

`analytics_tables` derives the rows of the `benchmark`, `league_table` and `insights` results
tables from the derived `srv_party` and `srv_device_set` tables (never from raw rows); `compute`
calls it after the service request tables are derived and writes them like every results table
(the results schemas are applied there: this package sits below `results/`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from opmetrics.analytics.benchmark import DEFAULT_MIN_VOLUME, check_min_volume
from opmetrics.analytics.benchmark import benchmark as benchmark_table
from opmetrics.analytics.diagnosis import InsightSettings, diagnose
from opmetrics.analytics.insights import insight_rows
from opmetrics.analytics.league import league_tables
from opmetrics.catalog import Catalog


@dataclass
class AnalyticsTables:
    """The rows of the three tables, and what the manifest records about how they were made."""

    benchmark: pd.DataFrame
    league_table: pd.DataFrame
    insights: list[dict[str, Any]]
    info: dict[str, Any]


def analytics_tables(
    srv_party: pa.Table,
    srv_device_set: pa.Table,
    catalog: Catalog,
    month: str,
    min_volume: int = DEFAULT_MIN_VOLUME,
    settings: InsightSettings | None = None,
) -> AnalyticsTables:
    """The rows of the benchmark, league_table and insights tables of one month."""
    min_volume = check_min_volume(min_volume)
    settings = settings or InsightSettings()
    party = srv_party.to_pandas()
    d = diagnose(srv_device_set.to_pandas(), catalog, settings)
    rows = insight_rows(d, catalog, month, settings.top_issues_parties)
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
    return AnalyticsTables(
        benchmark_table(party, month, min_volume),
        league_tables(party, month, min_volume),
        rows,
        info,
    )


__all__ = [
    "DEFAULT_MIN_VOLUME",
    "AnalyticsTables",
    "InsightSettings",
    "analytics_tables",
    "diagnose",
    "league_tables",
]
