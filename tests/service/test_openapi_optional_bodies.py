"""/openapi.json says which request bodies may be left out: a POST whose body model has no
required field is read as `{}` without a body (service/json_body.py), so its requestBody is
`required: false`; a body with something the caller must say stays required."""

from __future__ import annotations

from typing import Any

OPTIONAL = [
    "/orgs/{org_id}/drafts/{draft_id}/approve",
    "/orgs/{org_id}/drafts/summaries",
    "/orgs/{org_id}/review-queue/okrs/{okr_id}/reject",
    "/orgs/{org_id}/review-queue/{okr_id}/reject",
]
REQUIRED = [
    "/orgs/{org_id}/drafts/suggestions",
    "/orgs/{org_id}/drafts/{draft_id}/reject",
    "/orgs/{org_id}/review-queue/okrs/{okr_id}/confirm",
    "/orgs/{org_id}/webhooks",
]


def _schema(client: Any) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200, response.text
    return response.json()


def test_bodies_the_server_reads_as_empty_are_not_required(client):
    paths = _schema(client)["paths"]
    for path in OPTIONAL:
        assert paths[path]["post"]["requestBody"]["required"] is False, path
    for path in REQUIRED:
        assert paths[path]["post"]["requestBody"]["required"] is True, path


def test_every_post_body_is_required_exactly_when_its_model_requires_a_field(client):
    schema = _schema(client)
    models = schema["components"]["schemas"]
    checked = 0
    for path, operations in schema["paths"].items():
        body = operations.get("post", {}).get("requestBody")
        if body is None or "application/json" not in body["content"]:
            continue
        ref = body["content"]["application/json"]["schema"].get("$ref")
        if ref is None:
            continue  # not one model (an optional body, or raw bundle text)
        model = models[ref.rsplit("/", 1)[-1]]
        assert body.get("required", False) is bool(model.get("required")), path
        checked += 1
    assert checked >= len(OPTIONAL) + len(REQUIRED)


def test_a_post_without_a_body_goes_on_to_the_route(client):
    # What the schema promises: no body is read as `{}`, so the route answers (the organization
    # does not exist) rather than refusing the absent body as "Field required" at `$`.
    response = client.post("/orgs/acme/review-queue/okrs/O-nope/reject")
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
