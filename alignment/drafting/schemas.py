"""Shapes of drafted output (validated with Pydantic) and of draft requests.

The output models are what a drafter must return; their JSON schema is what an LLM is asked to
follow. Every field is required (nullable where a value may be unknown) and unknown keys are
refused, as strict structured output demands, so a reply that slips in "status": "approved" or
any other extra key fails validation instead of being quietly dropped.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from alignment.bundle.schema import Number
from alignment.bundle.text_rules import LINE_BREAKS, plain_id, plain_text
from alignment.vocabulary import LeadLag

SUGGESTION_SCHEMA = "suggestion_set/v1"
SUMMARY_SCHEMA = "review_summary/v1"

# The limits of a drafted text: the offline drafter clips to them and the team page's edit form
# says them beside the field, so both read them from here.
ID_MAX, SHORT_MAX, TEXT_MAX, UNIT_MAX = 200, 300, 2000, 40
MAX_CITED = 20  # records one draft cites (evidence, check-ins, findings)


# Model output and a person's edits alike: no control characters, no bidi overrides (what any
# record text may hold, text_rules.py), so an approved draft re-imports like any record.
# LINE_BREAKS runs before the length: a CRLF is one line break, not two characters. Written out
# (not built by a function) so that type checkers read them as types.
Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=ID_MAX, strip_whitespace=True),
    LINE_BREAKS,
    AfterValidator(plain_id),
]
Short = Annotated[
    str,
    StringConstraints(min_length=1, max_length=SHORT_MAX, strip_whitespace=True),
    LINE_BREAKS,
    AfterValidator(plain_text),
]
Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TEXT_MAX, strip_whitespace=True),
    LINE_BREAKS,
    AfterValidator(plain_text),
]
Unit = Annotated[
    str,
    StringConstraints(min_length=1, max_length=UNIT_MAX, strip_whitespace=True),
    LINE_BREAKS,
    AfterValidator(plain_text),
]


class _Out(BaseModel):
    # Numbers finite only: NaN and infinities are no measurement (and jsonb refuses them); a
    # person's edits are checked against these models too.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class EvidenceRef(_Out):
    """A record the suggestion was built from."""

    kind: Literal["team", "okr", "key_result", "check_in"]
    id: Id
    why: Short = Field(description="What this record contributed, in a few words.")


class SuggestedKeyResult(_Out):
    title: Short = Field(description="An outcome that can be measured, not a task.")
    unit: Unit
    # The bundle's measurement rules: an approved suggestion becomes a key result like an
    # imported one, so `true` or 10**20 is refused here as there.
    baseline: Number | None = Field(description="Where the measure stands now; null if unknown.")
    target: Number
    kind: LeadLag


class SuggestedOkr(_Out):
    title: Short = Field(description="What should change and why it matters; not a metric.")
    description: Text | None
    key_results: list[SuggestedKeyResult] = Field(min_length=2, max_length=5)
    objective_ids: list[Id] = Field(
        min_length=1, max_length=3, description="Strategic objectives this OKR serves."
    )
    kpi_ids: list[Id] = Field(max_length=10, description="KPIs of those objectives it moves.")
    evidence: list[EvidenceRef] = Field(max_length=MAX_CITED)
    rationale: Text


class SuggestionSet(_Out):
    """Suggested OKRs for one team and cycle, each citing the strategy it serves."""

    suggestions: list[SuggestedOkr] = Field(min_length=1, max_length=3)


class Statement(_Out):
    text: Text
    check_ins: list[Id] = Field(max_length=MAX_CITED, description="Check-in ids this rests on.")
    findings: list[Id] = Field(max_length=MAX_CITED, description="Finding ids this rests on.")


class ReviewSummary(_Out):
    """A cycle review for one team or strategic objective, citing check-ins and findings."""

    headline: Short
    progress: list[Statement] = Field(max_length=15)
    risks: list[Statement] = Field(max_length=15)
    drift: list[Statement] = Field(max_length=15)
    decisions_needed: list[Statement] = Field(max_length=15)


OUTPUT_SCHEMAS: dict[str, tuple[type[_Out], str]] = {
    "suggestion": (SuggestionSet, SUGGESTION_SCHEMA),
    "summary": (ReviewSummary, SUMMARY_SCHEMA),
}


# --- requests ---------------------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


MAX_OBJECTIVES = 3  # a suggestion serves a few objectives well, not every one a little


class SuggestionRequest(_In):
    team: Id
    cycle: Id | None = Field(
        default=None,
        description="Default: the current cycle, or the next once the current one is more than "
        "half over (proposed when the organization has not defined it).",
    )
    objectives: list[Id] | Literal["suggest"] = Field(
        default="suggest",
        description='Strategic objective ids to serve (1-3), or "suggest" to let the drafter pick.',
    )

    @field_validator("objectives", mode="before")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        # Checked before the union: a union's own error names its branches
        # ("objectives.list[constrained-str]"), not what to send.
        if value == "suggest":
            return value
        if not isinstance(value, list):
            raise ValueError('give a list of 1 to 3 objective ids, or "suggest"')
        if not 1 <= len(value) <= MAX_OBJECTIVES:
            raise ValueError(f'give 1 to {MAX_OBJECTIVES} objectives, or "suggest"')
        if len(set(map(str, value))) != len(value):
            raise ValueError("an objective is listed twice")
        return value


class SummaryRequest(_In):
    team: Id | None = None
    objective: Id | None = None
    cycle: Id | None = Field(
        default=None, description="Default: the current cycle (the one today's date is in)."
    )

    @model_validator(mode="after")
    def _one_scope(self) -> SummaryRequest:
        if (self.team is None) == (self.objective is None):
            raise ValueError("give exactly one of team or objective")
        return self


class ApproveRequest(_In):
    """Who decides is the authenticated caller, never a field of this body."""

    edited: dict | None = Field(
        default=None, description="The draft's payload as edited by the person, if changed."
    )


class RejectRequest(_In):
    """Who decides is the authenticated caller, never a field of this body."""

    reason: Text


class DismissRequest(_In):
    """Nothing to say: who dismisses is the authenticated caller, and a body naming anyone
    (`dismissed_by`) is refused rather than ignored."""
