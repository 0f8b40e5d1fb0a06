"""The context hash that decides whether an OKR's stored labels are kept (scoring/stability.py)."""

from dataclasses import replace

from alignment.models import content_hash
from alignment.scoring import calibration, stability
from alignment.scoring.documents import ObjectiveDoc

OBJECTIVES = [ObjectiveDoc("SO-1", "Grow revenue", "From new customers", "financial", ("ARR",))]
# The fields of a linear calibration over the nine plain features: the empty ones (no
# pairwise products, no feature names) are left out.
LINEAR_FIELDS = ("aligned", "bias", "full_weight", "margin", "weak", "weights")
PAIR = (calibration.DEFAULT, calibration.PLAIN)


def test_a_calibration_serving_both_keeps_the_hash_it_had_alone() -> None:
    """A small organization scores links and orphans with SMALL_ORG: its context hash is what
    it was before there were two calibrations (empty fields left out too)."""
    cal = calibration.SMALL_ORG
    fields = repr(sorted((k, getattr(cal, k)) for k in LINEAR_FIELDS))
    parts = ["SO-1\x1fGrow revenue\x1fFrom new customers\x1fARR"]
    assert stability.context_fingerprint(OBJECTIVES, [cal, cal], "m") == content_hash(
        "m", fields, *parts
    )


def test_products_in_the_calibration_change_the_context() -> None:
    linear = stability.context_fingerprint(OBJECTIVES, PAIR, "m")
    n = len(calibration.DEFAULT.weights)
    quadratic = replace(
        calibration.DEFAULT,
        center=(0.0,) * n,
        scale=(1.0,) * n,
        quadratic=(0.1,) * (n * (n + 1) // 2),
    )
    with_products = stability.context_fingerprint(OBJECTIVES, (quadratic, calibration.PLAIN), "m")
    assert with_products != linear
    other = replace(quadratic, quadratic=(0.2,) * (n * (n + 1) // 2))
    assert stability.context_fingerprint(OBJECTIVES, (other, calibration.PLAIN), "m") != (
        with_products
    )


def test_the_orphan_rules_calibration_is_part_of_the_context() -> None:
    """A refit of the orphan calibration alone decides the stored comparisons afresh."""
    moved = replace(calibration.PLAIN, bias=calibration.PLAIN.bias + 0.1)
    assert stability.context_fingerprint(OBJECTIVES, PAIR, "m") != (
        stability.context_fingerprint(OBJECTIVES, (calibration.DEFAULT, moved), "m")
    )
