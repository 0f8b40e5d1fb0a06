"""A retry with an `Idempotency-Key` is the same request when its JSON is the same JSON: keys in
another order, other spacing, a string escaped otherwise. Numbers compare as written, bodies
that are not declared JSON byte for byte, and rows stored before (byte form) still replay.

The app runs as in production (its own sessions as the application role), as in
tests/service/test_edge.py, so these tests commit and clean up after themselves.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from pydantic import BaseModel
from sqlalchemy import Engine, text

from alignment.idempotency import canonical_json, request_hashes
from tests.conftest import auth
from tests.factories import small_bundle
from tests.service.test_edge import _org_with_admin

JSON = {"content-type": "application/json"}


def test_a_bundle_retried_with_its_json_spaced_and_ordered_otherwise_replays(
    app_client, platform, cleanup
) -> None:
    org, admin = _org_with_admin(app_client, platform, cleanup)
    document = small_bundle(org)
    headers = {"Idempotency-Key": uuid.uuid4().hex, **JSON, **auth(admin)}
    first = app_client.post("/bundles", content=json.dumps(document), headers=headers)
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    # Another client library's rendering of the same document: sorted, indented, \u-escaped.
    again = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True).replace(
        "%", "\\u0025"
    )
    retry = app_client.post("/bundles", content=again, headers=headers)
    assert retry.status_code == 200, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()


def test_a_number_written_otherwise_or_another_value_is_another_request(
    app_client, platform, cleanup
) -> None:
    org, admin = _org_with_admin(app_client, platform, cleanup)
    document = small_bundle(org)
    headers = {"Idempotency-Key": uuid.uuid4().hex, **JSON, **auth(admin)}
    assert app_client.post("/bundles", content=json.dumps(document), headers=headers).is_success
    kpi = document["strategic_objectives"][0]["kpis"][0]
    for target in ("10", "1e1", "10.00", "11.0"):  # stored as 10.0
        raw = json.dumps(document).replace('"target": 10.0', f'"target": {target}', 1)
        assert kpi["target"] == 10.0 and raw != json.dumps(document)
        other = app_client.post("/bundles", content=raw, headers=headers)
        assert other.status_code == 422, target
        assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_a_body_not_declared_json_is_compared_byte_for_byte(app_client, platform, cleanup) -> None:
    org, admin = _org_with_admin(app_client, platform, cleanup)
    csv_headers = {"Idempotency-Key": uuid.uuid4().hex, "content-type": "text/csv", **auth(admin)}
    body = "okr_id,team,cycle,title\nO-9,T-1,2026-Q3,Nine\n"
    first = app_client.post(f"/orgs/{org}/okrs.csv", content=body, headers=csv_headers)
    assert first.status_code < 500, first.text
    same = app_client.post(f"/orgs/{org}/okrs.csv", content=body, headers=csv_headers)
    assert same.headers["idempotent-replayed"] == "true"
    spaced = app_client.post(f"/orgs/{org}/okrs.csv", content=body + "\n", headers=csv_headers)
    assert spaced.json()["error"]["code"] == "idempotency_key_reused"
    # Text that reads as JSON, sent as YAML: what it means is the route's, so its bytes count.
    yaml_headers = {**csv_headers, "content-type": "application/yaml"}
    yaml_headers["Idempotency-Key"] = uuid.uuid4().hex
    app_client.post("/bundles", content=json.dumps(small_bundle(org)), headers=yaml_headers)
    retry = app_client.post(
        "/bundles", content=json.dumps(small_bundle(org), indent=1), headers=yaml_headers
    )
    assert retry.json()["error"]["code"] == "idempotency_key_reused"


def test_a_row_stored_before_canonical_json_still_replays_its_retry(
    app_client, platform, cleanup, engine: Engine
) -> None:
    """Rows claimed before this change hold the hash of the path, query and body bytes."""
    org, admin = _org_with_admin(app_client, platform, cleanup)
    idem, body = uuid.uuid4().hex, json.dumps({"id": "T-9", "name": "Stored before"}).encode()
    path = f"/orgs/{org}/teams"
    old_hash = hashlib.sha256(b"\n".join([path.encode(), b"", body])).hexdigest()
    with engine.begin() as conn:
        key_id = conn.scalar(
            text("select id from api_keys where prefix = :p"), {"p": admin.split("_")[1]}
        )
        conn.execute(
            text(
                "insert into idempotency_keys "
                "(scope, key, request_hash, status_code, response_body, response_headers) "
                "values (:scope, :key, :hash, 201, :answer, cast(:headers as jsonb))"
            ),
            {
                "scope": hashlib.sha256(f"api-key:{key_id}".encode()).hexdigest(),
                "key": idem,
                "hash": old_hash,
                "answer": b'{"stored":"before"}',
                "headers": json.dumps({"content-type": "application/json"}),
            },
        )
    retry = app_client.post(
        path, content=body, headers={"Idempotency-Key": idem, **JSON, **auth(admin)}
    )
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == {"stored": "before"}


# --- The canonical form itself -------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "retry"),
    [
        ('{"a":1,"b":[true,null,"x"]}', ' {\n  "b" : [ true , null , "x" ],\n  "a" : 1\n}\n'),
        ('{"name":"Café"}', '{"name":"Caf\\u00e9"}'),
        ('{"s":"a/b"}', '{"s":"a\\/b"}'),
        ('{"emoji":"\\ud83d\\ude00"}', '{"emoji":"😀"}'),
        ('\ufeff{"a":1}', '{"a":1}'),  # a byte order mark is no change (the app drops it)
        ('{"n":123456789012345678901234567890}', '{ "n": 123456789012345678901234567890 }'),
    ],
)
def test_the_same_json_has_one_canonical_form(first: str, retry: str) -> None:
    assert canonical_json(first.encode()) == canonical_json(retry.encode()) is not None


@pytest.mark.parametrize(
    ("first", "retry"),
    [
        ('{"n":1}', '{"n":1.0}'),
        ('{"n":1.0}', '{"n":1.00}'),
        ('{"n":100}', '{"n":1e2}'),
        ('{"n":0}', '{"n":-0}'),
        # Equal as floats (2**53 + 1 rounds to 2**53), different integers.
        ('{"n":9007199254740993}', '{"n":9007199254740992}'),
        ('{"a":"x"}', '{"a":"x "}'),
        ('{"a":[1,2]}', '{"a":[2,1]}'),
        ('{"a":1}', '{"A":1}'),
    ],
)
def test_numbers_compare_as_written_and_values_as_they_are(first: str, retry: str) -> None:
    assert canonical_json(first.encode()) != canonical_json(retry.encode())


def test_a_body_that_does_not_read_cleanly_keeps_its_bytes() -> None:
    path, query = "/orgs/o/teams", b""
    for body in (
        b'{"a":1,"a":2}',  # the app refuses it; its retry without the twin is another request
        b"{not json",
        b'{"a":"\xff"}',
        b"[" * 40 + b"]" * 40,  # deeper than the app reads
    ):
        stored, byte_form = request_hashes(path, query, body, json_body=True)
        assert (
            stored
            == byte_form
            == hashlib.sha256(b"\n".join([path.encode(), query, body])).hexdigest()
        )
    assert canonical_json(b'{"a":1,"a":2}') is None


def test_the_canonical_hash_covers_the_address_and_never_meets_a_byte_form() -> None:
    body = b'{"a": 1}'
    stored, byte_form = request_hashes("/x", b"", body, json_body=True)
    assert stored != byte_form
    assert request_hashes("/x", b"", body, json_body=False) == (byte_form, byte_form)
    assert request_hashes("/y", b"", body, json_body=True)[0] != stored
    assert request_hashes("/x", b"dry_run=true", body, json_body=True)[0] != stored


def test_a_json_body_over_a_megabyte_keeps_its_bytes() -> None:
    small = json.dumps({"items": ["x" * 100] * 10}).encode()
    large = json.dumps({"items": ["x" * 100] * 11_000}).encode()  # about 1.2 MB
    stored, byte_form = request_hashes("/x", b"", small, json_body=True)
    assert stored != byte_form
    stored, byte_form = request_hashes("/x", b"", large, json_body=True)
    assert stored == byte_form


def test_the_first_content_type_decides_as_the_routes_read_it() -> None:
    from service.idempotency import _declares_json

    def scope(*types: bytes) -> dict:
        return {"type": "http", "headers": [(b"content-type", t) for t in types]}

    assert _declares_json(scope(b"application/json; charset=utf-8"))
    assert not _declares_json(scope(b"text/csv", b"application/json"))
    assert _declares_json(scope(b"application/json", b"text/csv"))
    assert not _declares_json(scope())


def test_no_body_and_an_empty_object_are_one_request_where_the_route_reads_none_as_one(
    app_client, platform, cleanup
) -> None:
    """A POST whose body is one model reads no body as `{}` (service/json_body.py): a retry
    that sends `{}` after none, or none after `{}`, replays the first answer (here the 404 of an
    OKR that is not there, kept as any answer but a 5xx, 401 or 429 is). Where no body and `{}`
    mean different things (`/score` takes no body), they stay two requests."""
    org, admin = _org_with_admin(app_client, platform, cleanup)
    reject = f"/orgs/{org}/review-queue/okrs/O-1/reject"
    for first, then in (({}, {"json": {}}), ({"json": {}}, {})):
        headers = {"Idempotency-Key": uuid.uuid4().hex, **auth(admin)}
        answer = app_client.post(reject, headers=headers, **first)
        assert answer.status_code == 404, answer.text
        retry = app_client.post(reject, headers=headers, **then)
        assert retry.status_code == 404, retry.text
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.json() == answer.json()
    headers = {"Idempotency-Key": uuid.uuid4().hex, **auth(admin)}
    assert app_client.post(f"/orgs/{org}/score", headers=headers).status_code == 202
    other = app_client.post(f"/orgs/{org}/score", json={}, headers=headers)
    assert other.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("route", "status"),
    [
        ("/orgs/{org}/reports", 202),  # `ReportIn | None`
        ("/jobs/999999999/cancel", 404),  # `CancelRequest | None`
        ("/orgs/{org}/drafts/D-404/dismiss", 404),  # `DismissRequest | None`
    ],
)
def test_no_body_and_an_empty_object_are_one_request_where_the_body_may_be_none(
    app_client, platform, cleanup, route: str, status: int
) -> None:
    """A body typed `Model | None` whose fields may all be left out: no body (None, read as
    the model's defaults) and `{}` ask the same, so a retry with either replays the first."""
    org, admin = _org_with_admin(app_client, platform, cleanup)
    path = route.format(org=org)
    for first, then in (({}, {"json": {}}), ({"json": {}}, {})):
        headers = {"Idempotency-Key": uuid.uuid4().hex, **auth(admin)}
        answer = app_client.post(path, headers=headers, **first)
        assert answer.status_code == status, answer.text
        retry = app_client.post(path, headers=headers, **then)
        assert retry.status_code == status, retry.text
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.json() == answer.json()


def test_an_optional_body_with_a_required_field_keeps_no_body_and_an_empty_object_apart() -> None:
    """`Model | None` where the model needs a field: no body is None, `{}` is refused, so
    they are two requests and no body is not read as `{}`."""
    from fastapi import APIRouter

    from service.json_body import _body_model

    router = APIRouter()

    @router.post("/needs")
    def needs(body: _Needs | None = None) -> None: ...

    @router.post("/free")
    def free(body: _Free | None = None) -> None: ...

    found = {route.path: _body_model(route) for route in router.routes}
    assert found == {"/needs": None, "/free": _Free}


class _Needs(BaseModel):
    name: str


class _Free(BaseModel):
    name: str | None = None
