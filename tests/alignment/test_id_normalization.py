"""Ids compare the way people read them: in Unicode NFKC form, wherever they enter.

"Café" typed with a combining accent (NFD) or precomposed (NFC), fullwidth "ＯＫＲ－１" and
"OKR-1", are one id: bundles (JSON, YAML, CSV) store it in one form and resolve references
written in another; two records whose ids read the same are refused, naming both, never merged.
Migration 0021 rewrites ids stored earlier in another form. The API's side (paths, filters,
bodies) is in tests/service/test_api_followups.py.
"""

from __future__ import annotations

import json

import pytest
import yaml
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.orm import Session

from alignment import db
from alignment.access import keys
from alignment.access.principal import Role
from alignment.bundle.text_rules import plain_id
from alignment.bundle.validate import parse_bundle, parse_labels
from alignment.errors import BundleInvalid
from alignment.imports import import_csv, import_document
from alignment.models import (
    ApiKey,
    CheckIn,
    CheckInFeedback,
    Cycle,
    DeclaredLink,
    KeyResult,
    Okr,
    Organization,
    StrategicObjective,
    Team,
)
from alignment.scoring.drift_decisions import judged_hash
from tests.alignment.test_migrations import empty_database
from tests.factories import small_bundle

__all__ = ["empty_database"]  # a fixture, used by name

NFD_CAFE, NFC_CAFE = "Cafe\u0301", "Caf\u00e9"


def problems(refused: pytest.ExceptionInfo[BundleInvalid]) -> list[dict[str, str]]:
    return refused.value.details


# --- the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (NFD_CAFE, NFC_CAFE),
        (NFC_CAFE, NFC_CAFE),
        ("ＯＫＲ－１", "OKR-1"),
        ("２０２６-Q3", "2026-Q3"),
        ("Ⅳ", "IV"),
        (" O-1\u00a0", "O-1"),
        ("O-\u202e1", "O-1"),
    ],
)
def test_an_id_is_kept_in_nfkc_form(sent: str, stored: str) -> None:
    assert plain_id(sent) == stored


