"""Signing in to the pages with an API key: an HTTP-only, SameSite=Strict cookie for reads."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from tests.conftest import make_client
from tests.factories import small_bundle

ORG = "acme-web"
PAGE = {"Accept": "text/html"}


@pytest.fixture
def web(session: Session, embedder):
    document = small_bundle(ORG, name="<script>alert(1)</script> Health")
    import_document(session, document)
    raw = keys.create_key(session, org_id=ORG, role=Role.strategy_office, name="Omar")[1]
    session.commit()
    return make_client(session, embedder, real_auth=True), raw


def test_pages_send_a_browser_to_sign_in_and_api_clients_get_401(web) -> None:
    client, _ = web
    page = client.get("/", headers=PAGE, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/sign-in"
    assert client.get("/").status_code == 401
    form = client.get("/sign-in")
    assert form.status_code == 200 and 'name="key"' in form.text


def test_sign_in_sets_an_http_only_strict_cookie_and_the_pages_work(web) -> None:
    client, raw = web
    bad = client.post("/sign-in", data={"key": "gt_nope"}, follow_redirects=False)
    assert bad.status_code == 401 and "not valid" in bad.text
    good = client.post("/sign-in", data={"key": raw}, follow_redirects=False)
    assert good.status_code == 303
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    index = client.get("/", headers=PAGE)
    assert index.status_code == 200 and "Omar" in index.text
    assert "<script>alert(1)</script>" not in index.text  # names are escaped
    assert "&lt;script&gt;" in index.text
    # The cookie reads; it never writes (a cross-site form could send it).
    write = client.post(f"/orgs/{ORG}/teams", json={"id": "T-9", "name": "x"})
    assert write.status_code == 401
    client.post("/sign-out")
    assert client.get("/").status_code == 401
