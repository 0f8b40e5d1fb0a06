"""`goldenthread eval alignment`: the service's own pipeline scored against labels.

For each bundle: import it into a scratch organization (declared links stripped), embed and
score with `scoring.stage.score_organization`, read back what was stored, and only then open
the labels file. Everything happens in one transaction that is rolled back, so an eval leaves
no trace in the database. Baselines (TF-IDF cosine, plain embedding cosine) rank the same
records with the same vectors.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from alignment.bundle.io import load_file
from alignment.bundle.validate import parse_labels
from alignment.embed import VectorCache
from alignment.embedder import Embedder
from alignment.errors import BundleInvalid, Invalid
from alignment.imports import import_document
from alignment.scoring import reads as link_reads
from alignment.scoring.org_documents import load_docs
from alignment.scoring.stage import score_organization
from alignment.verdicts import verdicts
from evals import baselines, metrics

if TYPE_CHECKING:
    from alignment.adjudicate import Adjudicator

ADJUDICATION_COUNTS = ("asked", "reused", "invalid", "changed", "skipped")

METRICS = (
    "top1",
    "mrr",
    "orphan_auc",
    "orphan_precision",
    "orphan_recall",
    "link_precision",
    "link_recall",
    "link_f1",
    "drift_auc",
    "review_rate",
    "confident_orphan_precision",
    "confident_orphan_recall",
    "false_orphan_share",
)

# Column headings of `table`, at most 11 characters and all different.
HEADERS = {
    "orphan_precision": "orphan_P",
    "orphan_recall": "orphan_R",
    "link_precision": "link_P",
    "link_recall": "link_R",
    "confident_orphan_precision": "conf_orph_P",
    "confident_orphan_recall": "conf_orph_R",
    "false_orphan_share": "false_orph",
}


@dataclass
class Scored:
    """One dataset's predictions, keyed by the bundle's own ids."""

    name: str
    okrs: int
    engine: dict[str, list[dict[str, Any]]]
    drift: dict[str, float]
    tfidf: dict[str, list[tuple[str, float]]]
    cosine: dict[str, list[tuple[str, float]]]
    adjudication: dict[str, Any] = field(default_factory=dict)  # what the LLM pass did, if any
    verdicts: dict[str, str] = field(default_factory=dict)  # aligned / needs_review / orphan
    # okr id -> the orphan score the score stage stored (alignment/verdicts.py)
    orphan_scores: dict[str, float] = field(default_factory=dict)


def score_bundle(
    session: Session,
    bundle_path: Path,
    *,
    embedder: Embedder,
    adjudicator: Adjudicator | None = None,
) -> Scored:
    """Import into a scratch organization and score it; the caller rolls the session back."""
    document = copy.deepcopy(load_file(bundle_path))
    if not isinstance(document, dict) or not isinstance(document.get("organization"), dict):
        raise Invalid(f"{bundle_path}: not a goldenthread bundle (no organization object)")
    scratch = f"eval-{uuid.uuid4().hex[:12]}"
    document["organization"]["id"] = scratch
    for okr in document.get("okrs") or []:
        if isinstance(okr, dict):
            okr.pop("declared_links", None)  # the contract: evaluation ignores declarations
    import_document(session, document)
    summary = score_organization(session, scratch, embedder=embedder, adjudicator=adjudicator)

    engine = {
        okr_id: [{"objective_id": r.objective_id, "score": r.score, "label": r.label} for r in rows]
        for okr_id, rows in link_reads.all_links(session, scratch).items()
    }
    drift = {d["check_in_id"]: d["score"] for d in link_reads.drift(session, scratch)}
    docs = load_docs(session, scratch)
    cache = VectorCache(session, scratch, embedder)  # every vector is stored by now
    return Scored(
        name=bundle_path.name.removesuffix(".json").removesuffix(".bundle"),
        okrs=summary.okrs,
        engine=engine,
        drift=drift,
        tfidf=baselines.tfidf_rankings(docs.objectives, docs.okrs),
        cosine=baselines.embedding_rankings(docs.objectives, docs.okrs, embed=cache),
        adjudication=summary.adjudication or {},
        verdicts=okr_verdicts(engine, link_reads.far_below(session, scratch)),
        orphan_scores=link_reads.orphan_scores(session, scratch),
    )


def okr_verdicts(
    engine: dict[str, list[dict[str, Any]]], far_below: dict[str, bool] | None = None
) -> dict[str, str]:
    """The report's verdict per OKR, relative to this organization's own scores (`far_below`:
    the comparisons with the median the score stage stored)."""
    links = {
        okr: [SimpleNamespace(label=lk["label"], score=lk["score"]) for lk in rows]
        for okr, rows in engine.items()
    }
    return verdicts(links, (), far_below)


def verdict_metrics(verdict: dict[str, str], labels: dict[str, Any]) -> dict[str, Any]:
    """What the report would say: orphan findings against the labels, and the review load.

    Computed per organization (the verdict is relative to its own scores), so the pooled
    figures replace the ones `metrics.evaluate` derives from the pooled rankings."""
    gold = labels.get("links") or {}
    okrs = [o for o in gold if o in verdict]
    flagged = [o for o in okrs if verdict[o] == "orphan"]
    orphans = [o for o in okrs if not gold[o]]
    true_flags = sum(1 for o in flagged if not gold[o])
    return {
        "review_rate": round(sum(verdict[o] == "needs_review" for o in okrs) / len(okrs), 4)
        if okrs
        else None,
        "confident_orphan_precision": round(true_flags / len(flagged), 4) if flagged else None,
        "confident_orphan_recall": round(true_flags / len(orphans), 4) if orphans else None,
        "false_orphan_share": round((len(flagged) - true_flags) / len(okrs), 4) if okrs else None,
    }


def dataset_metrics(scored: Scored, labels: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"dataset": scored.name, "okrs": scored.okrs}
    engine = metrics.evaluate(scored.engine, labels, scored.drift, scored.orphan_scores or None)
    out["labelled_okrs"] = engine.pop("okrs")
    out.update(engine)
    out.update(verdict_metrics(scored.verdicts, labels))
    out["baselines"] = {
        name: {k: metrics.link_metrics(ranking, labels)[k] for k in ("top1", "mrr", "orphan_auc")}
        for name, ranking in (("tfidf", scored.tfidf), ("cosine", scored.cosine))
    }
    return out


def _prefixed(mapping: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {f"{prefix}/{k}": v for k, v in mapping.items()}


def pooled_metrics(pairs: Sequence[tuple[Scored, dict[str, Any]]]) -> dict[str, Any]:
    """Micro-averaged over every labelled OKR of every dataset (ids namespaced per dataset)."""
    engine, drift, tfidf, cosine, verdict, orphan = {}, {}, {}, {}, {}, {}
    labels: dict[str, Any] = {"links": {}, "drift": {}}
    for i, (scored, lab) in enumerate(pairs):
        p = str(i)
        engine |= _prefixed(scored.engine, p)
        drift |= _prefixed(scored.drift, p)
        tfidf |= _prefixed(scored.tfidf, p)
        cosine |= _prefixed(scored.cosine, p)
        verdict |= _prefixed(scored.verdicts, p)  # each computed within its own organization
        orphan |= _prefixed(scored.orphan_scores, p)
        labels["links"] |= _prefixed(lab.get("links") or {}, p)
        labels["drift"] |= _prefixed(lab.get("drift") or {}, p)
    pooled = Scored(
        "all",
        sum(s.okrs for s, _ in pairs),
        engine,
        drift,
        tfidf,
        cosine,
        verdicts=verdict,
        orphan_scores=orphan,
    )
    out = dataset_metrics(pooled, labels)
    out.pop("dataset")
    return out


def run(
    session: Session,
    pairs: Sequence[tuple[Path, Path]],
    *,
    embedder: Embedder,
    progress: Callable[[str], None] | None = None,
    adjudicator: Adjudicator | None = None,
) -> dict[str, Any]:
    """Read and check every labels file, score every bundle, then compute the metrics.

    With `adjudicator` the engine's close calls get the LLM's second opinion first (the same
    pass as `POST /score?adjudicate=true`), so a prompt or model can be measured."""
    every_labels = read_labels(pairs)
    scored = []
    for bundle_path, _ in pairs:
        scored.append(
            score_bundle(session, bundle_path, embedder=embedder, adjudicator=adjudicator)
        )
        if progress:  # after the bundle: the bar counts bundles done, not begun
            progress(bundle_path.name)
    labelled = list(zip(scored, every_labels, strict=True))
    result = pooled_metrics(labelled)
    result["embedding_model"] = embedder.model_name
    if adjudicator is not None:
        result["adjudication"] = {
            "model": adjudicator.chat.model_name,
            "prompt": adjudicator.prompt.ref,
            **{k: sum(s.adjudication.get(k, 0) for s in scored) for k in ADJUDICATION_COUNTS},
            "errors": [e for s in scored if (e := s.adjudication.get("error"))],
        }
    result["datasets"] = [dataset_metrics(s, lab) for s, lab in labelled]
    return result


def read_labels(pairs: Sequence[tuple[Path, Path]]) -> list[dict[str, Any]]:
    """Every labels file, parsed and checked against its bundle before anything is scored: a
    labels file naming an OKR its bundle lacks is reported in seconds, not after the scoring."""
    out = []
    for bundle_path, labels_path in pairs:
        labels = _labels(labels_path)
        document = load_file(bundle_path)
        okrs = document.get("okrs") if isinstance(document, dict) else None
        known = {o.get("id") for o in okrs or [] if isinstance(o, dict)}
        unknown = sorted(set(labels.get("links") or {}) - known)
        if unknown:
            raise Invalid(
                f"{labels_path}: labels name OKRs the bundle does not have",
                details=[{"path": f"$.links.{k}", "message": "unknown OKR"} for k in unknown[:50]],
            )
        out.append(labels)
    return out


def _labels(path: Path) -> dict[str, Any]:
    """A labels file, parsed and checked; every error names the file (the rules' own say only
    "labels file rejected", and a run reads several)."""
    try:
        document = load_file(path)
    except OSError as exc:
        raise Invalid(f"cannot read the labels file {path}: {exc.strerror or exc}") from exc
    try:
        return parse_labels(document).model_dump(mode="json")
    except BundleInvalid as exc:
        swapped = isinstance(document, dict) and "organization" in document
        said = "it is a bundle: give BUNDLE LABELS pairs, in that order" if swapped else ""
        raise BundleInvalid(
            f"{path}: {exc.message}{f' ({said})' if said else ''}", details=exc.details
        ) from exc


def pairs_from_args(paths: Sequence[Path]) -> list[tuple[Path, Path]]:
    if not paths or len(paths) % 2:
        raise Invalid(
            "give BUNDLE LABELS pairs",
            details=[{"path": str(p), "message": "argument"} for p in paths],
        )
    return [(paths[i], paths[i + 1]) for i in range(0, len(paths), 2)]


def table(result: dict[str, Any]) -> str:
    """The readable form: one row per dataset, then the pooled row and the baselines."""
    cols = ("okrs", *METRICS)
    head = f"{'dataset':<32}" + "".join(f"{HEADERS.get(c, c):>12}" for c in cols)

    def row(name: str, m: dict[str, Any]) -> str:
        cells = [
            f"{m.get(c):.3f}" if isinstance(m.get(c), float) else str(m.get(c, "-") or "-")
            for c in cols
        ]
        return f"{name[:31]:<32}" + "".join(f"{c:>12}" for c in cells)

    lines = [head, *(row(d["dataset"], d) for d in result["datasets"]), row("ALL (pooled)", result)]
    for name, b in result["baselines"].items():
        lines.append(row(f"  baseline {name}", {"okrs": result["okrs"], **b}))
    lines.append("P: precision, R: recall; conf_orph: confident orphans (--json names them all)")
    return "\n".join(lines)
