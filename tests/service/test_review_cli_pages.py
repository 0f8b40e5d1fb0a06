"""`goldenthread review list` / `review check-ins` page as the API does (`--limit`, `--offset`,
and `--json` printing the API's envelope); without them they show the whole queue as before."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from alignment.settings import get_settings
from service.cli import app

COMMANDS = {"list": "awaiting review", "check-ins": "check-ins awaiting review"}


def _json(org: str, command: str, *options: str) -> dict:
    answer = CliRunner().invoke(app, ["review", command, "--org", org, "--json", *options])
    assert answer.exit_code == 0, answer.output
    return json.loads(answer.stdout)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_page_from_the_command_line_is_the_api_envelope(scored_sample, command) -> None:
    whole = _json(scored_sample, command)
    assert set(whole) == {"items", "total", "limit", "offset"}
    assert (whole["limit"], whole["offset"]) == (None, 0)  # the whole queue, as before
    assert whole["total"] == len(whole["items"]) >= 2
    page = _json(scored_sample, command, "--limit", "1", "--offset", "1")
    assert page == {"items": whole["items"][1:2], "total": whole["total"], "limit": 1, "offset": 1}
    rest = _json(scored_sample, command, "--offset", "2")
    assert rest["items"] == whole["items"][2:] and rest["total"] == whole["total"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_page_as_text_says_where_it_is_in_the_queue(scored_sample, command) -> None:
    total = _json(scored_sample, command)["total"]
    what = COMMANDS[command]
    runner = CliRunner()
    whole = runner.invoke(app, ["review", command, "--org", scored_sample])
    assert whole.exit_code == 0 and f"{total} {what}" in whole.output
    page = runner.invoke(app, ["review", command, "--org", scored_sample, "--limit", "1"])
    assert page.exit_code == 0, page.output
    assert f"1-1 of {total} {what}; {total - 1} more (--offset 1)" in page.output
    past = runner.invoke(
        app, ["review", command, "--org", scored_sample, "--offset", str(total + 5)]
    )
    assert past.exit_code == 0 and f"none from {total + 6}: {total} {what}" in past.output


@pytest.mark.parametrize("command", COMMANDS)
def test_the_command_line_refuses_the_pages_the_api_refuses(scored_sample, command) -> None:
    largest = get_settings().service.page_limit_max
    runner = CliRunner()
    for options, named in (
        (["--limit", str(largest + 1)], "above the largest page"),
        (["--limit", "0"], "--limit"),
        (["--offset", "-1"], "--offset"),
    ):
        answer = runner.invoke(app, ["review", command, "--org", scored_sample, *options])
        assert answer.exit_code == 2, (options, answer.output)
        assert named in answer.output, (options, answer.output)
