"""`python -m evals.check_labels` passes the shipped labels and names every broken reference."""

import json
import shutil
from pathlib import Path

import pytest

from evals import check_labels

DATASETS = Path("evals/datasets")


@pytest.mark.parametrize(
    "folder", ["dev", "holdout", "real", "dev-styles", "real-dev", "holdout-2", "holdout-3"]
)
def test_every_shipped_labels_file_matches_its_bundle(folder: str) -> None:
    assert check_labels.main([str(DATASETS / folder)]) == 0


def test_broken_labels_are_listed_by_path(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for suffix in ("bundle", "labels"):
        shutil.copy(DATASETS / "dev-styles" / f"quillnet-fibre.{suffix}.json", tmp_path)
    labels_path = tmp_path / "quillnet-fibre.labels.json"
    labels = json.loads(labels_path.read_text())
    del labels["links"]["O-1"]
    labels["links"]["O-2"] = ["SO-99"]
    labels["links"]["O-404"] = []
    labels["drift"]["C-999"] = True
    labels["drift"]["C-1"] = "yes"
    labels_path.write_text(json.dumps(labels))

    assert check_labels.main([str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "$.links: OKR O-1 has no label" in err
    assert "$.links.O-2: no such objective SO-99" in err
    assert "$.links.O-404: no such OKR in the bundle" in err
    assert "$.drift.C-999: no such check-in in the bundle" in err
    assert "$.drift.C-1: not true or false" in err


def test_counts_orphans_drift_and_wrong_declarations() -> None:
    bundle = json.loads((DATASETS / "dev-styles" / "quillnet-fibre.bundle.json").read_text())
    labels = json.loads((DATASETS / "dev-styles" / "quillnet-fibre.labels.json").read_text())
    row = check_labels.counts(bundle, labels)
    assert (row["okrs"], row["orphans"], row["check_ins"], row["drifting"]) == (28, 4, 62, 6)
    assert row["wrong_declared"] == 7


def test_missing_bundle_and_missing_folder_fail(tmp_path: Path) -> None:
    shutil.copy(DATASETS / "dev-styles" / "quillnet-fibre.labels.json", tmp_path)
    assert check_labels.main([str(tmp_path)]) == 1
    with pytest.raises(SystemExit, match="no such file or folder"):
        check_labels.main([str(tmp_path / "nowhere")])
