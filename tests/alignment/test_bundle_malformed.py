"""Malformed bundles are refused as `bundle_invalid` under a JSON path, never with a 500.

Values of the wrong type (a number where a list belongs, a list where an id belongs, a YAML
timestamp where a date belongs) are the schema's to report; the cross-record rules skip them.
Each case is the valid `small_bundle()` as YAML with one thing broken.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from alignment.bundle import parse_bundle
from alignment.bundle.io import load_document
from alignment.errors import BundleInvalid
from tests.factories import small_bundle

Doc = dict[str, Any]
YAML = {"content-type": "application/yaml"}
UTC = dt.UTC


def _set(*path: str | int, value: Any) -> Callable[[Doc], None]:
    def change(document: Doc) -> None:
        target: Any = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _cycle(start: Any, end: Any) -> Callable[[Doc], None]:
    def change(document: Doc) -> None:
        document["cycles"][0].update(start=start, end=end)

    return change


CASES: list[tuple[str, Callable[[Doc], None], str]] = [
    (
        "kpis-number",
        _set("strategic_objectives", 0, "kpis", value=5),
        "$.strategic_objectives[0].kpis",
    ),
    ("key-results-number", _set("okrs", 0, "key_results", value=5), "$.okrs[0].key_results"),
    ("team-id-list", _set("teams", 1, "id", value=["T"]), "$.teams[1].id"),
    (
        "key-result-list",
        _set("check_ins", 0, "key_result", value=["K"]),
        "$.check_ins[0].key_result",
    ),
    (
        "naive-and-aware-timestamps",
        _cycle(dt.datetime(2026, 7, 1, 23, 59, 59), dt.datetime(2026, 9, 30, 10, tzinfo=UTC)),
        "$.cycles[0].start",
    ),
    (
        "timestamp-and-date",
        _cycle(dt.datetime(2026, 7, 1, 23, 59, 59), dt.date(2026, 9, 30)),
        "$.cycles[0].start",
    ),
    # A midnight timestamp reads as its date, so the order rule still applies to it.
    (
        "midnight-timestamp-after-the-end",
        _cycle(dt.datetime(2026, 10, 1), dt.date(2026, 9, 30)),
        "$.cycles[0].end",
    ),
]


def _yaml_text(change: Callable[[Doc], None]) -> str:
    document = small_bundle()
    change(document)
    return yaml.safe_dump(document, sort_keys=False)


def _problems(details: list[dict[str, str]]) -> dict[str, str]:
    return {p["path"]: p["message"] for p in details}


# `? [a, b]` names a list as a key: refused where it is written, as YAML errors are.
UNHASHABLE_KEY = "format: goldenthread.bundle/v1\n? [a, b]\n: 1\n"


@pytest.mark.parametrize(("change", "path"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_bundle_is_refused_under_its_path(
    change: Callable[[Doc], None], path: str
) -> None:
    with pytest.raises(BundleInvalid) as caught:
        parse_bundle(load_document(_yaml_text(change)))
    assert caught.value.status == 422 and caught.value.code == "bundle_invalid"
    assert path in _problems(caught.value.details)


def test_a_yaml_key_that_is_a_list_names_its_line() -> None:
    with pytest.raises(BundleInvalid) as caught:
        load_document(UNHASHABLE_KEY)
    assert caught.value.status == 422
    (problem,) = caught.value.details
    assert problem["path"] == "$"
    assert problem["message"].startswith("line 2, column 3: ")


@pytest.mark.parametrize(("change", "path"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_bundle_over_http_is_a_422(
    client: TestClient, change: Callable[[Doc], None], path: str
) -> None:
    response = client.post("/bundles", content=_yaml_text(change), headers=YAML)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "bundle_invalid"
    assert path in _problems(response.json()["error"]["details"])


def test_a_yaml_key_that_is_a_list_over_http_is_a_422(client: TestClient) -> None:
    response = client.post("/bundles", content=UNHASHABLE_KEY, headers=YAML)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["message"].startswith("line 2, column 3: ")


FLOW = "{format: goldenthread.bundle/v1, organization: {id: acme, name: Acme}}"


def test_a_yaml_flow_document_is_read_as_yaml() -> None:
    assert parse_bundle(load_document(FLOW)).organization.id == "acme"


def test_a_yaml_flow_document_sent_as_yaml_is_imported(client: TestClient) -> None:
    response = client.post("/bundles", content=FLOW, headers=YAML)
    assert response.status_code == 200, response.text
    assert response.json()["organization"] == "acme"


def test_text_written_as_json_keeps_json_errors() -> None:
    # Valid YAML, but written as JSON: the slip (a trailing comma, a leading zero that YAML
    # would read as octal) is reported as JSON's, not silently read another way.
    for text in ('{"format": "goldenthread.bundle/v1",}', '{"target": 010}'):
        with pytest.raises(BundleInvalid, match="not valid JSON"):
            load_document(text)
    # Declared as JSON, a flow document is JSON's error too.
    with pytest.raises(BundleInvalid, match="not valid JSON"):
        load_document(FLOW, json_only=True)


def test_flow_text_that_is_neither_is_a_yaml_error() -> None:
    with pytest.raises(BundleInvalid, match="not valid YAML or JSON") as caught:
        load_document("{format: [x}")
    assert caught.value.details[0]["message"].startswith("line 1, column ")


def test_an_integer_beyond_what_is_stored_exactly_is_refused_at_its_path() -> None:
    document = small_bundle()
    document["okrs"][0]["key_results"][0]["target"] = 12345678901234567890
    with pytest.raises(BundleInvalid) as caught:
        parse_bundle(document)
    [problem] = caught.value.details
    assert problem["path"] == "$.okrs[0].key_results[0].target"
    assert "beyond what is stored exactly" in problem["message"]
    document["okrs"][0]["key_results"][0]["target"] = 2**53  # the largest exact one passes
    assert parse_bundle(document).okrs[0].key_results[0].target == 2**53


@pytest.mark.parametrize(
    "written", ["9007199254740993.0", "9007199254740993e0", "12345678901234567890.5", "1e308"]
)
def test_a_number_with_a_fraction_or_exponent_beyond_it_is_refused_too(written: str) -> None:
    """Read as a float, it was rounded before any check could see its digits (to 2**53 for
    the first two): stored, it would be another number than the one sent."""
    text = json.dumps(small_bundle()).replace('"target": 90.0', f'"target": {written}', 1)
    assert written in text
    with pytest.raises(BundleInvalid) as caught:
        parse_bundle(load_document(text))
    [problem] = caught.value.details
    assert problem["path"].endswith(".target")
    assert "beyond what is stored exactly" in problem["message"]


@pytest.mark.parametrize(
    ("written", "shown"),
    [("1e308", "a number read as 1e+308"), ("9007199254740993.0", "read as 9007199254740992.0")],
)
def test_a_large_fraction_or_exponent_has_its_own_message(written: str, shown: str) -> None:
    """Not the integer's "(below 9007199254740992 either way)": the number was rounded as it
    was read, and the message says so, naming the value as read rather than as sent."""
    text = json.dumps(small_bundle()).replace('"target": 90.0', f'"target": {written}', 1)
    with pytest.raises(BundleInvalid) as caught:
        parse_bundle(load_document(text))
    message = caught.value.details[0]["message"]
    assert shown in message and "either way" not in message
    assert "rounded as it is read" in message
