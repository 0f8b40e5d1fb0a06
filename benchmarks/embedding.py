"""Embedding benchmark: the pipeline (encode + store in pgvector) vs raw `model.encode`.

    python -m benchmarks.embedding [--slices 5] [--rounds 1] [--okrs 500] [--quick]

Part 1 embeds the texts the score stage asks for when it scores the sample organization and
the eight dev organizations (every field, check-in, whole-OKR text and objective text, de-
duplicated) with the bare SentenceTransformer and through `VectorCache`, which also writes every
vector to `text_embeddings` and puts OKR and key-result titles into the HNSW index, as
`score_organization` does. Sides run side by side in one run: the model is warmed first, and
the texts go in slices, each encoded by every side in turn with the order rotating, so no side
gets a cold start or a quieter moment of the machine. The ratio is pipeline texts/s over
`model.encode` texts/s (target >= 0.9). A fourth side indexes every text (the design before
migration 0005) to show what HNSW upkeep costs.

Part 2 imports a synthetic organization, scores it twice, and checks that the second run
embeds nothing. Runs on a fresh embedded PostgreSQL (or DATABASE_URL) and deletes what it made.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alignment.adapters.sentence_transformer import SentenceTransformerEmbedder
from alignment.bundle.io import load_file
from alignment.embed import VectorCache
from alignment.imports import import_document
from alignment.scoring.drift import score_drift
from alignment.scoring.link_scores import score_links
from alignment.scoring.org_documents import load_docs, searchable_texts
from alignment.scoring.stage import score_organization
from alignment.settings import get_settings
from benchmarks.harness import print_table, run_measured, scratch_org
from benchmarks.synthetic import make_bundle

TARGET = 0.9
CHUNK = 256  # texts per model call in VectorCache (batch size 64 x 4)
ROOT = Path(__file__).resolve().parents[1]
ORGS = [
    ROOT / "examples/sample-org.bundle.json",
    *sorted((ROOT / "evals/datasets/dev").glob("*.bundle.json")),
]


def stage_texts(engine: Engine) -> tuple[list[str], set[str]]:
    """What the score stage embeds for each organization, and which of it is searchable."""
    texts: list[str] = []
    searchable: set[str] = set()

    def record(batch):
        texts.extend(batch)
        rng = np.random.default_rng(len(texts))  # any unit vectors: only the texts matter here
        v = rng.standard_normal((len(batch), 384)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    for path in ORGS:
        document = load_file(path)
        org_id = f"bench-texts-{path.stem}"
        document["organization"]["id"] = org_id
        with scratch_org(engine, org_id), Session(engine) as session, session.begin():
            import_document(session, document)
            docs = load_docs(session, org_id)
            score_links(docs.objectives, docs.okrs, embed=record)
            score_drift(docs.drift_items, embed=record, okrs=docs.okrs)
            searchable |= searchable_texts(docs.okrs)
    return list(dict.fromkeys(texts)), searchable


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
    engine: Engine,
    embedder: SentenceTransformerEmbedder,
    texts: list[str],
    org_id: str,
    searchable: set[str],
) -> tuple[float, np.ndarray, int]:
    """Encode through the cache and commit, as a scoring run does."""
    start = time.perf_counter()
    with Session(engine) as session, session.begin():
        cache = VectorCache(session, org_id, embedder, searchable=searchable)
        vectors = cache(texts)
    return time.perf_counter() - start, vectors, cache.encoded


SIDES = ("raw", "raw-chunked", "pipeline", "pipeline, all indexed")


def throughput(
    engine: Engine, embedder: SentenceTransformerEmbedder, slices: int, rounds: int
) -> bool:
    """Every side encodes every text, slice by slice, taking turns to go first.

    On a shared machine the load of other work drifts over minutes; short rotating turns spread
    it over all sides evenly. The pipeline pays its per-call costs (lookup, the last store that
    overlaps nothing) once per slice, so slicing can only understate it. Besides one
    `model.encode` call per slice (the baseline), `model.encode` in calls of CHUNK texts (as
    the pipeline calls the model) shows what storing alone costs.
    """
    texts, searchable = stage_texts(engine)
    share = sum(t in searchable for t in texts) / len(texts)
    size = -(-len(texts) // slices)
    parts = [texts[i : i + size] for i in range(0, len(texts), size)]
    embedder.encode(texts[:512])  # warm-up: first calls pay for allocation and kernel choice
    total = dict.fromkeys(SIDES, 0.0)
    vectors: dict[str, list[np.ndarray]] = {side: [] for side in SIDES}
    rows = []
    for r in range(rounds):
        # Fresh organizations per round: every text is new to them, so every text is encoded.
        with (
            scratch_org(engine, f"bench-embed-{r}") as org_id,
            scratch_org(engine, f"bench-embed-all-{r}") as all_id,
        ):
            for i, part in enumerate(parts):
                turn = r * len(parts) + i
                order = [*SIDES[turn % 4 :], *SIDES[: turn % 4]]
                seconds = {}
                for side in order:
                    if side.startswith("pipeline"):
                        target, wanted = (
                            (org_id, searchable) if side == "pipeline" else (all_id, set(part))
                        )
                        seconds[side], v, encoded = pipeline_encode(
                            engine, embedder, part, target, wanted
                        )
                        assert encoded == len(part), (encoded, len(part))
                    else:
                        chunk = CHUNK if side == "raw-chunked" else None
                        seconds[side], v = raw_encode(embedder, part, chunk=chunk)
                    total[side] += seconds[side]
                    vectors[side].append(v)
                rows.append(
                    (
                        f"round {r + 1} slice {i + 1} ({len(part):,} texts, {order[0]} first)",
                        *(f"{seconds[side]:.2f}" for side in SIDES),
                        f"{seconds['raw'] / seconds['pipeline']:.2f}",
                    )
                )
    done = len(texts) * rounds
    ratio = total["raw"] / total["pipeline"]
    rows.append(("all", *(f"{total[side]:.2f}" for side in SIDES), f"{ratio:.2f}"))
    rows.append(("texts/s", *(f"{done / total[side]:,.0f}" for side in SIDES), ""))
    print(
        f"\nEmbedding throughput: {len(texts):,} distinct texts the score stage embeds for"
        f" {len(ORGS)} organizations ({share:.0%} of them titles or key results, which are"
        f" indexed), {rounds} round(s) of {len(parts)} slices, batch size {embedder.batch_size}"
    )
    print_table(
        [
            "turn",
            "model.encode s",
            f"model.encode per {CHUNK} s",
            "pipeline s",
            "pipeline, every text indexed s",
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
    print(
        "throughput ratio with every text in the HNSW index / model.encode"
        f" = {total['raw'] / total['pipeline, all indexed']:.2f}"
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
    parser.add_argument("--slices", type=int, default=5, help="alternating turns per round")
    parser.add_argument("--rounds", type=int, default=1, help="repeat all slices this often")
    parser.add_argument("--okrs", type=int, default=500, help="OKRs in the re-score check")
    parser.add_argument("--quick", action="store_true", help="2 slices, 200 OKRs")
    args = parser.parse_args()
    if args.quick:
        args.slices, args.rounds, args.okrs = 2, 1, 200

    embedder = SentenceTransformerEmbedder(batch_size=get_settings().embedding.batch_size)

    def work(engine: Engine) -> bool:
        ok = throughput(engine, embedder, args.slices, args.rounds)
        return rescore(engine, embedder, args.okrs) and ok

    run_measured(work)


if __name__ == "__main__":
    main()
