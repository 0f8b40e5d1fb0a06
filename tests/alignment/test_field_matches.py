"""Each OKR field's best match per objective, by either layout, equals the plain maximum.

Equal up to float32 rounding: a product computed in chunks may round differently from the whole
matrix's, depending on the CPU's BLAS kernel (exact on one machine, off by an ulp on another)."""

from __future__ import annotations

import numpy as np
import pytest

from alignment.scoring.link_features import FieldMatches, _Fields


def fields(counts: list[int]) -> _Fields:
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.searchsorted(owner, np.arange(len(counts)))
    names = [f"f{i}" for i in range(len(owner))]
    return _Fields(owner, names, names, starts)


@pytest.mark.parametrize(
    "objective_fields",
    [[3, 3, 3, 3, 2, 3], [1, 12, 2, 1, 1, 2]],  # even: slot layout; one with many KPIs: reduceat
    ids=["even", "uneven"],
)
def test_best_per_objective_is_the_maximum_over_each_objectives_fields(objective_fields) -> None:
    rng = np.random.default_rng(5)
    okr_vectors = rng.standard_normal((37, 16)).astype(np.float32)
    obj = fields(objective_fields)
    obj_vectors = rng.standard_normal((len(obj.owner), 16)).astype(np.float32)
    matches = FieldMatches(okr_vectors, obj_vectors, fields([37]), obj)
    products = okr_vectors @ obj_vectors.T
    expected = np.stack(
        [products[:, obj.owner == j].max(axis=1) for j in range(len(objective_fields))], axis=1
    )
    np.testing.assert_allclose(matches.best_per_objective(chunk=8), expected, rtol=1e-6, atol=1e-5)
