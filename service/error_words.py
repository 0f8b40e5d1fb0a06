"""A refused request's details as an error page says them to a person (service/errors.py).

The JSON answer keeps its paths (`query.q`, `path.decision`, `$.note`): clients match on them. A
page names the field in words where the pages' fields are known ("the search (q)"), drops the
`query.`/`path.`/`body.` notation and the `$` that only means "the whole request", and says a
limit without pydantic's "String should have" phrasing.
"""

from __future__ import annotations

import re
from typing import Any

from alignment.errors import field_message

# The pages' query parameters, path steps and form fields, in the words the pages use for them.
FIELD_WORDS = {
    "q": "the search",
    "page": "the page number",
    "per_page": "findings per page",
    "severity": "the severity filter",
    "category": "the category filter",
    "kind": "the kind filter",
    "team": "the team filter",
    "perspective": "the perspective filter",
    "decision": "the decision",
    "verdict": "the verdict",
    "note": "the note",
    "reason": "the reason",
    "objective_id": "the objective",
    "next": "the page to go on to",
}
PREFIXES = ("query.", "path.", "body.", "$.")
# pydantic's subject words before "should": the page's sentence already names the field.
PYDANTIC_SUBJECT = re.compile(r"^(?:Input|String|Text|Value) should (?:be )?")


def field_of(path: str) -> tuple[str, str]:
    """The field a detail's path names, as (name, words): ("q", "the search"); words "" for a
    field with none, and ("", "") for the whole request."""
    for prefix in PREFIXES:
        if path.startswith(prefix):
            path = path[len(prefix) :]
            break
    if path in ("", "$", "query", "path", "body"):
        return "", ""
    name = re.split(r"[.\[]", path, maxsplit=1)[0]
    return path, FIELD_WORDS.get(name, "")


def page_message(err: dict[str, Any]) -> str:
    """A pydantic error's message for a page: "at most 200 characters (250 sent)"."""
    kind, ctx, sent = err.get("type"), err.get("ctx") or {}, err.get("input")
    sent_length = f" ({len(sent)} sent)" if isinstance(sent, str) else ""
    if kind in ("string_too_long", "too_long") and "max_length" in ctx:
        return f"at most {ctx['max_length']} characters{sent_length}"
    if kind in ("string_too_short", "too_short") and "min_length" in ctx:
        if ctx["min_length"] == 1:
            return "cannot be empty"
        return f"at least {ctx['min_length']} characters{sent_length}"
    if kind in ("literal_error", "enum") and "expected" in ctx:
        return f"should be {ctx['expected']}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "should be a whole number"
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = "at least" if kind == "greater_than_equal" else "at most"
        return f"{bound} {ctx.get('ge', ctx.get('le'))}"
    if kind == "missing":
        return "required"
    return PYDANTIC_SUBJECT.sub("", field_message(err))
