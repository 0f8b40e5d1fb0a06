"""Each objective's Balanced Scorecard perspective as one more objective field: does the link
engine gain? (DB-free)

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.perspective_fields DEV_DIR...

Most of the engine's wrong first picks on dev and dev-styles name an objective of another
perspective than the right one (31 of 38 wrong on dev, 29 of 37 on dev-styles, in-sample): an
OKR about cost per terabyte ranked under "clients renew" rather than "earn a healthy margin".
The perspective is stored with every objective but no feature reads it. Here an objective with a
perspective gains a field that says in plain words what that perspective is about (GLOSS), so
an OKR's field that reads as cost, customers, process or skills meets it. Whole texts are kept
exactly as they were (the whole-text cosine, stem overlap and re-ranking do not move); only the
field-level features do. Objectives without a perspective (the real plans) are unchanged.
Then `evals.research` runs as usual (leave-one-org-out over the fit organizations).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from alignment.scoring.documents import ObjectiveDoc
from evals.field_patch import fields_changed, run_study

GLOSS = {
    "financial": "Financial results: revenue, costs, margin, prices, budget and funding.",
    "customer": "Customers: satisfaction, retention, service, complaints and market share.",
    "internal_process": "Internal processes: quality, speed, efficiency, safety and reliability.",
    "learning_growth": "Learning and growth: staff skills, training, hiring, culture and tools.",
}


def perspective_fields() -> AbstractContextManager[None]:
    """Within the block, objectives with a perspective have its gloss as one more field."""

    def with_gloss(obj: ObjectiveDoc, fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
        gloss = GLOSS.get(obj.perspective or "")
        return [*fields, *([("perspective", gloss)] if gloss else [])]

    return fields_changed(objective=with_gloss)


def main(argv: list[str] | None = None) -> None:
    run_study(perspective_fields, argv)


if __name__ == "__main__":
    main()
