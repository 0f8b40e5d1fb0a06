"""Bundle rules (docs/bundle-v1.md): each broken rule is reported under its JSON path.

Every test starts from the valid `small_bundle()`, breaks one thing and checks that the problem
list names the path of what was broken. No database is needed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from alignment.bundle import BUNDLE_FORMAT, Bundle, parse_bundle
from alignment.bundle.io import dump_document, load_document
from alignment.errors import BundleInvalid
from tests.factories import small_bundle

Doc = dict[str, Any]


def problems(document: Any) -> dict[str, str]:
    """path -> message of every problem `parse_bundle` reports (fails if it reports none)."""
    with pytest.raises(BundleInvalid) as caught:
        parse_bundle(document)
    error = caught.value
    assert error.code == "bundle_invalid" and error.status == 422
    assert isinstance(error.details, list) and error.details
    found: dict[str, str] = {}
    for problem in error.details:
        assert set(problem) == {"path", "message"}
        assert problem["path"].startswith("$")
        assert problem["message"]
        found.setdefault(problem["path"], problem["message"])
    return found


def broken(change: Callable[[Doc], Any]) -> dict[str, str]:
    document = small_bundle()
    change(document)
    return problems(document)


def test_small_bundle_is_valid() -> None:
    bundle = parse_bundle(small_bundle())
    assert isinstance(bundle, Bundle)
    assert [o.id for o in bundle.okrs] == ["O-1", "O-2"]
    assert bundle.okrs[0].key_results[1].id == "O-1-KR2"


def test_spec_example_is_valid() -> None:
    parse_bundle(
        {
            "format": "goldenthread.bundle/v1",
            "organization": {"id": "acme", "name": "Acme Health"},
            "cycles": [{"id": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30"}],
            "strategic_objectives": [
                {
                    "id": "SO-1",
                    "title": "Reduce avoidable readmissions",
                    "description": "One or two sentences, or null.",
                    "perspective": "customer",
                    "kpis": [
                        {
                            "id": "SO-1-K1",
                            "name": "30-day readmission rate",
                            "kind": "lag",
                            "unit": "%",
                            "baseline": 14.0,
                            "target": 10.0,
                        }
                    ],
                }
            ],
            "teams": [{"id": "T-1", "name": "Pharmacy", "parent": None, "mission": "Safe."}],
            "okrs": [
                {
                    "id": "O-1",
                    "team": "T-1",
                    "cycle": "2026-Q3",
                    "title": "Every heart-failure patient goes home understanding their medicines",
                    "description": None,
                    "declared_links": ["SO-1"],
                    "key_results": [
                        {
                            "id": "O-1-KR1",
                            "title": "Discharged HF patients called within 48 h",
                            "unit": "%",
                            "baseline": 20,
                            "target": 90,
                            "current": 45,
                            "kind": "lead",
                        }
                    ],
                }
            ],
            "check_ins": [
                {
                    "id": "C-1",
                    "okr": "O-1",
                    "key_result": "O-1-KR1",
                    "date": "2026-08-15",
                    "value": 45,
                    "confidence": 0.6,
                    "text": "What the team wrote this week.",
                }
            ],
        }
    )


def test_minimal_bundle_with_absent_optional_fields_is_valid() -> None:
    bundle = parse_bundle(
        {
            "format": BUNDLE_FORMAT,
            "organization": {"id": "min", "name": "Minimal"},
            "cycles": [{"id": "C"}],
            "teams": [{"id": "T", "name": "Team"}],
            "okrs": [{"id": "O", "team": "T", "cycle": "C", "title": "Do it"}],
            "check_ins": [{"id": "K", "okr": "O", "text": "Done."}],
        }
    )
    assert bundle.okrs[0].declared_links == [] and bundle.strategic_objectives == []


# --- format ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["goldenthread.bundle/v2", "goldenthread.labels/v1", "", None, 1])
def test_wrong_format(value: Any) -> None:
    found = broken(lambda d: d.__setitem__("format", value))
    assert list(found) == ["$.format"]
    assert BUNDLE_FORMAT in found["$.format"]


def test_missing_format() -> None:
    found = broken(lambda d: d.pop("format"))
    assert list(found) == ["$.format"]


def test_not_an_object() -> None:
    assert list(problems(["not", "a", "bundle"])) == ["$"]
    assert list(problems(None)) == ["$"]


def test_missing_organization() -> None:
    assert "$.organization" in broken(lambda d: d.pop("organization"))


# --- ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locate", "path"),
    [
        (lambda d: d["organization"], "$.organization.id"),
        (lambda d: d["cycles"][1], "$.cycles[1].id"),
        (lambda d: d["teams"][1], "$.teams[1].id"),
        (lambda d: d["strategic_objectives"][1], "$.strategic_objectives[1].id"),
        (lambda d: d["strategic_objectives"][0]["kpis"][0], "$.strategic_objectives[0].kpis[0].id"),
        (lambda d: d["okrs"][1], "$.okrs[1].id"),
        (lambda d: d["okrs"][0]["key_results"][1], "$.okrs[0].key_results[1].id"),
        (lambda d: d["check_ins"][1], "$.check_ins[1].id"),
    ],
)
@pytest.mark.parametrize("empty", ["", "   "])
def test_empty_id(locate: Callable[[Doc], Doc], path: str, empty: str) -> None:
    found = broken(lambda d: locate(d).__setitem__("id", empty))
    assert path in found


def test_missing_id() -> None:
    found = broken(lambda d: d["okrs"][1].pop("id"))
    assert "$.okrs[1].id" in found


def _add_copy(key: str, index: int = 0) -> Callable[[Doc], None]:
    def change(d: Doc) -> None:
        d[key].append(json.loads(json.dumps(d[key][index])))

    return change


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["cycles"][1].__setitem__("id", "2026-Q3"), "$.cycles[1].id"),
        (lambda d: d["teams"][1].__setitem__("id", "T-1"), "$.teams[1].id"),
        (
            lambda d: d["strategic_objectives"][1].__setitem__("id", "SO-1"),
            "$.strategic_objectives[1].id",
        ),
        (lambda d: d["okrs"][1].__setitem__("id", "O-1"), "$.okrs[1].id"),
        (lambda d: d["check_ins"][1].__setitem__("id", "C-1"), "$.check_ins[1].id"),
        # KPIs and key results are unique across the whole bundle, not only within a parent.
        (
            lambda d: d["strategic_objectives"][1]["kpis"][0].__setitem__("id", "SO-1-K1"),
            "$.strategic_objectives[1].kpis[0].id",
        ),
        (
            lambda d: d["strategic_objectives"][0]["kpis"].append(
                {"id": "SO-1-K1", "name": "Another"}
            ),
            "$.strategic_objectives[0].kpis[1].id",
        ),
        (
            lambda d: d["okrs"][1]["key_results"][0].__setitem__("id", "O-1-KR1"),
            "$.okrs[1].key_results[0].id",
        ),
        (
            lambda d: d["okrs"][0]["key_results"][1].__setitem__("id", "O-1-KR1"),
            "$.okrs[0].key_results[1].id",
        ),
    ],
    ids=[
        "cycles",
        "teams",
        "objectives",
        "okrs",
        "check_ins",
        "kpis-across-objectives",
        "kpis-same-objective",
        "key-results-across-okrs",
        "key-results-same-okr",
    ],
)
def test_duplicate_ids(change: Callable[[Doc], None], path: str) -> None:
    found = broken(change)
    assert path in found
    assert "duplicate" in found[path]


def test_duplicate_of_a_whole_record_names_the_second_one() -> None:
    found = broken(_add_copy("teams", 0))
    assert "$.teams[2].id" in found and "$.teams[0].id" not in found
    assert "$.teams[0]" in found["$.teams[2].id"]


def test_ids_that_differ_only_by_surrounding_whitespace_are_duplicates() -> None:
    # Ids are stripped, so " T-1" *is* "T-1": accepting both would write one row twice.
    found = broken(lambda d: d["teams"].append({"id": " T-1", "name": "Shadow pharmacy"}))
    assert "$.teams[2].id" in found


def test_same_id_in_different_kinds_is_fine() -> None:
    document = small_bundle()
    document["teams"][1]["id"] = "O-1"  # a team may share an id with an OKR
    document["okrs"][1]["team"] = "O-1"
    parse_bundle(document)


# --- references -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["okrs"][1].__setitem__("team", "T-404"), "$.okrs[1].team"),
        (lambda d: d["okrs"][1].__setitem__("cycle", "2027-Q1"), "$.okrs[1].cycle"),
        (lambda d: d["check_ins"][1].__setitem__("okr", "O-404"), "$.check_ins[1].okr"),
        (
            lambda d: d["check_ins"][0].__setitem__("key_result", "O-1-KR9"),
            "$.check_ins[0].key_result",
        ),
        (lambda d: d["teams"][1].__setitem__("parent", "T-404"), "$.teams[1].parent"),
        (
            lambda d: d["strategic_objectives"][1].__setitem__("parent", "SO-404"),
            "$.strategic_objectives[1].parent",
        ),
        (
            lambda d: d["okrs"][0]["declared_links"].append("SO-404"),
            "$.okrs[0].declared_links[1]",
        ),
    ],
    ids=[
        "okr.team",
        "okr.cycle",
        "check_in.okr",
        "check_in.key_result",
        "team.parent",
        "objective.parent",
        "declared_links",
    ],
)
def test_unknown_reference(change: Callable[[Doc], None], path: str) -> None:
    found = broken(change)
    assert list(found) == [path]
    assert "unknown" in found[path]


def test_reference_to_a_record_of_another_kind_does_not_resolve() -> None:
    # "O-1" exists, but as an OKR, not as a strategic objective.
    found = broken(lambda d: d["okrs"][1]["declared_links"].append("O-1"))
    assert "$.okrs[1].declared_links[1]" in found


def test_declared_link_listed_twice() -> None:
    found = broken(lambda d: d["okrs"][0]["declared_links"].append("SO-1"))
    assert "$.okrs[0].declared_links[1]" in found


def test_missing_required_references() -> None:
    found = broken(lambda d: (d["okrs"][0].pop("team"), d["check_ins"][0].pop("okr")))
    assert {"$.okrs[0].team", "$.check_ins[0].okr"} <= set(found)


def test_team_parent_cycle() -> None:
    def loop(d: Doc) -> None:
        d["teams"][0]["parent"] = "T-2"  # T-2's parent is already T-1

    found = broken(loop)
    assert "$.teams[0].parent" in found and "$.teams[1].parent" in found
    assert "loop" in found["$.teams[0].parent"]


def test_a_parent_loop_names_its_members_not_the_teams_under_it() -> None:
    def loop(d: Doc) -> None:
        d["teams"][0]["parent"] = "T-2"  # T-1 <-> T-2
        d["teams"].insert(0, {"id": "T-3", "name": "Outpatient pharmacy", "parent": "T-1"})
        d["teams"].append({"id": "T-4", "name": "Night pharmacy", "parent": "T-3"})

    found = broken(loop)
    parents = {path for path in found if path.endswith(".parent")}
    assert parents == {"$.teams[1].parent", "$.teams[2].parent"}  # T-1 and T-2, not T-3, T-4


def test_team_that_is_its_own_parent() -> None:
    found = broken(lambda d: d["teams"][0].__setitem__("parent", "T-1"))
    assert "$.teams[0].parent" in found


def test_longer_team_parent_cycle() -> None:
    def loop(d: Doc) -> None:
        d["teams"].append({"id": "T-3", "name": "Outpatient pharmacy", "parent": "T-2"})
        d["teams"][0]["parent"] = "T-3"

    found = broken(loop)
    assert {"$.teams[0].parent", "$.teams[1].parent", "$.teams[2].parent"} <= set(found)


def test_objective_parent_cycle() -> None:
    def loop(d: Doc) -> None:
        d["strategic_objectives"][0]["parent"] = "SO-2"
        d["strategic_objectives"][1]["parent"] = "SO-1"

    found = broken(loop)
    assert "$.strategic_objectives[0].parent" in found


def test_team_tree_without_cycle_is_fine() -> None:
    document = small_bundle()
    document["teams"].append({"id": "T-3", "name": "Outpatient", "parent": "T-2"})
    parse_bundle(document)


def test_key_result_of_another_okr() -> None:
    found = broken(lambda d: d["check_ins"][1].__setitem__("key_result", "O-1-KR1"))
    assert list(found) == ["$.check_ins[1].key_result"]
    message = found["$.check_ins[1].key_result"]
    assert "O-1" in message and "O-2" in message


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["people", "Customer", "", 3])
def test_bad_perspective(value: Any) -> None:
    found = broken(lambda d: d["strategic_objectives"][1].__setitem__("perspective", value))
    assert "$.strategic_objectives[1].perspective" in found


@pytest.mark.parametrize(
    "perspective", ["financial", "customer", "internal_process", "learning_growth", None]
)
def test_every_perspective_is_accepted(perspective: str | None) -> None:
    document = small_bundle()
    document["strategic_objectives"][0]["perspective"] = perspective
    parse_bundle(document)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda d: d["strategic_objectives"][0]["kpis"][0].__setitem__("kind", "leading"),
            "$.strategic_objectives[0].kpis[0].kind",
        ),
        (
            lambda d: d["okrs"][0]["key_results"][1].__setitem__("kind", "medium"),
            "$.okrs[0].key_results[1].kind",
        ),
    ],
    ids=["kpi", "key-result"],
)
def test_bad_kind(change: Callable[[Doc], None], path: str) -> None:
    assert path in broken(change)


@pytest.mark.parametrize("value", [1.01, -0.1, 60, "high"])
def test_confidence_out_of_range(value: Any) -> None:
    found = broken(lambda d: d["check_ins"][0].__setitem__("confidence", value))
    assert list(found) == ["$.check_ins[0].confidence"]


@pytest.mark.parametrize("value", [0, 1, 0.0, 1.0, None])
def test_confidence_bounds_are_accepted(value: Any) -> None:
    document = small_bundle()
    document["check_ins"][0]["confidence"] = value
    parse_bundle(document)


def test_cycle_end_before_start() -> None:
    found = broken(lambda d: d["cycles"][1].__setitem__("end", "2026-09-30"))
    assert list(found) == ["$.cycles[1].end"]
    assert "before" in found["$.cycles[1].end"]


def test_cycle_may_start_and_end_on_one_day_or_have_no_dates() -> None:
    document = small_bundle()
    document["cycles"][0]["end"] = document["cycles"][0]["start"]
    document["cycles"][1]["start"] = None
    del document["cycles"][1]["end"]
    parse_bundle(document)


def test_bad_date() -> None:
    found = broken(lambda d: d["check_ins"][0].__setitem__("date", "2026-02-30"))
    assert "$.check_ins[0].date" in found


def test_number_that_is_not_a_number() -> None:
    found = broken(lambda d: d["okrs"][0]["key_results"][0].__setitem__("target", "ninety"))
    assert "$.okrs[0].key_results[0].target" in found


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["okrs"][0].pop("title"), "$.okrs[0].title"),
        (lambda d: d["okrs"][0].__setitem__("title", "  "), "$.okrs[0].title"),
        (lambda d: d["teams"][0].pop("name"), "$.teams[0].name"),
        (lambda d: d["check_ins"][0].pop("text"), "$.check_ins[0].text"),
        (lambda d: d["check_ins"][0].__setitem__("text", None), "$.check_ins[0].text"),
    ],
)
def test_required_text(change: Callable[[Doc], None], path: str) -> None:
    assert path in broken(change)


# --- unknown keys ---------------------------------------------------------------------------


def test_unknown_key_typo_declared_link() -> None:
    def typo(d: Doc) -> None:
        d["okrs"][0]["declared_link"] = d["okrs"][0].pop("declared_links")

    found = broken(typo)
    assert list(found) == ["$.okrs[0].declared_link"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.__setitem__("okr", []), "$.okr"),
        (lambda d: d["organization"].__setitem__("slug", "acme"), "$.organization.slug"),
        (lambda d: d["teams"][1].__setitem__("parent_id", "T-1"), "$.teams[1].parent_id"),
        (
            lambda d: d["okrs"][1]["key_results"][0].__setitem__("owner", "Ana"),
            "$.okrs[1].key_results[0].owner",
        ),
        (lambda d: d["check_ins"][0].__setitem__("confidance", 0.5), "$.check_ins[0].confidance"),
    ],
)
def test_unknown_keys_everywhere(change: Callable[[Doc], None], path: str) -> None:
    assert path in broken(change)


# --- all problems at once -------------------------------------------------------------------


def test_every_problem_of_a_multi_problem_bundle_is_listed() -> None:
    document = small_bundle()
    document["format"] = "goldenthread.bundle/v0"
    document["cycles"][1]["end"] = "2026-01-01"
    document["teams"][1]["id"] = "T-1"
    document["strategic_objectives"][0]["perspective"] = "people"
    document["strategic_objectives"][1]["kpis"][0]["kind"] = "sideways"
    document["okrs"][0]["team"] = "T-404"
    document["okrs"][0]["declared_link"] = ["SO-1"]
    document["okrs"][1]["cycle"] = "2099-Q1"
    document["okrs"][1]["key_results"][0]["id"] = "O-1-KR2"
    document["check_ins"][0]["confidence"] = 7
    document["check_ins"][1]["key_result"] = "O-1-KR1"

    found = problems(document)

    assert {
        "$.format",
        "$.cycles[1].end",
        "$.teams[1].id",
        "$.strategic_objectives[0].perspective",
        "$.strategic_objectives[1].kpis[0].kind",
        "$.okrs[0].team",
        "$.okrs[0].declared_link",
        "$.okrs[1].cycle",
        "$.okrs[1].key_results[0].id",
        "$.check_ins[0].confidence",
        "$.check_ins[1].key_result",
    } <= set(found)


def test_problem_count_is_in_the_message_and_problems_are_not_repeated() -> None:
    document = small_bundle()
    document["okrs"][0]["team"] = "T-404"
    document["okrs"][1]["team"] = "T-405"
    with pytest.raises(BundleInvalid) as caught:
        parse_bundle(document)
    details = caught.value.details
    assert len(details) == 2
    assert "2 problem" in caught.value.message
    assert len({(p["path"], p["message"]) for p in details}) == len(details)


# --- JSON and YAML text ---------------------------------------------------------------------


def _parse_error(text: str) -> str:
    with pytest.raises(BundleInvalid) as caught:
        load_document(text)
    assert caught.value.status == 422
    (problem,) = caught.value.details
    assert problem["path"] == "$"
    return problem["message"]


def test_invalid_json_names_the_line() -> None:
    text = json.dumps(small_bundle(), indent=2)
    lines = text.splitlines()
    bad = next(i for i, line in enumerate(lines) if '"teams"' in line)
    lines[bad] = lines[bad].replace('"teams":', '"teams"')  # drop a colon
    message = _parse_error("\n".join(lines))
    assert f"line {bad + 1}" in message


def test_trailing_comma_json_names_the_line() -> None:
    message = _parse_error('{\n  "format": "goldenthread.bundle/v1",\n}\n')
    assert "line 3" in message


def test_invalid_yaml_names_the_line() -> None:
    text = "format: goldenthread.bundle/v1\norganization:\n  id: acme\n  name: [Acme\ncycles: []\n"
    message = _parse_error(text)
    assert "line " in message
    line = int(message.split("line ")[1].split(",")[0])
    assert 4 <= line <= 5


def test_bad_yaml_indentation_names_the_line() -> None:
    text = "format: goldenthread.bundle/v1\norganization:\n  id: acme\n name: Acme\n"
    message = _parse_error(text)
    assert "line 4" in message


def test_bytes_with_bom_are_read() -> None:
    raw = "\ufeff".encode() + json.dumps(small_bundle()).encode()
    assert parse_bundle(load_document(raw)).organization.id == "acme"


def test_valid_yaml_bundle_parses_the_same_as_its_json() -> None:
    document = small_bundle()
    from_json = parse_bundle(load_document(json.dumps(document)))
    from_yaml = parse_bundle(load_document(dump_document(document, fmt="yaml")))
    assert from_yaml == from_json
    assert from_yaml.model_dump() == from_json.model_dump()


def test_hand_written_yaml_with_unquoted_dates_parses_the_same_as_json() -> None:
    text = """
