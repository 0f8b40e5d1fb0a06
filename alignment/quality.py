"""OKR quality rules: deterministic checks on how an OKR is written, one named rule each.

Used by the report stage (findings for stored OKRs) and by the draft stage (to gate drafted
OKRs before a person sees them). Pure: plain inputs in, problems out; no database, no model.
Rules never block an import: they describe, the organization decides (`disabled_rules`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

RULES: dict[str, str] = {
    "kr_missing_number": (
        "A key result with no number at all (no baseline, no target, no figure in the text) "
        "cannot be scored at the end of the cycle, so nobody can say whether it was achieved."
    ),
    "kr_missing_baseline": (
        "Without a baseline the size of the ambition is unknown: 90% is a stretch from 40% "
        "and business as usual from 88%."
    ),
    "kr_missing_target": (
        "A key result without a target measures something but commits to nothing."
    ),
    "activity_key_result": (
        "Key results describe outcomes, not tasks: 'hold 4 workshops' can be done in full "
        "while nothing changes; measure what the workshops should change instead."
    ),
    "objective_is_metric": (
        "An OKR's objective (its title) says what should change and why it matters; a bare "
        "metric ('NPS 45') belongs in a key result, and as a title it hides the intent."
    ),
    "too_many_key_results": (
        "More than five key results dilute focus and usually mix tasks with outcomes; "
        "practice is two to five per objective."
    ),
    "too_few_key_results": (
        "A single key result makes the objective and the metric the same thing and invites "
        "gaming it; practice is two to five per objective."
    ),
    "relative_target_without_baseline": (
        "'Increase by 20%' with no baseline cannot be checked: 20% of what, measured when?"
    ),
}

SEVERITY: dict[str, str] = {
    "kr_missing_number": "high",
    "kr_missing_baseline": "medium",
    "kr_missing_target": "high",
    "activity_key_result": "medium",
    "objective_is_metric": "medium",
    "too_many_key_results": "medium",
    "too_few_key_results": "low",
    "relative_target_without_baseline": "high",
}

# Imperative verbs that open a task rather than an outcome ("Hold 4 workshops", "Launch X").
ACTIVITY_WORDS: tuple[str, ...] = (
    "hold", "launch", "attend", "run", "organize", "organise", "host", "conduct", "deliver",
    "implement", "build", "create", "write", "publish", "prepare", "schedule", "arrange",
    "introduce", "develop", "install", "deploy", "migrate", "finish", "set up", "roll out",
    "kick off", "participate", "throw", "celebrate", "send", "ship", "explore", "investigate",
)  # fmt: skip

_NUMBER = r"[<>≤≥=~]?\s*[$€£]?\d[\d,]*(?:\.\d+)?\s*(?:%|pts|points|k|m|bn|x)?"
_METRIC_TITLE = re.compile(rf"^(?P<name>[^\d]{{1,40}}?)[\s:=]+(?P<value>{_NUMBER})$", re.I)
_FROM_TO = re.compile(rf"\bfrom\s+{_NUMBER}\s+to\s+{_NUMBER}", re.I)
_RELATIVE = re.compile(
    r"\b(?:by|of)\s+\d[\d,]*(?:\.\d+)?\s*(?:%|percent|pp|pts|points|x)"
    r"|\b\d[\d,]*(?:\.\d+)?\s*(?:%|percent)\s+(?:more|less|fewer|higher|lower|faster|slower)\b"
    r"|^(?:double|triple|halve)\b",
    re.I,
)
_DIGIT = re.compile(r"\d")
# "Run rate", "Build time", "Launch date": the verb is the first half of a metric's name.
_METRIC_NOUNS = frozenset({
    "rate", "rates", "time", "times", "date", "dates", "cost", "costs", "length", "frequency",
    "success", "size", "quality", "accuracy", "volume", "count", "score", "speed", "duration",
    "lead",
})  # fmt: skip
_METRIC_WORDS = frozenset({
    "score", "rate", "revenue", "margin", "retention", "churn", "uptime", "conversion", "cost",
    "costs", "sales", "profit", "growth", "satisfaction", "engagement", "throughput", "yield",
    "availability", "utilization", "utilisation", "share", "accuracy", "turnover", "attrition",
    "backlog", "latency", "defects", "complaints", "occupancy", "nps", "csat", "arr", "mrr",
    "ebitda", "otif", "oee", "gmv", "ltv", "cac", "roi", "kpi", "index",
})  # fmt: skip
# "Cohort 4", "Phase 2", "Line 5": the number names a thing rather than setting a target.
_ORDINAL_NOUNS = frozenset({
    "cohort", "phase", "wave", "round", "step", "season", "version", "release", "project", "v",
    "level", "tier", "stage", "gen", "generation", "part", "chapter", "grade", "no", "number",
    "lot", "batch", "line", "zone", "bay", "building", "site", "plant", "ward", "lane", "year",
})  # fmt: skip


@dataclass(frozen=True)
class QualityConfig:
    min_key_results: int = 2
    max_key_results: int = 5
    max_okrs_per_team: int = 3  # per cycle; read by the report's overload finding
    activity_words: tuple[str, ...] = ACTIVITY_WORDS
    disabled_rules: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class KrInput:
    id: str | None
    title: str
    unit: str | None = None
    baseline: float | None = None
    target: float | None = None
    kind: str | None = None


@dataclass(frozen=True)
class OkrInput:
    id: str | None
    title: str
    description: str | None = None
    key_results: tuple[KrInput, ...] = ()


@dataclass(frozen=True)
class QualityProblem:
    rule: str
    okr_id: str | None
    key_result_id: str | None
    message: str
    severity: str


def check_okr(okr: OkrInput, config: QualityConfig = QualityConfig()) -> list[QualityProblem]:
    """Every rule that `okr` breaks, objective-level problems first, then per key result."""
    found: list[tuple[str, str | None, str]] = []
    # "objective" alone means a strategic objective in this product: say whose objective it is.
    owner = f"OKR {okr.id}" if okr.id else "the OKR"
    if is_metric_title(okr.title):
        found.append(
            (
                "objective_is_metric",
                None,
                f"{owner}'s objective {quote(okr.title)} is a metric, not an outcome",
            )
        )
    n = len(okr.key_results)
    counted = f"{owner} has {n} key result{'' if n == 1 else 's'}"
    if n > config.max_key_results:
        found.append(
            ("too_many_key_results", None, f"{counted} (at most {config.max_key_results})")
        )
    if n < config.min_key_results:
        found.append(
            ("too_few_key_results", None, f"{counted} (at least {config.min_key_results})")
        )
    for kr in okr.key_results:
        found += [(rule, kr.id, msg) for rule, msg in _check_kr(kr, config)]
    return [
        QualityProblem(rule, okr.id, kr_id, message, SEVERITY[rule])
        for rule, kr_id, message in found
        if rule not in config.disabled_rules
    ]


def quote(text: str) -> str:
    """A title quoted in a one-line reason: `"as written"`, whitespace and newlines collapsed.

    Plain double quotes and no escapes (unlike repr): reasons are shown to people, and escaping
    for HTML or CSV is the renderers' job.
    """
    return f'"{" ".join(text.split())}"'


def _check_kr(kr: KrInput, config: QualityConfig) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    label = f"key result {quote(kr.title)}"
    verb = activity_verb(kr.title, config.activity_words)
    if verb:
        out.append(
            ("activity_key_result", f"{label} starts with {quote(verb)}: a task, not an outcome")
        )
    if kr.baseline is None and kr.target is None and not kr.unit and not _DIGIT.search(kr.title):
        out.append(("kr_missing_number", f"{label} has no number, unit, baseline or target"))
        return out
    relative = kr.baseline is None and _RELATIVE.search(kr.title)
    if relative:
        out.append(
            (
                "relative_target_without_baseline",
                f"{label} states a relative change ({quote(relative.group(0))}) with no baseline",
            )
        )
    elif kr.baseline is None:
        out.append(("kr_missing_baseline", f"{label} has no baseline"))
    if kr.target is None:
        out.append(("kr_missing_target", f"{label} has no target"))
    return out


def activity_verb(title: str, words: tuple[str, ...] = ACTIVITY_WORDS) -> str | None:
    """The task verb `title` opens with, if any ("Hold 4 workshops" -> "hold")."""
    tokens = re.sub(r"[^\w\s-]", " ", title.lower()).split()
    for word in sorted(words, key=len, reverse=True):
        size = len(word.split())
        if tokens[:size] == word.split():
            following = tokens[size] if len(tokens) > size else None
            return None if following in _METRIC_NOUNS else word
    return None


def is_metric_title(title: str) -> bool:
    """ "NPS 45", "Churn: 2%", "ARR from $2M to $3M": a measurement standing in for an intent."""
    text = " ".join(title.split())
    if _FROM_TO.search(text) and len(text.split()) <= 8:
        return True
    match = _METRIC_TITLE.match(text)
    if not match:
        return False
    name, value = match.group("name").strip(), match.group("value").strip()
    words = name.lower().replace(",", " ").split()
    if len(words) > 4 or words[-1] in _ORDINAL_NOUNS:
        return False
    digits = re.sub(r"[^\d.]", "", value)
    # Years and version numbers ("POS 2027", "Health score 2.0") name things, not targets.
    if re.fullmatch(r"(19|20)\d\d", digits) or re.fullmatch(r"\d+\.0", digits):
        return False
    if words[0] in _ORDINAL_NOUNS:
        return False
    if re.search(r"[%$€£<>≤≥.]|\d\s*[kmx]\b", value, re.I):
        return True  # a value with a unit, a comparator or decimals is a target
    # A bare integer is a target only after a metric's name ("NPS 45", not "Route 9").
    acronym = any(w.isupper() and len(w) >= 2 for w in name.replace(",", " ").split())
    return acronym or any(w in _METRIC_WORDS for w in words)
