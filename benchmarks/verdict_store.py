"""What storing each OKR's comparison with the median (migration 0015) costs the score stage.

    python -m benchmarks.verdict_store [--okrs 2000] [--repeat 3] [--quick]

A synthetic organization is imported and scored once (embedding every text), then rescored
`--repeat` times with its vectors stored, as a scoring job does after an edit. Timed in the same
runs: the rescoring, the statements that read and write `okr_verdicts`, `compare_with_median`,
and the read every page uses afterwards (`scoring.reads.stored_verdicts`). Target: the stored
comparisons cost under 5% of a rescoring.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from alignment.embedder import get_embedder
from alignment.imports import import_document
from alignment.scoring import stage
from alignment.scoring.reads import stored_verdicts
from benchmarks.harness import print_table, run_measured, scratch_org
from benchmarks.synthetic import make_bundle

ORG = "bench-verdicts"
TARGET_SHARE = 0.05
VERBS = ("select", "delete", "insert")


class Timers:
    """Seconds spent in `okr_verdicts` statements and in the comparison, per rescoring."""

    def __init__(self, engine: Engine) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        compare = stage.compare_with_median

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return compare(*args, **kwargs)
            finally:
                self.spent["compare"] += time.perf_counter() - t0

        stage.compare_with_median = timed

    def _before(self, conn, cursor, statement, params, context, executemany) -> None:
        conn.info["statement_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, executemany) -> None:
        if "okr_verdicts" in statement:
            took = time.perf_counter() - conn.info["statement_started"]
            self.spent["sql"] += took
            self.spent[statement.split()[0].lower()] += took  # select / delete / insert

    def take(self) -> dict[str, float]:
        out, self.spent = dict(self.spent), defaultdict(float)
        return out


def measure(engine: Engine, okrs: int, repeat: int) -> bool:
    embedder = get_embedder()
    timers = Timers(engine)
    with scratch_org(engine, ORG):
        with Session(engine) as session, session.begin():
            import_document(session, make_bundle(org_id=ORG, okrs=okrs))
        with Session(engine) as session, session.begin():
            t0 = time.perf_counter()
            stage.score_organization(session, ORG, embedder=embedder)
            print(f"first scoring (embeds every text): {time.perf_counter() - t0:.1f} s")
        timers.take()
        rows = []
        for _ in range(repeat):
            with Session(engine) as session, session.begin():
                t0 = time.perf_counter()
                stage.score_organization(session, ORG, embedder=embedder)
                total = time.perf_counter() - t0
                spent = timers.take()
                t0 = time.perf_counter()
                verdicts = stored_verdicts(session, ORG)
                read = time.perf_counter() - t0
            rows.append((total, spent.get("sql", 0.0), spent.get("compare", 0.0), read))
            verbs = ", ".join(f"{v} {spent.get(v, 0.0):.3f} s" for v in VERBS)
            print(f"rescoring {total:.2f} s; okr_verdicts statements: {verbs}", flush=True)
    assert len(verdicts) == okrs
    print_table(
        ("rescoring", "s", "okr_verdicts SQL s", "compare_with_median s", "share", "read s"),
        [
            (f"#{n}", f"{t:.2f}", f"{sql:.3f}", f"{cmp:.4f}", f"{(sql + cmp) / t:.1%}", f"{r:.3f}")
            for n, (t, sql, cmp, r) in enumerate(rows, start=1)
        ],
    )
    share = statistics.median((sql + cmp) / t for t, sql, cmp, _ in rows)
    print(f"\n{okrs} OKRs: the stored comparisons cost {share:.1%} of a rescoring (median)")
    return share < TARGET_SHARE


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--okrs", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="500 OKRs, 2 rescorings")
    args = ap.parse_args(argv)
    okrs, repeat = (500, 2) if args.quick else (args.okrs, args.repeat)
    run_measured(lambda engine: measure(engine, okrs, repeat))


if __name__ == "__main__":
    main()
