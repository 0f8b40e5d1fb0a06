"""Multi-sentence descriptions split into sentence fields: does the link engine gain? (DB-free)

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.sentence_fields DEV_DIR...

A long description is embedded whole, and MiniLM's mean pooling dilutes one relevant sentence
among several (it also stops at 256 word pieces). Here every OKR or objective description of two
or more sentences becomes one "description" field per sentence (the name is not unique already:
objectives have several "kpi" fields, and nothing keys on it); a one-sentence description stays
as it was. The whole texts (`okr_text` / `objective_text`, which the whole-text cosine, the
stem overlap, the character-n-gram rerank and the cosine baseline read) are kept exactly as
they were, so only the field-level features move: the best field-to-field cosine in `sim` (and
the z-scores, gap and team features built on it) and the objective side of key-result support.
Then `evals.research` runs as usual (leave-one-org-out over the fit organizations), so its rows
compare with a plain `python -m evals.research` on the same folders. Measured, not adopted
(see evals/README.md).
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager

from evals.field_patch import fields_changed, run_study

MIN_WORDS = 4  # a piece shorter than this stays with its neighbour ("Why? ...", "Q3 only.")
# End punctuation, any closing quotes or brackets, whitespace, then what starts a sentence.
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
# Words a period ends without ending the sentence ("vs. Android", "Dr. Okafor").
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "vs", "mr", "mrs", "ms", "dr", "prof", "st", "no", "nos", "approx", "incl",
     "inc", "ltd", "co", "corp", "jr", "sr", "fig", "cf", "al", "dept", "ca"}
)  # fmt: skip
_INITIALISM = re.compile(r"(?:[A-Za-z]\.){2,}$")  # "U.S.", "e.g.", "i.e.", "U.K."


def _ends_with_abbreviation(before: str, punct: str) -> bool:
    """Whether the period that ends `before` + `punct` belongs to an abbreviation."""
    if not punct.startswith(".") or len(punct.rstrip("\"'”’)]")) != 1:
        return False  # "!", "?", "..." end sentences
    word = before.rsplit(None, 1)[-1] if before.strip() else ""
    word = word.lstrip("\"'“‘([")
    return bool(_INITIALISM.search(word + ".")) or word.lower() in _ABBREVIATIONS


def sentences(text: str) -> list[str]:
    """The sentences of `text`, pieces under MIN_WORDS words joined to a neighbour (the previous
    one, or the next one for a short first piece); `[text]` when it is one sentence."""
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        punct = m.group().rstrip()
        if _ends_with_abbreviation(text[start : m.start()], punct):
            continue
        spans.append((start, m.start() + len(punct)))
        start = m.end()
    spans.append((start, len(text)))
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if not text[s:e].strip():
            continue
        if merged and (len(text[s:e].split()) < MIN_WORDS or _short(text, merged[-1])):
            merged[-1] = (merged[-1][0], e)  # a short piece, or after a short first piece
        else:
            merged.append((s, e))
    return [text[s:e].strip() for s, e in merged] if len(merged) > 1 else [text]


def _short(text: str, span: tuple[int, int]) -> bool:
    return len(text[span[0] : span[1]].split()) < MIN_WORDS


def _split_descriptions(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (name, piece)
        for name, text in fields
        for piece in (sentences(text) if name == "description" else [text])
    ]


def sentence_fields() -> AbstractContextManager[None]:
    """Within the block, descriptions are sentence fields and the whole texts are unchanged."""

    def split(_: object, fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return _split_descriptions(fields)

    return fields_changed(okr=split, objective=split)


def main(argv: list[str] | None = None) -> None:
    run_study(sentence_fields, argv)


if __name__ == "__main__":
    main()
