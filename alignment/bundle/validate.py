"""Bundle rules: parse a document and list every problem by JSON path.

Shape errors come from pydantic; the cross-record rules (unique ids, references that resolve,
no parent cycles, key results that belong to the check-in's OKR) are checked on the raw
document too, so one pass reports everything that is wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from alignment.bundle.schema import BUNDLE_FORMAT, Bundle, Date, Labels
from alignment.bundle.text_rules import normal_id
from alignment.errors import BundleInvalid, field_message
from alignment.vocabulary import counted


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def json_path(loc: Iterable[str | int]) -> str:
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def parse_bundle(document: Any) -> Bundle:
    """Return a valid `Bundle` or raise `BundleInvalid` listing every problem."""
    problems: list[Problem] = []
    bundle: Bundle | None = None
    if not isinstance(document, dict):
        raise BundleInvalid(
            "bundle must be a JSON/YAML object", details=[Problem("$", "not an object").as_dict()]
        )
    if document.get("format") != BUNDLE_FORMAT:
        problems.append(
            Problem("$.format", f"must be {BUNDLE_FORMAT!r}, got {document.get('format')!r}")
        )
    try:
        bundle = Bundle.model_validate(document)
    except ValidationError as exc:
        problems += [
            Problem(json_path(err["loc"]), field_message(err))
            for err in exc.errors(include_url=False)
            if tuple(err["loc"]) != ("format",)
        ]
    problems += list(_reference_problems(document))
    if problems:
        unique = list(dict.fromkeys(problems))
        raise BundleInvalid(
            f"bundle rejected: {counted(len(unique), 'problem')}; nothing was written",
            details=[p.as_dict() for p in unique],
        )
    assert bundle is not None
    return bundle


def parse_labels(document: Any) -> Labels:
    problems = list(_label_key_problems(document))
    try:
        labels = Labels.model_validate(document)
    except ValidationError as exc:
        problems += [Problem(json_path(e["loc"]), field_message(e)) for e in exc.errors()]
    if problems:
        raise BundleInvalid("labels file rejected", details=[p.as_dict() for p in problems])
    return labels


def _label_key_problems(document: Any) -> Iterator[Problem]:
    """Two keys of one labels map naming the same id: the schema would keep the last."""
    if not isinstance(document, dict):
        return
    for field, what in (("links", "OKR"), ("drift", "check-in")):
        keys = document.get(field)
        seen: dict[str, str] = {}
        for raw in keys if isinstance(keys, dict) else ():
            ident = _key(raw)
            if not isinstance(ident, str) or not ident:
                continue
            if ident in seen:
                first = seen[ident]
                yield Problem(
                    json_path([field, raw]),
                    f"duplicate {what} id {ident!r} (first at {json_path([field, first])})"
                    + _written(first, raw),
                )
            else:
                seen[ident] = raw


def _items(document: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    value = document.get(key)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _listed(value: Any) -> list[Any]:
    """A nested list as the cross-record rules read it: anything else (`"kpis": 5`) is the
    schema's problem to name, under its path."""
    return value if isinstance(value, list) else []


def _key(value: Any) -> Any:
    """Ids and references as the schema reads them: in Unicode NFKC form, surrounding
    whitespace stripped (text_rules.normal_id)."""
    return normal_id(value) if isinstance(value, str) else value


def _written(first: Any, again: Any) -> str:
    """How two ids that read the same differ, when they were not written alike: merged
    without a word, one record's fields would silently replace the other's."""
    if not isinstance(first, str) or not isinstance(again, str) or first.strip() == again.strip():
        return ""
    return (
        f"; written {again.strip()!a} here and {first.strip()!a} there, which read the "
        "same (ids are compared in Unicode NFKC form)"
    )


def _ids(items: list[tuple[int, dict[str, Any]]], key: str) -> Iterator[Problem]:
    """Ids listed twice in one of the document's top-level lists."""
    return _nested_ids([(f"$.{key}[{i}]", item) for i, item in items], "")


def _known(items: Iterable[dict[str, Any]]) -> set[str]:
    return {_key(item["id"]) for item in items if isinstance(item.get("id"), str)}


