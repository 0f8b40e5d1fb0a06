"""Words of a refused bundle: counts in the right number, advice fit for the file it is, and a
missing labels file named as missing."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from alignment.bundle.csvform import parse_csv
from alignment.bundle.io import load_document
from alignment.bundle.validate import parse_bundle
from alignment.errors import BundleInvalid
from service.cli import app
from tests.conftest import SAMPLE_BUNDLE
from tests.factories import small_bundle


def _refusal(document) -> BundleInvalid:
    with pytest.raises(BundleInvalid) as caught:
        parse_bundle(document)
    return caught.value


def test_one_problem_is_one_problem_and_two_are_problems() -> None:
    document = small_bundle()
    document["strategic_objectives"][0]["perspective"] = "bogus"
    assert _refusal(document).message == "bundle rejected: 1 problem; nothing was written"
    document["check_ins"][0]["confidence"] = 5
    assert _refusal(document).message == "bundle rejected: 2 problems; nothing was written"


def test_a_csv_with_one_problem_says_so_in_the_singular() -> None:
    with pytest.raises(BundleInvalid) as caught:
        parse_csv("okr_id,team,cycle,okr_title\n,T-1,2026-Q3,Title\n")
    assert caught.value.message == "CSV rejected: 1 problem; nothing was written"


def test_a_latin1_json_bundle_gets_advice_for_json_not_excel() -> None:
    raw = json.dumps(small_bundle(name="Caf\u00e9 Co"), ensure_ascii=False).encode("latin-1")
    with pytest.raises(BundleInvalid) as caught:
        load_document(raw)
    message = caught.value.message
    assert message.startswith("bundle is not UTF-8 text; JSON and YAML must be UTF-8")
    assert "Excel" not in message and "CSV" not in message
    with pytest.raises(BundleInvalid, match="in Excel: 'CSV UTF-8'"):
        parse_csv("okr_id,okr_title\nO-1,Caf\u00e9\n".encode("latin-1"))


def test_eval_without_a_labels_file_says_the_labels_file_is_missing() -> None:
    result = CliRunner().invoke(app, ["eval", "alignment", str(SAMPLE_BUNDLE)])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert f"no labels file for the bundle {SAMPLE_BUNDLE}" in said, said
    assert "argument" not in said
