"""The report page's search box stops at the length the service takes: a longer search was a
422 error page in place of the report (the box had no maxlength)."""

from __future__ import annotations

import re


def test_the_search_box_takes_no_more_than_the_service(client, jobs, scored_sample) -> None:
    org = scored_sample
    jobs.result(client, client.post(f"/orgs/{org}/reports"))
    page = client.get(f"/orgs/{org}/report.html").text
    box = re.search(r'<input id="f-text" name="q"[^>]*>', page)
    limit = re.search(r'maxlength="(\d+)"', box.group(0)) if box else None
    assert limit, box
    longest = int(limit.group(1))
    # As long as the box allows, the report is shown; one more character is refused.
    assert client.get(f"/orgs/{org}/report.html", params={"q": "x" * longest}).status_code == 200
    too_long = client.get(f"/orgs/{org}/report.html", params={"q": "x" * (longest + 1)})
    assert too_long.status_code == 422
