"""Drift scoring on the crafted organization of test_link_scores, with the real model (no DB)."""

from __future__ import annotations

import pytest

from alignment.scoring.drift import DEFAULT, DriftItem, score_drift, verdict
from alignment.scoring.drift_features import FEATURES, drift_features
from tests.alignment.test_link_scores import OKRS, embed

BY_ID = {o.id: o for o in OKRS}


def item(cid: str, okr_id: str, kr_index: int | None, text: str) -> DriftItem:
    okr = BY_ID[okr_id]
    return DriftItem(cid, text, okr, okr.key_results[kr_index] if kr_index is not None else None)


ON_TOPIC = (
    item(
        "C-1",
        "O-1",
        0,
        "Pharmacists reached 41 of 52 discharged heart-failure patients by "
        "phone within two days; the rest had wrong numbers on file.",
    ),
    item(
        "C-2",
        "O-3",
        0,
        "Another 15% of patient charts moved off the legacy system into Epic; "
        "scanned PDFs are the slow part.",
    ),
    item(
        "C-3",
        "O-4",
        0,
        "Nurse turnover this quarter is 13%; exit interviews point at night shifts.",
    ),
    item(
        "C-4",
        "O-7",
        None,
        "Median wait at the walk-in clinics dropped to 24 minutes after we added a triage nurse.",
    ),
    item("C-5", "O-2", 0, "Two self-insured employers are in final contract review."),
)
DRIFTING = (
    # Filed under medicines-at-discharge, but it is contract work (O-2's).
    item(
        "C-6",
        "O-1",
        0,
        "Spent the week negotiating pricing terms with two self-insured "
        "employers and their brokers.",
    ),
    # Filed under the EHR migration, but it is about mentoring nurses (O-4's).
    item("C-7", "O-3", 1, "Ran the first mentoring circle for new nurses; twelve attended."),
    # Filed under nurse retention, about nothing in the organization's plan.
    item("C-8", "O-4", 1, "Repainted level two of the parking garage and chose a contractor."),
)


@pytest.fixture(scope="module")
def scores():
    return {s.checkin_id: s for s in score_drift([*ON_TOPIC, *DRIFTING], embed=embed, okrs=OKRS)}


def test_scores_are_probabilities_with_evidence(scores) -> None:
    assert len(scores) == len(ON_TOPIC) + len(DRIFTING)
    for s in scores.values():
        assert 0.0 <= s.score <= 1.0
        assert s.own_field == "title" or s.own_field.startswith(("key_result:", "description"))


def test_drift_detected(scores) -> None:
    # C-7 (mentoring nurses, filed under the EHR migration) is missed by the flag since the
    # drift calibration was fitted on more writing styles for precision (evals/README.md, "The
    # drift flag fitted on more styles"): it scores about 0.38 against the 0.45 flag, still ten
    # times any on-topic note (the ranking test below), so a person decides it.
    flagged = {it.id for it in DRIFTING if scores[it.id].drifting}
    assert flagged == {"C-6", "C-8"}
    assert scores["C-7"].verdict == "needs_review"


def test_on_topic_notes_are_not_sent_to_review(scores) -> None:
    assert {scores[it.id].verdict for it in ON_TOPIC} == {"on_topic"}


def test_on_topic_not_flagged(scores) -> None:
    for it in ON_TOPIC:
        assert not scores[it.id].drifting, it.id


def test_every_drifting_checkin_scores_above_every_on_topic_one(scores) -> None:
    assert min(scores[i.id].score for i in DRIFTING) > max(scores[i.id].score for i in ON_TOPIC)


def test_nearest_other_okr_is_where_the_work_belongs(scores) -> None:
    assert scores["C-6"].nearest_okr_id in {"O-2", "O-5"}
    assert scores["C-7"].nearest_okr_id == "O-4"


def test_empty_batch() -> None:
    assert score_drift([], embed=embed) == []


def test_a_reported_figure_reads_as_progress() -> None:
    # Same words, one quoting the metric: progress reports carry figures, drift rarely does.
    vague = item("C-9", "O-4", 0, "Nurse turnover this quarter went down, exit interviews done.")
    figure = item(
        "C-10", "O-4", 0, "Nurse turnover this quarter went down to 13%, 9 exit interviews done."
    )
    batch = [*ON_TOPIC, *DRIFTING, vague, figure]
    got = {s.checkin_id: s.score for s in score_drift(batch, embed=embed, okrs=OKRS)}
    assert got["C-10"] < got["C-9"]


def test_learned_direction_leans_toward_other_work() -> None:
    batch = [*ON_TOPIC, *DRIFTING]
    x, _ = drift_features(batch, embed=embed, okrs=OKRS)
    lean = dict(zip((it.id for it in batch), x[:, FEATURES.index("direction")], strict=True))
    # The garage repaint is work no OKR is about; C-6 and C-7 are other OKRs' work (the gaps).
    assert lean["C-8"] > max(lean[it.id] for it in ON_TOPIC)
    # A direction of another width (another embedding model) is ignored, not an error.
    x, _ = drift_features(batch, embed=embed, okrs=OKRS, direction=(1.0, 0.0))
    assert not x[:, FEATURES.index("direction")].any()


def test_three_verdicts_confident_drift_a_review_band_and_on_topic(scores) -> None:
    assert 0 < DEFAULT.review < DEFAULT.threshold  # fitted (calibration.json)
    assert verdict(DEFAULT.threshold, DEFAULT) == "drifting"
    assert verdict(DEFAULT.threshold - 0.001, DEFAULT) == "needs_review"
    assert verdict(DEFAULT.review, DEFAULT) == "needs_review"
    assert verdict(DEFAULT.review - 0.001, DEFAULT) == "on_topic"
    for s in scores.values():
        assert s.verdict == verdict(s.score, DEFAULT) and s.drifting == (s.verdict == "drifting")


def test_the_features_default_to_the_shipped_drift_calibration() -> None:
    """drift_features reads its defaults from the calibration file itself (drift imports it,
    not the other way round): they must be the ones score_drift uses."""
    import inspect

    defaults = inspect.signature(drift_features).parameters
    assert defaults["kr_bonus"].default == DEFAULT.kr_bonus
    assert tuple(defaults["direction"].default) == tuple(DEFAULT.direction)


def test_a_score_at_the_flag_with_nothing_to_cite_is_left_to_a_person() -> None:
    """A drift finding needs evidence its reason can cite (drift.evidenced): another OKR
    closer than its own, routine work closer than its own OKR, or its own OKR's best match
    under the organization's typical. Without any, a score at the flag goes to review."""
    from alignment.scoring import drift as drift_module

    level = drift_module.DEFAULT.threshold
    plain = {"own": 0.64, "near": 0.5, "chore_similarity": 0.3, "typical": 0.55}
    assert not drift_module.evidenced(plain)
    assert drift_module.verdict(level, drift_module.DEFAULT, evidenced=False) == "needs_review"
    assert drift_module.verdict(level, drift_module.DEFAULT) == "drifting"
    for backed in ({"near": 0.7}, {"chore_similarity": 0.7}, {"typical": 0.7}):
        assert drift_module.evidenced({**plain, **backed}), backed
