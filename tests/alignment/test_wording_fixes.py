"""Text people read and store quotes user titles as typed: no repr escape codes, one quote style."""

from __future__ import annotations

from alignment.drafting.draft import draft_suggestions
from alignment.drafting.offline import OfflineDrafter
from alignment.drafting.schemas import SuggestionRequest
from alignment.models import Okr, StrategicObjective
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import ORG, offline_team_summary

drafting_connection, dsession = support.drafting_connection, support.dsession

# Right-to-left marks around the text, and an apostrophe: repr printed `'\u200f…'` or switched
# to double quotes.
RTL = "\u200f"


def _passed(draft) -> bool:
    return draft.status == "pending" and all(g["passed"] for g in draft.gates)


def test_summary_quotes_an_okr_title_as_typed(dsession, embedder):
    title = f"{RTL}RTL title: the fleet's own van wraps{RTL}"
    okr = dsession.get(Okr, {"org_id": ORG, "id": "O-30"})
    okr.title = title
    dsession.flush()
    draft = offline_team_summary(dsession, embedder)
    assert _passed(draft), draft.gates
    [line] = [p["text"] for p in draft.payload["progress"] if p["text"].startswith("O-30 ")]
    assert line.startswith(f'O-30 "{title}": ')
    assert "\\u200f" not in line and "'" + RTL not in line


def test_drafted_description_quotes_the_objective_title_as_typed(dsession, embedder):
    title = f"{RTL}Grow the hospitals' recurring contract revenue{RTL}"
    objective = dsession.get(StrategicObjective, {"org_id": ORG, "id": "SO-1"})
    objective.title = title
    dsession.flush()
    request = SuggestionRequest(team="T-2", objectives=["SO-1"])
    draft = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert _passed(draft), draft.gates
    [suggestion] = draft.payload["suggestions"]
    description = suggestion["description"]
    assert f'serves SO-1 "{title}" in {draft.cycle_id}.' in description
    assert "\\u200f" not in description
