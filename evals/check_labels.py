"""Check labelled evaluation pairs before they are used, and count what they hold.

    .venv/bin/python -m evals.check_labels evals/datasets/dev-styles

Takes folders or `*.labels.json` files; each labels file needs its `*.bundle.json` beside it.
A pair passes when every OKR of the bundle is labelled, every label names an OKR and objectives
of that bundle, and `drift` names check-ins of that bundle. Bundle rules themselves are the
importer's job (`goldenthread import --dry-run`). Exits 1 and lists every problem otherwise.
"""

import json
import sys
from pathlib import Path

LABELS_FORMAT = "goldenthread.labels/v1"
BUNDLE_FORMAT = "goldenthread.bundle/v1"


def problems(bundle: dict, labels: dict) -> list[str]:
    found = []
    if bundle.get("format") != BUNDLE_FORMAT:
        found.append(f"$.format of the bundle is not {BUNDLE_FORMAT}")
    if labels.get("format") != LABELS_FORMAT:
        found.append(f"$.format of the labels is not {LABELS_FORMAT}")
    objectives = {so["id"] for so in bundle.get("strategic_objectives", [])}
    okrs = {okr["id"] for okr in bundle.get("okrs", [])}
    check_ins = {ci["id"] for ci in bundle.get("check_ins", [])}
    links = labels.get("links", {})
    drift = labels.get("drift", {})
    for okr_id in sorted(okrs - links.keys()):
        found.append(f"$.links: OKR {okr_id} has no label")
    for okr_id, gold in links.items():
        if okr_id not in okrs:
            found.append(f"$.links.{okr_id}: no such OKR in the bundle")
        if not isinstance(gold, list):
            found.append(f"$.links.{okr_id}: not a list")
            continue
        for so_id in gold:
            if so_id not in objectives:
                found.append(f"$.links.{okr_id}: no such objective {so_id}")
        if len(set(gold)) != len(gold):
            found.append(f"$.links.{okr_id}: repeats an objective")
    for ci_id, flag in drift.items():
        if ci_id not in check_ins:
            found.append(f"$.drift.{ci_id}: no such check-in in the bundle")
        if not isinstance(flag, bool):
            found.append(f"$.drift.{ci_id}: not true or false")
    return found


def counts(bundle: dict, labels: dict) -> dict:
    links = labels.get("links", {})
    drift = labels.get("drift", {})
    okrs = bundle.get("okrs", [])
    declaring = [okr for okr in okrs if okr.get("declared_links")]
    wrong = [
        okr
        for okr in declaring
        if okr["id"] in links and sorted(okr["declared_links"]) != sorted(links[okr["id"]])
    ]
    return {
        "objectives": len(bundle.get("strategic_objectives", [])),
        "teams": len(bundle.get("teams", [])),
        "okrs": len(okrs),
        "orphans": sum(1 for gold in links.values() if not gold),
        "multi_link": sum(1 for gold in links.values() if len(gold) > 1),
        "declaring": len(declaring),
        "wrong_declared": len(wrong),
        "check_ins": len(bundle.get("check_ins", [])),
        "drifting": sum(1 for flag in drift.values() if flag),
    }


def label_files(args: list[str]) -> list[Path]:
    files = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            files.extend(sorted(path.glob("*.labels.json")))
        elif path.is_file():
            files.append(path)
        else:
            raise SystemExit(f"{arg}: no such file or folder")
    if not files:
        raise SystemExit("no *.labels.json found")
    return files


def main(args: list[str]) -> int:
    failed = False
    print(
        "| file | objectives | teams | OKRs | orphans | multi-link | declaring | wrong declared "
        "| check-ins | drifting |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for labels_path in label_files(args):
        name = labels_path.name.removesuffix(".labels.json")
        bundle_path = labels_path.with_name(f"{name}.bundle.json")
        if not bundle_path.is_file():
            print(f"{labels_path}: no bundle {bundle_path.name} beside it", file=sys.stderr)
            failed = True
            continue
        bundle = json.loads(bundle_path.read_text())
        labels = json.loads(labels_path.read_text())
        found = problems(bundle, labels)
        for problem in found:
            print(f"{labels_path}: {problem}", file=sys.stderr)
        failed = failed or bool(found)
        row = counts(bundle, labels)
        print(f"| {name} | " + " | ".join(str(v) for v in row.values()) + " |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
