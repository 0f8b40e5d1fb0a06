"""The shipped calibration is generated: `python -m evals.fit` reproduces it bit for bit."""

import inspect
import json
import shlex
from pathlib import Path

import pytest

from alignment import verdicts
from alignment.scoring import calibration, drift, lexical_rank, link_scores
from evals import fit, research

SHIPPED = calibration.FITTED_PATH


def test_missing_dataset_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no-such-folder: no such dataset"):
        research.dataset_paths(["evals/datasets/dev", str(tmp_path / "no-such-folder")])
    with pytest.raises(SystemExit, match=r"no \*\.bundle\.json"):
        research.dataset_paths([str(tmp_path)])


def test_no_research_script_reads_a_final_held_out_set(monkeypatch) -> None:
    def fit_links(*args, **kwargs):
        raise AssertionError("fitted before every folder was checked")

    monkeypatch.setattr(research, "fit_links", fit_links)
    for held_out in ("evals/datasets/holdout-2", "evals/datasets/holdout-3/sprigbox.bundle.json"):
        with pytest.raises(SystemExit, match=r"holdout-\d is a final held-out set"):
            fit.main(["evals/datasets/dev", "--orphans-also", held_out, "--out", "/dev/null"])


def test_engine_constants_come_from_the_generated_file() -> None:
    data = json.loads(SHIPPED.read_text())
    assert list(calibration.DEFAULT.weights) == data["links_centered"]["weights"]
    assert list(calibration.DEFAULT.features) == data["links_centered"]["features"]
    assert list(calibration.PLAIN.weights) == data["links"]["weights"]
    assert list(calibration.SMALL_ORG.weights) == data["small_org"]["weights"]
    assert list(drift.DEFAULT.direction) == data["drift"]["direction"]
    assert lexical_rank.RANK_WEIGHT == data["rank_fusion"]["weight"] > 0
    assert 0 < verdicts.ORPHAN_SHARE_OF_MEDIAN == data["verdicts"]["orphan_share_of_median"] < 1
    default = inspect.signature(link_scores.score_links).parameters["rank_weight"].default
    assert default == lexical_rank.RANK_WEIGHT
    # Only development data may be fitted on: never the fresh held-out set nor the unseen pages.
    for path in data["provenance"]["datasets"]:
        assert path.startswith("evals/datasets/") and not research.HELD_OUT.search(path), path


def test_fit_reproduces_the_shipped_file_bit_for_bit(tmp_path: Path) -> None:
    provenance = json.loads(SHIPPED.read_text())["provenance"]
    for path, digest in provenance["datasets"].items():  # the data it was fitted on is unchanged
        assert fit._sha256(Path(path)) == digest, f"{path} changed since the fit: re-run evals.fit"
    sources = shlex.split(provenance["command"])[3:]
    out = tmp_path / "calibration.json"
    fit.main([*sources, "--out", str(out), "--commit", provenance["commit"]])
    assert out.read_bytes() == SHIPPED.read_bytes()
