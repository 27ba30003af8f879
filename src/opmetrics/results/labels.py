"""The party label file of a results folder, and reading an earlier month's as a registry.

`restricted/party_labels.parquet` (and a CSV copy with formulas neutralised) link each label to
its party: user_id, name, party_label. It holds every party the run labelled *and* every party
of the labels it was given, so the file carries the registry forward month after month.

`compute --labels PATH` reads an earlier month's file (PATH is that results folder, or the
file itself) so that every party found there keeps its label (`measures/anonymise.py`). The
labels must have been made with this run's key: the results folder's manifest records the key
fingerprint, and every label must be a prefix of its party's digest under this run's key. Any
problem is a configuration error (exit 3) that names the file and the row, never a party.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from opmetrics.errors import ConfigError, OutputError
from opmetrics.measures.anonymise import AnonKey, Labels, is_label_of
from opmetrics.results.io import MANIFEST, read_manifest, write_csv
from opmetrics.results.schema import PARTY_LABELS, PARTY_LABELS_FILE, RESTRICTED_DIR


@dataclass(frozen=True)
class LabelRegistry:
    """Labels an earlier month gave, read from its party label file."""

    path: Path  # the file read (Parquet when there is one, else the CSV)
    sha256: str
    labels: dict[str, str]  # user_id -> label
    names: dict[str, str | None]  # user_id -> name, as last recorded

    def describe(self, given: str | Path) -> dict[str, Any]:
        """For the manifest: what was given, which file was read (by hash), how many parties."""
        return {"given": str(given), "sha256": self.sha256, "parties": len(self.labels)}


def write_label_file(path: Path, labels: dict[str, str], names: dict[str, str | None]) -> None:
    """Parquet with the names as given, and `path` (CSV) with formulas neutralised."""
    ids = sorted(labels)
    table = pa.table(
        {
            "user_id": ids,
            "name": [names.get(u) for u in ids],
            "party_label": [labels[u] for u in ids],
        },
        schema=PARTY_LABELS,
    )
    pq.write_table(table, path.with_suffix(".parquet"), compression="zstd")
    write_csv(table, path)


def read_label_file(path: Path) -> pa.Table:
    """A party label file (PARTY_LABELS): the Parquet copy beside `path` when there is one
    (names as given), else the CSV (names of results written before the Parquet copy)."""
    exact = path.with_suffix(".parquet")
    if exact.is_file():
        return pq.read_table(exact).select(PARTY_LABELS.names).cast(PARTY_LABELS)
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=max(1 << 20, path.stat().st_size + 1)),
        convert_options=pacsv.ConvertOptions(
            column_types={f.name: f.type for f in PARTY_LABELS},
            include_columns=PARTY_LABELS.names,
        ),
    )


def _locate(given: Path) -> tuple[Path, Path | None]:
    """(the label file, the manifest of its results folder if there is one)."""
    if given.is_dir():
        manifest = given / MANIFEST
        if not manifest.is_file():
            raise ConfigError(
                "--labels: not a results folder (no manifest.json) nor a party_labels file",
                path=str(given),
            )
        file = given / RESTRICTED_DIR / PARTY_LABELS_FILE
        if not file.is_file() and not file.with_suffix(".parquet").is_file():
            raise ConfigError(
                f"--labels: the results folder has no {RESTRICTED_DIR}/{PARTY_LABELS_FILE} "
                "(a copy made for sharing?): give the folder compute wrote",
                path=str(given),
            )
        return file, manifest
    if not given.is_file():
        raise ConfigError("--labels: no such file or folder", path=str(given))
    if given.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(
            "--labels: expected a results folder or a party_labels .csv/.parquet",
            path=str(given),
        )
    manifest = given.parent.parent / MANIFEST
    inside = given.parent.name == RESTRICTED_DIR and manifest.is_file()
    return given.with_suffix(".csv"), manifest if inside else None


def _fingerprint(manifest: Path) -> str:
    try:
        fingerprint = read_manifest(manifest).anonymisation.key_fingerprint
    except (OSError, OutputError):
        fingerprint = ""
    if not fingerprint:
        raise ConfigError(
            "--labels: the results folder's manifest records no anonymisation key fingerprint",
            path=str(manifest),
        )
    return fingerprint


def load_registry(given: str | Path, key: AnonKey) -> LabelRegistry:
    """The labels of an earlier month, checked to be this scheme's under `key`."""
    file, manifest = _locate(Path(given))
    if manifest is not None:
        theirs = _fingerprint(manifest)
        if theirs != key.fingerprint:
            raise ConfigError(
                f"--labels: these labels were made with another anonymisation key (fingerprint "
                f"{theirs}; this run's is {key.fingerprint}): use the key they were made with",
                path=str(manifest),
            )
    read = file.with_suffix(".parquet") if file.with_suffix(".parquet").is_file() else file
    try:
        rows = read_label_file(file).to_pylist()
    except (pa.ArrowInvalid, OSError, KeyError):  # the reader's message may quote a row
        raise ConfigError(
            "--labels: not a readable party label file (columns user_id, name, party_label)",
            path=str(read),
        ) from None
    labels: dict[str, str] = {}
    names: dict[str, str | None] = {}
    seen: set[str] = set()
    for n, r in enumerate(rows, start=1):
        uid, label = r["user_id"], r["party_label"]
        where = f"row {n}" if read.suffix == ".parquet" else f"line {n + 1}"
        if not uid or not label:
            raise ConfigError(f"--labels: {where} has no user_id or no label", path=str(read))
        if not is_label_of(label, uid, key):
            raise ConfigError(
                f"--labels: {where}: label {label} is not one this run's key gives its party "
                "(made with another key, or edited)",
                path=str(read),
            )
        if uid in labels or label in seen:
            raise ConfigError(
                f"--labels: {where} repeats a party or the label {label}", path=str(read)
            )
        labels[uid] = label
        names[uid] = r["name"]
        seen.add(label)
    return LabelRegistry(read, _sha256(read), labels, names)


