"""The team page's inline edit of a suggestion draft: the form's texts into the edited payload,
the edits the schema would refuse in plain words, and an approval error's path back to its field.

The form names each text by its place: `s0_title`, `s0_description`, `s0_kr1` (suggestion 0's
second key result).
"""

import re
from typing import Any

from alignment.drafting import store
from alignment.drafting.schemas import SHORT_MAX, TEXT_MAX

# The suggestion schema's limits, checked here first so the page can say them in plain words
# beside the field.
TITLE_MAX, DESCRIPTION_MAX = SHORT_MAX, TEXT_MAX
# "$.edited.suggestions[0].key_results[1].title" -> the page's field "s0_kr1"
EDITED_PATH = re.compile(
    r"\$\.edited\.suggestions\[(\d+)\]\.(?:(title|description)|key_results\[(\d+)\]\.title)"
)


def suggestion_edits(
    draft: store.Draft, form: dict[str, str]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The approve form's edits to a suggestion draft (None when it changed nothing, or the
    draft is no suggestion set) and the edited texts the schema would refuse."""
    if draft.kind != "suggestion" or not draft.payload:
        return None, {}
    content = {k: v for k, v in draft.payload.items() if k == "suggestions"}
    changed = edited_payload(content, form)
    return (changed if changed != content else None), edit_problems(content, form)


def edited_payload(payload: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """The AI's suggestion set with the texts a person changed in the page's inline form
    (titles, descriptions, key-result titles); numbers and citations stay the AI's. A field the
    form did not send keeps the AI's text; one sent empty is empty."""
    suggestions = []
    for i, s in enumerate(payload.get("suggestions", [])):
        krs = [
            {**kr, "title": form.get(f"s{i}_kr{j}", kr["title"]).strip()}
            for j, kr in enumerate(s["key_results"])
        ]
        description = form.get(f"s{i}_description", s.get("description") or "").strip()
        suggestions.append(
            {
                **s,
                "title": form.get(f"s{i}_title", s["title"]).strip(),
                "description": description or None,
                "key_results": krs,
            }
        )
    return {**payload, "suggestions": suggestions}


def edit_problems(payload: dict[str, Any], form: dict[str, str]) -> dict[str, str]:
    """The edited texts the schema would refuse, by form field, in plain words."""
    checks = []  # (field, what it is, may it be empty, longest)
    for i, s in enumerate(payload.get("suggestions", [])):
        checks.append((f"s{i}_title", "A title", False, TITLE_MAX))
        checks.append((f"s{i}_description", "A description", True, DESCRIPTION_MAX))
        checks += [
            (f"s{i}_kr{j}", "A key result", False, TITLE_MAX) for j in range(len(s["key_results"]))
        ]
    problems = {}
    for field, what, may_be_empty, longest in checks:
        text = form.get(field)
        if text is None:
            continue
        if not text.strip() and not may_be_empty:
            problems[field] = f"{what} cannot be empty"
        elif len(text.strip()) > longest:
            problems[field] = f"{what} can be at most {longest} characters"
    return problems


def edited_field(path: str) -> str | None:
    """The form field an approval error's path names, or None when it names none."""
    found = EDITED_PATH.fullmatch(path)
    if found is None:
        return None
    i, text, kr = found.groups()
    return f"s{i}_{text}" if text else f"s{i}_kr{kr}"
