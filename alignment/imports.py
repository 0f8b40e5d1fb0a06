"""Entry points of the ingest stage for each input form: bundle documents and OKR CSVs.

Each validates everything first and writes only when nothing is wrong, inside the caller's
transaction, so a rejected or failed import leaves the database as it was.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from alignment.bundle.csvform import CsvOkrs, merge_into, parse_csv
from alignment.bundle.io import load_document
from alignment.bundle.schema import Bundle
from alignment.bundle.text_rules import normal_id
from alignment.bundle.validate import parse_bundle
from alignment.errors import BundleInvalid, Forbidden, NotFound
from alignment.export import export_bundle
from alignment.ingest import ImportStep, ImportSummary, import_bundle
from alignment.models import KeyResult, Okr, Organization
from alignment.organizations import refuse_case_twin
from alignment.vocabulary import counted


def import_document(
    session: Session,
    raw: bytes | str | dict[str, Any],
    *,
    prune: bool = False,
    dry_run: bool = False,
    progress: ImportStep | None = None,
    for_org: str | None = None,
    may_rename: bool = True,
) -> ImportSummary:
    """Import a whole bundle; `for_org` refuses a bundle of any other organization (as not
    found: a caller learns nothing about organizations it may not see), and without
    `may_rename` (a key that is not the organization's admin) one that renames it."""
    # Anything already parsed (a dict, or a list or None from an odd file) goes to the
    # validator, which names what is wrong with it.
    document = load_document(raw) if isinstance(raw, bytes | str) else raw
    bundle = parse_bundle(document)
    if for_org is not None and bundle.organization.id != for_org:
        raise NotFound(
            f"organization {bundle.organization.id!r} not found",
            details=[{"path": "$.organization.id", "message": "not an organization of this key"}],
        )
    if not may_rename:
        _refuse_rename(session, bundle)
    if session.get(Organization, bundle.organization.id) is None:
        refuse_case_twin(session, bundle.organization.id, path="$.organization.id")
    with session.begin_nested() as savepoint:
        summary = import_bundle(session, bundle, prune=prune, progress=progress)
        if dry_run:
            savepoint.rollback()
    summary.dry_run = dry_run
    return summary


def _refuse_rename(session: Session, bundle: Bundle) -> None:
    # Renaming is the admin's (PATCH /orgs/{org}); a bundle must not be a way around that.
    stored = session.get(Organization, bundle.organization.id)
    if stored is not None and stored.name != bundle.organization.name:
        raise Forbidden(
            f"only an admin may rename the organization ({stored.name!r} to "
            f"{bundle.organization.name!r}); send its current name",
            details=[
                {"path": "$.organization.name", "message": f"the stored name is {stored.name!r}"}
            ],
        )


def import_csv(
    session: Session,
    org_id: str,
    raw: bytes | str,
    *,
    dry_run: bool = False,
    may_delete: bool = True,
) -> ImportSummary:
    """Upsert the CSV's OKRs into an existing organization (its strategy and teams stay).
    Without `may_delete` (a key that is not the organization's admin) a file that leaves out
    key results of its OKRs, which would delete them, is refused."""
    parsed = parse_csv(raw)
    document = merge_into(export_bundle(session, org_id), parsed)
    csv_index = {okr["id"]: i for i, okr in enumerate(parsed.okrs)}
    found: list[dict[str, str]] = []
    try:
        bundle = parse_bundle(document)
    except BundleInvalid as exc:
        if not exc.details:  # nothing to point at in the file: its own words are all there is
            raise
        found = [_to_cell(p, document, parsed, csv_index) for p in exc.details]
    problems = list(dict.fromkeys(tuple(p.items()) for p in [*parsed.cell_problems, *found]))
    if problems:
        raise BundleInvalid(
            f"CSV rejected: {counted(len(problems), 'problem')}; nothing was written",
            details=[dict(p) for p in problems],
        )
    if not may_delete:
        _refuse_deleting(session, bundle, parsed, csv_index)
    with session.begin_nested() as savepoint:
        # Left-out key results go first: kept until the upsert, they would be renumbered after
        # the listed ones (a stored child no bundle lists) and counted updated, then deleted.
        dropped = _drop_left_out_key_results(session, bundle, {o["id"] for o in parsed.okrs})
        summary = import_bundle(session, bundle)
        summary.deleted["key_results"] = summary.deleted.get("key_results", 0) + dropped
        if dry_run:
            savepoint.rollback()
    summary.dry_run = dry_run
    return summary


def _refuse_deleting(
    session: Session, bundle: Bundle, parsed: CsvOkrs, csv_index: dict[str, int]
) -> None:
    # Deleting is the admin's (DELETE /orgs/{org}/key-results/{id}); an upload must not be a
    # way around that, so it is refused before anything is written, naming what it leaves out.
    listed = {normal_id(i) for i in csv_index}
    kept = {kr.id for o in bundle.okrs if o.id in listed for kr in o.key_results}
    stored = session.execute(
        select(KeyResult.okr_id, KeyResult.id)
        .where(KeyResult.org_id == bundle.organization.id, KeyResult.okr_id.in_(listed))
        .order_by(KeyResult.okr_id, KeyResult.position)
    ).all()
    left_out = [(okr, kr) for okr, kr in stored if kr not in kept]
    if left_out:
        rows = {normal_id(i): parsed.okr_rows[n] for i, n in csv_index.items()}
        raise Forbidden(
            f"this CSV leaves out {len(left_out)} key result(s) of its OKRs, which would delete"
            " them; only an admin may delete records: keep their rows",
            details=[
                {
                    "path": f"row {rows[okr]}, column okr_id",
                    "message": f"OKR {okr!r} leaves out its key result {kr!r}",
                }
                for okr, kr in left_out
            ],
        )


def _drop_left_out_key_results(session: Session, bundle: Bundle, csv_okrs: set[str]) -> int:
    """An uploaded OKR's rows are the OKR: a key result it no longer lists is deleted, as
    editing a download and uploading it means (its check-ins were refused above, naming the
    cell). Key results of OKRs the file does not list stay."""
    org = bundle.organization.id
    listed = {normal_id(i) for i in csv_okrs}
    kept = [kr.id for o in bundle.okrs if o.id in listed for kr in o.key_results]
    gone = (
        session.execute(
            delete(KeyResult)
            .where(
                KeyResult.org_id == org,
                KeyResult.okr_id.in_(listed),
                KeyResult.id.not_in(kept),
            )
            .returning(KeyResult.okr_id)
        )
        .scalars()
        .all()
    )
    if gone:  # what the OKR's score rests on changed: date it, as any child's write does
        session.execute(
            update(Okr)
            .where(Okr.org_id == org, Okr.id.in_(set(gone)))
            .values(updated_at=func.now())
        )
    return len(gone)


def _to_cell(
    problem: dict[str, str], document: dict[str, Any], parsed: CsvOkrs, csv_index: dict[str, int]
) -> dict[str, str]:
    """Point a bundle problem at the CSV cell it came from: its path ($.okrs[7].key_results[1]
    .kind), a check-in whose key result the CSV left out of its OKR, and the bundle paths
    inside its message ("first at $.okrs[26].key_results[0]")."""

    def cell(path: str) -> str | None:
        if match := re.fullmatch(r"\$\.okrs\[(\d+)\](.*)", path):
            okr_id = document["okrs"][int(match.group(1))]["id"]
            if okr_id in csv_index:
                return parsed.locate(csv_index[okr_id], match.group(2))
        return None

    def named(path: str) -> str:
        # A place in the stored organization, which the person never saw as a bundle path.
        if where := cell(path):
            return where
        # Only paths re.sub below matched (`$.okrs[N]...`) come here: the match is never None.
        okr = document["okrs"][int(re.match(r"\$\.okrs\[(\d+)\]", path).group(1))]  # type: ignore[union-attr]
        kr = re.match(r"\$\.okrs\[\d+\]\.key_results\[(\d+)\]", path)
        if kr:
            kr_id = okr["key_results"][int(kr.group(1))]["id"]
            return f"key result {kr_id!r} of the stored OKR {okr['id']!r}"
        return f"the stored OKR {okr['id']!r}"

    message = re.sub(r"\$\.okrs\[\d+\][\w.\[\]]*", lambda m: named(m.group()), problem["message"])
    if where := cell(problem["path"]):
        return {"path": where, "message": message}
    stored = re.match(r"\$\.okrs\[(\d+)\]", problem["path"])
    mine = re.search(r"row \d+, column \w+", message)
    if stored and mine:
        # A clash with a stored OKR that the merged bundle lists after the file's own row: the
        # file's cell is the one to change, so the problem is named there.
        owner = document["okrs"][int(stored.group(1))]["id"]
        said = message.replace(f" (first at {mine.group()})", "")
        return {"path": mine.group(), "message": f"{said}: the stored OKR {owner!r} has it"}
    check_in = re.fullmatch(r"\$\.check_ins\[(\d+)\]\.key_result", problem["path"])
    if check_in:
        item = document["check_ins"][int(check_in.group(1))]
        kr, okr = item["key_result"], item["okr"]
        listed = _kr_row(parsed, kr)
        if listed is not None and okr in csv_index:
            # The row is kept, under another OKR: it moves the key result, which the check-in
            # forbids (a check-in is filed under an OKR and reports on a key result of it).
            new_okr, row = listed
            return {
                "path": f"row {row}, column okr_id",
                "message": f"key result {kr!r} would move from OKR {okr!r} to {new_okr!r}, "
                f"but check-in {item['id']!r} reports on it, filed under OKR {okr!r}: a key "
                "result check-ins report on cannot move to another OKR; keep it under OKR "
                f"{okr!r}, or delete its check-ins first",
            }
        if listed is not None:
            moved = listed[1]
            return {
                "path": f"row {moved}, column kr_id",
                "message": f"key result {item['key_result']!r} is OKR {item['okr']!r}'s: its "
                f"check-in {item['id']!r} reports on it there; give this row another kr_id",
            }
        if item["okr"] in csv_index:
            row = parsed.okr_rows[csv_index[item["okr"]]]
            return {
                "path": f"row {row}, column kr_id",
                "message": f"check-in {item['id']!r} reports on key result "
                f"{item['key_result']!r}, which this CSV leaves out of OKR {item['okr']!r}; "
                "keep its row, or delete the check-in first",
            }
    return {"path": problem["path"], "message": message}


def _kr_row(parsed: CsvOkrs, kr_id: str) -> tuple[str, int] | None:
    """The OKR and CSV row that list key result `kr_id`, if one does."""
    for okr, rows in zip(parsed.okrs, parsed.kr_rows, strict=True):
        for kr, row in zip(okr.get("key_results", []), rows, strict=True):
            if normal_id(kr["id"]) == normal_id(kr_id):
                return normal_id(okr["id"]), row
    return None
