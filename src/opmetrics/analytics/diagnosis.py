"""The questions of the OPSG slides' decision tree, asked of the month's device-set breakdown.

For each SRV whose success falls short of the business process target, the slides ask, in this
order: is it a service provider difference (a region behind the others)? else a device
difference, the same device set doing worse for everyone (a firmware version behind its model's
latest, a device set, meter model or comms hub model behind its peers)? else a user difference,
the same device set working for other users (a party's device set behind the same set run by
other parties, a party behind its peers on the same adaptor and device sets)? Each question is a family of like-for-like comparisons
(`opmetrics.analytics.compare`): a candidate is a finding only when it is

- statistically supported: its one-sided Mantel-Haenszel test survives Holm's adjustment over
  the family at alpha / (number of families), so the month's family-wise error is at most alpha;
- material: at least `min_gap_points` behind, failure odds at least `min_failure_odds_ratio`
  times the comparison's, and at least `min_share_of_failures` of the month's failures in
  excess (so no finding rests on a handful of requests);
- specific to its question: still behind (one-sided p at most alpha) once its worst party
  (for a region, a device or a firmware) or its worst SRV (for a device) or its worst device
  set (for a user) is left out, so one party's problem is not blamed on a region and one SRV's
  on a device.

What a question explains is set aside before the next question is asked, which is how the
tree's order decides between explanations of the same failures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from opmetrics.analytics.compare import (
    TERMS,
    derive,
    summarise,
    versus_reference,
    versus_rest,
    without_worst,
)
from opmetrics.analytics.stats import holm
from opmetrics.catalog import Catalog

UNKNOWN = "UNKNOWN"
SET = ("device_type", "comms_hub_model", "meter_model", "firmware_version")
HUB_TARGETS = ("CHF", "GPF")  # their "meter" columns hold the comms hub itself

# The families, in the tree's order. Their number splits alpha (Bonferroni across families).
FAMILIES = (
    "region",
    "firmware",
    "device_set",
    "meter_model",
    "hub_model",
    "party_device_set",
    "user",
)


@dataclass(frozen=True)
class InsightSettings:
    """Thresholds of the diagnosis (docs/insights.md says why each has its value)."""

    alpha: float = 0.01
    min_gap_points: float = 3.0
    min_failure_odds_ratio: float = 1.75
    min_share_of_failures: float = 0.01
    min_excess_failures: float = 50.0
    min_requests: int = 300
    top_issues_parties: int = 3
    # A device difference is for everyone: the other parties, without the worst, still behind
    # by this many points (smaller than min_gap_points: the rest is smaller and noisier).
    everyone_gap_points: float = 2.0


@dataclass
class Candidate:
    """A comparison that passed its family's test, with what it covers."""

    family: str
    key: dict[str, str]
    summary: pd.Series
    rows: pd.DataFrame
    tests: int
    p_adjusted: float
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class Diagnosis:
    """Everything the tree found, in the order it found it, and how many tests it ran."""

    candidates: list[Candidate]
    tests: dict[str, int]
    min_excess: float
    month_failures: int
    srvs_examined: list[str]


def version_key(v: str) -> tuple[tuple[int, object], ...]:
    """Natural order of firmware versions: 1.10 after 1.9; numbers before text."""
    parts = re.findall(r"\d+|[^\d.]+", v)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def prepare(device_set: pd.DataFrame) -> pd.DataFrame:
    """Cells of the breakdown with `s` (successes) and `n` (successes + failures) and `f`."""
    c = device_set.copy()
    c["s"] = c["succeeded"].astype("int64")
    c["f"] = c["failed"].astype("int64")
    c["n"] = c["s"] + c["f"]
    c = c[c["n"] > 0]
    for col in ("adaptor", "comms_hub_model", "meter_model", "firmware_version"):
        c[col] = c[col].fillna(UNKNOWN).astype(str)
    return c.reset_index(drop=True)


