"""The score stage on the real database: stored rankings, incremental embedding, feedback."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func, select, update

from alignment.embed import VectorCache
from alignment.models import DeclaredLink, Okr, ScoredLink, StrategicObjective, TextEmbedding
from alignment.scoring import feedback, reads
from alignment.scoring.link_scores import STORED_TOP, score_links
from alignment.scoring.org_documents import load_docs
from alignment.scoring.stage import score_organization
from alignment.verdicts import ORPHAN_SHARE_OF_MEDIAN


class CountingEmbedder:
    """The real embedder, counting what reaches the model."""

    def __init__(self, inner) -> None:
        self.inner, self.model_name, self.dim = inner, inner.model_name, inner.dim
        self.texts: list[str] = []

    def encode(self, texts):
        self.texts += list(texts)
        return self.inner.encode(texts)


def add_okrs(session, org_id: str, title: str, count: int = 5) -> None:
    """`count` new OKRs in O-1's team and cycle, titled `title` with {n} filled in."""
    okr = session.get(Okr, {"org_id": org_id, "id": "O-1"})
    for n in range(count):
        session.add(
            Okr(
                org_id=org_id, id=f"O-NEW-{n}", team_id=okr.team_id, cycle_id=okr.cycle_id,
                title=title.format(n=n), content_hash=f"new-{n}",
            )
        )  # fmt: skip
    session.flush()


def test_every_okr_stores_its_top_links_and_every_named_one(session, scored_sample) -> None:
    n_objectives = session.scalar(
        select(func.count()).where(StrategicObjective.org_id == scored_sample)
    )
    declared: dict[str, set[str]] = {}
    for okr_id, objective_id in session.execute(
        select(DeclaredLink.okr_id, DeclaredLink.objective_id).where(
            DeclaredLink.org_id == scored_sample
        )
    ):
        declared.setdefault(okr_id, set()).add(objective_id)
    ranked = reads.all_links(session, scored_sample)
    assert len(ranked) == 50
    assert n_objectives > STORED_TOP  # so the sample shows the cut
    for okr_id, rows in ranked.items():
        assert [r.rank for r in rows] == list(range(1, len(rows) + 1))
        assert STORED_TOP <= len(rows) <= n_objectives
        beyond = rows[STORED_TOP:]
        # Past the top 10 only what someone named, or the engine finds aligned or weak.
        assert all(
            r.objective_id in declared.get(okr_id, set()) or r.label != "none" for r in beyond
        )
        assert declared.get(okr_id, set()) <= {r.objective_id for r in rows}
        # Aligned, then weak links (each block in the lexical re-ranking's order,
        # lexical_rank.py), then the rest by score.
        blocks = [("aligned", "weak", "none").index(r.label) for r in rows]
        assert blocks == sorted(blocks)
        rest = [r.score for r in rows if r.label == "none"]
        assert rest == sorted(rest, reverse=True)
        scores = [r.score for r in rows[:STORED_TOP]]
        assert all(0.0 <= s <= 1.0 for s in scores)
        top = rows[0]
        assert top.evidence, "the best link must say which texts matched"
        assert {"okr_field", "objective_field", "similarity"} <= set(top.evidence[0])


def test_rescoring_unchanged_org_embeds_nothing(session, scored_sample, embedder) -> None:
    counting = CountingEmbedder(embedder)
    summary = score_organization(session, scored_sample, embedder=counting)
    assert summary.texts_embedded == 0
    assert counting.texts == []


def test_changed_title_embeds_only_new_texts(session, scored_sample, embedder) -> None:
    new_title = "Cut linen loss per hotel account by tracking every cart with RFID"
    session.execute(
        update(Okr).where(Okr.org_id == scored_sample, Okr.id == "O-1").values(title=new_title)
    )
    counting = CountingEmbedder(embedder)
    summary = score_organization(session, scored_sample, embedder=counting)
    assert new_title in counting.texts
    # The title itself and the OKR's whole text; nothing else in the organization changed.
    assert 1 <= summary.texts_embedded <= 3


def test_model_change_reembeds_everything(session, scored_sample, embedder) -> None:
    class OtherModel(CountingEmbedder):
        pass

    other = OtherModel(embedder)
    other.model_name = "another-model"
    texts = ["Reduce linen loss", "Grow hotel contracts"]
    VectorCache(session, scored_sample, other)(texts)
    assert sorted(other.texts) == sorted(texts)
    stored = session.scalar(
        select(func.count()).where(
            TextEmbedding.org_id == scored_sample, TextEmbedding.model == "another-model"
        )
    )
    assert stored == 2


def test_stored_vectors_match_the_model(session, scored_sample, embedder) -> None:
    text = session.scalar(select(Okr.title).where(Okr.org_id == scored_sample, Okr.id == "O-2"))
    cached = VectorCache(session, scored_sample, embedder)([text])
    np.testing.assert_allclose(cached[0], embedder.encode([text])[0], atol=1e-5)


def _top_aligned(session, org_id: str) -> tuple[str, str]:
    row = session.scalars(
        select(ScoredLink)
        .where(ScoredLink.org_id == org_id, ScoredLink.label == "aligned")
        .order_by(ScoredLink.okr_id, ScoredLink.rank)
    ).first()
    return row.okr_id, row.objective_id


