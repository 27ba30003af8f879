"""Benchmark `opmetrics ingest-duis`: messages per minute and peak memory.

Builds an archive from the public DUIS sample templates (requests of the SRVs the catalog
knows, each with its acknowledgement and final response, some failing, some unanswered),
then runs the command in a child process, timing it and sampling the resident memory of the
process tree. The archive is written as one of:

  lines  a .tar.gz of daily line files (timestamp prefix, one message per line)
  files  a folder with one XML file per message
  zip    a .zip with one XML member per message

Usage: uv run python benchmarks/bench_duis.py [--requests N] [--format lines|files|zip]
       [--samples DIR] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import tarfile
import tempfile
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from measure import Measured, measure, opmetrics_cmd

from opmetrics.catalog import default_catalog

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "duis" / "samples"
USER = "90-B3-D5-1F-30-01-00-00"
START = datetime(2021, 4, 1, tzinfo=UTC)
REGIONS = ("North", "Central", "South")


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def one_line(xml: str) -> str:
    return " ".join(p.strip() for p in xml.splitlines() if p.strip())


def templates(samples: Path) -> list[tuple[str, str, int, bool]]:
    """(xml, srv, command variant, future-datable) for each template of a catalog SRV."""
    cat = default_catalog()
    out = []
    for f in sorted((samples / "requests").iterdir()):
        xml = one_line(f.read_text(encoding="utf-8"))
        srv = re.search(r"<sr:ServiceReferenceVariant>([^<]+)<", xml)
        cv = re.search(r"<sr:CommandVariant>(\d+)<", xml)
        if not srv or not cv or srv.group(1) not in cat.srvs:
            continue
        s = cat.srvs[srv.group(1)]
        if int(cv.group(1)) not in s.command_variants or "ExecutionDateTime" in xml:
            continue
        xml = re.sub(
            r"<sr:RequestID>[^<]*</sr:RequestID>", "<sr:RequestID>{rid}</sr:RequestID>", xml
        )
        # a non-device request names its device in the body: make it one of the inventory's
        xml = re.sub(r"<sr:(DeviceID|DeviceIDList)>[^<]*<", r"<sr:\1>{dev}<", xml)
        out.append((xml, s.id, int(cv.group(1)), s.non_device))
    return out


def response_template(samples: Path, name: str) -> str:
    xml = one_line((samples / "responses" / name).read_text(encoding="utf-8"))
    xml = re.sub(r"<sr:RequestID>[^<]*<", "<sr:RequestID>{rid}<", xml)
    xml = re.sub(r"<sr:ResponseID>[^<]*<", "<sr:ResponseID>{resp}<", xml)
    xml = re.sub(r"<sr:ResponseCode>[^<]*<", "<sr:ResponseCode>{code}<", xml)
    xml = re.sub(r"<sr:ResponseDateTime>[^<]*<", "<sr:ResponseDateTime>{at}<", xml)
    xml = re.sub(r"<sr:ServiceReference>[^<]*<", "<sr:ServiceReference>{sref}<", xml)
    return re.sub(r"<sr:ServiceReferenceVariant>[^<]*<", "<sr:ServiceReferenceVariant>{srv}<", xml)


def build(
    samples: Path, n_requests: int, root: Path, fmt: str, seed: int = 1
) -> tuple[Path, Path, int]:
    """Write the archive and a device inventory; return their paths and the message count."""
    rng = random.Random(seed)
    reqs = templates(samples)
    final_t = response_template(samples, "readfw-response.xml")
    sync_t = response_template(samples, "acknowledgement-error.xml")
    cat = default_catalog()
    n_devices = max(1, n_requests // 10)
    devices = [
        f"00-DB-{i // 2**24 % 256:02X}-{i // 65536 % 256:02X}-{i // 256 % 256:02X}-{i % 256:02X}-00-01"
        for i in range(n_devices)
    ]
    kinds: dict[str, str] = {}  # each device's type: the first its first request can target
    messages: list[tuple[datetime, str]] = []
    step = timedelta(days=28) / n_requests
    for i in range(n_requests):
        xml, srv, cv, non_device = reqs[i % len(reqs)]
        device = devices[i % n_devices]
        if not non_device:
            wanted = cat.srvs[srv].device_types
            kind = kinds.setdefault(device, wanted[0])
            if kind not in wanted:
                device = devices[(i + 1) % n_devices]
                kind = kinds.setdefault(device, wanted[0])
                if kind not in wanted:
                    continue
        target = "90-B3-D5-1F-30-00-00-02" if non_device else device
        rid = f"{USER}:{target}:{i + 1}"
        sent = START + step * i
        messages.append((sent, xml.replace("{rid}", rid, 1).replace("{dev}", device)))
        fill = {
            "rid": rid,
            "resp": f"{target}:{USER}:{i + 1}",
            "sref": ".".join(srv.split(".")[:2]),
            "srv": srv,
        }
        if cv in (1, 5):
            messages.append(
                (sent, sync_t.format(code="I99", at=iso(sent + timedelta(seconds=0.3)), **fill))
            )
        roll = rng.random()
        if roll < 0.02:
            continue  # unanswered
        code = "I0" if roll < 0.95 else rng.choice(["E21", "E3", "E100", "E061501"])
        template = final_t if code == "I0" else sync_t
        at = sent + timedelta(seconds=rng.expovariate(1 / 8))
        messages.append((at, template.format(code=code, at=iso(at), **fill)))
    inv = root / "devices.csv"
    with inv.open("w", encoding="utf-8") as fh:
        fh.write(
            "device_id,device_type,smets,region,manufacturer,model,firmware_version,comms_hub_id\n"
        )
        for i, d in enumerate(devices):
            fh.write(f"{d},{kinds.get(d, 'ESME')},SMETS2,{REGIONS[i % 3]},,,,\n")
    messages.sort(key=lambda m: m[0])
    archive = _write(root, fmt, messages)
    return archive, inv, len(messages)


def _write(root: Path, fmt: str, messages: list[tuple[datetime, str]]) -> Path:
    if fmt == "lines":
        path = root / "archive.tar.gz"
        by_day: dict[str, list[str]] = {}
        for at, xml in messages:
            by_day.setdefault(at.date().isoformat(), []).append(f"{iso(at)} {xml}")
        with tarfile.open(path, "w:gz", compresslevel=1) as tf:
            for day, lines in sorted(by_day.items()):
                data = ("\n".join(lines) + "\n").encode()
                info = tarfile.TarInfo(f"duis/{day}.log")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        return path
    if fmt == "files":
        path = root / "archive"
        path.mkdir()
        for i, (at, xml) in enumerate(messages):
            f = path / f"{at.date().isoformat()}" / f"{i:08d}.xml"
            f.parent.mkdir(exist_ok=True)
            f.write_text(xml, encoding="utf-8")
            os.utime(f, (at.timestamp(), at.timestamp()))
        return path
    path = root / "archive.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i, (at, xml) in enumerate(messages):
            info = zipfile.ZipInfo(f"{i:08d}.xml", date_time=at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, xml)
    return path


def run(archive: Path, devices: Path, out: Path) -> Measured:
    """Run the command on the archive just written (its pages still cached, as they were)."""
    cmd = opmetrics_cmd(
        "ingest-duis", str(archive), "--out", str(out), "--devices", str(devices), "--wait", "3600"
    )
    m = measure(cmd, cold=False)
    if m.returncode != 0:
        raise SystemExit(f"ingest-duis failed ({m.returncode}): {m.stderr.strip()}")
    return m


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--format", choices=("lines", "files", "zip"), default="lines")
    ap.add_argument("--samples", type=Path, default=SAMPLES)
    ap.add_argument("--keep", type=Path, default=None, help="keep the archive and output here")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-duis-")) if args.keep is None else args.keep
    root.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        archive, devices, n = build(args.samples, args.requests, root, args.format)
        size = (
            sum(f.stat().st_size for f in archive.rglob("*"))
            if archive.is_dir()
            else archive.stat().st_size
        )
        print(
            f"archive: {args.format}, {n:,} messages, {size / 2**20:,.1f} MiB, built in {time.perf_counter() - t0:,.1f} s"
        )
        load = os.getloadavg()[0]
        m = run(archive, devices, root / "data")
        elapsed, cpu, peak = m.seconds, m.cpu_seconds, m.peak_rss_bytes
        print(m.stdout)
        print(
            f"ingest-duis: {elapsed:,.1f} s wall ({n / elapsed * 60:,.0f} messages/min), "
            f"{cpu:,.1f} s CPU ({n / cpu * 60:,.0f} messages/min of CPU time), "
            f"peak RSS {peak / 2**20:,.0f} MiB, load average {load:.1f} on {os.cpu_count()} CPUs"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
