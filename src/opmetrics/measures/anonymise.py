"""Stable party pseudonyms: a party's label never changes from month to month under one key.

A label is `P-` and the first 6 hex digits of a keyed hash (HMAC-SHA256) of the party's
user_id, so nobody without the key can map a label back to a party. The key comes from
`--anon-key` or the environment variable OPMETRICS_ANON_KEY; the documented default is for the
demo only (anyone can recompute its labels). The key itself is never written; the manifest holds
a fingerprint so two runs can be checked to have used the same key.

Six hex digits (24 bits) are short enough to read and say, so two parties can share them (with
200 parties, some pair shares them under about one key in 840). Whether two
parties collide depends on who is active in a month, so no rule that looks at one month alone
can keep every label fixed. Labels are therefore remembered: compute is given the labels an
earlier month gave (`known`), and

- a party found there keeps its label, whatever else happens;
- a newcomer takes its 6-digit label when no party has it yet, else the shortest longer prefix
  of its own digest (8, 10, ... hex digits) that is free. Newcomers are served in the order of
  their full digests, so among colliding newcomers the smallest digest keeps the shortest free
  label, whatever order the ids come in.

No label already given is ever changed to resolve a collision; only the colliding newcomer gets
a longer one. Without earlier labels the same rule runs with nobody remembered: the result is
deterministic, but a party lengthened in one month could get its short label in a month its
rival is absent, which is why compute warns when it lengthens a label without them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from opmetrics.defaults import ENV_KEY

DEMO_KEY = "opmetrics-demo-key"
PREFIX = "P-"
MIN_HEX = 6
STEP_HEX = 2
LABEL_PATTERN = re.compile(r"^P-[0-9A-F]{6,64}$")


@dataclass(frozen=True)
class AnonKey:
    key: bytes
    origin: str  # "option", "environment" or "demo default"

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(b"opmetrics-anon-key:" + self.key).hexdigest()[:16]


def resolve_key(option: str | None) -> AnonKey:
    if option:
        return AnonKey(option.encode("utf-8"), "option")
    env = os.environ.get(ENV_KEY)
    if env:
        return AnonKey(env.encode("utf-8"), "environment")
    return AnonKey(DEMO_KEY.encode("utf-8"), "demo default")


def digest(user_id: str, key: AnonKey) -> str:
    """HMAC-SHA256 of the user_id under the key, as 64 upper-case hex digits."""
    return hmac.new(key.key, user_id.encode("utf-8"), hashlib.sha256).hexdigest().upper()


def is_label_of(label: str, user_id: str, key: AnonKey) -> bool:
    """Whether `label` is one this scheme can give `user_id` under `key` (any length)."""
    if not LABEL_PATTERN.match(label) or (len(label) - len(PREFIX) - MIN_HEX) % STEP_HEX:
        return False
    return digest(user_id, key).startswith(label[len(PREFIX) :])


@dataclass(frozen=True)
class Labels:
    """The labels of a run: every party's, the remembered ones included."""

    labels: dict[str, str]  # user_id -> label
    remembered: frozenset[str]  # user_ids whose label came from the earlier labels
    lengthened: tuple[str, ...]  # labels given in this run that are longer than 6 hex digits

    def collisions(self) -> list[tuple[str, str]]:
        """(label holding the 6 digits, lengthened label) for each label lengthened here."""
        short = {v[: len(PREFIX) + MIN_HEX]: v for v in self.labels.values() if _base(v)}
        return [(short.get(v[: len(PREFIX) + MIN_HEX], ""), v) for v in self.lengthened]


def _base(label: str) -> bool:
    return len(label) == len(PREFIX) + MIN_HEX


def assign_labels(
    user_ids: Iterable[str], key: AnonKey, known: Mapping[str, str] | None = None
) -> Labels:
    """Labels of `user_ids` and of every party in `known` (user_id -> label given earlier).

    `known` must hold labels this scheme gave under the same key (`is_label_of`), all distinct:
    the caller checks that (`opmetrics.results.labels`).
    """
    known = dict(known or {})
    labels = dict(known)
    taken = set(known.values())
    newcomers = sorted((digest(u, key), u) for u in set(user_ids) if u not in known)
    lengthened = []
    for d, u in newcomers:
        width = MIN_HEX
        while PREFIX + d[:width] in taken:
            width += STEP_HEX
            if width > len(d):  # two user_ids with one 256-bit digest: not to be seen
                raise ValueError("two parties have the same HMAC-SHA256 digest")
        label = PREFIX + d[:width]
        labels[u] = label
        taken.add(label)
        if width > MIN_HEX:
            lengthened.append(label)
    return Labels(dict(sorted(labels.items())), frozenset(known), tuple(sorted(lengthened)))