@pytest.mark.parametrize(
    ("sent", "why"),
    [
        ("Ａ／Ｂ", "cannot contain '/'"),
        ("．．", "path step"),
        ("ＯＫＲ？", "cannot contain '?'"),
        ("\u202e", "is empty once its invisible direction marks are removed"),
        ("\ufdfa" * 12, "at most 200"),  # one character, 18 once normalized
        # Read as "T-9" and "O-1", they would be other records beside those.
        ("T-9\u200b", "invisible character U\\+200B at position 3"),
        ("\u2060O-1", "invisible character U\\+2060 at position 0"),
        ("\u200b\u200b", "only invisible characters"),
    ],
)
def test_an_id_whose_normal_form_breaks_the_rules_is_refused(sent: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        plain_id(sent)


def test_joiners_that_scripts_need_stay_in_ids() -> None:
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # ZWNJ inside a word
    assert plain_id(persian) == persian
    assert plain_id("T-\U0001f469\u200d\U0001f4bb") == "T-\U0001f469\u200d\U0001f4bb"


def test_a_title_of_invisible_characters_only_is_refused_and_joined_emoji_are_kept() -> None:
    from alignment.bundle.text_rules import plain_text

    with pytest.raises(ValueError, match="only invisible characters"):
        plain_text("\u200b \u200d")
    assert plain_text("\U0001f469\u200d\U0001f4bb on call") == "\U0001f469\u200d\U0001f4bb on call"


def test_a_bundle_id_with_a_zero_width_space_is_refused_at_its_place(session: Session) -> None:
    document = small_bundle()
    document["okrs"][1]["id"] = document["okrs"][0]["id"] + "\u200b"
    with pytest.raises(BundleInvalid) as refused:
        import_document(session, json.dumps(document))
    assert any(
        p["path"] == "$.okrs[1].id" and "U+200B" in p["message"] for p in problems(refused)
    ), problems(refused)
    assert session.get(Organization, "acme") is None  # nothing written


# --- bundles -----------------------------------------------------------------------------


def test_references_resolve_across_forms_and_are_stored_in_one(session: Session) -> None:
    document = small_bundle()
    document["teams"][0]["id"] = "Ｔ－１"  # T-2's parent and O-1's team still say "T-1"
    document["okrs"][0]["declared_links"] = ["ＳＯ－１"]
    document["check_ins"][0]["okr"] = "Ｏ－１"
    document["check_ins"][0]["key_result"] = "Ｏ－１－ＫＲ１"
    import_document(session, document)
    teams = session.scalars(select(Team.id).where(Team.org_id == "acme")).all()
    assert sorted(teams) == ["T-1", "T-2"]
    assert session.get(Team, {"org_id": "acme", "id": "T-2"}).parent_id == "T-1"
    check_in = session.get(CheckIn, {"org_id": "acme", "id": "C-1"})
    assert (check_in.okr_id, check_in.key_result_id) == ("O-1", "O-1-KR1")
    declared = select(DeclaredLink.objective_id).where(
        DeclaredLink.org_id == "acme", DeclaredLink.okr_id == "O-1"
    )
    assert session.scalars(declared).all() == ["SO-1"]


def test_importing_an_id_in_another_form_updates_the_record(session: Session) -> None:
    import_document(session, small_bundle())
    document = small_bundle()
    document["okrs"][0]["id"] = "Ｏ－１"
    document["okrs"][0]["title"] = "Every patient understands their medicines"
    document["check_ins"][0]["okr"] = "Ｏ－１"
    summary = import_document(session, document)
    assert summary.created["okrs"] == 0 and summary.updated["okrs"] == 1
    assert session.scalar(select(func.count()).where(Okr.org_id == "acme")) == 2
    assert session.get(Okr, {"org_id": "acme", "id": "O-1"}).title.startswith("Every patient")


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_a_bundle_naming_one_id_twice_in_two_forms_is_refused_naming_both(
    session: Session, form: str
) -> None:
    document = small_bundle()
    document["okrs"][0]["id"] = NFD_CAFE
    document["okrs"][1]["id"] = NFC_CAFE
    document["check_ins"][0]["okr"] = NFD_CAFE
    document["check_ins"][1]["okr"] = NFC_CAFE
    dump = json.dumps if form == "json" else yaml.safe_dump
    with pytest.raises(BundleInvalid) as refused:
        import_document(session, dump(document))
    [problem] = problems(refused)
    assert problem["path"] == "$.okrs[1].id"
    assert "(first at $.okrs[0])" in problem["message"]
    assert ascii(NFD_CAFE) in problem["message"] and ascii(NFC_CAFE) in problem["message"]
    assert session.get(Organization, "acme") is None  # nothing written


def test_key_results_of_two_okrs_that_read_the_same_are_refused() -> None:
    document = small_bundle()
    document["okrs"][0]["key_results"][0]["id"] = "KR-１"
    document["okrs"][1]["key_results"][0]["id"] = "KR-1"
    document["check_ins"][0]["key_result"] = None
    with pytest.raises(BundleInvalid) as refused:
        parse_bundle(document)
    [problem] = problems(refused)
    assert problem["path"] == "$.okrs[1].key_results[0].id"
    assert "first at $.okrs[0].key_results[0]" in problem["message"]


def test_a_labels_file_naming_one_okr_twice_in_two_forms_is_refused() -> None:
    labels = {
        "format": "goldenthread.labels/v1",
        "links": {NFD_CAFE: ["SO-1"], NFC_CAFE: []},
    }
    with pytest.raises(BundleInvalid) as refused:
        parse_labels(labels)
    [problem] = problems(refused)
    assert problem["path"] == f"$.links.{NFC_CAFE}"
    assert ascii(NFD_CAFE) in problem["message"]
    assert parse_labels({**labels, "links": {"Ｏ－１": ["ＳＯ－１"]}}).links == {"O-1": ["SO-1"]}


def _csv(*rows: str) -> str:
    return "\n".join(["okr_id,team,cycle,okr_title,declared_links,kr_id,kr_title", *rows]) + "\n"


def test_csv_rows_whose_okr_ids_read_the_same_are_one_okr(session: Session) -> None:
    import_document(session, small_bundle())
    sheet = _csv(
        f"{NFD_CAFE},T-1,2026-Q3,Café for staff,SO-1,K-1,Cups refilled",
        f"{NFC_CAFE},Ｔ－１,,,ＳＯ－１,K-2,Tables wiped",
    )
    summary = import_csv(session, "acme", sheet)
    assert summary.created["okrs"] == 1 and summary.created["key_results"] == 2
    krs = session.scalars(
        select(KeyResult.id).where(KeyResult.org_id == "acme", KeyResult.okr_id == NFC_CAFE)
    ).all()
    assert sorted(krs) == ["K-1", "K-2"]


def test_a_csv_okr_in_another_form_replaces_the_stored_one(session: Session) -> None:
    import_document(session, small_bundle())
    sheet = _csv("Ｏ－２,T-2,2026-Q4,Cut wasted ward stock,SO-2,Ｏ－２－ＫＲ１,Expired stock value")
    summary = import_csv(session, "acme", sheet)
    assert summary.created["okrs"] == 0 and summary.created["key_results"] == 0
    assert session.scalar(select(func.count()).where(Okr.org_id == "acme")) == 2


# --- migration 0021 ----------------------------------------------------------------------


def _org(session: Session, org: str, okrs: dict[str, str]) -> None:
    """An organization at migration 0020, written as the code then stored it: ids as sent.
    `okrs`: OKR id -> its key result's id."""
    session.add(Organization(id=org, name=org))
    session.flush()
    session.add(Cycle(org_id=org, id="２０２６-Q3"))
    session.add(Team(org_id=org, id="Ｔ－１", name="Pharmacy", content_hash="h"))
    session.add(StrategicObjective(org_id=org, id="SO-" + NFD_CAFE, title="Café", content_hash="h"))
    session.flush()
    for okr, kr in okrs.items():
        # Only the columns of revision 0020 (the model has more since): a Core insert names
        # just these.
        session.execute(
            insert(Okr).values(
                org_id=org,
                id=okr,
                team_id="Ｔ－１",
                cycle_id="２０２６-Q3",
                title="t",
                content_hash="h",
            )
        )
        session.add(KeyResult(org_id=org, id=kr, okr_id=okr, title="k", content_hash="h"))
        session.add(DeclaredLink(org_id=org, okr_id=okr, objective_id="SO-" + NFD_CAFE))
    session.flush()


def test_0021_rewrites_stored_ids_and_everything_naming_them(empty_database: str) -> None:
    db.upgrade(empty_database, "0020")
    engine = create_engine(empty_database)
    said = "Calls now happen on day one."
    try:
        with Session(engine) as s, s.begin():
            _org(s, "acme", {NFD_CAFE: "KR-１"})
            _org(s, "ｂｅｔａ", {"O-1": "KR-1"})
            s.add(
                CheckIn(
                    org_id="acme", id="C-１", okr_id=NFD_CAFE, key_result_id="KR-１",
                    text=said, content_hash="h",
                )
            )  # fmt: skip
            s.flush()
            s.add(
                CheckInFeedback(
                    org_id="acme", check_in_id="C-１", verdict="on_topic",
                    text_hash=judged_hash(said, NFD_CAFE, "KR-１"), decided_by="ann",
                )
            )  # fmt: skip
            # As stored before (create_key now stores team ids in their normal form).
            lead_key = ApiKey(
                prefix="lead0021", secret_hash="0" * 64, org_id="acme", role="team_lead",
                team_ids=["Ｔ－１"], name="lead", created_by="test",
            )  # fmt: skip
            s.add(lead_key)
            s.flush()
            lead = lead_key.id
            admin = keys.create_key(s, org_id="ｂｅｔａ", role=Role.admin)[0].id
        db.upgrade(empty_database)
        with Session(engine) as s:
            assert set(s.scalars(select(Organization.id))) == {"acme", "beta"}
            okr = s.get(Okr, {"org_id": "acme", "id": NFC_CAFE})
            assert (okr.team_id, okr.cycle_id) == ("T-1", "2026-Q3")
            kr = s.get(KeyResult, {"org_id": "acme", "id": "KR-1"})
            assert kr.okr_id == NFC_CAFE
            check_in = s.get(CheckIn, {"org_id": "acme", "id": "C-1"})
            assert (check_in.okr_id, check_in.key_result_id) == (NFC_CAFE, "KR-1")
            links = s.scalars(
                select(DeclaredLink.objective_id).where(
                    DeclaredLink.org_id == "acme", DeclaredLink.okr_id == NFC_CAFE
                )
            )
            assert list(links) == ["SO-" + NFC_CAFE]
            verdict = s.get(CheckInFeedback, {"org_id": "acme", "check_in_id": "C-1"})
            assert verdict.text_hash == judged_hash(said, NFC_CAFE, "KR-1")  # still counts
            assert s.get(ApiKey, lead).team_ids == ["T-1"]
            assert s.get(ApiKey, admin).org_id == "beta"
            beta = s.get(KeyResult, {"org_id": "beta", "id": "KR-1"})
            assert beta is not None and beta.okr_id == "O-1"
            deferrable = s.scalar(
                text("select count(*) from pg_constraint where contype = 'f' and condeferrable")
            )
            assert deferrable == 0  # the keys are checked per statement again
    finally:
        engine.dispose()


def test_0021_refuses_ids_that_would_become_one_and_changes_nothing(
    empty_database: str,
) -> None:
    db.upgrade(empty_database, "0020")
    engine = create_engine(empty_database)
    try:
        with Session(engine) as s, s.begin():
            _org(s, "acme", {NFD_CAFE: "KR-1", NFC_CAFE: "KR-2", "ＯＫＲ－１": "KR-3"})
        with pytest.raises(RuntimeError) as refused:
            db.upgrade(empty_database)
        said = str(refused.value)
        assert f"organization 'acme', OKR {NFD_CAFE!a} and {NFC_CAFE!a}" in said
        assert "nothing was changed" in said and "ＯＫＲ－１" not in said
        assert db.schema_revision(empty_database) == "0020"
        with Session(engine) as s:
            assert set(s.scalars(select(Okr.id))) == {NFD_CAFE, NFC_CAFE, "ＯＫＲ－１"}
    finally:
        engine.dispose()
