"""Page render times on the sample organization: each page as the server answers it.

    python -m benchmarks.pages [--rounds 20]

Imports, scores and reports the sample organization on a fresh embedded PostgreSQL (or
DATABASE_URL), then times every page with an in-process client (the app, its middleware,
authentication and the database; no network). Prints the median and worst time per page and
its size. Goal: every page under a second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from alignment import db
from alignment.access import keys
from alignment.access.principal import Role
from alignment.bundle.io import load_file
from alignment.embedder import get_embedder
from alignment.imports import import_document
from alignment.report import build_report
from alignment.scoring.stage import score_organization
from alignment.settings import get_settings
from benchmarks.harness import database, machine_load, print_table

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sample-org.bundle.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    engine, where = database()
    # The app resolves its database from the environment: point it at this one.
    os.environ["DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    get_settings.cache_clear()
    db.resolve_database.cache_clear()
    embedder = get_embedder()
    with Session(engine) as s, s.begin():
        org = import_document(s, load_file(SAMPLE)).organization
        score_organization(s, org, embedder=embedder)
        build_report(s, org, embedder=embedder)
        office = keys.create_key(s, org_id=org, role=Role.strategy_office)[1]
        lead = keys.create_key(s, org_id=org, role=Role.team_lead, team_ids=["T-9"])[1]
    from service.app import create_app

    client = TestClient(create_app())
    pages = [
        ("organizations", "/", office),
        ("strategy map", f"/orgs/{org}/strategy-map", office),
        ("objective", f"/orgs/{org}/objective/SO-9", office),
        ("OKR", f"/orgs/{org}/okr/O-30", office),
        ("review queue", f"/orgs/{org}/review", office),
        ("team page", f"/orgs/{org}/team/T-9", lead),
        ("report", f"/orgs/{org}/report.html", office),
    ]
    rows, worst_all = [], 0.0
    for name, path, key in pages:
        headers = {"Authorization": f"Bearer {key}"}
        client.get(path, headers=headers)  # warm
        times, size = [], 0
        for _ in range(args.rounds):
            start = time.perf_counter()
            answer = client.get(path, headers=headers)
            times.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, (path, answer.status_code)
            size = len(answer.content)
        worst_all = max(worst_all, max(times))
        rows.append((name, f"{statistics.median(times):.1f}", f"{max(times):.1f}", f"{size:,}"))
    print(f"database: {where}; machine: {machine_load()}")
    print_table(["page (sample organization)", "median ms", "worst ms", "bytes"], rows)
    print(f"every page under a second: {'yes' if worst_all < 1000 else 'NO'}")


if __name__ == "__main__":
    main()