def test_rejected_link_stays_rejected_until_text_changes(session, scored_sample, embedder) -> None:
    okr_id, objective_id = _top_aligned(session, scored_sample)
    feedback.record_feedback(
        session, scored_sample, okr_id, objective_id, verdict="rejected", decided_by="ana"
    )
    score_organization(session, scored_sample, embedder=embedder)
    row = session.get(
        ScoredLink, {"org_id": scored_sample, "okr_id": okr_id, "objective_id": objective_id}
    )
    assert row.label == "none"
    suggested = {
        (f["okr_id"], f["objective_id"])
        for f in reads.link_audit(session, scored_sample)
        if f["kind"] == "suggested_link"
    }
    assert (okr_id, objective_id) not in suggested

    # A new key result changes what was judged: the engine decides again.
    okr = session.get(Okr, {"org_id": scored_sample, "id": okr_id})
    okr.title = okr.title + " across every plant"
    session.flush()
    score_organization(session, scored_sample, embedder=embedder)
    session.expire_all()
    row = session.get(
        ScoredLink, {"org_id": scored_sample, "okr_id": okr_id, "objective_id": objective_id}
    )
    docs = load_docs(session, scored_sample)
    engine = score_links(
        docs.objectives, docs.okrs, embed=VectorCache(session, scored_sample, embedder)
    )
    unforced = next(lk for lk in engine[okr_id] if lk.objective_id == objective_id)
    assert unforced.label == "aligned"  # the engine still sees the link ...
    assert row.label == unforced.label  # ... and the stale verdict no longer hides it


def test_confirmed_link_is_exported_as_labels(session, scored_sample, embedder) -> None:
    row = session.scalars(
        select(ScoredLink).where(
            ScoredLink.org_id == scored_sample, ScoredLink.okr_id == "O-11", ScoredLink.rank == 3
        )
    ).one()
    feedback.record_feedback(
        session, scored_sample, "O-11", row.objective_id, verdict="confirmed", decided_by="ana"
    )
    score_organization(session, scored_sample, embedder=embedder)
    session.expire_all()
    stored = session.get(
        ScoredLink, {"org_id": scored_sample, "okr_id": "O-11", "objective_id": row.objective_id}
    )
    assert stored.label == "aligned"
    exported = feedback.feedback_labels(session, scored_sample)
    assert exported["format"] == "goldenthread.labels/v1"
    assert exported["links"] == {"O-11": [row.objective_id]}


def test_scoring_indexes_titles_and_key_results_not_check_ins(session, scored_sample) -> None:
    from alignment.models import CheckIn, KeyResult, content_hash

    flags = dict(
        session.execute(
            select(TextEmbedding.content_hash, TextEmbedding.searchable).where(
                TextEmbedding.org_id == scored_sample
            )
        )
        .tuples()
        .all()
    )
    titles = session.scalars(select(Okr.title).where(Okr.org_id == scored_sample)).all()
    krs = session.scalars(select(KeyResult.title).where(KeyResult.org_id == scored_sample)).all()
    wanted = {content_hash(t) for t in [*titles, *krs]}
    assert all(flags[h] for h in wanted)
    checkins = session.scalars(select(CheckIn.text).where(CheckIn.org_id == scored_sample)).all()
    others = {content_hash(t) for t in checkins} - wanted
    assert others and not any(flags[h] for h in others)


def test_adding_an_okr_flips_no_other_verdict_but_a_new_objective_decides_afresh(
    session, scored_sample, embedder
) -> None:
    def labels() -> dict[tuple[str, str], str]:
        return {
            (r.okr_id, r.objective_id): r.label
            for r in session.scalars(select(ScoredLink).where(ScoredLink.org_id == scored_sample))
        }

    # Scored once more so every stored label carries its context (the fixture may predate it).
    score_organization(session, scored_sample, embedder=embedder)
    before = labels()
    add_okrs(session, scored_sample, "Cut invoice errors by a third in region {n}")
    score_organization(session, scored_sample, embedder=embedder)
    after = labels()
    changed = [pair for pair, label in before.items() if after.get(pair) not in (None, label)]
    assert changed == []
    for okr_id in {k for k, _ in before}:  # and no aligned link dropped out of storage
        was = {obj for (k, obj), lab in before.items() if k == okr_id and lab == "aligned"}
        now = {obj for (k, obj), lab in after.items() if k == okr_id and lab == "aligned"}
        assert was == now, okr_id

    def contexts() -> set[str | None]:
        query = select(ScoredLink.context_hash).where(ScoredLink.org_id == scored_sample)
        return set(session.scalars(query))

    [unchanged] = contexts()
    # A changed objective is a new context: the organization's labels are decided afresh.
    session.execute(
        update(StrategicObjective)
        .where(StrategicObjective.org_id == scored_sample, StrategicObjective.id == "SO-1")
        .values(description="Grow recurring revenue from healthcare and hospitality contracts.")
    )
    score_organization(session, scored_sample, embedder=embedder)
    [changed_context] = contexts()
    assert unchanged is not None and changed_context != unchanged


