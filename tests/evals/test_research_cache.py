"""The research scripts' per-organization feature cache never serves one organization's
features to another (CI once fitted a different calibration because of it)."""

import gc
import hashlib

import numpy as np

from alignment.scoring.documents import KeyResultDoc, ObjectiveDoc, OkrDoc
from evals import research


def _vectors(texts) -> np.ndarray:
    # Any fixed text -> unit vector will do: the cache, not the model, is under test.
    rows = []
    for t in texts:
        seed = int.from_bytes(hashlib.sha1(t.encode()).digest()[:4], "big")
        v = np.random.default_rng(seed).standard_normal(384)
        rows.append(v / np.linalg.norm(v))
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), 384)


def _org(name: str, words: list[str]) -> research.Org:
    objectives = [ObjectiveDoc(f"SO-{i}", w, None, None, ()) for i, w in enumerate(words)]
    okrs = [
        OkrDoc(f"O-{i}", f"{w} plan", None, (KeyResultDoc(f"KR-{i}", f"{w} up"),), (), None)
        for i, w in enumerate(words)
    ]
    labels = {"links": {f"O-{i}": [f"SO-{i}"] for i in range(len(words))}}
    return research.Org(name, "dev", objectives, okrs, [], labels)


def test_an_organization_created_where_a_freed_one_lived_gets_its_own_features() -> None:
    second = _org("second", ["safety", "wells", "permits", "audits"])
    own = research._link_data(second, _vectors)[0]
    cached = len(research._FEATURES)
    first = _org("first", ["revenue", "churn", "hiring"])
    assert research._link_data(first, _vectors)[0].shape == (3, 3, 9)
    assert len(research._FEATURES) == cached + 1
    address = id(first)
    del first
    gc.collect()
    assert len(research._FEATURES) == cached  # the features went with their organization

    # CPython hands a freed object's address to a later object of the same size; an id()-keyed
    # cache then answered with the freed organization's 3 x 3 features. Best effort: the address
    # comes back within these tries about half the time (the length check above always runs).
    alive = []
    for _ in range(20_000):
        org = research.Org("again", "dev", second.objectives, second.okrs, [], second.labels)
        if id(org) == address:
            assert np.array_equal(research._link_data(org, _vectors)[0], own)
            break
        alive.append(org)