class Tree:
    """One month's diagnosis: ask every question in order, setting aside what is explained."""

    def __init__(self, cells: pd.DataFrame, catalog: Catalog, settings: InsightSettings) -> None:
        self.settings = settings
        self.catalog = catalog
        target = catalog.cpms["CPM6A"].target_percent if "CPM6A" in catalog.cpms else 99.0
        by_srv = cells.groupby("srv")[["s", "n"]].sum()
        short = by_srv[100.0 * by_srv["s"] / by_srv["n"] < target].index
        self.srvs_examined = sorted(map(str, short))
        self.cells = cells[cells["srv"].isin(short)].reset_index(drop=True)
        self.month_failures = int(cells["f"].sum())
        self.min_excess = max(
            settings.min_excess_failures, settings.min_share_of_failures * self.month_failures
        )
        self.explained = np.zeros(len(self.cells), dtype=bool)
        self.alpha_family = settings.alpha / len(FAMILIES)
        self.tests: dict[str, int] = {}
        self.found: list[Candidate] = []

    # -- the generic step ---------------------------------------------------------------------

    def _supported(self, s: pd.Series) -> bool:
        """What is left once a part is set aside: still behind on its own (one-sided p at most
        alpha). The candidate already passed its family's test and thresholds; this asks only
        that it is not one part's doing. Neither the gap nor the odds ratio is asked again: the
        rest is smaller and noisier, and leaving out an SRV changes the base rate.
        """
        return bool(s["p_behind"] <= self.settings.alpha)

    def _total(self, rows: pd.DataFrame) -> pd.Series:
        return derive(rows[list(TERMS)].sum().to_frame().T).iloc[0]

    def ask(
        self,
        family: str,
        rows: pd.DataFrame,
        key: Sequence[str],
        leave_out: Sequence[Sequence[str]],
        min_excess: float | None = None,
        for_everyone: bool = False,
    ) -> list[Candidate]:
        """Test every key of a family; keep the supported, material and specific ones."""
        summ = summarise(rows, key)
        tested = summ[summ["n"] >= self.settings.min_requests].reset_index(drop=True)
        m = len(tested)
        self.tests[family] = m
        if m == 0:
            return []
        tested["p_adjusted"] = holm(tested["p_behind"].tolist())
        st = self.settings
        keep = (
            (tested["p_adjusted"] <= self.alpha_family)
            & (tested["gap_points"] <= -st.min_gap_points)
            & (tested["failure_odds_ratio"] >= st.min_failure_odds_ratio)
            & (tested["excess_failures"] >= (self.min_excess if min_excess is None else min_excess))
        )
        out = []
        for _, s in tested[keep].iterrows():
            k = {c: s[c] for c in key}
            mask = np.ones(len(rows), dtype=bool)
            for c, v in k.items():
                mask &= rows[c].to_numpy() == v
            krows = rows[mask]
            if all(self._specific(krows, dim) for dim in leave_out) and (
                not for_everyone or self._for_everyone(krows)
            ):
                out.append(Candidate(family, k, s, krows, m, float(s["p_adjusted"])))
        return out

    def _specific(self, krows: pd.DataFrame, dim: Sequence[str]) -> bool:
        """Still supported without the worst value of `dim` (trivially so with only one)."""
        if krows[list(dim)].drop_duplicates().shape[0] < 2:
            return True
        rest, _ = without_worst(krows, dim)
        return self._supported(self._total(rest))

    def _everyone_behind(self, rest: pd.Series) -> bool:
        """The other parties, without the one doing worst, still behind (one-sided p at most
        alpha) and by `everyone_gap_points` or more."""
        return self._supported(rest) and bool(
            float(rest["gap_points"]) <= -self.settings.everyone_gap_points
        )

    def _for_everyone(self, krows: pd.DataFrame) -> bool:
        """A device difference is the same devices doing worse for everyone. Otherwise the
        devices work for other users, and what is left is a user difference for the tree's
        last questions."""
        if krows[["party_label"]].drop_duplicates().shape[0] < 2:
            return True
        rest, _ = without_worst(krows, ["party_label"])
        return self._everyone_behind(self._total(rest))

    def _open(self, extra: np.ndarray | None = None) -> pd.DataFrame:
        keep = ~self.explained if extra is None else (~self.explained & extra)
        return self.cells[keep]

    def _explain(self, cond: Mapping[str, object]) -> None:
        mask = np.ones(len(self.cells), dtype=bool)
        for c, v in cond.items():
            col = self.cells[c].to_numpy()
            mask &= np.isin(col, list(v)) if isinstance(v, list | tuple | set) else col == v
        self.explained |= mask

    def _known_devices(self) -> np.ndarray:
        c = self.cells
        return (
            (c["device_type"] != "NONE")
            & (c["meter_model"] != UNKNOWN)
            & (c["comms_hub_model"] != UNKNOWN)
            & (c["firmware_version"] != UNKNOWN)
        ).to_numpy()

    # -- the questions ------------------------------------------------------------------------

    def region(self) -> None:
        csp = self.cells["region"].isin(self.catalog.csp_regions).to_numpy()
        c = self._open(csp)
        rows = versus_rest(
            c,
            ["region"],
            [
                "business_process",
                "srv",
                "party_label",
                "device_type",
                "meter_model",
                "firmware_version",
            ],
        )
        for cand in self.ask(
            "region", rows, ["business_process", "srv", "region"], [["party_label"]]
        ):
            self.found.append(cand)
            self._explain({"srv": cand.key["srv"], "region": cand.key["region"]})

    def firmware(self) -> None:
        c = self._open(self._known_devices())
        versions = c.groupby(["device_type", "meter_model"])["firmware_version"].unique()
        latest = {k: max(v, key=version_key) for k, v in versions.items() if len(v) >= 2}
        if not latest:
            self.tests["firmware"] = 0
            return
        model_key = list(zip(c["device_type"], c["meter_model"], strict=True))
        lat = np.array([latest.get(k) for k in model_key], dtype=object)
        has = np.array([k in latest for k in model_key])
        is_latest = has & (c["firmware_version"].to_numpy() == lat)
        # Not stratified by party: a model's latest firmware is spread thinly over parties, and
        # matching on party as well would leave most requests without a comparison. That one
        # party's fleet does not make the finding is checked below, by asking again without it.
        strata = ["device_type", "meter_model", "srv", "region", "comms_hub_model"]
        older, newest = c[has & ~is_latest], c[is_latest]
        rows = versus_reference(older, newest, ["firmware_version"], strata)
        cands = self.ask(
            "firmware",
            rows,
            ["device_type", "meter_model", "firmware_version"],
            [["srv"]],
            min_excess=0.0,  # asked of the model's pooled versions below: one finding per model
        )
        by_model: dict[tuple[str, str], list[Candidate]] = {}
        for cand in cands:
            v = cand.key["firmware_version"]
            mine = (older["meter_model"] == cand.key["meter_model"]) & (
                older["device_type"] == cand.key["device_type"]
            )
            by_party = versus_reference(
                older[mine & (older["firmware_version"] == v)],
                newest,
                ["firmware_version", "party_label"],
                strata,
            )
            excess = (
                by_party.groupby("party_label")["expected"].sum()
                - by_party.groupby("party_label")["a"].sum()
            )
            worst = excess.idxmax()
            keep = older["party_label"] != worst
            rest = versus_reference(
                older[mine & keep & (older["firmware_version"] == v)],
                newest[newest["party_label"] != worst],
                ["firmware_version"],
                strata,
            )
            if rest.empty or not self._everyone_behind(self._total(rest)):
                continue
            by_model.setdefault((cand.key["device_type"], cand.key["meter_model"]), []).append(cand)
        for (dt, model), group in by_model.items():
            olds = sorted((g.key["firmware_version"] for g in group), key=version_key)
            pooled = pd.concat([g.rows for g in group])
            total = self._total(pooled)
            if float(total["excess_failures"]) < self.min_excess:
                continue
            first = group[0]
            self.found.append(
                Candidate(
                    "firmware",
                    {"device_type": dt, "meter_model": model, "firmware_version": ", ".join(olds)},
                    total,
                    pooled,
                    first.tests,
                    max(g.p_adjusted for g in group),
                    {"latest": latest[(dt, model)], "versions": olds},
                )
            )
            self._explain({"device_type": dt, "meter_model": model, "firmware_version": olds})

    def party_device_set(self) -> None:
        c = self._open(self._known_devices())
        rows = versus_rest(c, ["party_label"], [*SET, "srv", "region"])
        for cand in self.ask("party_device_set", rows, ["party_label", *SET], [["srv"]]):
            self.found.append(cand)
            self._explain(cand.key)

    def device_set(self) -> None:
        c = self._open(self._known_devices())
        rows = versus_rest(
            c,
            ["comms_hub_model", "meter_model", "firmware_version"],
            ["device_type", "srv", "region", "party_label"],
        )
        for cand in self.ask(
            "device_set", rows, list(SET), [["party_label"], ["srv"]], for_everyone=True
        ):
            self.found.append(cand)
            self._explain(cand.key)

    def meter_model(self) -> None:
        meters = ~self.cells["device_type"].isin(HUB_TARGETS).to_numpy()
        c = self._open(self._known_devices() & meters)
        rows = versus_rest(
            c, ["meter_model"], ["device_type", "srv", "region", "comms_hub_model", "party_label"]
        )
        for cand in self.ask(
            "meter_model",
            rows,
            ["device_type", "meter_model"],
            [["party_label"], ["srv"]],
            for_everyone=True,
        ):
            self.found.append(cand)
            self._explain(cand.key)

    def hub_model(self) -> None:
        c = self._open(self._known_devices()).copy()
        hub = c["device_type"].isin(HUB_TARGETS)
        c["_meter"] = np.where(hub, "", c["meter_model"] + " " + c["firmware_version"])
        rows = versus_rest(
            c, ["comms_hub_model"], ["device_type", "_meter", "srv", "region", "party_label"]
        )
        for cand in self.ask(
            "hub_model",
            rows,
            ["comms_hub_model"],
            [["party_label"], ["srv"]],
            for_everyone=True,
        ):
            self.found.append(cand)
            self._explain(cand.key)

    def user(self) -> None:
        c = self._open()
        strata = ["business_process", "srv", "adaptor", "region", *SET]
        rows = versus_rest(c, ["party_label"], strata)
        key = ["business_process", "srv", "party_label"]
        cands = self.ask("user", rows, key, [list(SET)])
        if not cands:
            return
        everyone = summarise(rows, key)
        adaptor = c.groupby("party_label")["adaptor"].first().to_dict()
        everyone["adaptor"] = everyone["party_label"].map(adaptor)
        for cand in cands:
            party, srv = cand.key["party_label"], cand.key["srv"]
            peers = everyone[
                (everyone["srv"] == srv)
                & (everyone["party_label"] != party)
                & (everyone["adaptor"] == adaptor.get(party))
                & (everyone["n"] >= self.settings.min_requests)
            ]
            cand.extra["peers"] = len(peers)
            if not peers.empty:
                best = peers.sort_values(
                    ["gap_points", "party_label"], ascending=[False, True]
                ).iloc[0]
                cand.extra["best_peer"] = str(best["party_label"])
                cand.extra["best_peer_percent"] = float(100.0 * best["observed_rate"])
                cand.extra["best_peer_gap_points"] = float(best["gap_points"])
            self.found.append(cand)
            self._explain({"srv": srv, "party_label": party})

    def run(self) -> Diagnosis:
        steps: tuple[Callable[[], None], ...] = (
            self.region,
            self.firmware,
            self.device_set,
            self.meter_model,
            self.hub_model,
            self.party_device_set,
            self.user,
        )
        if not self.cells.empty:
            for step in steps:
                step()
        return Diagnosis(
            self.found, self.tests, self.min_excess, self.month_failures, self.srvs_examined
        )


def diagnose(
    device_set: pd.DataFrame, catalog: Catalog, settings: InsightSettings | None = None
) -> Diagnosis:
    """Run the decision tree over a month's `srv_device_set` table."""
    return Tree(prepare(device_set), catalog, settings or InsightSettings()).run()
