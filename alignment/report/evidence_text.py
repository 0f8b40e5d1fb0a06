"""A finding's evidence spelled out for people: labelled lines naming records by id and title.

"own OKR similarity 0.64", "matched key result O-47-KR1: <text>". Keys this module does not know
are shown generically, so a new evidence field never breaks the page; the HTML template shows the
lines, and the raw JSON stays one click away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from alignment.vocabulary import perspective_name

RECORD_TYPES = {
    "okr": "OKR",
    "key_result": "key result",
    "check_in": "check-in",
    "objective": "objective",
    "team": "team",
    "cycle": "cycle",
    "perspective": "perspective",
}
_WORDS = {"okr": "OKR", "okrs": "OKRs", "kr": "KR", "checkin": "check-in"}


def kind_label(kind: str) -> str:
    """`orphan_okr` -> "orphan OKR", `checkin_drift` -> "check-in drift"."""
    if kind == "lead_lag_gap":
        return "lead/lag gap"
    return " ".join(_WORDS.get(w, w) for w in kind.split("_"))


Segment = tuple[str, str]  # ("text" | "id" | "quote", value): how the template shows a piece


@dataclass
class Line:
    """One labelled line of evidence; `children` indent under it (a pair, a check-in, ...)."""

    label: str
    value: list[Segment]
    children: list[Line] = field(default_factory=list)


def flatten(lines: list[Line], depth: int = 0) -> list[tuple[int, str, list[Segment]]]:
    """(depth, label, value) rows: one flat loop in the template renders thousands of findings
    far faster than a recursive macro."""
    out = []
    for line in lines:
        out.append((depth, line.label, line.value))
        out += flatten(line.children, depth + 1)
    return out


def titles_of(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(record type, id) -> title or name, from everything the document names anywhere."""
    summary = document["summary"]
    out: dict[tuple[str, str], str] = {}
    for f in document["findings"]:
        for r in f["records"]:
            out[(r["type"], r["id"])] = r["label"]
    for o in summary.get("objectives", []):
        out[("objective", o["id"])] = o["title"]
    heat = summary.get("heatmap", {})
    for t in heat.get("teams", []):
        out[("team", t["id"])] = t["name"]
    for o in heat.get("objectives", []):
        out[("objective", o["id"])] = o["title"]
    return out


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


# Numbers as people read them (`+ 0` turns -0.0 into 0.0); anything else as it is.
def _num(x: Any) -> str:
    return f"{x + 0:g}" if _is_number(x) else str(x)


def _two(x: Any) -> str:
    return f"{x + 0:.2f}" if _is_number(x) else _num(x)


def _percent(x: Any) -> str:
    return f"{x + 0:.0%}" if _is_number(x) else _num(x)


def _text(value: str) -> list[Segment]:
    return [("text", value)]


# How a plain evidence value is labelled and written; a key not listed is labelled by its name
# with spaces for underscores ("shared_terms" -> "shared terms").
_LABELS = {
    "rationale": "why it matters",
    "typical_own_similarity": "a typical check-in's similarity to its own OKR here",
    "routine_work": "the routine work it reads most like",
    "routine_similarity": "similarity to that routine work",
    "okrs": "OKRs",
    "max_okrs": "OKR limit",
    "max_key_results": "key-result limit",
    "last_check_in": "last check-in",
    "days_without_check_in": "days without a check-in",
    "strength": "coverage strength",
    "minimum": "OKRs expected (at least)",
    "aligned_links": "OKR links",
    "share_of_objectives": "share of objectives",
    "share_of_links": "share of OKR links",
    "ratio": "share of links ÷ share of objectives",
    "threshold": "starved below",
}
_KIND_LABELS = {
    ("checkin_drift", "score"): "drift score",
    ("checkin_drift", "date"): "check-in date",
    ("checkin_drift", "text"): "check-in text",
}
_FORMATS = {
    "score": _two,
    "similarity": _two,
    "own_similarity": _two,
    "typical_own_similarity": _two,
    "routine_similarity": _two,
    "nearest_similarity": _two,
    "ratio": _two,
    "share_of_objectives": _percent,
    "share_of_links": _percent,
    "confidence": _percent,
    "progress": _percent,
}
# Shown elsewhere already (the rule is the finding's kind; a drift finding is always drifting).
_SKIP = {"rule", "drifting"}
# Keys read together as one line: a key result's numbers, a check-in's own and nearest OKR.
_NUMBERS = ("unit", "baseline", "target")
_OWN = ("own_field", "own_similarity")
_NEAREST = ("nearest_okr_id", "nearest_okr_title", "nearest_similarity", "nearest_okr_cycle")
_GROUPS = (_NUMBERS, _OWN, _NEAREST)
_QUOTED = {"title", "text", "rationale", "objective_title", "okr_text", "objective_text"}


