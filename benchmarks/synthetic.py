"""Synthetic organizations of any size, for benchmarks and volume tests (deterministic)."""

from __future__ import annotations

import random
from typing import Any

PERSPECTIVES = ["financial", "customer", "internal_process", "learning_growth"]
VERBS = ["Grow", "Reduce", "Improve", "Shorten", "Raise", "Protect", "Simplify", "Expand"]
THINGS = [
    "repeat orders",
    "delivery lead time",
    "support backlog",
    "gross margin",
    "onboarding time",
    "defect escape rate",
    "field-service visits",
    "training hours",
    "invoice accuracy",
    "warehouse picking errors",
    "net revenue retention",
    "trial signups",
]


def make_bundle(
    *,
    org_id: str = "synthetic",
    okrs: int = 1000,
    krs_per_okr: int = 3,
    objectives: int = 40,
    teams: int = 50,
    check_ins_per_okr: int = 1,
    seed: int = 7,
) -> dict[str, Any]:
    rng = random.Random(seed)
    objective_ids = [f"SO-{i}" for i in range(1, objectives + 1)]
    team_ids = [f"T-{i}" for i in range(1, teams + 1)]
    bundle: dict[str, Any] = {
        "format": "goldenthread.bundle/v1",
        "organization": {"id": org_id, "name": f"Synthetic org {org_id}"},
        "cycles": [{"id": "2026-Q4", "start": "2026-10-01", "end": "2026-12-31"}],
        "strategic_objectives": [
            {
                "id": so,
                "title": f"{rng.choice(VERBS)} {rng.choice(THINGS)} ({so})",
                "description": "Synthetic objective.",
                "perspective": PERSPECTIVES[i % 4],
                "kpis": [
                    {
                        "id": f"{so}-K1",
                        "name": f"{rng.choice(THINGS)} index",
                        "kind": "lag",
                        "unit": "%",
                        "baseline": 10.0,
                        "target": 20.0,
                    }
                ],
            }
            for i, so in enumerate(objective_ids)
        ],
        "teams": [
            {"id": t, "name": f"Team {t}", "parent": None, "mission": f"Mission of {t}."}
            for t in team_ids
        ],
        "okrs": [],
        "check_ins": [],
    }
    for n in range(1, okrs + 1):
        okr_id = f"O-{n}"
        bundle["okrs"].append(
            {
                "id": okr_id,
                "team": rng.choice(team_ids),
                "cycle": "2026-Q4",
                "title": f"{rng.choice(VERBS)} {rng.choice(THINGS)} for segment {n}",
                "description": None,
                "declared_links": [rng.choice(objective_ids)],
                "key_results": [
                    {
                        "id": f"{okr_id}-KR{k}",
                        "title": f"{rng.choice(THINGS)} from {k * 10} to {k * 20}",
                        "unit": "%",
                        "baseline": float(k * 10),
                        "target": float(k * 20),
                        "current": float(k * 12),
                        "kind": rng.choice(["lead", "lag"]),
                    }
                    for k in range(1, krs_per_okr + 1)
                ],
            }
        )
        for c in range(check_ins_per_okr):
            bundle["check_ins"].append(
                {
                    "id": f"{okr_id}-C{c}",
                    "okr": okr_id,
                    "key_result": f"{okr_id}-KR1",
                    "date": "2026-11-02",
                    "value": 12.0,
                    "confidence": 0.7,
                    "text": f"Progress on {rng.choice(THINGS)} this week.",
                }
            )
    return bundle
