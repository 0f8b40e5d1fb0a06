"""The centering study: the common component and top directions removed, then renormalized."""

from types import SimpleNamespace

import numpy as np
import pytest

from evals import centering


def test_the_mean_is_removed_and_the_vectors_renormalized() -> None:
    vectors = np.array([[1.0, 0.2, 0.0], [1.0, -0.2, 0.0], [1.0, 0.0, 0.4]])
    mapped = centering.centering(vectors)(vectors)
    assert np.linalg.norm(mapped, axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-6)
    # The shared first coordinate is gone: what is left is what tells the vectors apart.
    assert mapped[:, 0] == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)
    assert float(mapped[0] @ mapped[1]) < 0.0 < float(vectors[0] @ vectors[1])


def test_all_but_the_top_removes_the_main_direction_too() -> None:
    rng = np.random.default_rng(0)
    spread = rng.normal(size=(20, 1)) * np.array([[0.0, 3.0, 0.0, 0.0]])
    vectors = np.array([5.0, 0.0, 0.0, 0.0]) + spread + 0.1 * rng.normal(size=(20, 4))
    top = centering.centering(vectors, top=1)
    assert abs(top.directions[0] @ np.array([0.0, 1.0, 0.0, 0.0])) == pytest.approx(1.0, abs=0.01)
    assert np.abs(top(vectors)[:, 1]).max() < 0.05
    # Never more directions than the vectors span.
    assert len(centering.centering(vectors[:2], top=3).directions) == 1


def test_the_global_mean_of_an_organization_leaves_its_own_texts_out() -> None:
    def org(name: str, vector: list[float]) -> SimpleNamespace:
        obj = SimpleNamespace(id=f"{name}-o", title=name, description=None, kpis=())
        return SimpleNamespace(objectives=[obj], okrs=[], vector=np.array(vector))

    orgs = [org("a", [1.0, 0.0]), org("b", [0.0, 1.0]), org("c", [0.0, 3.0])]
    vectors = {o.objectives[0].title: o.vector for o in orgs}
    centering.set_global_means(orgs, lambda texts: np.stack([vectors[t] for t in texts]))
    key = centering._key(orgs[0].objectives, orgs[0].okrs)
    assert centering.GLOBAL[key] == pytest.approx([0.0, 2.0])
