"""The team page's inline edit of a suggestion draft: the form's fields into the edited payload,
the edits the schema would refuse in plain words, and an approval error's path back to its field.

The form names each field by its place: `s0_title`, `s0_description`, `s0_kr1` (suggestion 0's
second key result), `s0_kr1_baseline` and `s0_kr1_target` (its numbers).
"""

import re
from decimal import Decimal
from typing import Any

from alignment.bundle.csvform import parse_number
from alignment.drafting import store
from alignment.drafting.schemas import SHORT_MAX, TEXT_MAX

# The suggestion schema's limits, checked here first so the page can say them in plain words
# beside the field.
TITLE_MAX, DESCRIPTION_MAX = SHORT_MAX, TEXT_MAX
# "$.edited.suggestions[0].key_results[1].title" -> the page's field "s0_kr1"
EDITED_PATH = re.compile(
    r"\$\.edited\.suggestions\[(\d+)\]\."
    r"(?:(title|description)|key_results\[(\d+)\]\.(title|baseline|target))"
)
# The largest number an edit may give: what a stored number (double precision) holds exactly as
# an integer, the bound the API puts on an integer too (alignment/bundle/schema.py).
NUMBER_MAX = 2**53


def suggestion_edits(
    draft: store.Draft, form: dict[str, str]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The approve form's edits to a suggestion draft (None when it changed nothing, or the
    draft is no suggestion set) and the edited fields the schema would refuse."""
    if draft.kind != "suggestion" or not draft.payload:
        return None, {}
    content = {k: v for k, v in draft.payload.items() if k == "suggestions"}
    problems = edit_problems(content, form)
    if problems:  # a number that is none cannot go into the payload: nothing is approved
        return None, problems
    changed = edited_payload(content, form)
    return (changed if changed != content else None), {}


def edited_payload(payload: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """The AI's suggestion set with what a person changed in the page's inline form (titles,
    descriptions, key results' titles, baselines and targets); units, kinds and citations stay
    the AI's. A field the form did not send keeps the AI's value; a text sent empty is empty, a
    baseline sent empty is unknown (null). Call it on a form `edit_problems` found no fault in."""
    suggestions = []
    for i, s in enumerate(payload.get("suggestions", [])):
        krs = []
        for j, kr in enumerate(s["key_results"]):
            name = f"s{i}_kr{j}"
            krs.append(
                {
                    **kr,
                    "title": form.get(name, kr["title"]).strip(),
                    "baseline": _edited_number(form, f"{name}_baseline", kr.get("baseline")),
                    "target": _edited_number(form, f"{name}_target", kr["target"]),
                }
            )
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


def _edited_number(form: dict[str, str], name: str, ai: Any) -> Any:
    text = form.get(name)
    if text is None:
        return ai
    text = text.strip()
    if not text:
        return None
    value = parse_number(text)
    # The AI's number shown and sent back unchanged is the AI's number (12, not 12.0): an
    # approval without edits stays "approved".
    return ai if isinstance(ai, int | float) and not isinstance(ai, bool) and ai == value else value


def number_text(value: Any) -> str:
    """A number as the edit form shows it, read back by `parse_number` as the same number:
    12 rather than 12.0, and 0.00000015 rather than 1.5e-07, as a person would type them."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    if float(value).is_integer() and abs(value) <= NUMBER_MAX:
        return str(int(value))
    return format(Decimal(repr(float(value))), "f")


def edit_problems(payload: dict[str, Any], form: dict[str, str]) -> dict[str, str]:
    """The edited fields the schema would refuse, by form field, in plain words."""
    checks = []  # (field, what it is, may it be empty, longest)
    numbers = []  # (field, what it is, may it be empty)
    for i, s in enumerate(payload.get("suggestions", [])):
        checks.append((f"s{i}_title", "A title", False, TITLE_MAX))
        checks.append((f"s{i}_description", "A description", True, DESCRIPTION_MAX))
        for j in range(len(s["key_results"])):
            checks.append((f"s{i}_kr{j}", "A key result", False, TITLE_MAX))
            numbers.append((f"s{i}_kr{j}_baseline", "The baseline", True))
            numbers.append((f"s{i}_kr{j}_target", "The target", False))
    problems = {}
    for field, what, may_be_empty, longest in checks:
        text = form.get(field)
        if text is None:
            continue
        if not text.strip() and not may_be_empty:
            problems[field] = f"{what} cannot be empty"
        elif len(text.strip()) > longest:
            problems[field] = f"{what} can be at most {longest} characters"
    for field, what, may_be_empty in numbers:
        if (problem := _number_problem(form.get(field), what, may_be_empty)) is not None:
            problems[field] = problem
    return problems


def _number_problem(text: str | None, what: str, may_be_empty: bool) -> str | None:
    if text is None or (not text.strip() and may_be_empty):
        return None
    if not text.strip():
        return f"{what} cannot be empty: give a number"
    try:
        value = parse_number(text.strip())
    except ValueError as exc:  # says why: "'12,5' is not a number (use '.' for decimals ...)"
        return f"{what} must be a number: {exc}"
    if abs(value) > NUMBER_MAX:
        return f"{what} can be at most {NUMBER_MAX} either way"
    return None


def edited_field(path: str) -> str | None:
    """The form field an approval error's path names, or None when it names none."""
    found = EDITED_PATH.fullmatch(path)
    if found is None:
        return None
    i, text, kr, part = found.groups()
    if text:
        return f"s{i}_{text}"
    return f"s{i}_kr{kr}" if part == "title" else f"s{i}_kr{kr}_{part}"
