"""Stable party pseudonyms: the same party gets the same label every month.

Labels come from a keyed hash (HMAC-SHA256) of the party's user_id, so they are stable across
months and runs with the same key, and nobody without the key can map a label back to a party.
The key comes from `--anon-key` or the environment variable OPMETRICS_ANON_KEY; the documented
default is for the demo only (anyone can recompute its labels). The key itself is never written;
the manifest holds a fingerprint so two runs can be checked to have used the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass

ENV_KEY = "OPMETRICS_ANON_KEY"
DEMO_KEY = "opmetrics-demo-key"
PREFIX = "P-"
MIN_HEX = 6


@dataclass(frozen=True)
class AnonKey:
    key: bytes
    origin: str  # "option", "environment" or "demo default"

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(b"opmetrics-anon-key:" + self.key).hexdigest()[:16]

    @property
    def is_demo(self) -> bool:
        return self.origin == "demo default"


def resolve_key(option: str | None) -> AnonKey:
    if option:
        return AnonKey(option.encode("utf-8"), "option")
    env = os.environ.get(ENV_KEY)
    if env:
        return AnonKey(env.encode("utf-8"), "environment")
    return AnonKey(DEMO_KEY.encode("utf-8"), "demo default")


def labels_for(user_ids: Iterable[str], key: AnonKey) -> dict[str, str]:
    """user_id → label; labels are lengthened (for all parties) until they are unique."""
    ids = sorted(set(user_ids))
    digests = {
        u: hmac.new(key.key, u.encode("utf-8"), hashlib.sha256).hexdigest().upper() for u in ids
    }
    width = MIN_HEX
    while True:
        labels = {u: PREFIX + d[:width] for u, d in digests.items()}
        if len(set(labels.values())) == len(labels):
            return labels
        width += 2
