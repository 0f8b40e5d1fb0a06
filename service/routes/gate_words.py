"""What a failed draft's gates mean, in one plain sentence each, for the people on the team page.

The gates' own problems ("cosine 1.00 >= 0.9 at $.suggestions[0].key_results[0]") are written
for the repair attempt and the audit: the drafts API and `/drafts/{id}/audit` keep them whole.
A near-duplicate is worded per suggestion, naming what it repeated, since "it repeats something"
leaves people to hunt for the OKR among the organization's.
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
REPEAT_AT = re.compile(r"\$\.suggestions\[(\d+)\](\.key_results\[\d+\])?$")
# Drafts stored before the gate kept what it matched beside the message: the ids are read from
# the message (its words are the gate's own, see alignment/drafting/gates.py).
# Anchored on the gate's fixed words around each id: ids may hold spaces and "(".
OLD_OKR_REPEAT = re.compile(r"near-duplicate of existing OKR (.+?) \(cosine [0-9.]+ ")
OLD_KR_REPEAT = re.compile(
    r"nearly copies key result (.+?) of OKR (.+?) \(team (.+?), [^;]*; cosine [0-9.]+"
)
TITLE_SHOWN = 60  # characters of a quoted title; a longer one is cut at a word


def failed_gate_sentences(kind: str, gates: Iterable[dict[str, Any]]) -> list[str]:
    """One sentence per failed gate of a draft of `kind` ("suggestion" or "summary"); a
    near-duplicate, one per suggestion naming what it repeated."""
    said = []
    for gate in gates:
        if gate.get("passed"):
            continue
        name = str(gate.get("name", ""))
        problems = gate.get("problems") or []
        if kind == "suggestion" and name == "not_duplicate":
            repeats = _repeat_sentences(problems)
            if repeats:
                said += repeats
                continue
        sentence = SENTENCES.get(name, "The draft failed the {name} check.")
        said.append(sentence.format(which=_which(kind, problems), name=name))
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


def _repeat_sentences(problems: list[Any]) -> list[str]:
    """'Suggestion 1 nearly repeats O-12 "Cut fuel cost per stop" (team T-3).', one per
    suggestion; [] when a problem names nothing readable (the general sentence is said)."""
    okrs: dict[int, dict[str, str]] = {}
    key_results: dict[int, list[dict[str, str]]] = {}
    for p in problems:
        at = REPEAT_AT.match(str(p.get("path", ""))) if isinstance(p, dict) else None
        matched = _matched(p, on_key_result=bool(at.group(2))) if at else None
        if matched is None:
            return []
        n = int(at.group(1)) + 1
        if "key_result" in matched:
            key_results.setdefault(n, []).append(matched)
        else:
            okrs[n] = matched
    return [
        f"Suggestion {n} nearly repeats {_and(_what(okrs.get(n), key_results.get(n, [])))}."
        for n in sorted({*okrs, *key_results})
    ]


def _matched(problem: dict[str, Any], *, on_key_result: bool) -> dict[str, str] | None:
    """The ids and titles a problem names: as the gate stored them, else read from its message."""
    message = str(problem.get("message", ""))
    if on_key_result:
        if problem.get("key_result") and problem.get("okr"):
            return _texts(problem, ("key_result", "key_result_title", "okr", "team"))
        old = OLD_KR_REPEAT.search(message)
        return dict(zip(("key_result", "okr", "team"), old.groups(), strict=True)) if old else None
    if problem.get("okr"):
        return _texts(problem, ("okr", "okr_title", "team"))
    old = OLD_OKR_REPEAT.search(message)
    return {"okr": old.group(1)} if old else None


def _texts(problem: dict[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    return {k: str(problem[k]) for k in keys if problem.get(k)}


def _what(okr: dict[str, str] | None, key_results: list[dict[str, str]]) -> list[str]:
    """The OKR repeated, then key results copied from other OKRs (those of the OKR repeated
    are part of it), grouped by their OKR."""
    said = [_record(okr["okr"], okr.get("okr_title"), okr.get("team"))] if okr else []
    by_okr: dict[str, list[dict[str, str]]] = {}
    for kr in key_results:
        if okr is None or kr["okr"] != okr["okr"]:
            by_okr.setdefault(kr["okr"], []).append(kr)
    for okr_id, krs in by_okr.items():
        noun = "key result" if len(krs) == 1 else "key results"
        named = _and([_record(k["key_result"], k.get("key_result_title")) for k in krs])
        said.append(f"{noun} {named} of {_record(okr_id, None, krs[0].get('team'))}")
    return said


def _record(record_id: str, title: str | None, team: str | None = None) -> str:
    quoted = f' "{_shortened(title)}"' if title else ""
    return f"{record_id}{quoted}" + (f" (team {team})" if team else "")


def _shortened(title: str) -> str:
    title = " ".join(title.split())
    if len(title) <= TITLE_SHOWN:
        return title
    cut = title[: TITLE_SHOWN - 1].rsplit(" ", 1)[0] or title[: TITLE_SHOWN - 1]
    return cut.rstrip(" ,;:.") + "…"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