def label_warnings(assigned: Labels, registry: LabelRegistry | None) -> list[str]:
    """Without earlier labels a lengthened label may not be the party's next month: say so
    (naming labels only, never parties)."""
    if registry is not None or not assigned.lengthened:
        return []
    pairs = ", ".join(f"{a} and {b}" for a, b in assigned.collisions())
    return [
        f"party labels {pairs} share their first 6 hex digits (the second of each pair was "
        "lengthened): labels of colliding parties are guaranteed stable from month to month "
        "only when compute is given the earlier month's labels (--labels)"
    ]


def label_record(
    assigned: Labels, registry: LabelRegistry | None, labels_from: Path | None
) -> dict[str, Any]:
    """The manifest's record of the labels: what was given, how many parties, which labels were
    lengthened in this run."""
    return {
        "labels_from": registry.describe(labels_from)
        if registry is not None and labels_from is not None
        else None,
        "parties_labelled": len(assigned.labels),
        "parties_remembered": len(assigned.remembered),
        "lengthened": list(assigned.lengthened),
    }


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"--labels: cannot read ({exc.strerror})", path=str(path)) from None


ID_FRAGMENT_BYTES = 4  # this many consecutive bytes of a party's EUI-64 count as its id


def party_mentions(results: Path) -> Callable[[str], bool]:
    """Whether a text names a party of the results folder `results`: its name (as a whole
    word, case ignored), its user_id, or any `ID_FRAGMENT_BYTES` consecutive bytes of it written
    with dashes, colons or nothing between them. For the text people write into shared packs
    (a review file's commentary and actions). Without `restricted/party_labels` (a copy made
    for sharing) no party is known and nothing is found."""
    file = results / RESTRICTED_DIR / PARTY_LABELS_FILE
    if not file.is_file() and not file.with_suffix(".parquet").is_file():
        return lambda text: False
    rows = read_label_file(file).to_pylist()
    names = sorted({str(r["name"]).strip() for r in rows if r["name"] and str(r["name"]).strip()})
    words = [
        re.compile(rf"(?<!\w){re.escape(n)}(?!\w)", re.IGNORECASE) for n in names if len(n) >= 3
    ]
    fragments: set[str] = set()
    for r in rows:
        fragments.add(str(r["user_id"]).upper())
        parts = re.split(r"[-:]", str(r["user_id"]).upper())
        for i in range(len(parts) - ID_FRAGMENT_BYTES + 1):
            chunk = parts[i : i + ID_FRAGMENT_BYTES]
            fragments |= {sep.join(chunk) for sep in ("-", ":", "")}

    def mentions(text: str) -> bool:
        upper = text.upper()
        return any(f in upper for f in fragments) or any(w.search(text) for w in words)

    return mentions


__all__ = [
    "LabelRegistry",
    "label_record",
    "label_warnings",
    "load_registry",
    "party_mentions",
    "read_label_file",
    "write_label_file",
]
