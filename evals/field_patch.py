"""Studies that change the fields the link engine matches, and nothing else (evals.research).

`fields_changed(okr=..., objective=...)` replaces `link_features._okr_fields` and/or
`_objective_fields` with a function of the plain fields, while the whole texts (the whole-text
cosine, the stem overlap, the re-ranking and the baselines) stay exactly as they were, so a
study's rows compare with a plain `python -m evals.research` on the same folders.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from alignment.scoring import lexical_rank, link_features
from alignment.scoring.documents import ObjectiveDoc, OkrDoc
from evals import baselines

Fields = list[tuple[str, str]]


@contextmanager
def fields_changed(
    *,
    okr: Callable[[OkrDoc, Fields], Fields] | None = None,
    objective: Callable[[ObjectiveDoc, Fields], Fields] | None = None,
) -> Iterator[None]:
    """Within the block the fields are `okr(doc, plain fields)` / `objective(doc, plain
    fields)`; the whole texts are the plain fields joined, as before."""
    plain_okr, plain_obj = link_features._okr_fields, link_features._objective_fields
    plain_texts = (link_features.okr_text, link_features.objective_text)

    def okr_text(doc: OkrDoc) -> str:
        return ". ".join(t for _, t in plain_okr(doc))

    def objective_text(doc: ObjectiveDoc) -> str:
        return ". ".join(t for _, t in plain_obj(doc))

    # Every module of the scoring path that imported the whole-text functions by name (the
    # originals read the patched field functions through link_features' globals).
    holders = (link_features, lexical_rank, baselines)
    patches: list[tuple[object, str, Callable]] = [
        *((m, "okr_text", okr_text) for m in holders),
        *((m, "objective_text", objective_text) for m in holders),
    ]
    if okr is not None:
        patches.append((link_features, "_okr_fields", lambda doc: okr(doc, plain_okr(doc))))
    if objective is not None:
        patches.append(
            (link_features, "_objective_fields", lambda doc: objective(doc, plain_obj(doc)))
        )
    saved = [(m, name, getattr(m, name)) for m, name, _ in patches]
    assert all((m.okr_text, m.objective_text) == plain_texts for m in holders)
    try:
        for m, name, new in patches:
            setattr(m, name, new)
        yield
    finally:
        for m, name, old in saved:
            setattr(m, name, old)


def run_study(patch: Callable[[], AbstractContextManager[None]], argv: list[str] | None) -> None:
    """`python -m evals.research` on the folders in `argv` (default: the command line's), with
    the study's fields in place for fitting and scoring alike."""
    from evals import research

    sys.argv = [sys.argv[0], *(sys.argv[1:] if argv is None else argv)]
    with patch():
        research.main()
