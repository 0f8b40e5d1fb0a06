"""The report page over HTTP: query parameters choose the page and filters; bad ones are 422."""

from __future__ import annotations

import re


def test_the_page_paginates_and_filters_on_the_server(client, jobs, scored_sample) -> None:
    org = scored_sample
    jobs.result(client, client.post(f"/orgs/{org}/reports"))
    document = client.get(f"/orgs/{org}/reports/latest").json()
    total = len(document["findings"])
    assert total > 12
    first = client.get(f"/orgs/{org}/report.html", params={"per_page": 5})
    assert first.status_code == 200
    keys = re.findall(r'<code class="key"[^>]*>([^<]+)</code>', first.text)
    assert keys == [f["key"] for f in document["findings"][:5]]
    assert (
        f"1–5 of {total}" in first.text
        and "form-action 'self'" in first.headers["content-security-policy"]
    )
    third = client.get(f"/orgs/{org}/report.html", params={"per_page": 5, "page": 3}).text
    assert re.findall(r'<code class="key"[^>]*>([^<]+)</code>', third) == [
        f["key"] for f in document["findings"][10:15]
    ]
    orphans = [f["key"] for f in document["findings"] if f["kind"] == "orphan_okr"]
    page = client.get(f"/orgs/{org}/report.html", params={"kind": "orphan_okr"}).text
    assert re.findall(r'<code class="key"[^>]*>([^<]+)</code>', page) == orphans[:100]
    assert f'class="card story-orphan_okr attention" href="?kind=orphan_okr#findings-title">' \
           f'<div class="big">{len(orphans)}<' in page  # fmt: skip


def test_a_bad_page_query_is_422_with_its_path(client, jobs, scored_sample) -> None:
    org = scored_sample
    jobs.result(client, client.post(f"/orgs/{org}/reports"))
    bad = client.get(f"/orgs/{org}/report.html", params={"kind": "orphans", "severity": "high"})
    assert bad.status_code == 422
    assert [d["path"] for d in bad.json()["error"]["details"]] == ["query.kind"]
    zero = client.get(f"/orgs/{org}/report.html", params={"page": 0})
    assert zero.status_code == 422 and zero.json()["error"]["details"][0]["path"] == "query.page"
