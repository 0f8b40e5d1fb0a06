"""The promotion rule studied in evals.typical_best (not shipped: see evals/README.md)."""

from __future__ import annotations

from alignment.scoring.documents import Link
from evals.typical_best import promote


def links(*pairs: tuple[str, float]) -> list[Link]:
    return [Link(f"SO-{i}", score, label, ()) for i, (label, score) in enumerate(pairs)]


def test_only_a_weak_best_link_at_the_typical_level_of_an_unplaced_okr_is_promoted() -> None:
    org = {
        "placed": links(("aligned", 0.6), ("weak", 0.5)),
        "typical": links(("weak", 0.3), ("weak", 0.4)),  # best is the second link
        "low": links(("weak", 0.1)),
        "none": links(("none", 0.5)),
        "m1": links(("aligned", 0.5)),
        "m2": links(("aligned", 0.5)),
    }  # median best score 0.5
    out = promote(org, 0.7)
    labels = {k: [lk.label for lk in v] for k, v in out.items()}
    assert labels["typical"] == ["weak", "aligned"]
    assert labels["placed"] == ["aligned", "weak"]
    assert labels["low"] == ["weak"] and labels["none"] == ["none"]
    assert promote(org, None) == {k: list(v) for k, v in org.items()}
    assert [lk.label for lk in org["typical"]] == ["weak", "weak"]  # input left alone
