"""Records sort as people number them, and ids in any script still sort (and export)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from alignment.export import export_bundle, natural_key
from alignment.imports import import_document
from tests.factories import small_bundle


def test_ascii_digit_runs_sort_as_numbers_and_other_digits_as_text() -> None:
    ids = ["O-10", "O-2", "፩", "X-፩2", "O-1a"]
    assert sorted(ids, key=natural_key) == ["O-1a", "O-2", "O-10", "X-፩2", "፩"]


def test_an_organization_with_an_ethiopic_digit_id_exports(session: Session) -> None:
    document = small_bundle("digits")
    document["cycles"].append({"id": "፩", "start": "2027-01-01", "end": "2027-03-31"})
    import_document(session, document)
    exported = export_bundle(session, "digits")
    assert "፩" in [c["id"] for c in exported["cycles"]]
