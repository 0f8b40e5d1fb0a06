"""The report after the browser review, over HTTP and as rendered: an export's links lead back to
the service that sent it, a bad search gets the pages' error page, and the page's form offers
every filter its address accepts, so sending it again keeps them."""

from __future__ import annotations

import re

from alignment.report import to_html
from alignment.report.kinds import KINDS
from tests.alignment.test_report_html import TEAMS, drift_finding, make_run, orphan_finding

PAGE = {"Accept": "text/html,application/xhtml+xml"}


def _hrefs(page: str) -> list[str]:
    return re.findall(r'<a [^>]*href="([^"]*)"', page)


def test_an_export_given_the_services_address_links_there() -> None:
    run = make_run([drift_finding(), orphan_finding()], TEAMS)
    page = to_html(run, site="https://gt.example/golden/")
    links = [h for h in _hrefs(page) if not h.startswith(("?", "#"))]
    assert "https://gt.example/golden/" in links  # "Organizations"
    assert "https://gt.example/golden/orgs/acme/okr/O-47" in links
    assert "https://gt.example/golden/orgs/acme/strategy-map" in links
    assert all(h.startswith("https://gt.example/golden/") for h in links), links
    # No address known (the CLI writes the file): paths, as before.
    assert "/orgs/acme/okr/O-47" in _hrefs(to_html(run))


def test_the_export_served_links_to_the_service(client, jobs, scored_sample) -> None:
    org = scored_sample
    jobs.result(client, client.post(f"/orgs/{org}/reports"))
    number = client.get(f"/orgs/{org}/reports/latest").json()["id"]
    for url in (f"/orgs/{org}/reports/{number}", f"/orgs/{org}/reports/latest"):
        page = client.get(url, params={"format": "html"}).text
        links = [h for h in _hrefs(page) if not h.startswith(("?", "#"))]
        assert f"http://testserver/orgs/{org}/strategy-map" in links
        assert all(h.startswith("http://testserver/") for h in links), links
    # The served page keeps paths: it is read where it is served.
    page = client.get(f"/orgs/{org}/report.html").text
    assert f'href="/orgs/{org}/strategy-map"' in page


# The NUL is refused before any route (service/middleware.py): a browser still gets a page.
def test_a_control_character_in_the_search_gets_the_error_page(client, jobs, scored_sample) -> None:
    org = scored_sample
    jobs.result(client, client.post(f"/orgs/{org}/reports"))
    bad = client.get(f"/orgs/{org}/report.html?q=%00", headers=PAGE)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("text/html")
    assert "control character U+0000" in bad.text, bad.text
    # As a bad severity is answered.
    other = client.get(f"/orgs/{org}/report.html?severity=bogus", headers=PAGE)
    assert other.status_code == 422 and other.headers["content-type"].startswith("text/html")
    # An API client keeps the JSON.
    api = client.get(f"/orgs/{org}/report.html?q=%00")
    assert api.status_code == 422 and api.json()["error"]["details"][0]["path"] == "query.q"


def _select(page: str, name: str) -> str:
    found = re.search(rf'<select id="f-{name}"[^>]*>.*?</select>', page, re.S)
    assert found, name
    return found.group()


def test_the_form_offers_every_filter_the_address_gave(client, jobs, scored_sample) -> None:
    org = scored_sample
    jobs.result(client, client.post(f"/orgs/{org}/reports"))
    present = client.get(f"/orgs/{org}/reports/latest").json()["summary"]["counts"]["by_kind"]
    absent = next(k for k in KINDS if k not in present)
    page = client.get(
        f"/orgs/{org}/report.html",
        params=[("kind", "orphan_okr"), ("kind", absent), ("perspective", "customer"),
                ("per_page", "7")],
    ).text  # fmt: skip
    perspective = _select(page, "perspective")
    assert '<option value="customer" selected>' in perspective
    assert '<option value="financial">' in perspective
    kind = _select(page, "kind")
    assert " multiple " in kind.split(">")[0] + " "
    # A kind with no finding in this run stays chosen: sending the form again keeps it.
    assert re.search(rf'<option value="{absent}"[^>]* selected>', kind)
    assert re.search(r'<option value="orphan_okr"[^>]* selected>', kind)
    assert '<input type="hidden" name="per_page" value="7">' in page
    assert page.count('name="perspective"') == 1  # the list, not a hidden copy besides
    # The exported file filters by perspective in the browser: its rows say theirs.
    number = client.get(f"/orgs/{org}/reports/latest").json()["id"]
    export = client.get(f"/orgs/{org}/reports/{number}", params={"format": "html"}).text
    assert 'data-perspectives="[&#34;' in export and 'id="f-perspective"' in export


def test_the_export_links_to_the_configured_public_address(
    client, jobs, scored_sample, monkeypatch
) -> None:
    """Behind a proxy that rewrites Host, the address people reach is a setting."""
    from alignment.settings import get_settings

    org = scored_sample
    jobs.result(client, client.post(f"/orgs/{org}/reports"))
    monkeypatch.setenv("GOLDENTHREAD_PUBLIC_URL", "https://gt.example.org/golden/")
    get_settings.cache_clear()
    try:
        page = client.get(f"/orgs/{org}/reports/latest", params={"format": "html"}).text
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    links = [h for h in _hrefs(page) if not h.startswith(("?", "#"))]
    assert f"https://gt.example.org/golden/orgs/{org}/strategy-map" in links
    assert all(h.startswith("https://gt.example.org/golden/") for h in links), links
