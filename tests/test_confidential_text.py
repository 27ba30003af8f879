"""`results.labels.party_mentions`: what counts as naming a party in text people write into
shared packs (a review file), worked case by case."""

from __future__ import annotations

from pathlib import Path

from opmetrics.results.labels import party_mentions, write_label_file
from opmetrics.results.schema import PARTY_LABELS_FILE, RESTRICTED_DIR

UID = "00-DB-12-34-56-78-9A-BC"


def _results(tmp_path: Path) -> Path:
    (tmp_path / RESTRICTED_DIR).mkdir(parents=True)
    write_label_file(
        tmp_path / RESTRICTED_DIR / PARTY_LABELS_FILE,
        {UID: "P-1A2B3C", "00-DB-00-00-00-00-00-02": "P-4D5E6F"},
        {UID: "Acme Power", "00-DB-00-00-00-00-00-02": "Bo"},
    )
    return tmp_path


def test_names_ids_and_id_fragments_are_found(tmp_path: Path) -> None:
    named = party_mentions(_results(tmp_path))
    assert named("ACME POWER missed its target")  # the name, case ignored
    assert named("acme power.")
    assert named(f"user {UID.lower()}")  # the whole id
    assert named("device 12-34-56-78 again")  # 4 consecutive bytes, dashes
    assert named("12:34:56:78")  # colons
    assert named("id 123456789abc")  # no separators
    assert not named("P-1A2B3C missed its target")  # its label is what to write
    assert not named("Acme Powerhouse Ltd")  # another word, not the name
    assert not named("12-34-56 on 2021-04-01")  # 3 bytes, and a date
    assert not named("Bo")  # names shorter than 3 characters are not looked for


def test_a_copy_without_restricted_knows_no_party(tmp_path: Path) -> None:
    assert not party_mentions(tmp_path)("Acme Power")
