"""evals.decisions_service: decisions recorded through the service, the undecided OKRs measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignment.scoring.documents import Link
from evals import decisions_service

DEV = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "dev"


def test_measure_counts_top1_and_aligned_links_of_the_given_okrs() -> None:
    stored = {
        "O-1": [Link("SO-1", 0.9, "aligned", ()), Link("SO-2", 0.5, "aligned", ())],
        "O-2": [Link("SO-3", 0.4, "weak", ()), Link("SO-1", 0.3, "none", ())],
        "O-3": [Link("SO-2", 0.8, "aligned", ())],
    }
    gold = {"O-1": ["SO-1"], "O-2": ["SO-1"], "O-3": []}
    c = decisions_service._measure(stored, gold, ["O-1", "O-2", "O-3"])
    assert (c["top1_hits"], c["with_gold"]) == (1, 2)  # O-3 (an orphan) has no top1
    assert (c["tp"], c["predicted"], c["gold"]) == (1, 3, 2)
    assert decisions_service._figures(c) == {"top1": 0.5, "link_f1": 0.4}


def test_the_service_run_measures_the_same_undecided_okrs_before_and_after(
    database_url, embedder
) -> None:
    bundle = DEV / "kestrel-pumps.bundle.json"
    [row] = decisions_service.run([(bundle, DEV / "kestrel-pumps.labels.json")], 0.3, 1)
    before, after = row["before"], row["after"]
    assert before["okrs"] == after["okrs"] > 0 and before["with_gold"] == after["with_gold"]
    assert before["gold"] == after["gold"]


def test_the_final_held_out_set_is_refused() -> None:
    with pytest.raises(SystemExit, match="holdout-2"):
        decisions_service.main(["evals/datasets/holdout-2"])
