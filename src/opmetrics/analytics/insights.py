"""The `insights` table: the findings of the decision tree, in words, ranked by impact.

Each finding says what was observed, what it was compared with, the evidence (volumes, rates,
the gap with its confidence interval, the failure odds ratio, the Mantel-Haenszel z and the
Holm-adjusted p-value) and the action the seed's tree recommends for its kind. Impact is the
number of requests affected: the failures the subject had beyond what it would have had at its
comparison's rates. Subjects are regions, devices and party *labels*: the table is shared, so it
names no party.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import pandas as pd

from opmetrics.analytics.diagnosis import Candidate, Diagnosis
from opmetrics.analytics.stats import format_p, wilson_interval
from opmetrics.catalog import Catalog
from opmetrics.contract.schema import ALL

# The actions of the seed's decision tree; every recommended_action starts with one of these.
ACTIONS = {
    "service_provider": "work with the service provider",
    "device": "work with device manufacturers",
    "firmware": "recommend a firmware upgrade",
    "user": "recommend a trilateral best-practice meeting",
    "top_issues": "recommend raising it at the Top Issues Forum",
}
KINDS = ("service_provider", "firmware", "device", "user")


def _pct(x: float) -> str:
    return f"{100.0 * x:.1f} %"


def _requests(n: float) -> str:
    return f"{int(n):,} request" + ("" if int(n) == 1 else "s")


def finding_id(kind: str, family: str, key: dict[str, str]) -> str:
    """A finding's id: `F-` and 8 hex digits of a SHA-256 of what identifies it.

    What identifies a finding is its kind, the tree's question that found it and the key it was
    found on (business process, SRV, region, device set, party label): never the month, so the
    same finding recurring next month keeps its id, and never a figure, so a re-run of the same
    month gives the same id. A firmware finding is one per model, so its key leaves out the
    older versions pooled into it. Party labels are keyed pseudonyms, never an id or a name.
    """
    parts = [kind, family, *(f"{k}={key[k]}" for k in sorted(key))]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"F-{digest[:8].upper()}"


class Writer:
    """Turns candidates into rows of the insights table."""

    def __init__(self, diagnosis: Diagnosis, catalog: Catalog, month: str) -> None:
        self.d = diagnosis
        self.catalog = catalog
        self.month = month

    def srv_title(self, srv: str) -> str:
        s = self.catalog.srvs.get(srv)
        return f"{s.name} ({srv})" if s else srv

    def scope(self, c: Candidate) -> tuple[str, str]:
        """business_process and srv of a finding: ALL where it spans several."""
        if "srv" in c.key:
            return str(c.key["business_process"]), str(c.key["srv"])
        srvs = sorted(set(c.rows["srv"]))
        bps = sorted(
            {self.catalog.srvs[s].business_process for s in srvs if s in self.catalog.srvs}
        )
        if len(srvs) == 1:
            return (bps[0] if bps else ALL), srvs[0]
        return (bps[0] if len(bps) == 1 else ALL), ALL

    def on(self, c: Candidate) -> str:
        bp, srv = self.scope(c)
        if srv != ALL:
            return self.srv_title(srv)
        if bp != ALL:
            return f"{self.catalog.business_processes[bp].name} SRVs"
        return "all SRVs"

    def asked(self, c: Candidate) -> str:
        """The requests a finding is about, to start a sentence: "Top Up Device (2.2) requests"."""
        bp, srv = self.scope(c)
        if srv != ALL:
            return f"{self.srv_title(srv)} requests"
        if bp != ALL:
            return f"{self.catalog.business_processes[bp].name} requests"
        return "Requests"

    def headline(self, c: Candidate, lead: str, compared: str) -> str:
        """One plain sentence for OPSG: what, where, how big (the figures of the row)."""
        s = c.summary
        excess = max(0, round(float(s["excess_failures"])))
        return (
            f"{lead} succeeded {_pct(s['observed_rate'])} of the time against "
            f"{_pct(s['comparison_rate'])} for {compared}: about {excess:,} more failed "
            f"request{'' if excess == 1 else 's'} than at that rate, out of {_requests(s['n'])}."
        )

    def evidence(self, c: Candidate) -> str:
        s = c.summary
        half = float(s["gap_half_width"])
        gap = float(s["gap_points"])
        odds = float(s["failure_odds_ratio"])
        odds_text = "infinite" if math.isinf(odds) else f"{odds:.2f}"
        lo, hi = wilson_interval(round(float(s["a"])), int(s["n"]))
        return (
            f"{_requests(s['n'])} compared, {100 * lo:.1f}-{100 * hi:.1f} % succeeded (95 % "
            f"Wilson interval); gap {gap:+.1f} points "
            f"(95 % CI {gap - half:+.1f} to {gap + half:+.1f}); failure odds ratio {odds_text}; "
            f"Mantel-Haenszel z = {float(s['z']):.1f}, Holm-adjusted p {format_p(c.p_adjusted)} "
            f"over {c.tests} tests; {round(float(s['excess_failures'])):,} failures above the "
            f"comparison's rate"
        )

    def row(
        self,
        c: Candidate,
        kind: str,
        subject: str,
        observed: str,
        comparison: str,
        action: str,
        party: str | None,
        headline: str,
    ) -> dict[str, Any]:
        bp, srv = self.scope(c)
        s = c.summary
        key = {k: str(v) for k, v in c.key.items()}
        if c.family == "firmware":
            key.pop("firmware_version", None)
        return {
            "month": self.month,
            "finding_id": finding_id(kind, c.family, key),
            "kind": kind,
            "subject": subject,
            "headline": headline,
            "business_process": bp,
            "srv": srv,
            "observed": observed,
            "comparison": comparison,
            "evidence": self.evidence(c),
            "recommended_action": action,
            "requests_affected": max(0, round(float(s["excess_failures"]))),
            "party_label": party,
            "requests": int(s["n"]),
            "observed_percent": 100.0 * float(s["observed_rate"]),
            "comparison_percent": 100.0 * float(s["comparison_rate"]),
            "gap_points": float(s["gap_points"]),
            "failure_odds_ratio": float(s["failure_odds_ratio"]),
            "z_statistic": float(s["z"]),
            "p_value_adjusted": c.p_adjusted,
        }

    # -- one writer per question ----------------------------------------------------------------

    def region(self, c: Candidate) -> dict[str, Any]:
        region = str(c.key["region"])
        reg = self.catalog.regions.get(region)
        provider = reg.service_provider if reg else "its service provider"
        s = c.summary
        subject = f"{region} ({provider})"
        return self.row(
            c,
            "service_provider",
            subject,
            f"{subject}: {_pct(s['observed_rate'])} success on {_requests(s['n'])} of {self.on(c)}",
            f"the other CSP regions on the same SRV, for the same parties, meters and firmware: "
            f"{_pct(s['comparison_rate'])}",
            f"{ACTIONS['service_provider']} ({provider}) on {self.on(c)} in {region}",
            None,
            self.headline(
                c,
                f"{self.asked(c)} in the {region} region ({provider})",
                "the same parties and devices in the other regions",
            ),
        )

    def firmware(self, c: Candidate) -> dict[str, Any]:
        dt, model = str(c.key["device_type"]), str(c.key["meter_model"])
        versions = ", ".join(map(str, c.extra["versions"]))  # type: ignore[call-overload]
        latest = str(c.extra["latest"])
        s = c.summary
        subject = f"{model} {dt} on firmware {versions}"
        return self.row(
            c,
            "firmware",
            subject,
            f"{subject}: {_pct(s['observed_rate'])} success on {_requests(s['n'])} of {self.on(c)}",
            f"the same model on its latest firmware {latest}, for the same SRVs, regions, comms "
            f"hubs and parties: {_pct(s['comparison_rate'])}",
            f"{ACTIONS['firmware']} of {model} {dt}s from {versions} to {latest}",
            None,
            self.headline(
                c,
                f"{self.asked(c)} to {model} {dt}s on firmware {versions}",
                f"the same model on its latest firmware {latest}",
            ),
        )

    def device(self, c: Candidate) -> dict[str, Any]:
        k = c.key
        s = c.summary
        party = str(k["party_label"]) if "party_label" in k else None
        if "comms_hub_model" in k and "meter_model" in k:
            if k["device_type"] in ("CHF", "GPF"):
                what = f"{k['meter_model']} {k['device_type']}s on firmware {k['firmware_version']}"
            else:
                what = (
                    f"{k['meter_model']} {k['device_type']}s on firmware {k['firmware_version']} "
                    f"with {k['comms_hub_model']} comms hubs"
                )
            makers = f"{k['meter_model']}, comms hub {k['comms_hub_model']}"
        elif "meter_model" in k:
            what = f"{k['meter_model']} {k['device_type']}s"
            makers = str(k["meter_model"])
        else:
            what = f"{k['comms_hub_model']} comms hubs"
            makers = f"comms hub {k['comms_hub_model']}"
        lead = f"{self.asked(c)} to {what}"
        if party:
            lead = f"{self.asked(c)} from {party} to {what}"
            compared = "other parties' requests to the same devices"
            subject = f"{party}: {what}"
            comparison = (
                f"other parties' requests to the same device set, for the same SRVs and regions: "
                f"{_pct(s['comparison_rate'])}"
            )
            action = f"{ACTIONS['device']} ({makers}) with {party}, whose set alone falls short"
        else:
            subject = what
            comparison = (
                f"other {k.get('device_type', 'device')} models and sets, for the same SRVs, "
                f"regions and parties: {_pct(s['comparison_rate'])}"
                if "device_type" in k
                else f"the other comms hub models of the same regions, for the same SRVs, meters "
                f"and parties: {_pct(s['comparison_rate'])}"
            )
            action = f"{ACTIONS['device']} ({makers})"
            compared = (
                f"other {k['device_type']} models and sets"
                if "device_type" in k
                else "the other comms hub models"
            )
        return self.row(
            c,
            "device",
            subject,
            f"{subject}: {_pct(s['observed_rate'])} success on {_requests(s['n'])} of {self.on(c)}",
            comparison,
            action,
            party,
            self.headline(c, lead, compared),
        )

    def user(self, c: Candidate) -> dict[str, Any]:
        party = str(c.key["party_label"])
        s = c.summary
        peer = c.extra.get("best_peer")
        comparison = (
            f"parties on the same adaptor and device sets, in the same regions "
            f"({c.extra.get('peers', 0)} with enough volume): {_pct(s['comparison_rate'])}"
        )
        if peer:
            comparison += (
                f"; best practice: {peer} at {float(c.extra['best_peer_percent']):.1f} %, "  # type: ignore[arg-type]
                f"{float(c.extra['best_peer_gap_points']):+.1f} points against the same peers"  # type: ignore[arg-type]
            )
            action = f"{ACTIONS['user']} between the DCC, {party} and {peer}"
        else:
            action = f"{ACTIONS['user']} between the DCC, {party} and a party on the same adaptor"
        return self.row(
            c,
            "user",
            party,
            f"{party}: {_pct(s['observed_rate'])} success on {_requests(s['n'])} of {self.on(c)}",
            comparison,
            action,
            party,
            self.headline(
                c,
                f"{self.asked(c)} from {party}",
                "other parties on the same adaptor and devices",
            ),
        )

    def top_issues(self, group: list[Candidate]) -> dict[str, Any]:
        """Several parties behind their peers on one SRV: an industry issue, not one party's."""
        from opmetrics.analytics.compare import TERMS, derive

        rows = pd.concat([c.rows for c in group])
        summary = derive(rows[list(TERMS)].sum().to_frame().T).iloc[0]
        first = group[0]
        merged = Candidate(
            "top_issues",
            {k: first.key[k] for k in ("business_process", "srv")},
            summary,
            rows,
            first.tests,
            max(c.p_adjusted for c in group),
        )
        labels = sorted(str(c.key["party_label"]) for c in group)
        subject = f"{len(labels)} parties ({', '.join(labels)})"
        return self.row(
            merged,
            "user",
            subject,
            f"{subject}: {_pct(summary['observed_rate'])} success on "
            f"{_requests(summary['n'])} of {self.on(merged)}",
            f"parties on the same adaptor and device sets, in the same regions: "
            f"{_pct(summary['comparison_rate'])}",
            f"{ACTIONS['top_issues']}: {len(labels)} parties fall short on the same SRV",
            None,
            self.headline(
                merged,
                f"{self.asked(merged)} from {len(labels)} parties ({', '.join(labels)})",
                "other parties on the same adaptor and devices",
            ),
        )


def insight_rows(
    d: Diagnosis, catalog: Catalog, month: str, top_issues_parties: int = 3
) -> list[dict[str, Any]]:
    """Rows of the insights table, ranked by requests affected (rank 1 = largest impact)."""
    w = Writer(d, catalog, month)
    rows: list[dict[str, Any]] = []
    users: dict[str, list[Candidate]] = {}
    for c in d.candidates:
        if c.family == "region":
            rows.append(w.region(c))
        elif c.family == "firmware":
            rows.append(w.firmware(c))
        elif c.family == "user":
            users.setdefault(str(c.key["srv"]), []).append(c)
        else:
            rows.append(w.device(c))
    for group in users.values():
        if len(group) >= top_issues_parties:
            rows.append(w.top_issues(group))
        else:
            rows.extend(w.user(c) for c in group)
    order = {k: i for i, k in enumerate(KINDS)}
    rows.sort(key=lambda r: (-r["requests_affected"], order.get(r["kind"], 9), r["subject"]))
    for i, r in enumerate(rows, start=1):
        r["rank"] = i
    return rows
