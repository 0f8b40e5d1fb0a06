"""Import benchmark: 10,000 OKRs x 3 key results, then the unchanged bundle again.

    python -m benchmarks.import_bundle [--okrs 10000]

Prints import time and rows/s, and re-import time as a ratio of the first import. Runs on a
fresh embedded PostgreSQL (or DATABASE_URL) and deletes its organization afterwards.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy.orm import Session

from alignment import db
from alignment.bundle import parse_bundle
from alignment.ingest import import_bundle
from alignment.models import Organization
from alignment.settings import get_settings
from benchmarks.synthetic import make_bundle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--okrs", type=int, default=10_000)
    args = parser.parse_args()

    url = get_settings().database.database_url or db.start_embedded(
        Path(tempfile.mkdtemp(prefix="gt-bench-"))
    )
    db.upgrade(url)
    engine = db.make_engine(url)
    document = make_bundle(org_id="bench-import", okrs=args.okrs, objectives=200, teams=300)
    rows = (
        1
        + len(document["cycles"])
        + len(document["teams"])
        + len(document["strategic_objectives"]) * 2
        + len(document["okrs"]) * 5
        + len(document["check_ins"])
    )

    t0 = time.perf_counter()
    bundle = parse_bundle(document)
    validate_s = time.perf_counter() - t0

    def timed_import() -> tuple[float, bool]:
        start = time.perf_counter()
        with Session(engine) as session, session.begin():
            summary = import_bundle(session, parse_bundle(document))
        return time.perf_counter() - start, summary.changed

    first_s, first_changed = timed_import()
    again_s, again_changed = timed_import()
    with Session(engine) as session, session.begin():
        session.delete(session.get(Organization, "bench-import"))

    print(f"bundle: {args.okrs:,} OKRs, {args.okrs * 3:,} key results, {rows:,} rows in all")
    print(f"validate (pydantic + rules):   {validate_s:7.2f} s")
    print(
        f"first import (validate+write): {first_s:7.2f} s  {rows / first_s:10,.0f} rows/s"
        f"  changed={first_changed}"
    )
    print(
        f"re-import, unchanged bundle:   {again_s:7.2f} s  ratio to first = {again_s / first_s:.2f}"
        f"  changed={again_changed}"
    )
    assert bundle is not None


if __name__ == "__main__":
    main()
