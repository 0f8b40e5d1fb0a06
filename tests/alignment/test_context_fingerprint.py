"""The context hash that decides whether an OKR's stored labels are kept (scoring/stability.py)."""

from dataclasses import replace

from alignment.models import content_hash
from alignment.scoring import calibration, stability
from alignment.scoring.documents import ObjectiveDoc

OBJECTIVES = [ObjectiveDoc("SO-1", "Grow revenue", "From new customers", "financial", ("ARR",))]
# The calibration's fields before the pairwise products existed (2026-12-06).
LINEAR_FIELDS = ("aligned", "bias", "full_weight", "margin", "weak", "weights")


def test_a_linear_calibration_keeps_the_hash_it_had_before_the_product_fields() -> None:
    cal = calibration.DEFAULT
    old = repr(sorted((k, getattr(cal, k)) for k in LINEAR_FIELDS))
    parts = ["SO-1\x1fGrow revenue\x1fFrom new customers\x1fARR"]
    assert stability.context_fingerprint(OBJECTIVES, cal, "m") == content_hash("m", old, *parts)


def test_products_in_the_calibration_change_the_context() -> None:
    linear = stability.context_fingerprint(OBJECTIVES, calibration.DEFAULT, "m")
    n = len(calibration.DEFAULT.weights)
    quadratic = replace(
        calibration.DEFAULT,
        center=(0.0,) * n,
        scale=(1.0,) * n,
        quadratic=(0.1,) * (n * (n + 1) // 2),
    )
    assert stability.context_fingerprint(OBJECTIVES, quadratic, "m") != linear
    assert stability.context_fingerprint(
        OBJECTIVES, replace(quadratic, quadratic=(0.2,) * 45), "m"
    ) != (stability.context_fingerprint(OBJECTIVES, quadratic, "m"))
