"""Synthetic months that behave like the real network, with their ground truth (truth.json).

Real network data is not public, so the demo, the tests and the benchmarks use months made by
`generate_month`: every table of the data contract, realistic volumes, cycles, outcomes and
events, four injected anomalies, optional broken rows, all driven by a scenario (TOML).
"""

from opmetrics.generator.build import GenerationSummary, generate_month
from opmetrics.generator.scenario import Scenario, load_scenario, parse_scenario

__all__ = ["GenerationSummary", "Scenario", "generate_month", "load_scenario", "parse_scenario"]
