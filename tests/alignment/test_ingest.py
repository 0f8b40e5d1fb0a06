"""Ingest stage on the real database: idempotence, update by id, round trip, volume, atomicity."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from alignment import db
from alignment.bundle import parse_bundle
from alignment.errors import BundleInvalid
from alignment.export import export_bundle
from alignment.imports import import_document
from alignment.models import CheckIn, KeyResult, Okr, Organization, StrategicObjective
from alignment.report.facts import changed_since
from benchmarks.synthetic import make_bundle
from tests.factories import small_bundle


def canonical(document: dict[str, Any]) -> dict[str, Any]:
    data = parse_bundle(document).model_dump(mode="json")
    for key in ("cycles", "strategic_objectives", "teams", "okrs", "check_ins"):
        data[key] = sorted(data[key], key=lambda item: item["id"])
    return data


def test_reimport_changes_nothing(session: Session) -> None:
    bundle = make_bundle(org_id="idem", okrs=30)
    first = import_document(session, bundle)
    stamp = session.scalar(select(func.max(Okr.updated_at)).where(Okr.org_id == "idem"))
    second = import_document(session, copy.deepcopy(bundle))

    assert first.changed and first.created["okrs"] == 30 and first.created["key_results"] == 90
    assert not second.changed
    assert second.unchanged["okrs"] == 30
    declared = sum(len(o.get("declared_links") or []) for o in bundle["okrs"])
    assert declared and second.unchanged["declared_links"] == declared
    assert session.scalar(select(func.max(Okr.updated_at)).where(Okr.org_id == "idem")) == stamp


def test_changed_bundle_updates_by_id(session: Session) -> None:
    bundle = make_bundle(org_id="upd", okrs=5)
    import_document(session, bundle)
    bundle["okrs"][2]["title"] = "A different title"
    bundle["okrs"][2]["key_results"][0]["target"] = 99.0
    bundle["okrs"][2]["declared_links"] = ["SO-1", "SO-2"]

    summary = import_document(session, bundle)

    assert summary.updated["okrs"] == 1 and summary.unchanged["okrs"] == 4
    assert summary.updated["key_results"] == 1
    okr = session.get(Okr, {"org_id": "upd", "id": "O-3"})
    assert okr is not None and okr.title == "A different title"
    assert export_bundle(session, "upd")["okrs"][2]["declared_links"] == ["SO-1", "SO-2"]
    assert session.scalar(select(func.count()).select_from(Okr).where(Okr.org_id == "upd")) == 5


def test_prune_deletes_what_the_bundle_no_longer_lists(session: Session) -> None:
    bundle = make_bundle(org_id="prune", okrs=6)
    import_document(session, bundle)
    removed = bundle["okrs"].pop()
    bundle["check_ins"] = [c for c in bundle["check_ins"] if c["okr"] != removed["id"]]

    kept = import_document(session, bundle)
    assert kept.deleted.get("okrs") is None
    assert session.get(Okr, {"org_id": "prune", "id": removed["id"]}) is not None

    pruned = import_document(session, bundle, prune=True)
    assert pruned.deleted["okrs"] == 1 and pruned.deleted["key_results"] == 3
    # The removed OKR's declared links went with it, and the summary counts them.
    assert removed["declared_links"]
    assert pruned.deleted["declared_links"] == len(removed["declared_links"])
    assert session.get(Okr, {"org_id": "prune", "id": removed["id"]}) is None


def test_export_then_import_round_trips(session: Session) -> None:
    bundle = make_bundle(org_id="round", okrs=25, check_ins_per_okr=2)
    bundle["strategic_objectives"][1]["parent"] = "SO-1"
    bundle["teams"][3]["parent"] = "T-1"
    import_document(session, bundle)

    exported = export_bundle(session, "round")
    assert canonical(exported) == canonical(bundle)
    assert not import_document(session, exported).changed


@pytest.mark.slow
def test_two_thousand_okrs_import_in_one_transaction(session: Session) -> None:
    bundle = make_bundle(org_id="bulk", okrs=2000, check_ins_per_okr=1)
    txid = session.scalar(text("select txid_current()"))

    summary = import_document(session, bundle)

    assert session.scalar(text("select txid_current()")) == txid
    assert summary.created["okrs"] == 2000 and summary.created["key_results"] == 6000
    counted = session.scalar(
        select(func.count()).select_from(KeyResult).where(KeyResult.org_id == "bulk")
    )
    assert counted == 6000


def test_failure_half_way_leaves_database_unchanged(database_url: str) -> None:
    """A real committed transaction that dies after OKRs were written must leave no trace."""
    original = make_bundle(org_id="atomic", okrs=10)
    with db.transaction() as session:
        import_document(session, original)
    try:
        changed = make_bundle(org_id="atomic", okrs=20)
        changed["okrs"][0]["title"] = "Changed before the crash"

        def crash(stage: str, _count: int) -> None:
            if stage == "okrs":  # OKRs and key results are already written at this point
                raise RuntimeError("disk full")

        with pytest.raises(RuntimeError), db.transaction() as session:
            import_document(session, changed, progress=crash)

        with db.transaction() as session:
            assert (
                session.scalar(select(func.count()).select_from(Okr).where(Okr.org_id == "atomic"))
                == 10
            )
            assert (
                session.get(Okr, {"org_id": "atomic", "id": "O-1"}).title
                == original["okrs"][0]["title"]
            )
            assert (
                session.scalar(
                    select(func.count()).select_from(CheckIn).where(CheckIn.org_id == "atomic")
                )
                == 10
            )
    finally:
        with db.transaction() as session:
            session.delete(session.get(Organization, "atomic"))


def test_rejected_bundle_writes_nothing(session: Session) -> None:
    bundle = make_bundle(org_id="rejected", okrs=3)
    bundle["okrs"][1]["team"] = "T-missing"
    with pytest.raises(Exception, match="problem"):
        import_document(session, bundle)
    assert session.get(Organization, "rejected") is None


def test_deep_parent_chains_import_and_prune_in_chunks(session: Session) -> None:
    """A chain deeper than Python's recursion limit, listed children first, and a prune of more
    records than one statement's chunk."""
    depth = 2500
    bundle = make_bundle(org_id="deep", okrs=2)
    chain = [
        {
            "id": f"T-deep-{i}",
            "name": f"Unit {i}",
            "parent": f"T-deep-{i + 1}" if i + 1 < depth else None,
        }
        for i in range(depth)
    ]
    bundle["teams"] += chain
    objectives = [
        {
            "id": f"SO-deep-{i}",
            "title": f"Objective {i}",
            "perspective": "financial",
            "parent": f"SO-deep-{i + 1}" if i + 1 < depth else None,
        }
        for i in range(depth)
    ]
    bundle["strategic_objectives"] += objectives
    created = import_document(session, bundle)
    assert created.created["teams"] >= depth and created.created["strategic_objectives"] >= depth
    exported = export_bundle(session, "deep")
    assert {t["id"] for t in exported["teams"]} >= {t["id"] for t in chain}

    bundle["teams"] = [t for t in bundle["teams"] if not t["id"].startswith("T-deep-")]
    kept = [o for o in bundle["strategic_objectives"] if not o["id"].startswith("SO-deep-")]
    bundle["strategic_objectives"] = kept
    pruned = import_document(session, bundle, prune=True)
    assert pruned.deleted["teams"] == depth and pruned.deleted["strategic_objectives"] == depth
    assert canonical(export_bundle(session, "deep")) == canonical(bundle)