def test_an_unchanged_okr_keeps_its_comparison_with_the_median_until_its_text_changes(
    session, scored_sample, embedder
) -> None:
    from alignment.models import OkrVerdict
    from alignment.review import okr_verdicts

    def stored() -> dict[str, OkrVerdict]:
        query = select(OkrVerdict).where(OkrVerdict.org_id == scored_sample)
        return {v.okr_id: v for v in session.scalars(query)}

    score_organization(session, scored_sample, embedder=embedder)  # rows with today's context
    rows = stored()
    assert len(rows) == 50 and {r.reference for r in rows.values()} == {
        next(iter(rows.values())).reference
    }
    candidates, verdict = okr_verdicts(session, scored_sample)
    unsure = sorted(o for o, links in candidates.items() if all(c.label == "none" for c in links))
    assert unsure, "the sample has OKRs with neither an aligned nor a weak link"
    okr_id = unsure[0]
    # As if decided against another median: the reader follows the stored comparison.
    row = rows[okr_id]
    far = not row.far_below
    row.far_below = far
    row.reference = row.best_score * (2.0 / ORPHAN_SHARE_OF_MEDIAN if far else 0.5)
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)  # `now()` is fixed within the test's transaction
    session.execute(
        update(OkrVerdict).where(OkrVerdict.org_id == scored_sample).values(decided_at=long_ago)
    )
    session.flush()
    session.expire_all()
    expected = "orphan" if far else "needs_review"
    assert okr_verdicts(session, scored_sample)[1][okr_id] == expected
    before = {
        o: (r.far_below, r.best_score, r.reference, r.decided_at) for o, r in stored().items()
    }

    add_okrs(session, scored_sample, "Repaint the staff canteen in colour {n}")
    score_organization(session, scored_sample, embedder=embedder)
    session.expire_all()
    after = {o: (r.far_below, r.best_score, r.reference, r.decided_at) for o, r in stored().items()}
    assert {o: after[o] for o in before} == before  # kept, the changed one included
    assert {f"O-NEW-{n}" for n in range(5)} <= after.keys()
    assert okr_verdicts(session, scored_sample)[1][okr_id] == expected
    unchanged = {o: v for o, v in verdict.items() if o != okr_id}
    assert {o: okr_verdicts(session, scored_sample)[1][o] for o in unchanged} == unchanged

    # Its own text changed: it is compared afresh, with today's median.
    session.execute(
        update(Okr)
        .where(Okr.org_id == scored_sample, Okr.id == okr_id)
        .values(title="Repaint the warehouse loading bays")
    )
    today = score_organization(session, scored_sample, embedder=embedder).orphan_score_median
    session.expire_all()
    fresh = stored()[okr_id]
    assert fresh.reference == pytest.approx(today, abs=1e-4)
    assert fresh.reference != before[okr_id][2]
    assert fresh.far_below == (fresh.best_score < ORPHAN_SHARE_OF_MEDIAN * today)
    assert fresh.decided_at > long_ago


def test_the_stored_comparison_is_of_the_plain_calibrations_best_score(
    session, scored_sample, embedder
) -> None:
    """The orphan rule reads the best score under calibration.PLAIN, not the links' scores
    (calibration.DEFAULT), and the median of those scores."""
    from statistics import median

    from alignment.models import OkrVerdict
    from alignment.scoring import calibration
    from alignment.scoring.link_features import pair_scores

    summary = score_organization(session, scored_sample, embedder=embedder)
    docs = load_docs(session, scored_sample)
    cache = VectorCache(session, scored_sample, embedder)
    plain, _ = pair_scores(docs.objectives, docs.okrs, embed=cache, calibration=calibration.PLAIN)
    expected = {
        k.id: round(float(best), 4) for k, best in zip(docs.okrs, plain.max(axis=1), strict=True)
    }
    rows = session.scalars(select(OkrVerdict).where(OkrVerdict.org_id == scored_sample)).all()
    assert {r.okr_id: r.best_score for r in rows} == pytest.approx(expected, abs=1e-9)
    assert all(r.reference == pytest.approx(median(expected.values())) for r in rows)
    assert summary.orphan_score_median == pytest.approx(median(expected.values()), abs=1e-4)
    # Not the links' scores: those are another calibration's.
    rank1 = {okr: links[0].score for okr, links in reads.all_links(session, scored_sample).items()}
    assert sum(rank1[o] != expected[o] for o in expected) > len(expected) // 2


def test_a_new_orphan_share_applies_to_kept_comparisons_at_once(
    session, scored_sample, embedder, monkeypatch
) -> None:
    """The comparison keeps the median an OKR was held to; the share (evals.fit) is today's,
    so the verdict and the cut shown as its evidence always agree."""
    from alignment import verdicts
    from alignment.review import okr_verdicts

    score_organization(session, scored_sample, embedder=embedder)
    _, before = okr_verdicts(session, scored_sample)
    orphans = sorted(o for o, v in before.items() if v == "orphan")
    assert orphans, "the sample has OKRs the engine calls orphans"
    shown = {o: reads.comparison(session, scored_sample, o) for o in orphans}
    assert all(c["far_below"] and c["best_score"] < c["orphan_below"] for c in shown.values())

    # A share under every orphan's ratio to its median: none of them is confident any more.
    lowest = min(c["best_score"] / c["organization_median_best"] for c in shown.values())
    monkeypatch.setattr(verdicts, "ORPHAN_SHARE_OF_MEDIAN", lowest * 0.99)
    _, after = okr_verdicts(session, scored_sample)
    assert {o: after[o] for o in orphans} == dict.fromkeys(orphans, "needs_review")
    assert {o: v for o, v in after.items() if o not in orphans} == {
        o: v for o, v in before.items() if o not in orphans
    }
    for o in orphans:
        c = reads.comparison(session, scored_sample, o)
        assert not c["far_below"] and c["best_score"] >= c["orphan_below"]


