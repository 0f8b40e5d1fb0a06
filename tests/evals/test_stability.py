"""`evals.stability --service`: adding OKRs through the service flips no other OKR's verdict."""

from __future__ import annotations

from pathlib import Path

from evals.stability import service_flips

DEV = Path("evals/datasets/dev")


def test_adding_five_okrs_through_the_service_flips_no_verdict(database_url) -> None:
    # kestrel-pumps is where five unrelated OKRs moved the median between two clusters.
    paths = [DEV / "kestrel-pumps.bundle.json", DEV / "riverbend-health.bundle.json"]
    rows = service_flips(paths, add=5)
    assert [(r["organization"], r["added"]) for r in rows] == [
        ("kestrel-pumps", 5),
        ("riverbend-health", 5),
    ]
    assert all(r["okrs"] >= 25 for r in rows)
    assert [r["verdicts_flipped"] for r in rows] == [0, 0]
    # Check-ins keep their three-way drift verdict too (the added OKRs come with none).
    assert all(r["check_ins"] >= 50 for r in rows)
    assert [r["check_in_verdicts_flipped"] for r in rows] == [0, 0]