def _updated(session: Session, model: Any, org: str) -> dict[str, Any]:
    return dict(
        session.execute(select(model.id, model.updated_at).where(model.org_id == org)).all()
    )


def _age_all(session: Session, org: str) -> None:
    """Make every row look a day old: one test shares one transaction, hence one now()."""
    for table in ("okrs", "key_results", "kpis", "strategic_objectives", "check_ins", "teams"):
        session.execute(
            text(f"update {table} set updated_at = now() - interval '1 day' where org_id = :o"),
            {"o": org},
        )
    session.expire_all()


def test_an_import_that_changes_only_children_dates_their_parent(session: Session) -> None:
    """Key results, KPIs and declared links are part of their OKR or objective as read and of
    the text it is scored on, as at their own routes (tests/service/test_api_followups.py)."""
    bundle = small_bundle("dating")
    import_document(session, copy.deepcopy(bundle))
    _age_all(session, "dating")
    aged = _updated(session, Okr, "dating"), _updated(session, StrategicObjective, "dating")
    scored_at = session.scalar(select(func.now() - text("interval '1 hour'")))

    import_document(session, copy.deepcopy(bundle))  # the same bundle: nothing dated
    assert (
        _updated(session, Okr, "dating"),
        _updated(session, StrategicObjective, "dating"),
    ) == aged

    bundle["okrs"][0]["key_results"][0]["title"] = "HF patients called within 24 h"
    bundle["okrs"][1]["declared_links"] = ["SO-1"]
    bundle["strategic_objectives"][1]["kpis"][0]["target"] = 10.5
    import_document(session, copy.deepcopy(bundle))
    okrs, objectives = (
        _updated(session, Okr, "dating"),
        _updated(session, StrategicObjective, "dating"),
    )
    assert okrs["O-1"] > aged[0]["O-1"] and okrs["O-2"] > aged[0]["O-2"]
    assert objectives["SO-2"] > aged[1]["SO-2"] and objectives["SO-1"] == aged[1]["SO-1"]

    _age_all(session, "dating")
    assert not changed_since(session, "dating", scored_at)
    bundle["okrs"][0]["key_results"].pop()  # pruned: no row is left to say the OKR changed
    bundle["strategic_objectives"][0]["kpis"] = []
    pruned = import_document(session, copy.deepcopy(bundle), prune=True)
    assert pruned.deleted["key_results"] == 1 and pruned.deleted["kpis"] == 1
    assert changed_since(session, "dating", scored_at)
    okrs, objectives = (
        _updated(session, Okr, "dating"),
        _updated(session, StrategicObjective, "dating"),
    )
    assert okrs["O-1"] > okrs["O-2"] and objectives["SO-1"] > objectives["SO-2"]