def test_a_confirmation_moves_its_teammates_and_nobody_else(session, scored_sample, embedder):
    from alignment.models import Job
    from alignment.scoring.team_decisions import TEAM_CONFIRMED_LOGIT

    score_organization(session, scored_sample, embedder=embedder)

    def stored() -> dict[tuple[str, str], tuple[float, str | None]]:
        session.expire_all()
        rows = session.scalars(select(ScoredLink).where(ScoredLink.org_id == scored_sample))
        return {(r.okr_id, r.objective_id): (r.score, r.context_hash) for r in rows}

    before = stored()
    okr = session.get(Okr, {"org_id": scored_sample, "id": "O-1"})
    team = set(
        session.scalars(
            select(Okr.id).where(Okr.org_id == scored_sample, Okr.team_id == okr.team_id)
        )
    )
    assert len(team) > 1
    # A link ranked below the top for a teammate, so the vote shows in its stored score.
    objective_id = session.scalars(
        select(ScoredLink.objective_id).where(
            ScoredLink.org_id == scored_sample, ScoredLink.okr_id == "O-1", ScoredLink.rank == 2
        )
    ).first()
    jobs = select(func.count()).select_from(Job).where(Job.org_id == scored_sample)
    queued = session.scalar(jobs)
    feedback.record_feedback(
        session, scored_sample, "O-1", objective_id, verdict="confirmed", decided_by="ana"
    )
    assert session.scalar(jobs) == queued + 1  # the teammates are rescored in the background
    score_organization(session, scored_sample, embedder=embedder)
    after = stored()

    raised = 0
    for (okr_id, obj), (score, context) in after.items():
        if (okr_id, obj) not in before:
            continue
        old_score, old_context = before[(okr_id, obj)]
        if okr_id in team - {"O-1"}:
            assert context != old_context  # their labels are decided afresh
            if obj != objective_id:
                assert score == old_score
            elif 0.05 < old_score < 0.95:  # scores are stored to 4 decimals
                gained = float(np.log(score / (1 - score)) - np.log(old_score / (1 - old_score)))
                assert gained == pytest.approx(TEAM_CONFIRMED_LOGIT, abs=0.01)
                raised += 1
            else:
                assert score >= old_score
        else:
            assert (score, context) == (old_score, old_context), okr_id
    assert raised  # at least one teammate stores that objective


def test_a_decision_made_while_a_run_embeds_is_not_overwritten(
    session, scored_sample, embedder, monkeypatch
):
    from alignment.scoring import stage

    okr_id, objective_id = _top_aligned(session, scored_sample)
    real = stage._adjudicate

    def decided_meanwhile(*args, **kwargs):
        # A person rejects the link while this run is between its reads and its writes.
        feedback.record_feedback(
            session, scored_sample, okr_id, objective_id, verdict="rejected", decided_by="ana"
        )
        return real(*args, **kwargs)

    monkeypatch.setattr(stage, "_adjudicate", decided_meanwhile)
    score_organization(session, scored_sample, embedder=embedder)
    session.expire_all()
    row = session.get(
        ScoredLink, {"org_id": scored_sample, "okr_id": okr_id, "objective_id": objective_id}
    )
    assert row.label == "none"


def test_decisions_during_a_run_queue_the_next_one(session, scored_sample, engine, embedder):
    from sqlalchemy import text

    from alignment import check_in_review
    from alignment.models import CheckInDrift, Job

    okr_id, objective_id = _top_aligned(session, scored_sample)
    lock = text("SELECT pg_advisory_lock(hashtext(:org))")
    unlock = text("SELECT pg_advisory_unlock(hashtext(:org))")
    # Another process scores the organization. It locks first: a decision that finds no run
    # holds the lock shared until its transaction ends, and this test's decisions share one.
    with engine.connect() as other:
        other.execute(lock, {"org": scored_sample})
        try:
            feedback.record_feedback(  # the first verdict may queue its teammates' rescoring too
                session, scored_sample, okr_id, objective_id, verdict="rejected", decided_by="ana"
            )
            session.execute(
                update(Job).where(Job.org_id == scored_sample).values(status="succeeded")
            )
            during = feedback.record_feedback(
                session, scored_sample, okr_id, objective_id, verdict="rejected", decided_by="ben"
            )
            check_in = session.scalars(
                select(CheckInDrift.check_in_id).where(CheckInDrift.org_id == scored_sample)
            ).first()
            check_in_review.decide(
                session, scored_sample, check_in, verdict="on_topic", decided_by="ana"
            )
        finally:
            other.execute(unlock, {"org": scored_sample})
    queued = session.get(Job, during["rescoring_job"])
    assert queued.status == "queued" and queued.kind == "score"
    assert queued.requests == 2  # the check-in decision joined the same queued run
    session.execute(update(Job).where(Job.org_id == scored_sample).values(status="succeeded"))
    quiet = feedback.record_feedback(
        session, scored_sample, okr_id, objective_id, verdict="rejected", decided_by="ana"
    )
    assert quiet["rescoring_job"] is None  # the same verdict again, and no run under way
    score_organization(session, scored_sample, embedder=embedder)  # this transaction's own lock
    again = feedback.record_feedback(
        session, scored_sample, okr_id, objective_id, verdict="rejected", decided_by="cy"
    )
    assert again["rescoring_job"] is None  # a run of the deciding transaction itself is done


