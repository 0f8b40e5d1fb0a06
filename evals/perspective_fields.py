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

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from alignment.scoring import lexical_rank, link_features
from alignment.scoring.documents import ObjectiveDoc, OkrDoc
from evals import baselines, research

GLOSS = {
    "financial": "Financial results: revenue, costs, margin, prices, budget and funding.",
    "customer": "Customers: satisfaction, retention, service, complaints and market share.",
    "internal_process": "Internal processes: quality, speed, efficiency, safety and reliability.",
    "learning_growth": "Learning and growth: staff skills, training, hiring, culture and tools.",
}


@contextmanager
def perspective_fields() -> Iterator[None]:
    plain_okr, plain_obj = link_features._okr_fields, link_features._objective_fields
    plain_texts = (link_features.okr_text, link_features.objective_text)

    def okr_text(okr: OkrDoc) -> str:
        return ". ".join(t for _, t in plain_okr(okr))

    def objective_text(obj: ObjectiveDoc) -> str:
        return ". ".join(t for _, t in plain_obj(obj))

    def fields(obj: ObjectiveDoc) -> list[tuple[str, str]]:
        gloss = GLOSS.get(obj.perspective or "")
        return [*plain_obj(obj), *([("perspective", gloss)] if gloss else [])]

    holders = (link_features, lexical_rank, baselines)
    patches: list[tuple[object, str, Callable]] = [
        (link_features, "_objective_fields", fields),
        *((m, "okr_text", okr_text) for m in holders),
        *((m, "objective_text", objective_text) for m in holders),
    ]
    saved = [(m, name, getattr(m, name)) for m, name, _ in patches]
    assert all((m.okr_text, m.objective_text) == plain_texts for m in holders)
    try:
        for m, name, new in patches:
            setattr(m, name, new)
        yield
    finally:
        for m, name, old in saved:
            setattr(m, name, old)


def main(argv: list[str] | None = None) -> None:
    sys.argv = [sys.argv[0], *(sys.argv[1:] if argv is None else argv)]
    with perspective_fields():
        research.main()


if __name__ == "__main__":
    main()
