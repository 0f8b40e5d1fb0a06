"""The pages' URL-encoded forms: reading them, and the words and limits every page's forms share.

The review queue (`pages.py`) and the team page (`team_page.py`) post plain HTML forms; the
JSON API reads pydantic bodies instead and never comes here.
"""

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, Request

from alignment.drafting.schemas import TEXT_MAX

# Reading stops here: the pages' forms are a few short fields, far below it.
MAX_FORM_BYTES = 65536
# The longest reason the drafts API accepts; the pages' fields stop there (maxlength), and a
# forged longer one is cut to it rather than refused.
MAX_NOTE_CHARS = TEXT_MAX
# Rejecting a draft needs a reason (docs/drafts.md), on every page that rejects one.
REJECT_REASON_NEEDED = "Say why you reject the draft"


async def _form_body(request: Request) -> str:
    return (await request.body())[:MAX_FORM_BYTES].decode("utf-8", "replace")


async def form_fields(request: Request) -> dict[str, str]:
    parsed = parse_qs(await _form_body(request))
    request.state.form_lists = parsed  # for fields that repeat (checkboxes): form_list
    return {k: v[0] for k, v in parsed.items()}


def form_list(request: Request, name: str) -> list[str]:
    """Every value of a repeated field (checkboxes), as `form_fields` read them."""
    return list(getattr(request.state, "form_lists", {}).get(name, []))


async def form_fields_with_blanks(request: Request) -> dict[str, str]:
    # `form_fields` drops empty fields; an edit form needs them, or a cleared description or
    # title would quietly come back as the AI's text.
    parsed = parse_qs(await _form_body(request), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


FormFields = Annotated[dict[str, str], Depends(form_fields)]
EditFields = Annotated[dict[str, str], Depends(form_fields_with_blanks)]


def note_field(form: dict[str, str], name: str) -> str:
    """A reason or note as stored: trimmed, cut to `MAX_NOTE_CHARS`, "" when not given."""
    return (form.get(name) or "").strip()[:MAX_NOTE_CHARS]


def decided_at_text(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