format: goldenthread.bundle/v1
organization: {id: acme, name: Acme Health}
cycles:
  - id: 2026-Q3
    start: 2026-07-01
    end: 2026-09-30
strategic_objectives:
  - id: SO-1
    title: Reduce avoidable readmissions
    perspective: customer
    kpis:
      - {id: SO-1-K1, name: 30-day readmission rate, kind: lag, unit: "%", baseline: 14.0,
         target: 10.0}
teams:
  - {id: T-1, name: Pharmacy, parent: null, mission: Safe medication use.}
okrs:
  - id: O-1
    team: T-1
    cycle: 2026-Q3
    title: Every heart-failure patient goes home understanding their medicines
    declared_links: [SO-1]
    key_results:
      - {id: O-1-KR1, title: Patients called within 48 h, unit: "%", baseline: 20, target: 90,
         current: 45, kind: lead}
check_ins:
  - id: C-1
    okr: O-1
    key_result: O-1-KR1
    date: 2026-08-15
    value: 45
    confidence: 0.6
    text: What the team wrote this week.
"""
    as_json = json.dumps(yaml.safe_load(text), default=str)
    assert parse_bundle(load_document(text)) == parse_bundle(load_document(as_json))


def test_yaml_bundle_reports_problems_by_the_same_paths() -> None:
    document = small_bundle()
    document["okrs"][1]["team"] = "T-404"
    document["check_ins"][0]["confidence"] = 2
    from_json = problems(load_document(json.dumps(document)))
    from_yaml = problems(load_document(yaml.safe_dump(document)))
    assert from_yaml == from_json
    assert set(from_json) == {"$.okrs[1].team", "$.check_ins[0].confidence"}


def test_a_bad_date_is_one_problem_not_also_a_false_order() -> None:
    def change(d: Doc) -> None:
        d["cycles"][0]["start"] = "2026-13-01"

    found = broken(change)
    assert list(found) == ["$.cycles[0].start"] and "month" in found["$.cycles[0].start"]

    def reversed_dates(d: Doc) -> None:
        d["cycles"][0]["start"], d["cycles"][0]["end"] = "2026-12-31", "2026-10-01"

    assert "before it starts" in broken(reversed_dates)["$.cycles[0].end"]


def test_a_boolean_is_not_a_measurement_but_a_numeric_string_is() -> None:
    def change(d: Doc) -> None:
        d["check_ins"][0]["value"] = True
        d["check_ins"][0]["confidence"] = False
        d["okrs"][0]["key_results"][0]["target"] = "ninety"

    found = broken(change)
    assert found["$.check_ins[0].value"] == "a number, not true or false"
    assert found["$.check_ins[0].confidence"] == "a number, not true or false"
    assert "number" in found["$.okrs[0].key_results[0].target"]
    spelled = small_bundle()
    spelled["okrs"][0]["key_results"][0]["target"] = "90"  # as a spreadsheet exports it
    assert parse_bundle(spelled).okrs[0].key_results[0].target == 90.0


@pytest.mark.parametrize("text", ["1_000", "\uff11\uff12", "\u0661\u0662", "1e", "0x10"])
def test_a_numeric_string_is_read_as_the_csv_form_reads_it(text: str) -> None:
    # float() takes "1_000" and full-width digits; the CSV import refuses them, so the bundle does.
    found = broken(lambda d: d["okrs"][0]["key_results"][0].update(target=text))
    assert repr(text) in found["$.okrs[0].key_results[0].target"]
    grouped = small_bundle()
    grouped["okrs"][0]["key_results"][0]["target"] = " 1,240.5 "
    assert parse_bundle(grouped).okrs[0].key_results[0].target == 1240.5


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("1:30", "1:30"),  # YAML 1.1: 90 (base 60)
        ("010", 10),  # YAML 1.1: 8 (octal)
        ("1_000", "1_000"),  # YAML 1.1: 1000
        ("no", "no"),  # YAML 1.1: False
        ("On", "On"),  # YAML 1.1: True
        ("true", True),
        ("-2.5e3", -2500.0),
        ("0x1F", 31),
        ("2026-07-01", dt.date(2026, 7, 1)),  # a date, as the bundle's dates expect
    ],
)
def test_yaml_scalars_are_read_as_written(written: str, read: Any) -> None:
    value = load_document(f"value: {written}\n")["value"]
    assert value == read and type(value) is type(read)


def test_a_yaml_time_of_day_stays_text_and_is_refused_as_a_target() -> None:
    document = small_bundle()
    document["okrs"][0]["key_results"][0]["target"] = "@@"
    text = dump_document(document, fmt="yaml").replace("'@@'", "1:30")
    found = problems(load_document(text))
    assert "'1:30' is not a number" in found["$.okrs[0].key_results[0].target"]


def test_a_yaml_export_reads_back_as_written_text_that_looks_like_a_number() -> None:
    # "1e3" and "0o17" are text to YAML 1.1 (so PyYAML wrote them bare) but numbers to 1.2.
    document = small_bundle()
    document["okrs"][0]["title"], document["okrs"][1]["title"] = "1e3", "0o17"
    text = dump_document(document, fmt="yaml")
    assert load_document(text) == document
    assert parse_bundle(load_document(text)).okrs[0].title == "1e3"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"format": "goldenthread.bundle/v1",\n "cycles": [{"id": "c", "start": ' + "1" * 5001
         + "}]}", "line 2, column 34"),
        ("format: goldenthread.bundle/v1\ncycles:\n- id: c\n  start: " + "1" * 5001,
         "line 4, column 10"),
        ('{"a": -' + "9" * 101 + "}", "line 1, column 7"),
    ],
)  # fmt: skip
def test_a_number_too_long_to_read_is_refused_with_its_line_not_a_crash(
    text: str, where: str
) -> None:
    # Python reads no integer of more than 4,300 digits: a ValueError escaped as a 500 before.
    with pytest.raises(BundleInvalid) as caught:
        load_document(text)
    message = caught.value.details[0]["message"]
    assert message.startswith(where) and "digits; at most 100" in message, message


def test_a_hundred_digit_number_is_still_read_and_left_to_the_schema() -> None:
    assert load_document('{"a": ' + "9" * 100 + "}") == {"a": int("9" * 100)}
