"""Signing in to the pages with an API key: an HTTP-only, SameSite=Strict cookie for reads."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from tests.conftest import make_client
from tests.factories import small_bundle

ORG = "acme-web"


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


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
    forged = client.post("/sign-in", data={"key": raw, "csrf": "guess"}, follow_redirects=False)
    assert forged.status_code == 403  # no form of ours was loaded: no matching token
    token = csrf_of(client.get("/sign-in").text)
    bad = client.post("/sign-in", data={"key": "gt_nope", "csrf": token}, follow_redirects=False)
    assert bad.status_code == 401 and "not valid" in bad.text
    token = csrf_of(bad.text)
    good = client.post("/sign-in", data={"key": raw, "csrf": token}, follow_redirects=False)
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
    # Another site's form (no token; the browser says cross-site) deletes nothing.
    crossed = client.post(
        "/sign-out", headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False
    )
    assert crossed.status_code == 303 and "set-cookie" not in crossed.headers
    assert client.get("/", headers=PAGE).status_code == 200
    client.post("/sign-out", headers={"Sec-Fetch-Site": "same-origin"})  # a page of this site
    assert client.get("/").status_code == 401


def _signed_in(client, raw: str) -> str:
    """Sign in through the form; the cookie's value."""
    token = csrf_of(client.get("/sign-in").text)
    client.post("/sign-in", data={"key": raw, "csrf": token}, follow_redirects=False)
    return client.cookies["gt_session"]


def test_the_cookie_holds_a_ticket_not_the_key_and_each_sign_in_gets_its_own(web) -> None:
    from service.auth import form_token

    client, raw = web
    first = _signed_in(client, raw)
    prefix = raw.split("_")[1]
    assert raw not in first and raw.split("_", 2)[2] not in first
    assert first.startswith(prefix + ".")
    # The ticket is no API key.
    assert (
        client.get(f"/orgs/{ORG}/okrs", headers={"Authorization": f"Bearer {first}"}).status_code
        == 401
    )
    client.cookies.clear()
    second = _signed_in(client, raw)
    assert second != first and form_token(second) != form_token(first)


def test_signing_out_ends_every_copy_of_the_session_but_not_the_key(web) -> None:
    client, raw = web
    ticket = _signed_in(client, raw)
    other_browser = {"Cookie": f"gt_session={ticket}", **PAGE}
    assert client.get("/", headers=other_browser).status_code == 200
    # Without the page's token (another page's form) only this browser's cookie goes.
    client.post("/sign-out", headers={"Cookie": f"gt_session={ticket}"})
    assert client.get("/", headers=other_browser).status_code == 200
    # The sign-out button of the page carries it: every copy of the session ends.
    index = client.get("/", headers=other_browser).text
    form = re.search(r'action="(/sign-out\?csrf=[0-9a-f]+)"', index)
    client.post(form.group(1), headers={"Cookie": f"gt_session={ticket}"})
    copied = client.get("/", headers=other_browser, follow_redirects=False)
    assert copied.status_code == 303 and copied.headers["location"] == "/sign-in"
    assert (
        client.get(f"/orgs/{ORG}/okrs", headers={"Authorization": f"Bearer {raw}"}).status_code
        == 200
    )
    assert (
        client.get(
            "/", headers={"Cookie": f"gt_session={_signed_in(client, raw)}", **PAGE}
        ).status_code
        == 200
    )