def _reference_problems(doc: dict[str, Any]) -> Iterator[Problem]:
    cycles, teams = _items(doc, "cycles"), _items(doc, "teams")
    objectives, okrs = _items(doc, "strategic_objectives"), _items(doc, "okrs")
    check_ins = _items(doc, "check_ins")
    kpis = [
        (f"$.strategic_objectives[{i}].kpis[{j}]", kpi)
        for i, obj in objectives
        for j, kpi in enumerate(_listed(obj.get("kpis")))
        if isinstance(kpi, dict)
    ]
    krs = [
        (f"$.okrs[{i}].key_results[{j}]", kr, _key(okr.get("id")))
        for i, okr in okrs
        for j, kr in enumerate(_listed(okr.get("key_results")))
        if isinstance(kr, dict)
    ]
    for key, items in (
        ("cycles", cycles),
        ("teams", teams),
        ("strategic_objectives", objectives),
        ("okrs", okrs),
        ("check_ins", check_ins),
    ):
        yield from _ids(items, key)
    yield from _nested_ids(kpis, "KPI")
    yield from _nested_ids([(p, kr) for p, kr, _ in krs], "key result")

    cycle_ids, team_ids = _known(c for _, c in cycles), _known(t for _, t in teams)
    objective_ids, okr_ids = _known(o for _, o in objectives), _known(o for _, o in okrs)
    kr_owner = {_key(kr["id"]): owner for _, kr, owner in krs if isinstance(kr.get("id"), str)}
    kr_ids = set(kr_owner)

    yield from _parent_problems(teams, "teams", team_ids)
    yield from _parent_problems(objectives, "strategic_objectives", objective_ids)
    for i, okr in okrs:
        yield from _ref(okr.get("team"), team_ids, f"$.okrs[{i}].team", "team")
        yield from _ref(okr.get("cycle"), cycle_ids, f"$.okrs[{i}].cycle", "cycle")
        links = okr.get("declared_links") or []
        links = [_key(link) for link in links] if isinstance(links, list) else []
        listed: set[Any] = set()
        for j, link in enumerate(links):
            yield from _ref(
                link, objective_ids, f"$.okrs[{i}].declared_links[{j}]", "strategic objective"
            )
            if isinstance(link, str) and link in listed:
                yield Problem(f"$.okrs[{i}].declared_links[{j}]", f"{link!r} is listed twice")
            if isinstance(link, str):
                listed.add(link)
    for i, check_in in check_ins:
        yield from _ref(check_in.get("okr"), okr_ids, f"$.check_ins[{i}].okr", "OKR")
        kr = _key(check_in.get("key_result"))
        if isinstance(kr, str):  # a list or number here is the schema's problem
            yield from _ref(kr, kr_ids, f"$.check_ins[{i}].key_result", "key result")
            if kr in kr_owner and kr_owner[kr] != _key(check_in.get("okr")):
                yield Problem(
                    f"$.check_ins[{i}].key_result",
                    f"key result {kr!r} belongs to OKR {kr_owner[kr]!r}, "
                    f"not {check_in.get('okr')!r}",
                )
    for i, cycle in cycles:
        start, end = _date(cycle.get("start")), _date(cycle.get("end"))
        if start is not None and end is not None and start > end:
            yield Problem(f"$.cycles[{i}].end", f"cycle ends ({end}) before it starts ({start})")


_DATE: TypeAdapter[dt.date] = TypeAdapter(Date)


def _date(value: Any) -> dt.date | None:
    """A cycle date as the schema reads it; None when absent or not a date (the schema's
    own problem names that, and comparing it would invent a second one). Read by the
    schema's own type: YAML's unquoted timestamps are datetimes, naive or aware, which
    cannot be compared with each other or with dates; midnight ones read as their date."""
    try:
        return _DATE.validate_python(value)
    except ValidationError:
        return None


def _nested_ids(items: list[tuple[str, dict[str, Any]]], what: str) -> Iterator[Problem]:
    """Ids that read the same twice among `items` (each with its path), `what` naming their
    kind in the message ("KPI"; empty in a list that holds one kind)."""
    seen: dict[str, tuple[str, Any]] = {}
    noun = f"{what} id" if what else "id"
    for path, item in items:
        ident = _key(item.get("id"))
        if isinstance(ident, str) and ident:
            if ident in seen:
                first, raw = seen[ident]
                yield Problem(
                    f"{path}.id",
                    f"duplicate {noun} {ident!r} (first at {first})"
                    + _written(raw, item.get("id")),
                )
            else:
                seen[ident] = (path, item.get("id"))


def _ref(value: Any, known: set[str], path: str, what: str) -> Iterator[Problem]:
    value = _key(value)
    if isinstance(value, str) and value and value not in known:
        yield Problem(path, f"unknown {what} {value!r}")


def _parent_problems(
    items: list[tuple[int, dict[str, Any]]], key: str, known: set[str]
) -> Iterator[Problem]:
    parents = {
        _key(it["id"]): _key(it.get("parent")) for _, it in items if isinstance(it.get("id"), str)
    }
    # Each node is walked once: its chain is known to end (`ends`) or to run into a loop
    # (`loops`) after the first walk through it, so long chains stay linear. Only the loop's
    # own members are reported: their descendants are fine once the loop is broken.
    ends: set[Any] = set()
    loops: set[Any] = set()
    members: set[Any] = set()
    for i, item in items:
        parent = _key(item.get("parent"))
        yield from _ref(parent, known, f"$.{key}[{i}].parent", key.rstrip("s").replace("_", " "))
        ident = _key(item.get("id"))
        if not isinstance(ident, str):  # no id, or a list: the schema names it, no chain
            continue
        walked, on_walk, node, looped = [ident], {ident}, parent, False
        while isinstance(node, str) and node in parents and node not in ends:
            if node in on_walk or node in loops:
                looped = True
                break
            walked.append(node)
            on_walk.add(node)
            node = parents[node]
        if looped and node in on_walk:
            members.update(walked[walked.index(node) :])
        if looped or ident in loops:
            loops.update(walked)
            if ident in members:
                yield Problem(
                    f"$.{key}[{i}].parent",
                    f"parent chain of {item.get('id')!r} loops back to itself",
                )
        else:
            ends.update(walked)
