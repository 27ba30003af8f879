"""How to open an engine: plain settings, importable without loading any engine library."""

from __future__ import annotations

from dataclasses import dataclass

ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class EngineOptions:
    name: str = "duckdb"
    threads: int | None = None  # DuckDB threads / Spark local[N]; None = all cores
    memory_limit: str | None = None  # DuckDB memory_limit, e.g. "2GiB"; Spark driver memory
    temp_dir: str | None = None  # where the engine may spill
    spark_master: str | None = None  # e.g. spark://host:7077; None = local[*]
    spark_conf: tuple[tuple[str, str], ...] = ()