def test_decisions_while_a_run_rewrites_the_rows_neither_wait_nor_fail(
    session, scored_sample, engine
):
    """A run deletes and rewrites every stored link and drift row. A decision made meanwhile
    must not update those rows: it would wait for the run, then find them gone, or deadlock
    with it when one rejection updates several links. The queued run applies it."""
    from sqlalchemy import text

    from alignment import check_in_review, review
    from alignment.models import CheckInDrift, Job, LinkFeedback

    waiting = [
        okr
        for okr, rows in review.candidates_by_okr(session, scored_sample).items()
        if rows and not any(r.label == "aligned" for r in rows)
    ]
    assert waiting, "the sample has OKRs awaiting review"
    check_in = session.scalars(
        select(CheckInDrift.check_in_id).where(CheckInDrift.org_id == scored_sample)
    ).first()
    session.execute(text("SET LOCAL lock_timeout = '3s'"))  # the old code waited here
    # As a scoring run about to rewrite the rows: the lock, then the rows it deletes locked
    # (a real run's delete also bumps the organization's read version, which every write of
    # the decision waits for; that wait ends when the run commits and is no deadlock).
    with engine.connect() as run:
        run.execute(text("SELECT pg_advisory_xact_lock(hashtext(:org))"), {"org": scored_sample})
        for model in (ScoredLink, CheckInDrift):
            run.execute(select(model).where(model.org_id == scored_sample).with_for_update())
        try:
            rejected = review.reject(session, scored_sample, waiting[0], decided_by="ana")
            check_in_review.decide(
                session, scored_sample, check_in, verdict="drifting", decided_by="ana"
            )
        finally:
            run.rollback()
    assert len(rejected) >= 1 and all(r["rescoring_job"] for r in rejected)
    assert session.get(Job, rejected[0]["rescoring_job"]).status == "queued"
    kept = session.scalars(
        select(LinkFeedback.verdict).where(
            LinkFeedback.org_id == scored_sample, LinkFeedback.okr_id == waiting[0]
        )
    ).all()
    assert kept and set(kept) == {"rejected"}


def test_a_check_in_decision_made_while_a_run_writes_is_not_overwritten(
    session, scored_sample, embedder, monkeypatch
):
    from alignment import check_in_review
    from alignment.models import CheckInDrift
    from alignment.scoring import stage

    check_in = session.scalars(
        select(CheckInDrift.check_in_id).where(
            CheckInDrift.org_id == scored_sample, CheckInDrift.verdict == "needs_review"
        )
    ).first()
    real, calls = stage.insert, []

    def decided_meanwhile(table):
        # A person decides while this run writes its links, after it scored the drift.
        if not calls:
            check_in_review.decide(
                session, scored_sample, check_in, verdict="drifting", decided_by="ana"
            )
        calls.append(table)
        return real(table)

    monkeypatch.setattr(stage, "insert", decided_meanwhile)
    score_organization(session, scored_sample, embedder=embedder)
    session.expire_all()
    row = session.get(CheckInDrift, {"org_id": scored_sample, "check_in_id": check_in})
    assert (row.verdict, row.evidence.get("decided_by")) == ("drifting", "ana")


def test_reconfirming_a_link_whose_text_changed_moves_the_teammates_again(
    session, scored_sample, embedder
):
    row = session.scalars(
        select(ScoredLink).where(
            ScoredLink.org_id == scored_sample, ScoredLink.okr_id == "O-1", ScoredLink.rank == 1
        )
    ).one()
    objective_id = row.objective_id
    feedback.record_feedback(
        session, scored_sample, "O-1", objective_id, verdict="confirmed", decided_by="ana"
    )
    okr = session.get(Okr, {"org_id": scored_sample, "id": "O-1"})
    okr.title = okr.title + " in every region"
    session.flush()
    score_organization(session, scored_sample, embedder=embedder)  # the confirmation is stale
    from alignment.models import Job

    session.execute(update(Job).where(Job.org_id == scored_sample).values(status="succeeded"))
    again = feedback.record_feedback(
        session, scored_sample, "O-1", objective_id, verdict="confirmed", decided_by="ana"
    )
    assert again["rescoring_job"] is not None


