"""Score a month's insights against the anomalies a generated month was given (`truth.json`).

The generator (`opmetrics.generator`) lists the anomalies it injected with their kind, subject,
business process / SRV and realised rates; here each is looked for among the findings: the right
kind, the right subject (the party's label, the device set, the model, the region), the right
SRV where the anomaly is about one, and the action truth.json says the slides' tree gives it. A finding
that matches no injected anomaly counts as not injected.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opmetrics.analytics.insights import ACTIONS

Row = dict[str, Any]


@dataclass
class Score:
    """Which anomalies were found, by which finding, and which findings were not injected."""

    found: dict[str, int] = field(default_factory=dict)  # anomaly id -> insights rank
    missed: list[str] = field(default_factory=list)
    not_injected: list[Row] = field(default_factory=list)
    findings: int = 0

    @property
    def recall(self) -> float:
        total = len(self.found) + len(self.missed)
        return len(self.found) / total if total else 1.0

    @property
    def precision(self) -> float:
        return len(self.found) / self.findings if self.findings else 1.0


def _action(r: Row, code: str) -> bool:
    return r.get("action_code") == code and str(r.get("recommended_action") or "").startswith(
        ACTIONS[code]
    )


def _matcher(a: dict[str, Any], labels: dict[str, str]) -> Callable[[Row], bool]:
    """A finding of the anomaly's branch (`kind`), subject and SRV, with its `action`."""
    subject = a["subject"]
    kind, code = a["kind"], a["action"]

    def branch(r: Row) -> bool:
        return bool(r["kind"] == kind and _action(r, code))

    if "device_set" in subject:  # a party's own device set
        label = labels.get(subject["user_id"])
        ds = subject["device_set"]
        parts = (ds["comms_hub_model"], ds["model"], ds["firmware_version"])
        return lambda r: (
            branch(r)
            and r.get("party_label") == label
            and all(p in str(r["subject"]) for p in parts)
        )
    if "user_id" in subject:  # a party on one SRV
        label = labels.get(subject["user_id"])
        return lambda r: branch(r) and r.get("party_label") == label and r["srv"] == a["srv"]
    if "model" in subject:  # a device model
        model = subject["model"]
        return lambda r: (
            branch(r) and model in str(r["subject"]) and subject["device_type"] in str(r["subject"])
        )
    if "region" in subject:
        region = subject["region"]
        return lambda r: branch(r) and str(r["subject"]).startswith(region) and r["srv"] == a["srv"]
    return lambda r: False


def score(insights: list[Row], truth: dict[str, Any], labels: dict[str, str]) -> Score:
    """Match findings (insights rows) to the injected anomalies; `labels` maps user_id to label."""
    out = Score(findings=len(insights))
    used: set[int] = set()
    for a in truth.get("anomalies", []):
        match = _matcher(a, labels)
        hit = next(
            (i for i, r in enumerate(insights) if i not in used and match(r)),
            None,
        )
        if hit is None:
            out.missed.append(str(a["id"]))
        else:
            used.add(hit)
            out.found[str(a["id"])] = int(insights[hit]["rank"])
    out.not_injected = [r for i, r in enumerate(insights) if i not in used]
    return out


def score_folders(data_dir: str | Path, results_dir: str | Path) -> Score:
    """Score a results folder computed from a generated data dir (reads truth.json, labels)."""
    import pyarrow.csv as pacsv

    from opmetrics.results.io import read_results
    from opmetrics.results.schema import PARTY_LABELS_FILE, RESTRICTED_DIR

    truth = json.loads((Path(data_dir) / "truth.json").read_text(encoding="utf-8"))
    res = read_results(results_dir)
    lab = pacsv.read_csv(Path(results_dir) / RESTRICTED_DIR / PARTY_LABELS_FILE).to_pylist()
    labels = {str(r["user_id"]): str(r["party_label"]) for r in lab}
    return score(res.table("insights").to_pylist(), truth, labels)
