"""Small bundles built in tests: one organization with every kind of record.

`small_bundle()` returns a fresh, valid `goldenthread.bundle/v1` document each call, so a test can
break exactly one thing in it and check that the rule it breaks is reported.
"""

from __future__ import annotations

from typing import Any

from alignment.bundle.schema import BUNDLE_FORMAT


def small_bundle(org_id: str = "acme", name: str = "Acme Health") -> dict[str, Any]:
    """Two cycles, two teams (T-2 under T-1), two objectives with KPIs, two OKRs, check-ins."""
    return {
        "format": BUNDLE_FORMAT,
        "organization": {"id": org_id, "name": name},
        "cycles": [
            {"id": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30"},
            {"id": "2026-Q4", "start": "2026-10-01", "end": "2026-12-31"},
        ],
        "strategic_objectives": [
            {
                "id": "SO-1",
                "title": "Reduce avoidable readmissions",
                "description": "Fewer patients come back within 30 days.",
                "perspective": "customer",
                "kpis": [
                    {
                        "id": "SO-1-K1",
                        "name": "30-day readmission rate",
                        "kind": "lag",
                        "unit": "%",
                        "baseline": 14.0,
                        "target": 10.0,
                    }
                ],
            },
            {
                "id": "SO-2",
                "title": "Run a lean pharmacy",
                "description": None,
                "perspective": "financial",
                "kpis": [
                    {
                        "id": "SO-2-K1",
                        "name": "Drug spend per bed day",
                        "kind": "lag",
                        "unit": "EUR",
                        "baseline": 12.5,
                        "target": 11.0,
                    }
                ],
            },
        ],
        "teams": [
            {"id": "T-1", "name": "Pharmacy", "parent": None, "mission": "Safe medication use."},
            {"id": "T-2", "name": "Ward pharmacy", "parent": "T-1", "mission": None},
        ],
        "okrs": [
            {
                "id": "O-1",
                "team": "T-1",
                "cycle": "2026-Q3",
                "title": "Every heart-failure patient goes home understanding their medicines",
                "description": None,
                "declared_links": ["SO-1"],
                "key_results": [
                    {
                        "id": "O-1-KR1",
                        "title": "Discharged HF patients called by a pharmacist within 48 h",
                        "unit": "%",
                        "baseline": 20.0,
                        "target": 90.0,
                        "current": 45.0,
                        "kind": "lead",
                    },
                    {
                        "id": "O-1-KR2",
                        "title": "HF readmissions within 30 days",
                        "unit": "%",
                        "baseline": 18.0,
                        "target": 12.0,
                        "current": None,
                        "kind": "lag",
                    },
                ],
            },
            {
                "id": "O-2",
                "team": "T-2",
                "cycle": "2026-Q4",
                "title": "Cut wasted ward stock",
                "description": "Expired and unused stock returned to the pharmacy.",
                "declared_links": ["SO-2"],
                "key_results": [
                    {
                        "id": "O-2-KR1",
                        "title": "Value of expired stock per month",
                        "unit": "EUR",
                        "baseline": 4000.0,
                        "target": 1500.0,
                        "current": None,
                        "kind": "lag",
                    }
                ],
            },
        ],
        "check_ins": [
            {
                "id": "C-1",
                "okr": "O-1",
                "key_result": "O-1-KR1",
                "date": "2026-08-15",
                "value": 45.0,
                "confidence": 0.6,
                "text": "Calls now happen on day one for most patients.",
            },
            {
                "id": "C-2",
                "okr": "O-2",
                "key_result": None,
                "date": "2026-10-20",
                "value": None,
                "confidence": None,
                "text": "Started the monthly stock sweep on two wards.",
            },
        ],
    }
