"""What a failed draft's gates mean, in one plain sentence each, for the people on the team page.

The gates' own problems ("cosine 1.00 >= 0.9 at $.suggestions[0].key_results[0]") are written
for the repair attempt and the audit: the drafts API and `/drafts/{id}/audit` keep them whole.
"""

import re
from collections.abc import Iterable
from typing import Any

# {which}: the suggestions a gate found at fault ("Suggestion 2"), or the summary.
SENTENCES = {
    "schema": "The drafter's answer did not come back in the shape a draft needs, so there was "
    "nothing to review.",
    "quality": "{which} broke the rules for writing OKRs (for example, a key result that is a "
    "task rather than a measurable outcome).",
    "aligned": "{which} did not clearly serve the strategic objective it said it serves.",
    "not_duplicate": "{which} nearly repeated an OKR or key result the organization already has.",
    "title_not_objective": "{which} only restated the title of the objective it serves.",
    "citations": "{which} cited records that do not exist or that were not part of the request.",
    "grounded": "The summary was not backed by the team's check-ins and report findings.",
}
SUGGESTION_AT = re.compile(r"\$\.suggestions\[(\d+)\]")


def failed_gate_sentences(kind: str, gates: Iterable[dict[str, Any]]) -> list[str]:
    """One sentence per failed gate of a draft of `kind` ("suggestion" or "summary")."""
    said = []
    for gate in gates:
        if gate.get("passed"):
            continue
        name = str(gate.get("name", ""))
        sentence = SENTENCES.get(name, "The draft failed the {name} check.")
        said.append(sentence.format(which=_which(kind, gate.get("problems") or []), name=name))
    return said


def _which(kind: str, problems: list[Any]) -> str:
    if kind != "suggestion":
        return "The summary"
    found = {
        int(m.group(1)) + 1
        for p in problems
        if isinstance(p, dict) and (m := SUGGESTION_AT.match(str(p.get("path", ""))))
    }
    if not found:
        return "A suggestion"
    numbers = [str(n) for n in sorted(found)]
    if len(numbers) == 1:
        return f"Suggestion {numbers[0]}"
    return f"Suggestions {', '.join(numbers[:-1])} and {numbers[-1]}"
