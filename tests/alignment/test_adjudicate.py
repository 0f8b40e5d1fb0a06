"""LLM adjudication of close calls, over real HTTP to a scripted OpenAI-compatible server."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, update

from alignment.adapters.openai_chat import OpenAIChatModel
from alignment.adjudicate import Adjudicator, Case, close_calls, configured_adjudicator
from alignment.embed import VectorCache
from alignment.models import LlmUsage, Okr, ScoredLink, StrategicObjective
from alignment.scoring.calibration import DEFAULT
from alignment.scoring.documents import Link
from alignment.scoring.feedback import record_feedback
from alignment.scoring.link_scores import score_links
from alignment.scoring.org_documents import load_docs
from alignment.scoring.stage import score_organization
from alignment.settings import LLMSettings, get_settings
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import MODEL, FakeOpenAI

llm_server = support.llm_server


def _links(*scores: float) -> list[Link]:
    return [Link(f"SO-{i}", s, "none", ()) for i, s in enumerate(scores, start=1)]


def test_close_calls_are_near_the_threshold_or_contested_and_come_closest_first() -> None:
    aligned, weak = DEFAULT.aligned, DEFAULT.weak
    links = {
        "clear-orphan": _links(weak * 0.5, weak * 0.4),
        "clear-link": _links(0.99, 0.05),
        "near": _links(aligned * 1.05, 0.01),
        "contested": _links(0.95, 0.94, 0.9, 0.5),
        "a-bit-near": _links(aligned * 1.6, 0.01),
    }
    cases = close_calls(links)
    assert [c.okr_id for c in cases] == ["near", "a-bit-near", "contested"]
    assert cases[2] == Case("contested", ("SO-1", "SO-2", "SO-3"))  # at most three candidates


def test_close_calls_read_scores_not_ranks() -> None:
    # The lexical re-ranking may rank a lower-scored aligned link first: "x"'s best score is
    # still 0.99 (further from the threshold than "y"'s 0.9), and its candidates go best first.
    x = [Link("SO-1", 0.75, "aligned", ()), Link("SO-2", 0.99, "aligned", ())]
    y = [Link("SO-3", 0.9, "aligned", ()), Link("SO-1", 0.8, "aligned", ())]
    assert close_calls({"x": x, "y": y}) == [
        Case("y", ("SO-3", "SO-1")),
        Case("x", ("SO-2", "SO-1")),
    ]


def _adjudicator(server: FakeOpenAI, max_calls: int = 2) -> Adjudicator:
    settings = LLMSettings(
        base_url=server.url, api_key="test-key", model=MODEL, timeout_s=3.0, max_retries=0
    )
    return Adjudicator(OpenAIChatModel(settings), max_calls=max_calls)


def _cases(session, org_id: str, embedder, limit: int) -> list[Case]:
    docs = load_docs(session, org_id)  # the stored vectors, as the score stage reads them
    links = score_links(docs.objectives, docs.okrs, embed=VectorCache(session, org_id, embedder))
    return close_calls(links)[:limit]


def _stored(session, org_id: str, okr_id: str) -> dict[str, ScoredLink]:
    rows = session.scalars(
        select(ScoredLink).where(ScoredLink.org_id == org_id, ScoredLink.okr_id == okr_id)
    )
    return {r.objective_id: r for r in rows}


def _verdicts(case: Case, serves: list[bool]) -> dict:
    return {
        "verdicts": [
            {"objective_id": o, "serves": s, "reason": f"KR moves {o}" if s else "unrelated"}
            for o, s in zip(case.candidates, serves, strict=True)
        ]
    }


def test_verdicts_change_labels_are_kept_with_reasons_and_are_reused(
    session, scored_sample, embedder, llm_server
) -> None:
    org = scored_sample
    first, second = _cases(session, org, embedder, limit=2)
    before = _stored(session, org, first.okr_id)
    before_second = _stored(session, org, second.okr_id)
    llm_server.reply(_verdicts(first, [False] * len(first.candidates)), usage=(400, 60))
    llm_server.reply(
        _verdicts(second, [True] + [False] * (len(second.candidates) - 1)), usage=(380, 50)
    )

    summary = score_organization(
        session, org, embedder=embedder, adjudicator=_adjudicator(llm_server)
    )

    assert summary.adjudication["asked"] == 2 and summary.adjudication["invalid"] == 0
    assert summary.adjudication["skipped"] > 0  # more close calls than the limit of two
    demoted = sum(before[o].label == "aligned" for o in first.candidates)
    demoted += sum(before_second[o].label == "aligned" for o in second.candidates[1:])
    # "Serves" is an opinion shown to the person deciding: it raises no label.
    assert summary.adjudication["changed"] == demoted
    after = _stored(session, org, first.okr_id)
    for objective_id in first.candidates:
        verdict = after[objective_id].adjudication
        assert verdict["serves"] is False and verdict["reason"] == "unrelated"
        assert verdict["model"] == MODEL and verdict["prompt"]["id"] == "adjudicate_links"
        assert verdict["engine_label"] == before[objective_id].label
        assert after[objective_id].label == ("weak" if before[objective_id].label == "aligned"
                                             else before[objective_id].label)  # fmt: skip
    top = _stored(session, org, second.okr_id)[second.candidates[0]]
    assert top.label == before_second[second.candidates[0]].label
    assert top.adjudication["engine_label"] == top.label
    assert top.adjudication["serves"] is True and top.adjudication["reason"].startswith("KR moves")
    untouched = session.scalar(
        select(func.count()).where(
            ScoredLink.org_id == org,
            ScoredLink.okr_id.not_in([first.okr_id, second.okr_id]),
            ScoredLink.adjudication.is_not(None),
        )
    )
    assert untouched == 0
    spent = session.execute(
        select(func.count(), func.sum(LlmUsage.input_tokens + LlmUsage.output_tokens)).where(
            LlmUsage.org_id == org
        )
    ).one()
    assert tuple(spent) == (2, 890)

    # What the model was sent: the strict schema, and the OKR only as fenced JSON data.
    body = llm_server.bodies()[0]
    assert body["response_format"]["json_schema"]["name"] == "LinkVerdicts"
    user = body["messages"][-1]["content"]
    okr_block = user.split('<data name="okr">')[1].split("</data>")[0]
    title = load_docs(session, org).okrs
    assert json.loads(okr_block)["title"] in {o.title for o in title}
    assert [
        c["id"] for c in json.loads(user.split('<data name="candidates">')[1].split("</data>")[0])
    ] == list(first.candidates)

    # The strategy office sees how many labels the model moved.
    from alignment.report import build_report, to_html

    run = build_report(session, org, embedder=embedder)
    assert run.summary["labels_moved_by_llm"] == summary.adjudication["changed"] > 0
    assert "moved by an LLM" in to_html(run)

    # Unchanged texts and candidates: the stored verdicts are reused for free (no new calls
    # allowed here, so any other close call is skipped rather than asked).
    again = score_organization(
        session, org, embedder=embedder, adjudicator=_adjudicator(llm_server, 0)
    )
    assert again.adjudication["reused"] == 2 and again.adjudication["asked"] == 0
    assert len(llm_server.requests) == 2
    assert _stored(session, org, second.okr_id)[second.candidates[0]].label == top.label
    moved = {o: r.label for o, r in _stored(session, org, first.okr_id).items()}

    # A re-score without a model (an import, a report) keeps them too, and still knows the
    # engine's own label of each link the model moved.
    plain = score_organization(session, org, embedder=embedder)
    assert plain.adjudication is None
    kept = _stored(session, org, second.okr_id)[second.candidates[0]]
    assert kept.label == top.label and kept.adjudication["reason"].startswith("KR moves")
    for objective_id, row in _stored(session, org, first.okr_id).items():
        if objective_id in first.candidates:
            assert row.label == moved[objective_id]
            assert row.adjudication["engine_label"] == before[objective_id].label

    # People still overrule the model.
    record_feedback(session, org, second.okr_id, second.candidates[0], verdict="rejected",
                    decided_by="strategy office")  # fmt: skip
    score_organization(session, org, embedder=embedder, adjudicator=_adjudicator(llm_server, 0))
    assert _stored(session, org, second.okr_id)[second.candidates[0]].label == "none"

    # A verdict retires when what the model was shown changes: the OKR, or a candidate.
    session.execute(
        update(Okr).where(Okr.org_id == org, Okr.id == first.okr_id).values(title="Renamed")
    )
    session.execute(
        update(StrategicObjective)
        .where(StrategicObjective.org_id == org, StrategicObjective.id == second.candidates[0])
        .values(description="Rewritten since the model judged it.")
    )
    score_organization(session, org, embedder=embedder)
    for okr_id in (first.okr_id, second.okr_id):
        assert all(r.adjudication is None for r in _stored(session, org, okr_id).values())


def test_a_reply_about_other_objectives_is_discarded(session, scored_sample, embedder, llm_server):
    org = scored_sample
    [case] = _cases(session, org, embedder, limit=1)
    before = {o: r.label for o, r in _stored(session, org, case.okr_id).items()}
    llm_server.reply({"verdicts": [{"objective_id": "SO-404", "serves": True, "reason": "x"}]})

    summary = score_organization(
        session, org, embedder=embedder, adjudicator=_adjudicator(llm_server, 1)
    )

    assert summary.adjudication["invalid"] == 1 and summary.adjudication["changed"] == 0
    after = _stored(session, org, case.okr_id)
    assert {o: r.label for o, r in after.items()} == before
    assert all(r.adjudication is None for r in after.values())


def _aligned(session, org_id: str) -> dict[str, int]:
    """OKR id -> how many objectives it is aligned with."""
    rows = session.execute(
        select(ScoredLink.okr_id, func.count())
        .where(ScoredLink.org_id == org_id, ScoredLink.label == "aligned")
        .group_by(ScoredLink.okr_id)
    )
    return dict(rows.tuples().all())


def test_provider_down_leaves_the_engine_labels_and_says_why(
    session, scored_sample, embedder, llm_server
):
    org = scored_sample
    before = _aligned(session, org)
    llm_server.reply(status=500)

    summary = score_organization(
        session, org, embedder=embedder, adjudicator=_adjudicator(llm_server)
    )

    assert summary.adjudication["asked"] == 0 and summary.adjudication["error"]
    assert summary.adjudication["skipped"] > 0
    after = _aligned(session, org)
    assert after == before


def test_the_token_budget_stops_adjudication_before_a_call(
    session, scored_sample, embedder, llm_server, monkeypatch
):
    monkeypatch.setenv("GOLDENTHREAD_LLM_TOKEN_BUDGET", "10")
    get_settings.cache_clear()
    try:
        summary = score_organization(
            session, scored_sample, embedder=embedder, adjudicator=_adjudicator(llm_server)
        )
    finally:
        get_settings.cache_clear()
    assert "tokens" in summary.adjudication["error"]
    assert llm_server.requests == []


@pytest.mark.usefixtures("scored_sample")
def test_asking_for_adjudication_without_a_model_is_a_clear_409(client, scored_sample) -> None:
    response = client.post(f"/orgs/{scored_sample}/score", params={"adjudicate": "true"})
    assert response.status_code == 409
    assert "GOLDENTHREAD_LLM_BASE_URL" in response.json()["error"]["message"]


def test_the_eval_runner_measures_an_adjudicating_model(session, embedder, llm_server) -> None:
    """`goldenthread eval alignment --adjudicate`: verdicts move labels, never the ranking (the
    scores stay the engine's), and the pass is counted."""
    from evals.runner import run
    from tests.alignment.drafting_support import Reply
    from tests.evals.test_runner import BUNDLE, LABELS

    def first_candidate_only(body: dict) -> Reply:
        user = body["messages"][-1]["content"]
        ids = [
            c["id"]
            for c in json.loads(user.split('<data name="candidates">')[1].split("</data>")[0])
        ]
        verdicts = [{"objective_id": o, "serves": i == 0, "reason": "r"} for i, o in enumerate(ids)]
        return Reply(json.dumps({"verdicts": verdicts}))

    plain = run(session, [(BUNDLE, LABELS)], embedder=embedder)
    session.rollback()
    llm_server.responder = first_candidate_only
    judged = run(
        session, [(BUNDLE, LABELS)], embedder=embedder, adjudicator=_adjudicator(llm_server, 500)
    )
    session.rollback()
    counts = judged["adjudication"]
    assert counts["asked"] == len(llm_server.requests) > 0
    assert counts["invalid"] == 0 and counts["model"] == MODEL and counts["errors"] == []
    assert counts["changed"] > 0  # labels moved ...
    assert (judged["top1"], judged["mrr"]) == (plain["top1"], plain["mrr"])  # ... rankings not
    assert (
        judged["link_f1"] != plain["link_f1"] or judged["orphan_recall"] != plain["orphan_recall"]
    )


def test_cli_score_adjudicate_without_a_model_says_what_to_set(database_url, scored_sample):
    from typer.testing import CliRunner

    from service.cli import app

    result = CliRunner().invoke(app, ["score", "--org", scored_sample, "--adjudicate"])
    assert result.exit_code != 0
    assert "GOLDENTHREAD_LLM_BASE_URL" in result.output


def test_cli_score_adjudicate_with_the_llm_down_stores_scores_and_exits_3(
    database_url, scored_sample, llm_server, monkeypatch
):
    """The scores are stored with the engine's labels; a script sees the LLM pass stopped
    (exit code 3, a warning on stderr), and no message says nothing was stored."""
    from typer.testing import CliRunner

    from service.cli import app
    from service.commands.scoring import ADJUDICATION_STOPPED

    monkeypatch.setenv("GOLDENTHREAD_LLM_BASE_URL", llm_server.url)
    monkeypatch.setenv("GOLDENTHREAD_LLM_MODEL", MODEL)
    monkeypatch.setenv("GOLDENTHREAD_LLM_API_KEY", "test-key")
    monkeypatch.setenv("GOLDENTHREAD_LLM_MAX_RETRIES", "0")
    llm_server.reply(status=500)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["score", "--org", scored_sample, "--adjudicate"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == ADJUDICATION_STOPPED == 3, result.output
    error = json.loads(result.stdout)["adjudication"]["error"]
    assert "stored without the LLM's opinion" in error
    assert "nothing was drafted or stored" not in error
    warning = " ".join(result.stderr.split())
    assert "warning: adjudication stopped early" in warning
    assert "answered HTTP 500" in warning


@pytest.mark.parametrize("explicit", [None, "1.0"])
def test_the_operators_temperature_wins_over_the_prompts(
    session, scored_sample, embedder, llm_server, monkeypatch, explicit
):
    # Some models accept only temperature 1.0: an operator's setting must reach every call.
    monkeypatch.setenv("GOLDENTHREAD_LLM_BASE_URL", llm_server.url)
    monkeypatch.setenv("GOLDENTHREAD_LLM_MODEL", MODEL)
    monkeypatch.setenv("GOLDENTHREAD_LLM_API_KEY", "test-key")
    monkeypatch.setenv("GOLDENTHREAD_LLM_MAX_RETRIES", "0")
    if explicit is not None:
        monkeypatch.setenv("GOLDENTHREAD_LLM_TEMPERATURE", explicit)
    llm_server.reply(status=500)
    get_settings.cache_clear()
    try:
        adjudicator = configured_adjudicator(max_calls=1)
        score_organization(session, scored_sample, embedder=embedder, adjudicator=adjudicator)
    finally:
        get_settings.cache_clear()
    sent = {r["body"]["temperature"] for r in llm_server.requests}
    prompt_default = adjudicator.prompt.model_defaults["temperature"]
    assert sent == {float(explicit) if explicit else prompt_default}
    assert prompt_default != 1.0
