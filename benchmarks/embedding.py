"""Embedding benchmark: the pipeline (encode + store in pgvector) vs raw `model.encode`.

    python -m benchmarks.embedding [--texts 5000] [--slices 5] [--okrs 500] [--quick]

Part 1 encodes the same distinct synthetic texts with the bare SentenceTransformer and through
`VectorCache` (which also writes every vector to `text_embeddings`), side by side in one run:
the model is warmed first, and the texts go in slices, each encoded by every side in turn with
the order rotating, so no side gets a cold start or a quieter moment of the machine. The ratio
is pipeline texts/s over `model.encode` texts/s (target >= 0.9). `--without-hnsw` repeats it
without the HNSW index on `text_embeddings`, to show what that index's upkeep costs.

Part 2 imports a synthetic organization, scores it twice, and checks that the second run
embeds nothing. Runs on a fresh embedded PostgreSQL (or DATABASE_URL) and deletes what it made.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from alignment.adapters.sentence_transformer import SentenceTransformerEmbedder
from alignment.embed import VectorCache
from alignment.imports import import_document
from alignment.score import score_organization
from alignment.settings import get_settings
from benchmarks.harness import database, machine_load, print_table, scratch_org
from benchmarks.synthetic import make_bundle

TARGET = 0.9
CHUNK = 256  # texts per model call in VectorCache (batch size 64 x 4)


def synthetic_texts(n: int) -> list[str]:
    """`n` distinct texts of realistic lengths: OKR titles and whole OKRs (title + key results)."""
    bundle = make_bundle(okrs=n, objectives=40, teams=50)
    texts: list[str] = []
    for okr in bundle["okrs"]:
        texts.append(okr["title"])
        texts.append(". ".join([okr["title"], *(kr["title"] for kr in okr["key_results"])]))
    return list(dict.fromkeys(texts))[:n]


def raw_encode(
    embedder: SentenceTransformerEmbedder, texts: list[str], *, chunk: int | None = None
) -> tuple[float, np.ndarray]:
    """Bare `model.encode`, in one call or in calls of `chunk` texts."""
    start = time.perf_counter()
    step = chunk or len(texts)
    vectors = np.concatenate(
        [
            embedder.model.encode(
                texts[i : i + step],
                batch_size=embedder.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            for i in range(0, len(texts), step)
        ]
    )
    return time.perf_counter() - start, vectors


def pipeline_encode(
    engine: Engine, embedder: SentenceTransformerEmbedder, texts: list[str], org_id: str
) -> tuple[float, np.ndarray, int]:
    """Encode through the cache and commit, as a scoring run does."""
    start = time.perf_counter()
    with Session(engine) as session, session.begin():
        cache = VectorCache(session, org_id, embedder)
        vectors = cache(texts)
    return time.perf_counter() - start, vectors, cache.encoded


def throughput(
    engine: Engine, embedder: SentenceTransformerEmbedder, n: int, slices: int, rounds: int
) -> bool:
    """Every side encodes every text, slice by slice, taking turns to go first.

    On a shared machine the load of other work drifts over minutes; short rotating turns spread
    it over all sides evenly. The pipeline pays its per-call costs (lookup, the last store that
    overlaps nothing) once per slice, so slicing can only understate it. Besides one
    `model.encode` call per slice (the baseline), `model.encode` in calls of CHUNK texts (as
    the pipeline calls the model) shows what storing alone costs.
    """
    texts = synthetic_texts(n)
    size = -(-len(texts) // slices)
    parts = [texts[i : i + size] for i in range(0, len(texts), size)]
    embedder.encode(texts[:512])  # warm-up: first calls pay for allocation and kernel choice
    sides = ["raw", "raw-chunked", "pipeline"]
    total = dict.fromkeys(sides, 0.0)
    vectors: dict[str, list[np.ndarray]] = {side: [] for side in sides}
    rows = []
    for r in range(rounds):
        # A fresh organization per round: every text is new to it, so every text is encoded.
        with scratch_org(engine, f"bench-embed-{r}") as org_id:
            for i, part in enumerate(parts):
                turn = r * len(parts) + i
                order = sides[turn % 3 :] + sides[: turn % 3]
                seconds = {}
                for side in order:
                    if side == "pipeline":
                        seconds[side], v, encoded = pipeline_encode(engine, embedder, part, org_id)
                        assert encoded == len(part), (encoded, len(part))
                    else:
                        chunk = CHUNK if side == "raw-chunked" else None
                        seconds[side], v = raw_encode(embedder, part, chunk=chunk)
                    total[side] += seconds[side]
                    vectors[side].append(v)
                rows.append(
                    (
                        f"round {r + 1} slice {i + 1} ({len(part):,} texts, {order[0]} first)",
                        *(f"{seconds[side]:.2f}" for side in sides),
                        f"{seconds['raw'] / seconds['pipeline']:.2f}",
                    )
                )
    done = len(texts) * rounds
    ratio = total["raw"] / total["pipeline"]
    rows.append(("all", *(f"{total[side]:.2f}" for side in sides), f"{ratio:.2f}"))
    rows.append(("texts/s", *(f"{done / total[side]:,.0f}" for side in sides), ""))
    print(
        f"\nEmbedding throughput: {len(texts):,} distinct synthetic texts (OKR titles and whole"
        f" OKRs), {rounds} round(s) of {len(parts)} slices, batch size {embedder.batch_size}"
    )
    print_table(
        [
            "turn",
            "model.encode s",
            f"model.encode per {CHUNK} s",
            "pipeline s",
            "pipeline/model.encode",
        ],
        rows,
    )
    # Batch composition changes padding, so the sides agree to float tolerance, not bit-exactly.
    drift = float(
        np.abs(np.concatenate(vectors["raw"]) - np.concatenate(vectors["pipeline"])).max()
    )
    ok = ratio >= TARGET
    print(f"max |pipeline - model.encode| over all vector components: {drift:.1e}")
    print(
        f"throughput ratio pipeline / model.encode = {ratio:.2f}  (target >= {TARGET})"
        f"  {'OK' if ok else 'FAIL'}"
    )
    print(
        f"throughput ratio pipeline / model.encode per {CHUNK} texts (storing's own cost)"
        f" = {total['raw-chunked'] / total['pipeline']:.2f}"
    )
    return ok


def rescore(engine: Engine, embedder: SentenceTransformerEmbedder, okrs: int) -> bool:
    org_id = "bench-rescore"
    document = make_bundle(org_id=org_id, okrs=okrs, objectives=40, teams=50)
    rows, embedded = [], []
    with scratch_org(engine, org_id):
        with Session(engine) as session, session.begin():
            import_document(session, document)
        for run in (1, 2):
            start = time.perf_counter()
            with Session(engine) as session, session.begin():
                summary = score_organization(session, org_id, embedder=embedder)
            seconds = time.perf_counter() - start
            embedded.append(summary.texts_embedded)
            rows.append((f"score run {run}", f"{seconds:.2f}", f"{summary.texts_embedded:,}"))
    print(
        f"\nRe-scoring an unchanged organization: {okrs:,} OKRs, "
        f"{len(document['strategic_objectives'])} objectives, "
        f"{len(document['check_ins']):,} check-ins"
    )
    print_table(["run", "seconds", "texts embedded"], rows)
    ok = embedded[0] > 0 and embedded[1] == 0
    print(f"second run embeds nothing: {'OK' if ok else 'FAIL'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=5000, help="distinct texts to embed")
    parser.add_argument("--slices", type=int, default=5, help="alternating turns per round")
    parser.add_argument("--rounds", type=int, default=1, help="repeat all slices this often")
    parser.add_argument("--okrs", type=int, default=500, help="OKRs in the re-score check")
    parser.add_argument("--quick", action="store_true", help="1,000 texts, 2 slices, 200 OKRs")
    parser.add_argument(
        "--without-hnsw",
        action="store_true",
        help="diagnosis: drop text_embeddings' HNSW index first (fresh embedded database only)",
    )
    args = parser.parse_args()
    if args.quick:
        args.texts, args.slices, args.rounds, args.okrs = 1000, 2, 1, 200

    engine, where = database()
    print(f"database: {where}; machine: {machine_load()}")
    if args.without_hnsw:
        if get_settings().database.database_url:
            raise SystemExit("--without-hnsw only runs on a fresh embedded database")
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_text_embeddings_hnsw"))
        print("diagnosis run: text_embeddings has no HNSW index")
    embedder = SentenceTransformerEmbedder(batch_size=get_settings().embedding.batch_size)
    ok = throughput(engine, embedder, args.texts, args.slices, args.rounds)
    ok = rescore(engine, embedder, args.okrs) and ok
    print(f"\nmachine at the end: {machine_load()}")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