def _okr(okr_id: str, key_results: list[str]) -> dict[str, Any]:
    return {
        "id": okr_id,
        "team": "T-1",
        "cycle": "2026-Q3",
        "title": f"Objective of {okr_id}",
        "description": None,
        "declared_links": [],
        "key_results": [
            {"id": kr, "title": f"Result {kr}", "unit": "%", "baseline": 0.0, "target": 1.0}
            for kr in key_results
        ],
    }


def _bundle(org: str, okrs: list[dict[str, Any]], check_ins: list[dict[str, Any]]) -> dict:
    bundle = small_bundle(org)
    bundle["okrs"], bundle["check_ins"] = okrs, check_ins
    return bundle


def _check_in(ident: str, okr: str, key_result: str) -> dict[str, Any]:
    return {"id": ident, "okr": okr, "key_result": key_result, "text": f"Check-in {ident}"}


def test_moving_a_key_result_away_from_its_stored_check_ins_is_refused(session: Session) -> None:
    """The stored check-in would say OKR OA while its key result says OB: the organization's
    own export, and every CSV merged into it, would be refused."""
    import_document(
        session, _bundle("move", [_okr("OA", ["KRX"])], [_check_in("CIX", "OA", "KRX")])
    )

    with pytest.raises(BundleInvalid) as refused:
        import_document(session, _bundle("move", [_okr("OB", ["KRX"])], []))

    assert [p["path"] for p in refused.value.details] == ["$.okrs[0].key_results[0]"]
    assert "'CIX'" in refused.value.details[0]["message"]
    assert session.get(Okr, {"org_id": "move", "id": "OB"}) is None  # nothing half-written
    assert session.get(KeyResult, {"org_id": "move", "id": "KRX"}).okr_id == "OA"
    assert not import_document(session, export_bundle(session, "move")).changed


def test_a_move_that_takes_its_check_ins_along_imports(session: Session) -> None:
    import_document(
        session, _bundle("moved", [_okr("OA", ["KRX"])], [_check_in("CIX", "OA", "KRX")])
    )

    import_document(
        session, _bundle("moved", [_okr("OB", ["KRX"])], [_check_in("CIX", "OB", "KRX")])
    )

    assert session.get(KeyResult, {"org_id": "moved", "id": "KRX"}).okr_id == "OB"
    assert session.get(CheckIn, {"org_id": "moved", "id": "CIX"}).okr_id == "OB"
    assert not import_document(session, export_bundle(session, "moved")).changed


def test_children_the_bundle_leaves_out_are_numbered_after_the_listed_ones(
    session: Session,
) -> None:
    """Without prune a dropped key result or KPI stays; it must not tie with a listed one, or
    export then import would reorder (changed, and a scoring job queued)."""
    bundle = _bundle("order", [_okr("P1", ["PK1", "PK2", "PK3"])], [])
    kpis = bundle["strategic_objectives"][0]["kpis"]
    kpis += [{**kpis[0], "id": f"SO-1-K{n}", "name": f"KPI {n}"} for n in (2, 3)]
    import_document(session, copy.deepcopy(bundle))
    bundle["okrs"] = [_okr("P1", ["PK3", "PK1"])]
    bundle["strategic_objectives"][0]["kpis"] = [kpis[2], kpis[0]]

    import_document(session, copy.deepcopy(bundle))

    exported = export_bundle(session, "order")
    assert [kr["id"] for kr in exported["okrs"][0]["key_results"]] == ["PK3", "PK1", "PK2"]
    objective = next(o for o in exported["strategic_objectives"] if o["id"] == "SO-1")
    assert [k["id"] for k in objective["kpis"]] == ["SO-1-K3", "SO-1-K1", "SO-1-K2"]
    assert not import_document(session, exported).changed
