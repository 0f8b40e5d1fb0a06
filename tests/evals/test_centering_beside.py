"""Centered features beside the plain nine: extra columns, the nine unchanged, then restored."""

import hashlib

import numpy as np
import pytest

from alignment.scoring import link_features
from alignment.scoring.documents import KeyResultDoc, ObjectiveDoc, OkrDoc
from evals import centering, centering_beside


def _embed(texts):
    """A fixed pseudo-random unit vector per text, with a large shared component."""
    out = []
    for t in texts:
        seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little")
        v = np.random.default_rng(seed).normal(size=16) + 4.0
        out.append(v / np.linalg.norm(v))
    return np.stack(out).astype(np.float32)


OBJECTIVES = [ObjectiveDoc(f"o{i}", f"objective {i}", f"about {i}", None, ()) for i in range(3)]
OKRS = [
    OkrDoc(f"k{i}", f"okr {i}", None, (KeyResultDoc(f"r{i}", f"result {i}"),), (), None, "t")
    for i in range(5)
]


def _x(name: str) -> np.ndarray:
    centering_beside.use_variant(name)
    return link_features.pair_features(OBJECTIVES, OKRS, embed=_embed).x


def test_the_centered_columns_come_after_the_plain_nine() -> None:
    try:
        plain, a = _x("plain"), _x("obj_mean")
        beside = _x("beside_z")
        assert link_features.FEATURES[9:] == ("col_z_c", "row_z_c")
        assert beside[..., :9] == pytest.approx(plain)
        # A's own col_z and row_z, read from the centered vectors.
        assert beside[..., 9] == pytest.approx(a[..., 1], abs=1e-6)
        assert beside[..., 10] == pytest.approx(a[..., 2], abs=1e-6)
        assert not np.allclose(beside[..., 9], plain[..., 1])
        rel = _x("beside_rel")
        assert rel.shape[-1] == 15
        assert rel[..., 9 + 3] == pytest.approx(a[..., 5], abs=1e-6)  # team, on A's z-scores
    finally:
        centering_beside.use_variant("plain")
    assert link_features.FEATURES == centering_beside.BASE_FEATURES
    assert link_features._prepare is centering.PLAIN_PREPARE


def _rows(right: int, made: int) -> dict:
    return {"dev": [{"flags_right": right, "flags": made}]}


def test_the_worst_folder_rule() -> None:
    plain_hits = {("dev", "a", "k1"): True, ("dev", "a", "k2"): False, ("real", "b", "k3"): False}
    results = {"plain": (_rows(5, 5), _rows(6, 6), plain_hits)}
    gains = {("dev", "a", "k1"): True, ("dev", "a", "k2"): True, ("real", "b", "k3"): True}
    results["good"] = (_rows(5, 5), _rows(6, 6), gains)
    results["fewer_flags"] = (_rows(4, 4), _rows(6, 6), gains)
    losses = {("dev", "a", "k1"): False, ("dev", "a", "k2"): False, ("real", "b", "k3"): True}
    results["net_zero"] = (_rows(5, 5), _rows(6, 6), losses)
    assert centering_beside.rule(results, "good")[0]
    assert not centering_beside.rule(results, "fewer_flags")[0]
    assert not centering_beside.rule(results, "net_zero")[0]
