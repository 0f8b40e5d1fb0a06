"""The embed stage's storage: vectors stored while the model encodes, found again by hash."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select

from alignment.embed import VectorCache, store_vectors
from alignment.models import Organization, TextEmbedding, content_hash


def _org(session, org_id: str = "embed-test") -> str:
    session.add(Organization(id=org_id, name="Embed test"))  # left pending: the cache flushes
    return org_id


def _stored(session, org_id: str) -> int:
    return session.scalar(select(func.count()).where(TextEmbedding.org_id == org_id))


def test_texts_over_several_chunks_come_back_in_order_and_are_all_stored(session, embedder) -> None:
    org = _org(session)
    # More than one chunk (256 texts), lengths mixed so the length sort reorders them.
    texts = [f"Cut {'very ' * (i % 7)}late deliveries for depot {i}" for i in range(300)]
    seen: list[tuple[int, int]] = []
    cache = VectorCache(
        session, org, embedder, progress=lambda done, total: seen.append((done, total))
    )

    vectors = cache(texts)

    np.testing.assert_allclose(vectors, embedder.encode(texts), atol=1e-5)
    assert cache.encoded == 300
    assert _stored(session, org) == 300
    assert seen[-1] == (300, 300) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    again = VectorCache(session, org, embedder)
    np.testing.assert_allclose(again(texts[::-1]), vectors[::-1], atol=1e-6)
    assert again.encoded == 0


def test_preview_encodes_without_storing(session, embedder) -> None:
    org = _org(session)
    cache = VectorCache(session, org, embedder, persist=False)
    cache(["Open two new depots in the north"])
    assert cache.encoded == 1
    assert _stored(session, org) == 0


def test_a_vector_stored_meanwhile_is_kept_not_an_error(session, embedder) -> None:
    # Another scoring run of the organization may store the same text between lookup and write.
    org = _org(session)
    text = "Halve the time to onboard a new driver"
    first = embedder.encode([text])[0]
    store_vectors(session, org, embedder.model_name, [(content_hash(text), first)])
    store_vectors(session, org, embedder.model_name, [(content_hash(text), -first)])
    assert _stored(session, org) == 1
    np.testing.assert_allclose(VectorCache(session, org, embedder)([text])[0], first, atol=1e-6)


def _searchable(session, org_id: str) -> dict[str, bool]:
    rows = session.execute(
        select(TextEmbedding.content_hash, TextEmbedding.searchable).where(
            TextEmbedding.org_id == org_id
        )
    )
    return dict(rows.tuples().all())


def test_only_searchable_texts_enter_the_similarity_index(session, embedder) -> None:
    org = _org(session)
    title, checkin = "Cut missed collections to 1 in 500", "Drove the new route twice this week"
    VectorCache(session, org, embedder, searchable=[title])([title, checkin])
    assert _searchable(session, org) == {content_hash(title): True, content_hash(checkin): False}


def test_a_stored_text_becomes_searchable_when_a_later_run_needs_it(session, embedder) -> None:
    # A check-in that reads exactly like a key result written later: one vector, now searched.
    org = _org(session)
    text = "Ship the driver app to every depot"
    VectorCache(session, org, embedder)([text])
    assert _searchable(session, org) == {content_hash(text): False}

    later = VectorCache(session, org, embedder, searchable=[text])
    later([text])
    assert later.encoded == 0
    assert _searchable(session, org) == {content_hash(text): True}
    # A concurrent run that stores the same text as searchable upgrades, never downgrades.
    other = "Renew the canteen contract"
    vector = embedder.encode([other])[0]
    store_vectors(session, org, embedder.model_name, [(content_hash(other), vector)])
    store_vectors(
        session, org, embedder.model_name, [(content_hash(other), vector)], searchable=True
    )
    store_vectors(session, org, embedder.model_name, [(content_hash(other), vector)])
    assert _searchable(session, org)[content_hash(other)] is True


def test_previews_never_write_even_for_searchable_texts(session, embedder) -> None:
    org = _org(session)
    text = "Open two new depots in the north"
    VectorCache(session, org, embedder)([text])
    VectorCache(session, org, embedder, persist=False, searchable=[text])([text])
    assert _searchable(session, org) == {content_hash(text): False}
