"""The pages' URL-encoded forms: reading them, and the words and limits every page's forms share.

The review queue (`review_page.py`) and the team page (`team_page.py`) post plain HTML forms; the
JSON API reads pydantic bodies instead and never comes here. Their ids and texts pass the rules
the API's bodies pass (alignment/bundle/text_rules.py): a forged NUL, which the database cannot
store, is refused naming its field (422), never a 500.

Nothing a person sent is cut: a text over its field's limit (a form sent around the page's
`maxlength`) is refused beside the field, and a form over MAX_FORM_BYTES is refused whole (413),
never read in part. Each line break is read as "\n" (`one_line_break`): browsers send a textarea's
as CRLF, and the limits count what the person typed.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, Request
from pydantic import ValidationError

from alignment.bundle.text_rules import one_line_break, plain_id, plain_text
from alignment.drafting.schemas import TEXT_MAX
from alignment.errors import DomainError, Invalid, field_message

# The largest form a page takes. The largest a page sends, a suggestion draft's edit form with
# every field at its maxlength in three-byte characters (each byte sent as %XX), is about 100 KB.
MAX_FORM_BYTES = 262144
# The longest reason the drafts API accepts; the pages' fields stop there (maxlength), and a
# forged longer one is refused as the API refuses it.
MAX_NOTE_CHARS = TEXT_MAX
# Rejecting a draft needs a reason (docs/drafts.md), on every page that rejects one.
REJECT_REASON_NEEDED = "Say why you reject the draft"


class FormTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


async def _form_body(request: Request) -> str:
    body = await request.body()  # bounded by the service's body limit (service/middleware.py)
    if len(body) > MAX_FORM_BYTES:
        # Read in part, its last field would be stored cut short with nothing said.
        raise FormTooLarge(
            f"the form is larger than {MAX_FORM_BYTES} bytes; nothing was changed",
            details=[{"path": "$", "message": f"at most {MAX_FORM_BYTES} bytes"}],
        )
    return body.decode("utf-8", "replace")


def _parsed(body: str, *, keep_blank_values: bool = False) -> dict[str, list[str]]:
    parsed = parse_qs(body, keep_blank_values=keep_blank_values)
    return {k: [one_line_break(v) for v in values] for k, values in parsed.items()}


async def form_fields(request: Request) -> dict[str, str]:
    parsed = _parsed(await _form_body(request))
    request.state.form_lists = parsed  # for fields that repeat (checkboxes): form_list
    return {k: v[0] for k, v in parsed.items()}


def form_list(request: Request, name: str) -> list[str]:
    """Every value of a repeated field (checkboxes), as `form_fields` read them."""
    return list(getattr(request.state, "form_lists", {}).get(name, []))


async def form_fields_with_blanks(request: Request) -> dict[str, str]:
    # `form_fields` drops empty fields; an edit form needs them, or a cleared description or
    # title would quietly come back as the AI's text.
    parsed = _parsed(await _form_body(request), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


FormFields = Annotated[dict[str, str], Depends(form_fields)]
EditFields = Annotated[dict[str, str], Depends(form_fields_with_blanks)]


def note_field(form: dict[str, str], name: str) -> str:
    """A reason or note as stored: by the API's rules for text (`plain_text`, whose ValueError
    says what it refuses), trimmed, "" when not given. Longer than `MAX_NOTE_CHARS` is refused
    (ValueError), as the API refuses it."""
    note = plain_text(form.get(name) or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ValueError(f"is {len(note)} characters long; at most {MAX_NOTE_CHARS}")
    return note


def reject_reason(form: dict[str, str]) -> tuple[str, str | None]:
    """A draft rejection's reason as stored, and the message beside the form's reason field
    when it is refused (none given, or text the API would refuse too), else None."""
    try:
        reason = note_field(form, "reason")
    except ValueError as exc:
        return "", f"The reason {exc}"
    return reason, None if reason else REJECT_REASON_NEEDED


def id_field(form: dict[str, str], name: str) -> str:
    """An id a form names (a <select>'s value) in the form ids are stored in (`plain_id`), or
    the refusal of one the API would refuse."""
    try:
        return plain_id(form.get(name) or "")
    except ValueError as exc:
        raise refused_fields({name: str(exc)}) from exc


def model_problems(exc: ValidationError) -> dict[str, str]:
    """A request model's errors by the form field each names, in the page's words."""
    return {
        ".".join(str(p) for p in e["loc"]) or "form": field_message(e).removeprefix("Value error, ")
        for e in exc.errors()
    }


def refused_fields(problems: dict[str, str]) -> Invalid:
    """Form fields refused as the API refuses them (422, each field named), for a form whose
    page has no place beside the field: the error page says it (service/errors.py)."""
    said = [f"the form's {name} is not valid: {problem}" for name, problem in problems.items()]
    return Invalid(
        "; ".join(said),
        details=[{"path": f"$.{name}", "message": problem} for name, problem in problems.items()],
    )


def errors_by_field(exc: DomainError, field_for: Callable[[str], str | None]) -> dict[str, str]:
    """An error's details by the page's field (`field_for` maps a detail's path to one); what
    names no field goes under "form", shown above the form's fields."""
    errors: dict[str, str] = {}
    unplaced = []
    for d in exc.details if isinstance(exc.details, list) else []:
        message = str(d.get("message", ""))
        field = field_for(str(d.get("path", "")))
        if field:
            errors.setdefault(field, message)
        else:
            unplaced.append(message)
    if unplaced or not errors:
        errors["form"] = exc.message + (f": {'; '.join(unplaced)}" if unplaced else "")
    return errors


def decided_at_text(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
