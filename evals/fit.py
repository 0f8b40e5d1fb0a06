"""Fit the engine's calibration and write it, with its provenance, to calibration.json.

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.fit evals/datasets/dev evals/datasets/holdout \
        --drift-also evals/datasets/dev-styles \
        --orphans-also evals/datasets/dev-styles evals/datasets/real-dev evals/datasets/real

Every constant the scoring math uses that was learned from labelled organizations comes from
here: the two link calibrations (logistic weights and label thresholds: `links_centered`, over
the nine features and the two centered ones, ranks and labels the links; `links`, over the nine,
gives the orphan score), the small-organization one (absolute features only), the drift
calibration with its direction, the weight of the lexical re-ranking within a label
(alignment/scoring/lexical_rank.py) and the orphan rule's share of the organization's median
orphan score (alignment/verdicts.py, evals/orphan_share.py). The output is deterministic: the same
datasets, code and commit give the same bytes, which tests/evals/test_fit.py checks against the
shipped file. Only development data may be passed: the held-out sets are scored with what this
fitted, never fitted on."""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from alignment.scoring import calibration, drift, link_features
from alignment.scoring.calibration import FITTED_PATH
from evals import orphan_share, rank_weight, research

# The fits start from these label-threshold settings; the fit replaces weights, bias and thresholds.
_LINK_BASE = calibration.Calibration(weights=(0.0,) * 9, bias=0.0)
_CENTERED_BASE = calibration.Calibration(
    weights=(0.0,) * len(link_features.CENTERED_FEATURES),
    bias=0.0,
    features=link_features.CENTERED_FEATURES,
)
_SMALL_BASE = calibration.Calibration(weights=(0.0,) * 9, bias=0.0, aligned=0.25, weak=0.125)
_DRIFT_BASE = drift.DriftCalibration(weights=(0.0,) * 8, bias=0.0)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def fit(
    sources: list[str],
    commit: str,
    drift_also: list[str] | None = None,
    orphans_also: list[str] | None = None,
) -> dict:
    """`drift_also`: more dataset folders for the drift calibration only (evals/README.md:
    fitting the links on other styles did not help them, fitting the drift flag did).
    `orphans_also`: more folders the orphan rule's share is chosen on (evals/orphan_share.py)."""
    # Every folder is checked before any work: a refused or missing one fails in a second.
    paths = research.dataset_paths(sources)
    extra_paths = research.dataset_paths(drift_also) if drift_also else []
    orphan_paths = research.dataset_paths(orphans_also) if orphans_also else []
    orgs = [research.load_org(p) for p in paths]
    fit_orgs = [o for o in orgs if o.fit]
    if not fit_orgs:
        raise SystemExit("no organization with orphan or drift labels to fit on")
    drift_orgs = [*fit_orgs, *(o for o in map(research.load_org, extra_paths) if o.fit)]
    fitted = {o.name for o in fit_orgs}
    also = [o for o in map(research.load_org, orphan_paths) if o.name not in fitted]
    for org in also:
        if not org.labels.get("links"):
            raise SystemExit(f"--orphans-also: {org.name} has no link labels to count flags on")
    embed = research.CachedEmbedder()
    centered = research.fit_links(fit_orgs, embed, _CENTERED_BASE)
    links = research.fit_links(fit_orgs, embed, _LINK_BASE)
    small = research.fit_links(fit_orgs, embed, _SMALL_BASE, only=calibration.ABSOLUTE)
    dcal = research.fit_drift(drift_orgs, embed, _DRIFT_BASE)
    weight = rank_weight.fit_rank_weight(fit_orgs, embed, _CENTERED_BASE)
    share = orphan_share.choose_share(
        fit_orgs,
        also,
        embed,
        orphan_share.Bases(_CENTERED_BASE, _LINK_BASE, _SMALL_BASE),
        orphan_share.Bases(centered, links, small),
    )
    # alignment/verdicts.py relies on it: an OKR under the share of any median (at most 1)
    # has no link either calibration calls weak (orphan_share.choose_share picks no share above).
    if share > min(centered.weak, links.weak, small.weak):
        raise SystemExit(f"orphan share {share} above a weak threshold: verdicts.py's rule breaks")
    embed.save()
    every = [*paths, *extra_paths, *(p for p in orphan_paths if p not in extra_paths)]
    labels = [Path(str(p).replace(".bundle.", ".labels.")) for p in every]
    command = "python -m evals.fit " + " ".join(sources)
    if drift_also:
        command += " --drift-also " + " ".join(drift_also)
    if orphans_also:
        command += " --orphans-also " + " ".join(orphans_also)
    provenance = {
        "command": command,
        "commit": commit,
        "datasets": {str(p): _sha256(p) for p in sorted([*every, *labels])},
        "fit_organizations": sorted(o.name for o in fit_orgs),
    }
    if drift_also:
        provenance["drift_organizations"] = sorted(o.name for o in drift_orgs)
    provenance["orphan_organizations"] = sorted(o.name for o in [*fit_orgs, *also])
    return {
        "provenance": provenance,
        "links": asdict(links),
        "links_centered": asdict(centered),
        "small_org": asdict(small),
        "drift": {**asdict(dcal), "direction": list(dcal.direction)},
        "rank_fusion": {
            "weight": weight,
            "signal": "char_word",
            "order": "label_first",
            "fitted": "listwise, leave-one-org-out scores (evals/rank_weight.py)",
        },
        "verdicts": {
            "orphan_share_of_median": share,
            "chosen": f"highest recall with precision >= {orphan_share.PRECISION_FLOOR}, "
            "leave-one-org-out scores (evals/orphan_share.py)",
        },
    }


def dumps(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", help="dataset folders or bundle files (dev data only)")
    ap.add_argument("--out", default=str(FITTED_PATH), help="where to write (default: shipped)")
    ap.add_argument("--commit", help="commit to record (default: git HEAD)")
    ap.add_argument(
        "--drift-also", nargs="+", default=[], help="more folders for the drift calibration only"
    )
    ap.add_argument(
        "--orphans-also",
        nargs="+",
        default=[],
        help="more folders the orphan rule's share is chosen on (its labelled OKRs)",
    )
    args = ap.parse_args(argv)
    text = dumps(fit(args.sources, args.commit or _commit(), args.drift_also, args.orphans_also))
    Path(args.out).write_text(text)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
