"""The report's duplicate search as it runs: HNSW, filtered by organization and model.

    python -m benchmarks.ann_filtered [--vectors 100000] [--orgs 50] [--queries 200] [--k 5]

A scratch table with `text_embeddings`' columns and its HNSW index (migration 0005: m=16,
ef_construction=64, cosine, over searchable rows) holds clustered random unit vectors spread
over `--orgs` organizations at random (the hard case: an organization's texts are scattered
through the whole graph). Each query is a stored text; it asks, exactly as
alignment/report/duplicates.py does, for its k nearest texts of the same organization and model
(`ef_search = max(4k, 20)`, iterative scan `relaxed_order`). Recall@k is measured against exact
search in NumPy over that organization's texts; `EXPLAIN` shows which index the planner uses.
(Measured here: with ~2,000 texts per organization the planner prefers the primary key, which
narrows to the organization, model and texts, and sorts those exactly: recall 1.0.)
"""

from __future__ import annotations

import argparse
import re
import time

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from sqlalchemy import Engine

from benchmarks.ann import DIM, clustered_unit_vectors
from benchmarks.harness import percentile, print_table, run_measured

TARGET = 0.95
TABLE = "bench_dup_vectors"
DDL = (
    f"CREATE TABLE {TABLE} (org_id text NOT NULL, model text NOT NULL, content_hash text NOT NULL,"
    f" embedding vector({DIM}) NOT NULL, searchable boolean NOT NULL DEFAULT true,"
    " PRIMARY KEY (org_id, model, content_hash))",
    f"CREATE INDEX {TABLE}_hnsw ON {TABLE} USING hnsw (embedding vector_cosine_ops)"
    " WITH (m = 16, ef_construction = 64) WHERE searchable",
)
# duplicates._NEIGHBOURS for one source text (the report runs it for many in one statement).
QUERY = (
    f"SELECT t.content_hash FROM {TABLE} t WHERE t.searchable AND t.org_id = %(org)s"
    " AND t.model = 'm' AND t.content_hash <> %(hash)s AND t.content_hash = ANY(%(hashes)s)"
    f" ORDER BY t.embedding <=> %(vec)s LIMIT %(k)s"
)


def load(conn: psycopg.Connection, stored: np.ndarray, orgs: np.ndarray) -> float:
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cur.execute(DDL[0])
        start = time.perf_counter()
        columns = "(org_id, model, content_hash, embedding)"
        with cur.copy(f"COPY {TABLE} {columns} FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["text", "text", "text", "vector"])
            for i, vector in enumerate(stored):
                copy.write_row((f"org-{orgs[i]}", "m", f"h{i}", vector))
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute(DDL[1])
        cur.execute(f"ANALYZE {TABLE}")
    conn.commit()
    return time.perf_counter() - start


def run(engine: Engine, args: argparse.Namespace) -> bool:
    stored, _ = clustered_unit_vectors(args.vectors, 1, topics=args.topics)
    rng = np.random.default_rng(3)
    orgs = rng.integers(0, args.orgs, len(stored))
    sources = rng.choice(len(stored), args.queries, replace=False)
    ef = max(4 * args.k, 20)
    members = {o: np.flatnonzero(orgs == o) for o in range(args.orgs)}
    with engine.connect() as sa_conn:
        conn = sa_conn.connection.driver_connection
        register_vector(conn)
        try:
            seconds = load(conn, stored, orgs)
            print(
                f"{args.vectors:,} vectors in {args.orgs} organizations, loaded and indexed in"
                f" {seconds:.1f} s; {args.queries} queries, k={args.k}, ef_search={ef}"
            )
            hits, latencies, plan = 0, [], ""
            with conn.cursor() as cur:
                cur.execute(f"SET hnsw.ef_search = {ef}")
                cur.execute("SET hnsw.iterative_scan = relaxed_order")
                for n, s in enumerate(sources):
                    org = int(orgs[s])
                    mine = members[org]
                    params = {
                        "org": f"org-{org}",
                        "hash": f"h{s}",
                        "hashes": [f"h{i}" for i in mine],
                        "vec": stored[s],
                        "k": args.k,
                    }
                    if n == 0:
                        cur.execute("EXPLAIN " + QUERY, params)
                        plan = "\n".join(_elided(row[0]) for row in cur.fetchall())
                    start = time.perf_counter()
                    cur.execute(QUERY, params)
                    found = {row[0] for row in cur.fetchall()}
                    latencies.append((time.perf_counter() - start) * 1000)
                    others = mine[mine != s]
                    sims = stored[others] @ stored[s]
                    truth = {f"h{i}" for i in others[np.argsort(-sims)[: args.k]]}
                    hits += len(found & truth)
        finally:
            conn.rollback()
            with conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
            conn.commit()
    recall = hits / (args.k * len(sources))
    index = next(
        (name for name in (f"{TABLE}_hnsw", f"{TABLE}_pkey") if name in plan), "none (seq scan)"
    )
    print(f"EXPLAIN (first query; literals elided):\n{plan}")
    print_table(
        ["search", f"recall@{args.k}", "p50 ms", "p95 ms", "index used"],
        [
            (
                "filtered HNSW, as the report runs it",
                f"{recall:.3f}",
                f"{percentile(latencies, 50):.2f}",
                f"{percentile(latencies, 95):.2f}",
                index,
            )
        ],
    )
    ok = recall >= TARGET
    print(f"target recall@{args.k} >= {TARGET}: {'OK' if ok else 'FAIL'} (plan: {index})")
    return ok


def _elided(line: str) -> str:
    return re.sub(r"'(\[[^']{40,}\]|\{[^']{40,}\})'", "'...'", line)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--orgs", type=int, default=50)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=5, help="the report's duplicate_neighbours")
    parser.add_argument("--topics", type=int, default=2000)
    args = parser.parse_args()
    run_measured(lambda engine: run(engine, args))


if __name__ == "__main__":
    main()
