"""Why a request failed, in words a party's analyst can act on, and its failed-requests file.

A customer pack lists a party's failed requests by final response code; a code alone (`E21`,
`I99`, or `I0` for a request that still failed) tells a reader nothing. Each code's class and
meaning come from the catalog's response code rules (the first rule matching the code, as the
measures classify it), and the MP122 rules say how each class counts:

- a success code (I0, a W warning) is a failure only when the DSP needed more than
  `MAX_DSP_ATTEMPTS` delivery attempts;
- an interim code (I99, an acknowledgement) is a failure when it is the final response;
- no response at all by the end of the month is a failure;
- every other failure code is a failure in the DCC systems, the network or the device
  (user-caused codes are excluded from every rate, so never listed).

The failed-requests file (CSV and the workbook's sheet) gives each request's reason in these
words, its DSP attempts, and its received time in UTC and in UK local time with the zone and
offset marked (a month in April holds BST times; a request received at 00:30 BST on 1 April was
received at 23:30 UTC on 31 March).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from opmetrics.catalog import Catalog
from opmetrics.catalog.model import ResponseCodeRule
from opmetrics.contract.schema import MAX_DSP_ATTEMPTS
from opmetrics.month import UK_ZONE

NO_RESPONSE = "no response"
LATE_SUCCESS = f"after more than {MAX_DSP_ATTEMPTS} DSP attempts"

CLASS_NAMES = {
    "success": "Success code",
    "interim": "Interim (acknowledgement)",
    "user_caused": "Caused by the User",
    "dcc_failure": "DCC failure",
}
COUNTS_AS = {
    "success": (
        f"a failure only because the DSP needed more than {MAX_DSP_ATTEMPTS} attempts to "
        "deliver the request"
    ),
    "interim": "a failure: no final response followed the acknowledgement",
    "user_caused": "no rate: excluded as caused outside the DCC's control",
    "dcc_failure": "a failure",
}


@dataclass(frozen=True)
class Meaning:
    """What one listed response means: the response as listed, its class, the catalog's
    description of it and how it counts."""

    response: str
    klass: str
    description: str
    counts_as: str


def _rule(catalog: Catalog, code: str) -> ResponseCodeRule | None:
    return next((r for r in catalog.response_code if r.matches(code)), None)


def listed_response(code: str | None, dsp_attempts: int | None, catalog: Catalog) -> str:
    """A failed request's final response as the pack lists it: the code, `no response`, or a
    success code with why it still failed (`I0 after more than 3 DSP attempts`)."""
    if code is None:
        return NO_RESPONSE
    rule = _rule(catalog, code)
    if rule is not None and rule.class_ == "success" and (dsp_attempts or 0) > MAX_DSP_ATTEMPTS:
        return f"{code} {LATE_SUCCESS}"
    return code


def meaning(response: str, catalog: Catalog) -> Meaning:
    """What a listed response (from `listed_response`) means and how it counts."""
    if response == NO_RESPONSE:
        return Meaning(
            response,
            "No response",
            "No final response was received for the request",
            "a failure",
        )
    code = response.split(" ", 1)[0]
    rule = _rule(catalog, code)
    if rule is None:  # the measures quarantine such a request: it cannot be listed
        return Meaning(response, "Unknown", "Not in the catalog's response codes", "unknown")
    return Meaning(
        response,
        CLASS_NAMES.get(rule.class_, rule.class_),
        rule.description or rule.id,
        COUNTS_AS[rule.class_],
    )


def why_failed(response: str, catalog: Catalog) -> str:
    """One line for a failed request: `DCC failure (E21): Failure in the DCC systems, ...`."""
    m = meaning(response, catalog)
    if response == NO_RESPONSE:
        return f"{m.description}"
    if m.klass == CLASS_NAMES["success"]:
        return f"{response}: {m.counts_as}"
    return f"{m.klass} ({response}): {m.description}"


def _uk_times(received: pa.ChunkedArray) -> pa.Array:
    """UK local times of UTC instants, zone and offset marked: `2021-04-01 00:30:00 BST
    (UTC+01:00)`."""
    import pandas as pd

    s = pd.Series(received.to_pandas(), dtype="datetime64[us, UTC]").dt.tz_convert(UK_ZONE)
    text = s.dt.strftime("%Y-%m-%d %H:%M:%S %Z (UTC%z)").str.replace(
        r"([+-]\d\d)(\d\d)\)$", r"\1:\2)", regex=True
    )
    return pa.array(
        [t if isinstance(t, str) and ok else None for t, ok in zip(text, s.notna(), strict=True)],
        pa.string(),
    )


def failures_file(failures: pa.Table, catalog: Catalog) -> pa.Table:
    """A party's failed requests as its file gives them: after the response code, the response
    as listed and why it failed, the DSP attempts, and the received time in UTC and UK local
    time; device types and SRVs named beside their ids (`named`)."""
    from opmetrics.reports.named import name_table

    codes = failures.column("response_code").to_pylist()
    attempts = failures.column("dsp_attempts").to_pylist()
    memo: dict[str, str] = {}
    reasons = []
    for code, n in zip(codes, attempts, strict=True):
        listed = listed_response(code, n, catalog)
        if listed not in memo:
            memo[listed] = why_failed(listed, catalog)
        reasons.append(memo[listed])
    t = failures
    at = t.column_names.index("response_code") + 1
    t = t.add_column(at, "why_failed", pa.array(reasons, pa.string()))
    received = t.column("received_at")
    at = t.column_names.index("received_at")
    t = t.set_column(at, "received_at_utc", received)
    t = t.add_column(at + 1, "received_at_uk_local", _uk_times(received))
    # DSP attempts beside the reason they can decide
    attempts_col = t.column("dsp_attempts")
    t = t.drop_columns(["dsp_attempts"])
    t = t.add_column(t.column_names.index("why_failed") + 1, "dsp_attempts", attempts_col)
    return name_table(t, catalog)


__all__ = ["LATE_SUCCESS", "NO_RESPONSE", "Meaning", "failures_file", "listed_response", "meaning"]
