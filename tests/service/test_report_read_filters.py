"""The report's reads filter as `POST /reports` does: a team the organization does not have is
refused (422 at `query.team`), not answered with an empty page, and a filter given several
times (`?kind=a&kind=b`) keeps every value, on the JSON reads and the served page alike."""

from __future__ import annotations

from collections import Counter

import pytest

KINDS = ("orphan_okr", "needs_review")


@pytest.fixture
def run(client, jobs, scored_sample) -> dict:
    return jobs.report(client, client.post(f"/orgs/{scored_sample}/reports"))


def _refused_at_team(answer) -> None:
    assert answer.status_code == 422, answer.text
    refused = {"path": "query.team", "message": "no team 'T-99' in this organization"}
    assert answer.json()["error"]["details"] == [refused], answer.text


def test_an_unknown_team_is_refused_on_every_read_as_on_the_writes(
    client, scored_sample, run
) -> None:
    org = scored_sample
    # The same answer the check-in list and POST /reports give for a team that is not there.
    _refused_at_team(client.get(f"/orgs/{org}/check-ins", params={"team": "T-99"}))
    assert client.post(f"/orgs/{org}/reports", json={"team": ["T-99"]}).status_code == 422
    _refused_at_team(client.get(f"/orgs/{org}/reports/latest", params={"team": "T-99"}))
    _refused_at_team(client.get(f"/orgs/{org}/reports/{run['id']}", params={"team": "T-99"}))
    page = client.get(
        f"/orgs/{org}/report.html", params={"team": "T-99"}, headers={"accept": "text/html"}
    )
    assert page.status_code == 422 and "T-99" in page.text
    # A team it has, even alongside: the known one is fine, the unknown one still refused.
    team = run["findings"][0]["scope"]["teams"][0]
    assert client.get(f"/orgs/{org}/reports/latest", params={"team": team}).status_code == 200
    both = client.get(f"/orgs/{org}/reports/latest", params=[("team", team), ("team", "T-99")])
    _refused_at_team(both)
    # An organization that is not there is still a 404, whatever the filters name.
    assert client.get("/orgs/nobody-here/reports/latest", params={"team": "T-99"}).status_code in (
        403,
        404,
    )


def test_a_repeated_filter_keeps_every_value(client, scored_sample, run) -> None:
    org = scored_sample
    by_kind = Counter(f["kind"] for f in run["findings"])
    assert all(by_kind[k] for k in KINDS), by_kind  # the sample has both kinds
    read = client.get(
        f"/orgs/{org}/reports/latest",
        params=[("kind", KINDS[0]), ("kind", KINDS[1]), ("per_page", 500)],
    ).json()
    meta = read["findings_page"]
    assert {f["kind"] for f in read["findings"]} == set(KINDS)
    assert meta["matching"] == by_kind[KINDS[0]] + by_kind[KINDS[1]]
    assert meta["filters"] == {"kind": list(KINDS)}

    # Several teams: the findings about any of them.
    teams = sorted({t for f in run["findings"] for t in f["scope"]["teams"]})[:2]
    about = [f for f in run["findings"] if set(f["scope"]["teams"]) & set(teams)]
    read = client.get(
        f"/orgs/{org}/reports/{run['id']}",
        params=[("team", teams[0]), ("team", teams[1]), ("per_page", 500)],
    ).json()
    assert [f["key"] for f in read["findings"]] == [f["key"] for f in about]

    # Several severities and a perspective, as the POST body takes them.
    severities = ("high", "low")
    read = client.get(
        f"/orgs/{org}/reports/latest",
        params=[("severity", s) for s in severities] + [("per_page", 500)],
    ).json()
    expected = [f["key"] for f in run["findings"] if f["severity"] in severities]
    assert [f["key"] for f in read["findings"]] == expected
    perspective = next(p for f in run["findings"] for p in f["scope"].get("perspectives", []))
    read = client.get(
        f"/orgs/{org}/reports/latest", params={"perspective": perspective, "per_page": 500}
    ).json()
    expected = [
        f["key"] for f in run["findings"] if perspective in f["scope"].get("perspectives", [])
    ]
    assert expected and [f["key"] for f in read["findings"]] == expected
    bad = client.get(f"/orgs/{org}/reports/latest", params={"perspective": "sales"})
    assert bad.status_code == 422
    assert [d["path"] for d in bad.json()["error"]["details"]] == ["query.perspective"]

    # The next page's link keeps every value.
    paged = client.get(
        f"/orgs/{org}/reports/latest", params=[("kind", k) for k in KINDS] + [("per_page", 1)]
    ).json()["findings_page"]
    assert paged["next"] == f"?kind={KINDS[0]}&kind={KINDS[1]}&per_page=1&page=2"


def test_the_served_page_lists_every_kind_asked_for(client, scored_sample, run) -> None:
    org = scored_sample
    page = client.get(f"/orgs/{org}/report.html", params=[("kind", k) for k in KINDS]).text
    rows = Counter(
        kind for kind in (part.split('"', 1)[0] for part in page.split('data-kind="')[1:])
    )
    by_kind = Counter(f["kind"] for f in run["findings"])
    assert {k: rows[k] for k in KINDS} == {k: min(by_kind[k], 100) for k in KINDS}
    assert set(rows) == set(KINDS)
    # The filter's list box shows both chosen; a page link keeps both.
    assert 'name="kind" multiple' in page
    for k in KINDS:
        assert f'<option value="{k}" title=' in page
        assert f'value="{k}" title="' in page.split('id="f-kind"', 1)[1].split("</select>", 1)[0]
