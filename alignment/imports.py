"""Entry points of the ingest stage for each input form: bundle documents and OKR CSVs.

Each validates everything first and writes only when nothing is wrong, inside the caller's
transaction, so a rejected or failed import leaves the database as it was.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from alignment.bundle.csvform import CsvOkrs, merge_into, parse_csv
from alignment.bundle.io import load_document
from alignment.bundle.validate import parse_bundle
from alignment.errors import BundleInvalid, NotFound
from alignment.export import export_bundle
from alignment.ingest import ImportSummary, Progress, import_bundle


def import_document(
    session: Session,
    raw: bytes | str | dict[str, Any],
    *,
    prune: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    for_org: str | None = None,
) -> ImportSummary:
    """Import a whole bundle; `for_org` refuses a bundle of any other organization (as not
    found: a caller learns nothing about organizations it may not see)."""
    # Anything already parsed (a dict, or a list or None from an odd file) goes to the
    # validator, which names what is wrong with it.
    document = load_document(raw) if isinstance(raw, bytes | str) else raw
    bundle = parse_bundle(document)
    if for_org is not None and bundle.organization.id != for_org:
        raise NotFound(
            f"organization {bundle.organization.id!r} not found",
            details=[{"path": "$.organization.id", "message": "not an organization of this key"}],
        )
    with session.begin_nested() as savepoint:
        summary = import_bundle(session, bundle, prune=prune, progress=progress)
        if dry_run:
            savepoint.rollback()
    summary.dry_run = dry_run
    return summary


def import_csv(
    session: Session, org_id: str, raw: bytes | str, *, dry_run: bool = False
) -> ImportSummary:
    """Upsert the CSV's OKRs into an existing organization (its strategy and teams stay)."""
    parsed = parse_csv(raw)
    document = merge_into(export_bundle(session, org_id), parsed)
    csv_index = {okr["id"]: i for i, okr in enumerate(parsed.okrs)}
    try:
        bundle = parse_bundle(document)
    except BundleInvalid as exc:
        raise BundleInvalid(
            exc.message.replace("bundle", "CSV"),
            details=[_to_cell(p, document, parsed, csv_index) for p in exc.details],
        ) from exc
    with session.begin_nested() as savepoint:
        summary = import_bundle(session, bundle)
        if dry_run:
            savepoint.rollback()
    summary.dry_run = dry_run
    return summary


def _to_cell(
    problem: dict[str, str], document: dict[str, Any], parsed: CsvOkrs, csv_index: dict[str, int]
) -> dict[str, str]:
    """Point a bundle path ($.okrs[7].key_results[1].kind) at the CSV cell it came from."""
    match = re.match(r"\$\.okrs\[(\d+)\](.*)", problem["path"])
    if not match:
        return problem
    okr_id = document["okrs"][int(match.group(1))]["id"]
    if okr_id not in csv_index:
        return problem
    return {"path": parsed.locate(csv_index[okr_id], match.group(2)), "message": problem["message"]}