def test_scoring_announces_each_new_orphan_once_whichever_path_scores(
    session, scored_sample, embedder
) -> None:
    """`okr.misaligned` comes from the score stage, so a report or the CLI that scores sends
    it too, and the run after it (the queued job) has nothing new to announce."""
    from alignment.models import WebhookDelivery, WebhookSubscription
    from alignment.review import okr_verdicts

    session.add(
        WebhookSubscription(
            org_id=scored_sample, url="https://hooks.example.com/gt",
            events=["okr.misaligned"], secret="whsec_test", created_by="test",
        )
    )  # fmt: skip
    session.flush()
    sent = select(WebhookDelivery.payload).where(
        WebhookDelivery.org_id == scored_sample, WebhookDelivery.event == "okr.misaligned"
    )
    add_okrs(session, scored_sample, "Repaint the staff canteen in colour {n}")
    first = score_organization(session, scored_sample, embedder=embedder)
    _, verdict = okr_verdicts(session, scored_sample)
    new = {f"O-NEW-{n}" for n in range(5)}
    assert first.newly_misaligned == sorted(o for o in new if verdict[o] == "orphan")
    assert first.newly_misaligned, "unrelated new OKRs are confident orphans"
    payloads = session.scalars(sent).all()
    assert sorted(p["data"]["okr_id"] for p in payloads) == first.newly_misaligned
    assert all(p["data"]["url"].endswith("/links") for p in payloads)

    again = score_organization(session, scored_sample, embedder=embedder)
    assert again.newly_misaligned == []
    assert len(session.scalars(sent).all()) == len(payloads)


def test_the_score_job_returns_and_announces_the_new_orphans(session, scored_sample, embedder):
    from alignment.jobs.execute import Services
    from alignment.jobs.handlers import score as score_job
    from alignment.models import Job, WebhookDelivery, WebhookSubscription

    session.add(
        WebhookSubscription(
            org_id=scored_sample, url="https://hooks.example.com/gt",
            events=["okr.misaligned"], secret="whsec_test", created_by="test",
        )
    )  # fmt: skip
    add_okrs(session, scored_sample, "Repaint the staff canteen in colour {n}")
    job = Job(org_id=scored_sample, kind="score", params={}, requested_by="test")
    session.add(job)
    session.flush()
    result = score_job(session, job, Services(embedder=embedder, drafter=None), lambda *a: None)
    sent = session.scalars(
        select(WebhookDelivery.payload).where(
            WebhookDelivery.org_id == scored_sample, WebhookDelivery.event == "okr.misaligned"
        )
    ).all()
    assert result["newly_misaligned"] and result["okrs"] == 55
    assert sorted(p["data"]["okr_id"] for p in sent) == result["newly_misaligned"]


STAMP = datetime(2020, 1, 1, tzinfo=UTC)


def _stamp_links(session, org_id: str) -> None:
    """An old time on the stored links: a run replaces every row, and new rows get now()."""
    stamped = update(ScoredLink).where(ScoredLink.org_id == org_id).values(scored_at=STAMP)
    session.execute(stamped)


def _links_rescored(session, org_id: str) -> bool:
    stamps = select(ScoredLink.scored_at).where(ScoredLink.org_id == org_id)
    return set(session.scalars(stamps)) != {STAMP}


def _run_job(session, job_id: int, embedder):
    """The job run as a worker runs it (`execute`), in a savepoint of the test's transaction."""
    from alignment.jobs.execute import Services, execute
    from alignment.models import Job
    from tests.jobs_support import savepoint

    services = Services(embedder=embedder, drafter=None)
    execute(job_id, attempt=0, max_attempts=0, services=services, scope=lambda: savepoint(session))
    session.expire_all()
    job = session.get(Job, job_id)
    assert job.status == "succeeded", job.error
    return job


def test_a_score_job_is_skipped_when_a_report_scored_first(session, scored_sample, embedder):
    """A decision queues its teammates' rescoring; a report built before that job runs scores
    first, and its run saw the job waiting: the job succeeds without scoring again, says so,
    and its result keeps the keys a scoring result has."""
    from alignment.models import Job, LastScoringRun
    from alignment.report import build_report
    from alignment.scoring.stage import ScoreSummary

    second = session.scalar(
        select(ScoredLink.objective_id).where(
            ScoredLink.org_id == scored_sample, ScoredLink.okr_id == "O-1", ScoredLink.rank == 2
        )
    )
    done = feedback.record_feedback(
        session, scored_sample, "O-1", second, verdict="confirmed", decided_by="ana"
    )
    queued = session.get(Job, done["rescoring_job"])
    assert queued is not None and queued.status == "queued"
    build_report(session, scored_sample, embedder=embedder)
    seen = select(LastScoringRun.waiting_jobs).where(LastScoringRun.org_id == scored_sample)
    assert session.scalar(seen) == {str(queued.id): 1}  # the report scored first
    _stamp_links(session, scored_sample)

    result = _run_job(session, queued.id, embedder).result
    assert not _links_rescored(session, scored_sample)
    assert result["skipped"] == "scored since queued"
    # When the run read the job, not its transaction's start: never before the job's creation.
    assert datetime.fromisoformat(result["scored_at"]) > queued.created_at
    assert set(ScoreSummary.__dataclass_fields__) <= result.keys()
    assert result["okrs"] == 50 and result["newly_misaligned"] == []
    assert result["texts_embedded"] == 0