def test_a_form_sent_after_its_sign_in_ended_elsewhere_goes_on_to_sign_in(web) -> None:
    """Signed out in another browser: this one still holds a cookie, and its page's form the
    right token for it. Not a foreign form, so not "open the page again" (reloading sent the
    same form to the same refusal): the sign-in page, saying nothing was saved, then back."""
    from service.auth import form_token

    client, raw = web
    ticket = _signed_in(client, raw)
    this_browser = {"Cookie": f"gt_session={ticket}"}
    ended = client.post(
        f"/sign-out?csrf={form_token(ticket)}", headers={"Cookie": f"gt_session={ticket}"}
    )
    assert ended.status_code in (200, 303)
    sent = client.post(
        f"/orgs/{ORG}/review/check-ins/X/on_topic?csrf={form_token(ticket)}",
        data={"seen": "x"},
        headers=this_browser,
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    queue = quote(f"/orgs/{ORG}/review", safe="")
    assert sent.headers["location"] == f"/sign-in?next={queue}&unsaved=1"
    assert 'gt_session=""' in sent.headers["set-cookie"]  # the ended cookie goes
    # Another site's form comes without the cookie (SameSite=Strict): it deletes none, or any
    # site could sign a person out.
    client.cookies.clear()
    foreign_site = client.post(
        f"/orgs/{ORG}/review/check-ins/X/on_topic", data={"seen": "x"}, follow_redirects=False
    )
    assert foreign_site.status_code == 303
    assert "set-cookie" not in foreign_site.headers
    # A form without the cookie's token is still refused as foreign, with the way back named.
    foreign = client.post(
        f"/orgs/{ORG}/review/check-ins/X/on_topic",
        data={"seen": "x"},
        headers={**this_browser, **PAGE},
        follow_redirects=False,
    )
    assert foreign.status_code == 401 and "open the page again" in foreign.text
    assert f'href="/orgs/{ORG}/review">The page this form is on' in foreign.text


def test_a_forged_expired_or_revoked_ticket_signs_nobody_in(
    web, session: Session, monkeypatch
) -> None:
    import time

    from service import auth

    client, raw = web
    ticket = _signed_in(client, raw)
    prefix, issued, mac = ticket.split(".")

    def status(cookie: str) -> int:
        return client.get(
            f"/orgs/{ORG}/okrs", headers={"Cookie": f"gt_session={cookie}"}
        ).status_code

    assert status(ticket) == 200
    assert status(f"{prefix}.{issued}.{'0' * len(mac)}") == 401  # forged signature
    assert status(f"{prefix}.{int(issued) + 1}.{mac}") == 401  # another issue time
    # A forged ticket naming the key's public prefix cannot sign its person out.
    client.post("/sign-out", headers={"Cookie": f"gt_session={prefix}.{issued}.{'0' * len(mac)}"})
    assert status(ticket) == 200
    # 12 hours later the ticket is over, whatever the browser keeps.
    later = time.time() + auth.SESSION_HOURS * 3600 + 60
    monkeypatch.setattr(auth.time, "time", lambda: later)
    auth.checked_keys.forget_all()
    assert status(ticket) == 401
    monkeypatch.undo()
    auth.checked_keys.forget_all()
    assert status(ticket) == 200
    keys.revoke_key(session, prefix, org_id=ORG)
    session.commit()
    auth.checked_keys.forget_all()
    assert status(ticket) == 401


def test_the_sign_in_form_reads_no_more_than_a_key_needs(web) -> None:
    client, raw = web
    token = csrf_of(client.get("/sign-in").text)
    padded = {"key": raw, "csrf": token, "pad": "x" * 5000}
    assert client.post("/sign-in", data=padded, follow_redirects=False).status_code == 413

    def chunked():  # no Content-Length: the limit holds while reading
        yield b"pad=" + b"x" * 3000
        yield b"x" * 3000

    token = csrf_of(client.get("/sign-in").text)
    sent = client.post("/sign-in", content=chunked(), follow_redirects=False,
                       headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert sent.status_code == 413
    token = csrf_of(client.get("/sign-in").text)
    good = client.post("/sign-in", data={"key": raw, "csrf": token}, follow_redirects=False)
    assert good.status_code == 303


def test_a_ticket_is_no_key_and_a_key_is_no_ticket_even_just_after_use(web) -> None:
    # Both are cached for a few seconds once checked; the cache must remember which was which.
    client, raw = web
    ticket = _signed_in(client, raw)
    assert client.get("/", headers=PAGE).status_code == 200  # the ticket was just checked
    as_key = client.get(f"/orgs/{ORG}/okrs", headers={"Authorization": f"Bearer {ticket}"})
    assert as_key.status_code == 401
    client.cookies.clear()
    bearer = client.get(f"/orgs/{ORG}/okrs", headers={"Authorization": f"Bearer {raw}"})
    assert bearer.status_code == 200  # the key was just checked
    as_ticket = client.get(f"/orgs/{ORG}/okrs", headers={"Cookie": f"gt_session={raw}"})
    assert as_ticket.status_code == 401


def test_malformed_tickets_are_refused_not_a_crash(web) -> None:
    client, raw = web
    ticket = _signed_in(client, raw)
    prefix, _, mac = ticket.split(".")
    client.cookies.clear()
    for cookie in (f"{prefix}.{'9' * 5000}.{mac}", f"{ticket}é", f"{prefix}.-1.{mac}"):
        sent = client.get(
            f"/orgs/{ORG}/okrs", headers={"Cookie": f"gt_session={cookie}".encode("latin-1")}
        )
        assert sent.status_code == 401, cookie[:40]


def test_cookies_are_secure_when_the_page_came_over_tls(web) -> None:
    client, raw = web
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        client.base_url = base
        client.cookies.clear()
        form = client.get("/sign-in")
        assert ("secure" in form.headers["set-cookie"].lower()) is secure
        signed_in = client.post(
            "/sign-in", data={"key": raw, "csrf": csrf_of(form.text)}, follow_redirects=False
        )
        assert signed_in.status_code == 303
        assert ("secure" in signed_in.headers["set-cookie"].lower()) is secure