def _label(kind: str, key: str) -> str:
    return _KIND_LABELS.get((kind, key)) or _LABELS.get(key) or key.replace("_", " ")


class EvidenceText:
    """Turns a finding's evidence dict into labelled `Line`s for people."""

    def __init__(self, titles: dict[tuple[str, str], str]) -> None:
        self.titles = titles
        # Keys with a shape of their own, and every key of a group: the lines they make.
        self._shaped: dict[str, Callable[[dict[str, Any]], list[Line]]] = {
            "declared": self._declared,
            "best_link": self._best_link,
            "link": self._link,
            "aligned_okrs": self._aligned_okrs,
            "weak_okrs": self._weak_okrs,
            "objectives": self._objectives,
            "perspective": self._perspective,
            "stale_days": self._stale_days,
            "direction": self._direction,
            "check_ins": self._check_ins,
            "pairs": self._pairs,
            "key_results_per_okr": self._key_results_per_okr,
            "okr_key_result_kinds": self._okr_key_result_kinds,
            "lag_kpis": self._lag_kpis,
            **dict.fromkeys(_NUMBERS, self._numbers),
            **dict.fromkeys(_OWN, self._own),
            **dict.fromkeys(_NEAREST, self._nearest),
        }

    def ref(self, record_type: str, record_id: Any, title: str | None = None) -> list[Segment]:
        if record_id is None:
            return _text("none")
        record_id = str(record_id)
        title = title if title is not None else self.titles.get((record_type, record_id))
        out: list[Segment] = [("id", record_id)]
        if title and title != record_id:
            out.append(("quote", title))
        return out

    def refs(self, record_type: str, ids: Iterable[Any]) -> list[Segment]:
        out: list[Segment] = []
        for record_id in ids:
            if out:
                out.append(("text", ", "))
            out += self.ref(record_type, record_id)
        return out or _text("none")

    def lines(self, kind: str, evidence: Any) -> list[Line]:
        """A finding's evidence in its keys' order: a group of keys as one line where its first
        key stands, a key with a shape of its own by its method, any other generically."""
        if not isinstance(evidence, dict):
            return [self.generic("evidence", evidence)]
        out: list[Line] = []
        done: set[str] = set(_SKIP)
        for key, value in evidence.items():
            if key in done:
                continue
            group = next((g for g in _GROUPS if key in g), (key,))
            done.update(group)
            handler = self._shaped.get(key)
            if handler is None:
                out.append(self.generic(_label(kind, key), value, key))
                continue
            try:
                out += handler(evidence)
            except (AttributeError, KeyError, TypeError, ValueError):
                # Evidence of another shape (an older or newer run): show it as it is rather
                # than fail the whole page.
                out += [self.generic(k.replace("_", " "), evidence[k], k) for k in group
                        if k in evidence]  # fmt: skip
        return out

    def generic(self, label: str, value: Any, key: str = "") -> Line:
        if isinstance(value, dict):
            if {"objective_id", "score", "label"} <= set(value):
                return Line(label, *self.link(value))
            return Line(
                label, [], [self.generic(k.replace("_", " "), v, k) for k, v in value.items()]
            )
        if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
            return Line(label, [], [self.generic("", v) for v in value])
        if isinstance(value, list):
            return Line(label, _text(", ".join(_num(v) for v in value) or "none"))
        if value is None:
            return Line(label, _text("none"))
        if isinstance(value, bool):
            return Line(label, _text("yes" if value else "no"))
        if isinstance(value, str):
            return Line(label, [("quote" if key in _QUOTED else "text", value)])
        return Line(label, _text(_FORMATS.get(key, _num)(value)))

    @staticmethod
    def numbers_text(numbers: dict[str, Any]) -> str:
        """A key result's numbers: "baseline 10, target 20 (%)", ", no unit" for a blank unit,
        nothing for evidence without one."""

        def show(name: str) -> str:
            value = numbers.get(name)
            return f"{name} {'none' if value is None else _num(value)}"

        text = f"{show('baseline')}, {show('target')}"
        if "unit" not in numbers:
            return text
        return text + (f" ({numbers['unit']})" if numbers["unit"] else ", no unit")

    def field_name(self, okr_field: Any) -> tuple[str, str | None]:
        """Which part of an OKR matched: "key_result:O-7-KR2" -> ("key result", "O-7-KR2")."""
        if isinstance(okr_field, str) and okr_field.startswith("key_result:"):
            return "key result", okr_field.split(":", 1)[1]
        return (f"OKR {okr_field}" if okr_field else "OKR text"), None

    def link(self, link: dict[str, Any]) -> tuple[list[Segment], list[Line]]:
        value = self.ref("objective", link.get("objective_id"), link.get("objective_title"))
        if "score" not in link:
            return value + _text(" · not scored"), []
        value += _text(f" · score {_two(link['score'])} · label {link.get('label')}")
        match = link.get("strongest_match")
        if not match:
            return value, []
        part, part_id = self.field_name(match.get("okr_field"))
        matched: list[Segment] = [("id", part_id)] if part_id else []
        children = [
            Line(f"matched {part}", [*matched, ("quote", str(match.get("okr_text")))]),
            Line(
                "with objective text",
                [("quote", str(match.get("objective_text"))),
                 ("text", f" · similarity {_two(match.get('similarity'))}")],
            ),
        ]  # fmt: skip
        if match.get("shared_terms"):
            children.append(Line("shared terms", _text(", ".join(match["shared_terms"]))))
        return value, children

    # Keys with a shape of their own (and key groups), as `_shaped` names them: each returns
    # its lines, and raises on evidence of another shape (then `lines` shows it generically).

    def _declared(self, evidence: dict[str, Any]) -> list[Line]:
        value = evidence["declared"]
        if isinstance(value, dict):
            return [Line("declared link", *self.link(value))]
        return [Line("declared objectives", self.refs("objective", value or ()))]

    def _best_link(self, evidence: dict[str, Any]) -> list[Line]:
        value = evidence["best_link"]
        return [Line("best link", *self.link(value)) if value else Line("best link", _text("none"))]

    def _link(self, evidence: dict[str, Any]) -> list[Line]:
        return [Line("link", *self.link(evidence["link"]))]

    def _numbers(self, evidence: dict[str, Any]) -> list[Line]:
        return [Line("numbers", _text(self.numbers_text(evidence)))]

    def _own(self, evidence: dict[str, Any]) -> list[Line]:
        value = _text(_two(evidence.get("own_similarity")))
        part, part_id = self.field_name(evidence.get("own_field"))
        if evidence.get("own_field"):
            value += _text(f" · closest: {part} ")
            value += self.ref("key_result", part_id) if part_id else []
        return [Line("own OKR similarity", value)]

    def _nearest(self, evidence: dict[str, Any]) -> list[Line]:
        value = self.ref("okr", evidence.get("nearest_okr_id"), evidence.get("nearest_okr_title"))
        if evidence.get("nearest_similarity") is not None:
            value += _text(f" · similarity {_two(evidence['nearest_similarity'])}")
        if evidence.get("nearest_okr_cycle"):  # another quarter's OKR is no place for the work
            value += _text(f" · cycle {evidence['nearest_okr_cycle']}")
        return [Line("nearest other OKR", value)]

    def _okr_list(self, label: str, items: Any) -> list[Line]:
        if not items:
            return [Line(label, _text("none"))]
        return [
            Line(label, _text(str(len(items))), [
                Line("", [*self.ref("okr", i.get("okr_id")),
                          ("text", f" · score {_two(i.get('score'))}")])
                for i in items
            ])
        ]  # fmt: skip

    def _aligned_okrs(self, evidence: dict[str, Any]) -> list[Line]:
        return self._okr_list("OKRs serving it", evidence["aligned_okrs"])

    def _weak_okrs(self, evidence: dict[str, Any]) -> list[Line]:
        return self._okr_list("weak candidates", evidence["weak_okrs"])

    def _objectives(self, evidence: dict[str, Any]) -> list[Line]:
        return [Line("objectives", self.refs("objective", evidence["objectives"] or ()))]

    def _perspective(self, evidence: dict[str, Any]) -> list[Line]:
        return [Line("perspective", _text(perspective_name(evidence["perspective"])))]

    def _stale_days(self, evidence: dict[str, Any]) -> list[Line]:
        return [Line("stale after", _text(f"{_num(evidence['stale_days'])} days"))]

    def _direction(self, evidence: dict[str, Any]) -> list[Line]:
        words = {"too_high": "higher than the progress supports",
                 "too_low": "lower than the progress supports"}  # fmt: skip
        direction = evidence["direction"]
        return [Line("confidence", _text(words.get(direction, str(direction))))]

    def _check_ins(self, evidence: dict[str, Any]) -> list[Line]:
        rows = []
        for c in evidence["check_ins"]:
            parts = [c.get("date") or "undated"]
            parts += [
                f"{name} {fmt(c[name])}"
                for name, fmt in (("value", _num), ("confidence", _percent), ("progress", _percent))
                if c.get(name) is not None
            ]
            # The check-in's text is in the finding's records already: the id is enough here.
            rows.append(Line("", [*self.ref("check_in", c.get("id"), ""),
                                  ("text", " · " + " · ".join(parts))]))  # fmt: skip
        return [Line("check-ins", _text(str(len(rows))), rows)]

    def _pairs(self, evidence: dict[str, Any]) -> list[Line]:
        out = []
        for p in evidence["pairs"]:
            record_type = "key_result" if p.get("level") == "key_result" else "okr"
            children = [
                Line(f"{p[side]} numbers", _text(self.numbers_text(p[f"{side}_numbers"])))
                for side in ("a", "b")
                if isinstance(p.get(f"{side}_numbers"), dict)
            ]
            out.append(
                Line(
                    "similar key results" if record_type == "key_result" else "similar OKRs",
                    [*self.ref(record_type, p.get("a")), ("text", " ↔ "),
                     *self.ref(record_type, p.get("b")),
                     ("text", f" · similarity {_two(p.get('similarity'))}")],
                    children,
                )
            )  # fmt: skip
        return out

    def _key_results_per_okr(self, evidence: dict[str, Any]) -> list[Line]:
        per = evidence["key_results_per_okr"]
        return [
            Line("key results per OKR", [], [
                Line("", [*self.ref("okr", o), ("text", f" · {_num(n)}")]) for o, n in per.items()
            ])
        ]  # fmt: skip

    def _okr_key_result_kinds(self, evidence: dict[str, Any]) -> list[Line]:
        per = evidence["okr_key_result_kinds"]
        return [
            Line("key-result kinds per OKR", [], [
                Line("", [*self.ref("okr", o),
                          ("text", " · " + ", ".join(k or "unknown" for k in kinds))])
                for o, kinds in per.items()
            ])
        ]  # fmt: skip

    def _lag_kpis(self, evidence: dict[str, Any]) -> list[Line]:
        kpis = evidence["lag_kpis"]
        return [
            Line("lag KPIs", [], [
                Line("", self.ref("kpi", k.get("id"), k.get("name"))) for k in kpis
            ])
        ]  # fmt: skip