def test_a_score_job_queued_or_joined_after_the_last_run_runs_in_full(
    session, scored_sample, embedder
):
    from alignment.jobs import SCORE_PARAMS, enqueue

    score_organization(session, scored_sample, embedder=embedder)
    after = enqueue(session, scored_sample, "score", SCORE_PARAMS, requested_by="ana").job
    _stamp_links(session, scored_sample)
    result = _run_job(session, after.id, embedder).result
    assert "skipped" not in result and result["okrs"] == 50
    assert _links_rescored(session, scored_sample)

    waiting = enqueue(session, scored_sample, "score", SCORE_PARAMS, requested_by="ana").job
    score_organization(session, scored_sample, embedder=embedder)  # saw it, with one request
    joined = enqueue(session, scored_sample, "score", SCORE_PARAMS, requested_by="ben")
    assert joined.deduplicated and joined.job.id == waiting.id  # a change the run never saw
    _stamp_links(session, scored_sample)
    result = _run_job(session, waiting.id, embedder).result
    assert "skipped" not in result
    assert _links_rescored(session, scored_sample)


@contextmanager
def _throwaway_org(engine):
    """A committed organization (small_bundle) for tests that need two connections; removed
    afterwards with its jobs' queue rows."""
    import uuid

    from sqlalchemy import delete, text
    from sqlalchemy.orm import Session

    from alignment.imports import import_document
    from alignment.models import Job, Organization
    from tests.factories import small_bundle

    org = f"race-{uuid.uuid4().hex[:8]}"
    with Session(engine) as s, s.begin():
        import_document(s, small_bundle(org))
    try:
        yield org
    finally:
        with Session(engine) as s, s.begin():
            queued = list(s.scalars(select(Job.queue_job_id).where(Job.org_id == org)))
            s.execute(text("delete from procrastinate_jobs where id = any(:ids)"), {"ids": queued})
            s.execute(delete(Organization).where(Organization.id == org))


def _execute_committed(engine, job_id: int, embedder) -> None:
    """The job run as a worker runs it, in a transaction of its own that commits."""
    from sqlalchemy.orm import Session

    from alignment.jobs.execute import Services, execute

    @contextmanager
    def committed():
        with Session(engine) as s, s.begin():
            yield s

    services = Services(embedder=embedder, drafter=None)
    execute(job_id, attempt=0, max_attempts=0, services=services, scope=committed)


def test_a_run_that_began_before_the_job_was_queued_does_not_skip_it(engine, embedder):
    """An import (here: a new check-in) and the job it queues commit together; a run whose
    transaction began after the import's did, but read the records before it committed, never
    saw the check-in. Its start time is after the job's `created_at`, yet the job runs."""
    from sqlalchemy.orm import Session

    from alignment.jobs import SCORE_PARAMS, enqueue
    from alignment.models import CheckIn, CheckInDrift, Job, LastScoringRun
    from alignment.models import content_hash as hashed

    words = "Pharmacists now attend the ward round on Mondays."
    with _throwaway_org(engine) as org:
        with Session(engine) as importing, Session(engine) as scoring:
            importing.begin()
            importing.add(
                CheckIn(
                    org_id=org, id="C-NEW", okr_id="O-1", text=words, content_hash=hashed(words)
                )
            )
            job_id = enqueue(importing, org, "score", SCORE_PARAMS, requested_by="import").job.id
            with scoring.begin():
                score_organization(scoring, org, embedder=embedder)
                importing.commit()  # while the run is still open: it read the records before
        with Session(engine) as s:
            started = s.scalar(
                select(LastScoringRun.started_at).where(LastScoringRun.org_id == org)
            )
            assert started > s.get(Job, job_id).created_at  # a start-time rule would skip
            assert s.get(CheckInDrift, {"org_id": org, "check_in_id": "C-NEW"}) is None
        _execute_committed(engine, job_id, embedder)
        with Session(engine) as s:
            ran = s.get(Job, job_id)
            assert ran.status == "succeeded" and "skipped" not in ran.result
            assert s.get(CheckInDrift, {"org_id": org, "check_in_id": "C-NEW"}) is not None


