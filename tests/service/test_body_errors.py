"""REST JSON bodies the API cannot take as sent: each refusal says what is wrong and where, in
the one error shape, and nothing is written."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from alignment.imports import import_document
from tests.factories import small_bundle
from tests.service.test_records_api import error

ORG = "/orgs/acme"
JSON = {"content-type": "application/json"}


@pytest.fixture
def acme(session: Session) -> None:
    import_document(session, small_bundle())
    session.commit()


def only_problem(response, status: int = 422) -> dict[str, str]:
    details = error(response, status, "invalid")["details"]
    assert len(details) == 1, details
    return details[0]


def test_a_body_that_is_not_utf8_is_refused_naming_the_byte(client, acme) -> None:
    latin1 = '{"id":"L1","name":"\xe9"}'.encode("latin-1")
    refused = client.post(f"{ORG}/teams", content=latin1, headers=JSON)
    assert error(refused, 422)["message"] == "the request body is not UTF-8 text"
    assert only_problem(refused) == {
        "path": "$",
        "message": "byte 19 (0xe9) is not valid UTF-8; send the body as UTF-8",
    }
    assert client.get(f"{ORG}/teams/L1").status_code == 404
    # A UTF-8 byte order mark is no error: it is the same text.
    bom = b"\xef\xbb\xbf" + '{"id":"L2","name":"\xe9"}'.encode()
    assert client.post(f"{ORG}/teams", content=bom, headers=JSON).status_code == 201


@pytest.mark.parametrize(
    ("route", "body", "path"),
    [
        ("teams", '{"id":"TN","name":"Ops","mission":%s}', "$.mission"),
        ("reports/settings", '{"activity_words":["call",%s]}', "$.activity_words[1]"),
    ],
)
def test_a_number_too_long_to_read_is_refused_at_its_path(client, acme, route, body, path) -> None:
    digits = "9" * 5001  # Python reads integers of at most 4300 digits
    method = client.put if route == "reports/settings" else client.post
    refused = method(f"{ORG}/{route}", content=body % digits, headers=JSON)
    assert only_problem(refused) == {
        "path": path,
        "message": "a number of 5001 digits; at most 4300",
    }
    assert client.get(f"{ORG}/teams/TN").status_code == 404
    # Up to the limit the number is read, and the route's own rules speak about it.
    kept = method(f"{ORG}/{route}", content=body % ("9" * 4300), headers=JSON)
    assert error(kept, 422)["details"][0]["path"] == path


def test_a_body_nested_too_deep_is_refused_before_it_is_parsed(client, acme) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    refused = client.post(f"{ORG}/teams", content=deep, headers=JSON)
    assert error(refused, 422)["message"] == "the request body is nested more than 32 levels deep"
    # The 33rd bracket, at character 32, is one too many.
    assert only_problem(refused) == {"path": "$", "message": "at character 32: too deep"}
    # Brackets inside strings are text, not nesting.
    text = client.post(f"{ORG}/teams", json={"id": "TB", "name": "[" * 100})
    assert text.status_code == 201, text.text


@pytest.mark.parametrize(
    ("method", "route", "body", "path"),
    [
        ("patch", "okrs/O-1", '{"title":"a","title":"b"}', "$.title"),
        ("post", "teams", '{"id":"TD","name":"a","name":"b"}', "$.name"),
        ("put", "reports/settings", '{"stale_days":3,"stale_days":4}', "$.stale_days"),
        (
            "post",
            "reports",
            '{"settings":{"stale_days":3,"stale_days":4}}',
            "$.settings.stale_days",
        ),
    ],
)
def test_a_key_named_twice_is_refused_at_its_path(client, acme, method, route, body, path) -> None:
    before = client.get(f"{ORG}/okrs/O-1").json()["title"]
    settings = client.get(f"{ORG}/reports/settings").json()
    refused = client.request(method.upper(), f"{ORG}/{route}", content=body, headers=JSON)
    assert error(refused, 422)["message"] == "the request body names a key twice in one object"
    key = path.rsplit(".", 1)[1]
    assert only_problem(refused) == {
        "path": path,
        "message": f"{key!r} appears twice in one object; keep one (JSON readers keep the last "
        "and would drop the first without a word)",
    }
    assert client.get(f"{ORG}/okrs/O-1").json()["title"] == before
    assert client.get(f"{ORG}/teams/TD").status_code == 404
    assert client.get(f"{ORG}/reports/settings").json() == settings


def test_the_same_key_in_two_objects_is_no_repeat(client, acme) -> None:
    both = '{"title":"Call every patient on day one","key_results":[{"title":"x"}]}'
    answer = client.patch(f"{ORG}/okrs/O-1", content=both, headers=JSON)
    # Refused for the key result (not a field of this route), not for `title` twice.
    assert all("twice" not in d["message"] for d in error(answer, 422)["details"])
    ok = client.patch(f"{ORG}/okrs/O-1", content='{"title":"Call every patient"}', headers=JSON)
    assert ok.status_code == 200 and ok.json()["title"] == "Call every patient"


@pytest.mark.parametrize(
    ("route", "body", "path", "message"),
    [
        ("keys", {"role": "admin", "name": "n" * 201}, "$.name", "at most 200 characters, not 201"),
        ("keys", {"role": "admin", "name": ""}, "$.name", "at least 1 character, not 0"),
        (
            "keys",
            {"role": "team_lead", "teams": ["T" * 201]},
            "$.teams[0]",
            "at most 200 characters, not 201",
        ),
        (
            "suggest-parent",
            {"title": "Call every patient", "description": "d" * 4001},
            "$.description",
            "at most 4000 characters, not 4001",
        ),
        (
            "okrs/O-1/links/SO-1/feedback",
            {"verdict": "confirmed", "note": "n" * 3000},
            "$.note",
            "at most 2000 characters, not 3000",
        ),
        (
            "review-queue/okrs/O-1/reject",
            {"note": "n" * 3000},
            "$.note",
            "at most 2000 characters, not 3000",
        ),
    ],
)
def test_text_lengths_are_counted_in_characters(client, acme, route, body, path, message) -> None:
    refused = client.post(f"{ORG}/{route}", json=body)
    assert only_problem(refused) == {"path": path, "message": f"Text should have {message}"}


def test_a_list_length_is_still_counted_in_items(client, acme) -> None:
    draft = {"title": "Call every patient", "key_results": ["Call"] * 21}
    refused = client.post(f"{ORG}/suggest-parent", json=draft)
    assert only_problem(refused) == {
        "path": "$.key_results",
        "message": "List should have at most 20 items after validation, not 21",
    }


@pytest.mark.parametrize(
    ("method", "route", "body", "path"),
    [
        ("POST", "keys", {"role": "admin", "name": "a\x01b"}, "$.name"),
        ("PUT", "reports/settings", {"activity_words": ["a\x01b"]}, "$.activity_words[0]"),
    ],
)
def test_messages_of_our_own_rules_carry_no_pydantic_prefix(
    client, acme, method, route, body, path
) -> None:
    refused = client.request(method, f"{ORG}/{route}", json=body)
    assert only_problem(refused) == {
        "path": path,
        "message": "contains the control character U+0001 at position 1; remove it",
    }
