"""`opmetrics compute` against the engine's floor and against a plain pandas implementation.

For each size (default 10M and 100M generated requests):
- compute: the whole `opmetrics compute` (validation, one aggregation pass, event measures,
  derived tables, restricted failures extract, writing the results folder);
- floor: one hand-written DuckDB SQL query over the same Parquet computing srv_summary's
  counts and exact RTT percentiles (no validation, no other table) - the least work any
  implementation on DuckDB must do;
- pandas: the srv_summary counts and percentiles as an analyst would write them in pandas.
Each runs in its own process; wall time and peak RSS (process tree) are reported.

    uv run python benchmarks/bench_compute.py --requests 10000000 100000000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from measure import generated_month, machine, measure, opmetrics_cmd

FLOOR = r"""
import duckdb, sys
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
q = '''
WITH f AS (
  SELECT srv, CASE WHEN smets = 'SMETS1' THEN 'SMETS1' ELSE region END AS region, device_type,
    CASE
      WHEN response_code IS NULL THEN 'failure'
      WHEN (response_code = 'I0' OR regexp_full_match(response_code, 'W[0-9]+')) AND coalesce(dsp_attempts, 1) <= 3 THEN 'success'
      WHEN response_code IN ('E1','E2','E3','E4','E5','E11','E12','E13','E17','E19') OR regexp_full_match(response_code, 'E[0-9]{6}') THEN 'excluded'
      ELSE 'failure' END AS outcome,
    epoch_us(responded_at) - epoch_us(CASE WHEN execution = 'future_dated' AND execute_at > received_at THEN execute_at ELSE received_at END) AS rtt_us,
    CASE WHEN execution = 'on_demand' AND command_variant = 4 THEN 3000000 ELSE 30000000 END AS trt_us
  FROM read_parquet(?)
  WHERE received_at >= TIMESTAMPTZ '2021-03-31 23:00:00+00' AND received_at < TIMESTAMPTZ '2021-04-30 23:00:00+00'
)
SELECT srv, region, device_type, count(*) AS submitted,
  count(*) FILTER (outcome = 'success') AS succeeded,
  count(*) FILTER (outcome = 'failure') AS failed,
  count(*) FILTER (outcome = 'excluded') AS excluded,
  count(*) FILTER (outcome = 'success' AND rtt_us <= trt_us) AS within_trt,
  avg(rtt_us) FILTER (outcome = 'success') AS rtt_mean_us,
  quantile_cont(rtt_us, [0.5, 0.9, 0.95]) FILTER (outcome = 'success') AS rtt_p
FROM f GROUP BY ALL
'''
rows = con.execute(q, [sys.argv[1]]).fetchall()
print(len(rows))
"""

PANDAS = r"""
import sys
import numpy as np
import pandas as pd
df = pd.read_parquet(sys.argv[1], columns=["srv", "smets", "region", "device_type", "execution", "command_variant", "execute_at",
                                         "received_at", "responded_at", "response_code", "dsp_attempts"])
start, end = pd.Timestamp("2021-03-31 23:00", tz="UTC"), pd.Timestamp("2021-04-30 23:00", tz="UTC")
df = df[(df.received_at >= start) & (df.received_at < end)]
df["region"] = np.where(df.smets == "SMETS1", "SMETS1", df.region)
code = df.response_code
ok_code = (code == "I0") | code.str.fullmatch(r"W[0-9]+").fillna(False).astype(bool)
user = code.isin(["E1","E2","E3","E4","E5","E11","E12","E13","E17","E19"]) | code.str.fullmatch(r"E[0-9]{6}").fillna(False).astype(bool)
att_ok = df.dsp_attempts.isna() | (df.dsp_attempts <= 3)
df["success"] = ok_code & att_ok
df["excluded"] = user & ~df.success
df["failure"] = ~df.success & ~df.excluded
start_at = df.received_at.where(~((df.execution == "future_dated") & (df.execute_at > df.received_at)), df.execute_at)
df["rtt"] = (df.responded_at - start_at).dt.total_seconds()
trt = np.where((df.execution == "on_demand") & (df.command_variant == 4), 3.0, 30.0)
df["within"] = df.success & (df.rtt <= trt)
keys = ["srv", "region", "device_type"]
counts = df.groupby(keys).agg(submitted=("success", "size"), succeeded=("success", "sum"), failed=("failure", "sum"),
                              excluded=("excluded", "sum"), within_trt=("within", "sum"))
pct = df[df.success].groupby(keys)["rtt"].quantile([0.5, 0.9, 0.95]).unstack()
mean = df[df.success].groupby(keys)["rtt"].mean()
out = counts.join(pct).join(mean)
print(len(out))
"""


def parquet_glob(data: Path) -> str:
    single = data / "service_requests.parquet"
    return str(single) if single.exists() else str(data / "service_requests" / "**" / "*.parquet")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, nargs="+", default=[10_000_000, 100_000_000])
    ap.add_argument("--skip-pandas-above", type=int, default=200_000_000)
    ap.add_argument(
        "--memory-limit", default=None, help="pass --memory-limit to compute (e.g. 2GiB)"
    )
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print(
        "| requests | compute s | compute peak RSS GiB | floor SQL s | floor RSS GiB | compute / floor | pandas s | pandas RSS GiB | pandas / compute |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.requests:
        data = generated_month(n)
        with tempfile.TemporaryDirectory() as tmp:
            extra = ["--memory-limit", args.memory_limit] if args.memory_limit else []
            c = measure(
                opmetrics_cmd(
                    "compute",
                    str(data),
                    "--month",
                    "2021-04",
                    "--out",
                    str(Path(tmp) / "r"),
                    "--anon-key",
                    "bench",
                    *extra,
                )
            )
            if c.returncode != 0:
                raise SystemExit(c.stderr)
        f = measure([sys.executable, "-c", FLOOR, parquet_glob(data)])
        if f.returncode != 0:
            raise SystemExit(f.stderr)
        if n <= args.skip_pandas_above:
            p = measure(
                [sys.executable, "-c", PANDAS, str(data / "service_requests.parquet")], timeout=3600
            )
            pandas_s = (
                f"{p.seconds:.1f}"
                if p.returncode == 0
                else f"failed (exit {p.returncode}{', out of memory' if p.returncode in (-9, 137) else ''})"
            )
            ratio = f"{p.seconds / c.seconds:.1f}x" if p.returncode == 0 else "-"
            pandas_rss = f"{p.peak_rss_gib:.2f}"
        else:
            pandas_s, ratio, pandas_rss = "not run", "-", "-"
        print(
            f"| {n:,} | {c.seconds:.1f} | {c.peak_rss_gib:.2f} | {f.seconds:.1f} | {f.peak_rss_gib:.2f} | {c.seconds / f.seconds:.2f}x | {pandas_s} | {pandas_rss} | {ratio} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