def test_a_job_queued_by_an_import_that_commits_during_a_run_runs_in_full(engine, embedder):
    """The run reads the waiting jobs right after its lock, before any record. An import that
    commits while the run is embedding (from its `progress` callback) queued a job the run never
    saw, with a check-in the run never read: that job runs in full afterwards. Were the jobs
    read later (say, just before the run is recorded), the run would see the job and it would
    skip, and the check-in would stay unscored."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from alignment.imports import import_document
    from alignment.jobs import SCORE_PARAMS, enqueue
    from alignment.models import CheckInDrift, Job
    from tests.factories import small_bundle

    with _throwaway_org(engine) as org:
        bundle = small_bundle(org)
        bundle["check_ins"].append(
            {
                "id": "C-NEW", "okr": "O-1", "key_result": None, "date": "2026-08-20",
                "value": None, "confidence": None,
                "text": "Pharmacists now attend the ward round on Mondays.",
            }
        )  # fmt: skip
        queued: list[int] = []

        def import_meanwhile(done: int, total: int) -> None:
            if queued:
                return
            with Session(engine) as s, s.begin():
                s.execute(text("SET LOCAL lock_timeout = '10s'"))  # never hang on the run
                assert import_document(s, bundle).changed
                queued.append(enqueue(s, org, "score", SCORE_PARAMS, requested_by="import").job.id)

        with Session(engine) as scoring, scoring.begin():
            score_organization(scoring, org, embedder=embedder, progress=import_meanwhile)
        [job_id] = queued  # committed during the run, before the run wrote anything
        with Session(engine) as s:
            assert s.get(CheckInDrift, {"org_id": org, "check_in_id": "C-NEW"}) is None
        _execute_committed(engine, job_id, embedder)
        with Session(engine) as s:
            ran = s.get(Job, job_id)
            assert ran.status == "succeeded", ran.error
            assert "skipped" not in ran.result and ran.result["check_ins"] == 3
            assert s.get(CheckInDrift, {"org_id": org, "check_in_id": "C-NEW"}) is not None


def test_a_run_with_another_model_does_not_cover_a_job(session, scored_sample, embedder):
    """A run that saw the job, but scored with another model than the job's, leaves the job to
    run in full."""
    from sqlalchemy import text

    from alignment.jobs import SCORE_PARAMS, enqueue
    from alignment.models import LastScoringRun

    waiting = enqueue(session, scored_sample, "score", SCORE_PARAMS, requested_by="ana").job
    other = CountingEmbedder(embedder)
    other.model_name = "another-model"
    # The same vectors stored under the other name: the run needs no model calls.
    copied = text(
        "insert into text_embeddings (org_id, model, content_hash, embedding, searchable) "
        "select org_id, 'another-model', content_hash, embedding, searchable "
        "from text_embeddings where org_id = :org and model = :model"
    )
    session.execute(copied, {"org": scored_sample, "model": embedder.model_name})
    score_organization(session, scored_sample, embedder=other)
    assert other.texts == []
    seen = select(LastScoringRun.waiting_jobs, LastScoringRun.summary["model"].astext)
    assert session.execute(seen.where(LastScoringRun.org_id == scored_sample)).one() == (
        {str(waiting.id): 1},
        "another-model",
    )  # it saw the job, with its requests
    _stamp_links(session, scored_sample)
    result = _run_job(session, waiting.id, embedder).result
    assert "skipped" not in result and result["model"] == embedder.model_name
    assert _links_rescored(session, scored_sample)


def test_a_job_that_asks_for_an_llm_pass_is_never_covered(session, scored_sample, embedder):
    """A report's run (or a plain `goldenthread score`) makes no LLM pass: a job that asks for
    one runs, even when that run saw it waiting; a plain job the same run saw is covered."""
    from alignment.jobs import SCORE_PARAMS, enqueue
    from alignment.models import LastScoringRun
    from alignment.scoring.runs import covering_run

    plain = enqueue(session, scored_sample, "score", SCORE_PARAMS, requested_by="ana").job
    asking = enqueue(session, scored_sample, "score", {"adjudicate": True}, requested_by="ana").job
    assert asking.id != plain.id
    score_organization(session, scored_sample, embedder=embedder)
    seen = select(LastScoringRun.waiting_jobs).where(LastScoringRun.org_id == scored_sample)
    assert session.scalar(seen) == {str(plain.id): 1, str(asking.id): 1}
    assert covering_run(session, plain, embedder.model_name) is not None
    assert covering_run(session, asking, embedder.model_name) is None


def test_a_join_is_counted_in_the_database_not_on_a_stale_object(engine):
    """`requests` decides whether a score job runs: a session that already holds the job (its
    `requests` read earlier) and joins it after another request joined and committed counts
    both."""
    from sqlalchemy.orm import Session

    from alignment.jobs import SCORE_PARAMS, enqueue
    from alignment.models import Job

    with _throwaway_org(engine) as org:
        with Session(engine) as s, s.begin():
            job_id = enqueue(s, org, "score", SCORE_PARAMS, requested_by="import").job.id
        with Session(engine) as holding:
            holding.begin()
            held = holding.get(Job, job_id)
            assert held.requests == 1
            with Session(engine) as other, other.begin():
                assert enqueue(other, org, "score", SCORE_PARAMS, requested_by="ana").deduplicated
            joined = enqueue(holding, org, "score", SCORE_PARAMS, requested_by="ben")
            assert joined.deduplicated and joined.job is held and held.requests == 3
            holding.commit()
        with Session(engine) as s:
            assert s.get(Job, job_id).requests == 3


def test_a_run_cannot_start_between_a_decision_and_its_commit(engine, embedder):
    """A decision that found no run under way holds the scoring lock shared until it commits:
    a run that tries meanwhile is told one is in progress (its job retries), and the run after
    the commit stores the decision. Without the hold that run would read feedback without it,
    and the job it saw waiting would skip instead of scoring again (scoring/runs.py)."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from alignment.scoring.stage import ScoringInProgress

    with _throwaway_org(engine) as org:
        with Session(engine) as s, s.begin():
            score_organization(s, org, embedder=embedder)
        with Session(engine) as deciding:
            deciding.begin()
            decided = feedback.record_feedback(
                deciding, org, "O-1", "SO-2", verdict="confirmed", decided_by="ana"
            )
            assert decided["rescoring_job"] is None  # no teammates, no run: nothing queued
            with Session(engine) as scoring, scoring.begin(), pytest.raises(ScoringInProgress):
                scoring.execute(text("SET LOCAL lock_timeout = '5s'"))  # fail, never hang
                score_organization(scoring, org, embedder=embedder)
            deciding.commit()
        with Session(engine) as s, s.begin():
            score_organization(s, org, embedder=embedder)
        with Session(engine) as s:
            row = s.get(ScoredLink, {"org_id": org, "okr_id": "O-1", "objective_id": "SO-2"})
            assert row is not None and row.label == "aligned"
