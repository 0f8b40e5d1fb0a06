"""Ranking variants for issue 11: does a lexical signal fused into the *ranking* help other styles?

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.rank_fusion DEV_DIR... [-v]

Scores every organization with the engine's link calibration exactly as `evals.research` does
(fit organizations leave-one-org-out, fitted on the other fit organizations; ranking-only
organizations with the calibration fitted on all of them), then re-ranks each OKR's objectives
by a fused score: the engine's probability plus a lexical signal (word or character TF-IDF, BM25,
with or without the objective's KPI names and perspective). The labels (aligned / weak / none)
and the score every verdict reads stay the engine's calibrated probability; only the order moves.
A fused rank-1 that is not aligned while another objective is ("contradiction") is counted and,
per handling mode, left, avoided (aligned links first) or resolved by moving the label.

Every fusion weight is chosen leave-one-org-out too, on the other organizations (of every group,
or of the groups named by --choose-on), by a --criterion: the best mean MRR on a grid ("mean"),
the best worst-group MRR gain ("maxmin"), or a listwise likelihood fit ("listwise"), so no figure
printed for an organization saw that organization's labels. Columns: top1 mrr link_f1 orphan_auc
confident-orphan P R review_rate contradictions, then the report's view (it loads non-"none" links
and rank 1 only): orphan findings and true ones (summed over the group) and its review share.
Development data only: never pass a held-out set.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.special import logit
from sklearn.feature_extraction.text import TfidfVectorizer

from alignment.scoring import calibration, lexical, lexical_rank, link_features
from alignment.scoring.documents import ObjectiveDoc
from alignment.verdicts import verdicts
from evals import metrics, rank_weight, research

# ---------------------------------------------------------------- lexical signals (n_okrs x n_obj)


def _objective_texts(objectives: Sequence[ObjectiveDoc], *, perspective: bool) -> list[str]:
    out = []
    for o in objectives:
        text = link_features.objective_text(o)
        if perspective and o.perspective:
            text += ". " + o.perspective.replace("_", " ")
        out.append(text)
    return out


def _cosine(vec: TfidfVectorizer, left: list[str], right: list[str]) -> np.ndarray:
    m = vec.fit_transform(left + right)
    return (m[: len(left)] @ m[len(left) :].T).toarray()


def word_tfidf(objectives, okrs, *, perspective=False) -> np.ndarray:
    """The TF-IDF baseline's cosine (words, English stop words, fitted on the organization)."""
    if not perspective:
        return lexical_rank.word_tfidf(objectives, okrs)
    k = [link_features.okr_text(x) for x in okrs]
    o = _objective_texts(objectives, perspective=perspective)
    return _cosine(TfidfVectorizer(stop_words="english", sublinear_tf=True), k, o)


def char_tfidf(objectives, okrs, *, perspective=False) -> np.ndarray:
    """Character 3-5-grams inside word boundaries: survives 'retention'/'D30 ret.' and typos."""
    if not perspective:
        return lexical_rank.char_tfidf(objectives, okrs)
    k = [link_features.okr_text(x) for x in okrs]
    o = _objective_texts(objectives, perspective=perspective)
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=True)
    return _cosine(vec, k, o)


def char_fieldmax(objectives, okrs, *, perspective=False) -> np.ndarray:
    """Best character-TF-IDF cosine between any OKR field and any objective field."""
    kf = [(i, t) for i, x in enumerate(okrs) for _, t in link_features._okr_fields(x)]
    of = [(j, t) for j, o in enumerate(objectives) for _, t in link_features._objective_fields(o)]
    if perspective:
        of += [
            (j, o.perspective.replace("_", " ")) for j, o in enumerate(objectives) if o.perspective
        ]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    sim = _cosine(vec, [t for _, t in kf], [t for _, t in of])
    out = np.zeros((len(okrs), len(objectives)))
    ki = np.array([i for i, _ in kf])
    oj = np.array([j for j, _ in of])
    for i in range(len(okrs)):
        rows = sim[ki == i]
        for j in range(len(objectives)):
            out[i, j] = rows[:, oj == j].max()
    return out


def _bm25(query_tokens: list[list[str]], doc_tokens: list[list[str]], k1=1.2, b=0.75):
    n = len(doc_tokens)
    df: dict[str, int] = {}
    for d in doc_tokens:
        for t in set(d):
            df[t] = df.get(t, 0) + 1
    avg = max(np.mean([len(d) for d in doc_tokens]), 1.0)
    idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
    out = np.zeros((len(query_tokens), n))
    for j, d in enumerate(doc_tokens):
        tf: dict[str, int] = {}
        for t in d:
            tf[t] = tf.get(t, 0) + 1
        norm = k1 * (1 - b + b * len(d) / avg)
        for i, q in enumerate(query_tokens):
            out[i, j] = sum(idf[t] * tf[t] * (k1 + 1) / (tf[t] + norm) for t in set(q) if t in tf)
    return out


def bm25_stems(objectives, okrs, *, perspective=False) -> np.ndarray:
    """BM25 with the engine's stemmer: objectives (+ KPI names) are the documents."""
    docs = [lexical.stems(t) for t in _objective_texts(objectives, perspective=perspective)]
    queries = [lexical.stems(link_features.okr_text(x)) for x in okrs]
    return _bm25(queries, docs)


def bm25_chars(objectives, okrs, *, perspective=False) -> np.ndarray:
    """BM25 over character 4-grams of the words (terse jargon, inflections, non-native forms)."""

    def grams(text: str) -> list[str]:
        out = []
        for w in text.lower().split():
            w = f" {''.join(c for c in w if c.isalnum())} "
            out += [w[i : i + 4] for i in range(max(len(w) - 3, 1))]
        return out

    docs = [grams(t) for t in _objective_texts(objectives, perspective=perspective)]
    queries = [grams(link_features.okr_text(x)) for x in okrs]
    return _bm25(queries, docs)


def stem_overlap(objectives, okrs, *, perspective=False) -> np.ndarray:
    """The engine's own `lex` feature (IDF-weighted shared stems)."""
    k = [set(lexical.stems(link_features.okr_text(x))) for x in okrs]
    o = [set(lexical.stems(t)) for t in _objective_texts(objectives, perspective=perspective)]
    idf = lexical.Idf([*k, *o])
    return lexical.overlap_matrix(k, o, idf)


def char_and_word(objectives, okrs, *, perspective=False) -> np.ndarray:
    """Sum of the row z-scores of character and word TF-IDF (what the engine ships)."""
    if not perspective:
        return lexical_rank.char_word(objectives, okrs)
    a = char_tfidf(objectives, okrs, perspective=perspective)
    b = word_tfidf(objectives, okrs, perspective=perspective)
    return _rowz(a) + _rowz(b)


def rocchio(org, probs: np.ndarray, cal, embed, alpha: float = 1.0) -> np.ndarray:
    """Cosine to the objective expanded by the OKRs the engine confidently gives it (each OKR
    left out of its own expansion): one-word objectives borrow their OKRs' vocabulary."""
    k = np.asarray(embed([link_features.okr_text(x) for x in org.okrs]), dtype=np.float64)
    o = np.asarray(
        embed([link_features.objective_text(x) for x in org.objectives]), dtype=np.float64
    )
    codes = calibration.label_codes(probs, cal)
    member = (codes == 2).astype(np.float64)  # (okrs, objectives)
    sums = member.T @ k  # (objectives, dim)
    counts = member.sum(axis=0)
    out = np.zeros_like(probs)
    for i in range(len(org.okrs)):
        s_i = sums - member[i][:, None] * k[i][None, :]
        c_i = np.maximum(counts - member[i], 1.0)
        v = o + alpha * s_i / c_i[:, None]
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[i] = v @ k[i]
    return out


SIGNALS: dict[str, Callable[..., np.ndarray]] = {
    "char_word": char_and_word,
    "word_tfidf": word_tfidf,
    "char_tfidf": char_tfidf,
    "char_fieldmax": char_fieldmax,
    "bm25": bm25_stems,
    "bm25_char": bm25_chars,
    "stems": stem_overlap,
}

# ---------------------------------------------------------------- fusions


def _ranks(m: np.ndarray) -> np.ndarray:
    """1-based rank of each objective in its row (ties: first by index)."""
    order = np.argsort(-m, axis=1, kind="stable")
    r = np.empty_like(order)
    np.put_along_axis(r, order, np.arange(1, m.shape[1] + 1)[None, :], axis=1)
    return r


_rowz = lexical_rank.row_z


def rrf(p: np.ndarray, lex: np.ndarray, w: float, k: float = 5.0) -> np.ndarray:
    return 1.0 / (k + _ranks(p)) + w / (k + _ranks(lex))


FUSIONS = {"rrf": rrf, "logit+z": lexical_rank.fused}
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0, 1.25, 1.5, 2.0)

# ---------------------------------------------------------------- predictions and metrics


@dataclass(eq=False)
class Scored:
    org: research.Org
    probs: np.ndarray  # engine probabilities, all OKRs x objectives
    cal: calibration.Calibration
    signals: dict[str, np.ndarray]


def predictions(s: Scored, rank_score: np.ndarray, mode: str) -> tuple[dict, int]:
    """okr id -> [(objective id, engine probability, label)] in fused order; contradictions.

    mode "keep": labels as the engine gave them, whatever the order.
    mode "aligned_first": aligned links first (fused order within), so rank 1 is aligned
        whenever any link is.
    mode "move": the fused rank-1 takes the aligned label when another link has it and its
        own label is at least weak (the engine also found it plausible); otherwise as "keep".
    mode "best_kept": as aligned_first, except that an OKR whose links are all "none" keeps its
        highest-probability link at rank 1 (the report reads rank 1 as its best score).
    mode "all_fused": aligned, then weak, then "none" links, fused order within each label (the
        report must then read an OKR's best score by score, not from rank 1).
    mode "label_first": aligned, then weak links (fused order within each), then the "none"
        links in the engine's order: the report, which reads only non-"none" links and rank 1
        (alignment/report/facts.py), then sees the same best score for every OKR.
    """
    codes = calibration.label_codes(s.probs, s.cal)
    out, contradictions = {}, 0
    ids = [o.id for o in s.org.objectives]
    for k, okr in enumerate(s.org.okrs):
        c = codes[k].copy()
        key = -rank_score[k]
        if mode == "aligned_first":
            order = np.lexsort((key, (c != 2)))
        elif mode == "label_first":  # what the engine ships (alignment/scoring/lexical_rank.py)
            order = lexical_rank.label_first_order(s.probs[k], c, rank_score[k])
        elif mode == "all_fused":  # aligned, weak, "none": fused order within each label
            order = np.lexsort((key, -c.astype(np.int64)))
        elif mode == "best_kept":  # aligned first, then fused; an all-"none" OKR keeps its best
            order = np.lexsort((key, (c != 2)))
            if (c == 0).all():
                best = int(np.argmax(s.probs[k]))
                order = np.asarray([best, *(j for j in order if j != best)])
        else:
            order = np.argsort(key, kind="stable")
        top = order[0]
        if (c == 2).any() and c[top] != 2:
            contradictions += 1
            if mode == "move" and c[top] >= 1:
                c[top] = 2
        out[okr.id] = [(ids[j], float(s.probs[k, j]), calibration.LABELS[c[j]]) for j in order]
    return out, contradictions


def evaluate(s: Scored, rank_score: np.ndarray, mode: str) -> dict:
    preds, contradictions = predictions(s, rank_score, mode)
    m = metrics.evaluate(preds, s.org.labels)
    labelled = [k for k in s.org.labels["links"]]
    m["contradictions"] = contradictions / max(len(labelled), 1)

    # The report loads only non-"none" links and rank 1 (alignment/report/facts.py): its
    # verdicts read rank 1's score as the best of an OKR with no aligned or weak link.
    class _L:
        def __init__(self, score, label):
            self.score, self.label = score, label

    seen = {
        k: [_L(sc, lb) for i, (_, sc, lb) in enumerate(v) if lb != "none" or i == 0]
        for k, v in preds.items()
    }
    v = verdicts(seen)
    full = verdicts({k: [_L(sc, lb) for _, sc, lb in v_] for k, v_ in preds.items()})
    gold = s.org.labels["links"]
    go = np.array([not gold[k] for k in gold])
    co = np.array([v[k] == "orphan" for k in gold])
    m["svc_orphans"] = int(co.sum())
    m["svc_review"] = float(np.mean([v[k] == "needs_review" for k in gold]))
    m["svc_co_tp"] = int((co & go).sum()) if go.any() else None
    # The review queue and the OKR views read the 3 best-ranked links (alignment/review.py).
    top3 = verdicts({k: [_L(sc, lb) for _, sc, lb in v[:3]] for k, v in preds.items()})
    m["top3_changed"] = sum(top3[k] != full[k] for k in gold)
    return m


def score_orgs(orgs, embed, names: Sequence[str]) -> list[Scored]:
    fit_orgs = [o for o in orgs if o.fit]
    full = research.fit_links(fit_orgs, embed, calibration.DEFAULT)
    out = []
    for org in orgs:
        cal = (
            research.fit_links([o for o in fit_orgs if o is not org], embed, calibration.DEFAULT)
            if org in fit_orgs
            else full
        )
        probs, _ = link_features.pair_scores(org.objectives, org.okrs, embed=embed, calibration=cal)
        signals = {}
        if "rocchio" in names:
            signals["rocchio"] = rocchio(org, probs, cal, embed)
        if "mix" in names:
            r = signals.get("rocchio")
            r = rocchio(org, probs, cal, embed) if r is None else r
            signals["mix"] = _rowz(r) + _rowz(char_and_word(org.objectives, org.okrs))
        for name in names:
            if name in ("rocchio", "mix"):
                continue
            fn, _, persp = name.partition("+")
            signals[name] = SIGNALS[fn](org.objectives, org.okrs, perspective=bool(persp))
        out.append(Scored(org, probs, cal, signals))
    return out


def _hits(s: Scored, rank_score: np.ndarray, mode: str) -> np.ndarray:
    """1 where an OKR with gold links has one at rank 1 (labelled OKRs with links only)."""
    gold = s.org.labels["links"]
    preds, _ = predictions(s, rank_score, mode)
    return np.array([int(preds[k][0][0] in g) for k, g in gold.items() if g])


def listwise_weight(orgs: Sequence[Scored], name: str) -> float:
    """w maximizing the likelihood that an OKR's gold objective wins a softmax over its
    organization's objectives of a * logit(p) + b * z(lexical): w = b / a (the fit
    `evals.fit` ships, evals/rank_weight.py)."""
    blocks = (rank_weight.block(t.probs, t.signals[name], t.org) for t in orgs)
    return rank_weight.listwise_weight(b for b in blocks if b is not None)


def choose_weight(orgs: Sequence[Scored], per_w: dict, criterion: str) -> float:
    """The weight with the best mean MRR over `orgs` ("mean"), or the best worst-group gain in
    mean MRR over w = 0 ("maxmin": a weight must help every writing style, not the average)."""
    if criterion.startswith("listwise:"):
        return listwise_weight(orgs, criterion.split(":", 1)[1])
    if criterion == "mean":
        return max(WEIGHTS, key=lambda w: np.mean([per_w[w][id(t)]["mrr"] for t in orgs]))
    groups: dict[str, list[Scored]] = {}
    for t in orgs:
        groups.setdefault(t.org.source, []).append(t)

    def worst(w: float) -> tuple[float, float]:
        gains = [
            np.mean([per_w[w][id(t)]["mrr"] - per_w[0.0][id(t)]["mrr"] for t in g])
            for g in groups.values()
        ]
        return round(float(min(gains)), 9), -w  # ties: the smaller weight

    return max(WEIGHTS, key=worst)


COLUMNS = ("top1", "mrr", "link_f1", "orphan_auc", "confident_orphan_precision")
COLUMNS += ("confident_orphan_recall", "review_rate", "contradictions")
COLUMNS += ("svc_orphans", "svc_co_tp", "svc_review", "top3_changed")


def group_means(rows: dict[str, list[dict]]) -> dict[str, dict]:
    out = {}
    for g, ms in rows.items():
        out[g] = {}
        for c in COLUMNS:
            v = [m[c] for m in ms if m.get(c) is not None]
            # counts: pooled over organizations
            summed = c in ("svc_orphans", "svc_co_tp", "top3_changed")
            out[g][c] = (float(np.sum(v)) if summed else float(np.mean(v))) if v else None
    return out


def fmt(means: dict[str, dict], columns: Sequence[str] = COLUMNS[:3]) -> str:
    cells = []
    for g, m in means.items():
        cells.append(f"{g}: " + " ".join("-" if m[c] is None else f"{m[c]:.3f}" for c in columns))
    return " | ".join(cells)


SINKHORN = ((1, 1.0), (3, 1.0), (10, 1.0), (1, 2.0), (3, 2.0), (1, 0.5))


def sinkhorn(probs: np.ndarray, iterations: int, temperature: float) -> np.ndarray:
    """Column balancing: exp(logit(p) / T), then alternately every objective's column scaled to
    the same total and every OKR's row to 1, so an objective close to everything ("hub") stops
    taking rank 1 from the rest."""
    k = np.exp(logit(np.clip(probs, 1e-6, 1 - 1e-6)) / temperature)
    for _ in range(iterations):
        k = k / k.sum(axis=0, keepdims=True) * (k.shape[0] / k.shape[1])
        k = k / k.sum(axis=1, keepdims=True)
    return k


def pooled_top1(scored: Sequence[Scored], rank_fn) -> dict[str, float]:
    hits: dict[str, list[np.ndarray]] = {}
    for s in scored:
        hits.setdefault(s.org.source, []).append(_hits(s, rank_fn(s), "keep"))
    return {g: float(np.concatenate(h).mean()) for g, h in hits.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", help="development dataset folders")
    ap.add_argument("--signals", default=",".join(SIGNALS))
    ap.add_argument("--perspective", action="store_true", help="also each signal + perspective")
    ap.add_argument("--full", action="store_true", help="every column (COLUMNS) per group")
    ap.add_argument(
        "--sinkhorn",
        action="store_true",
        help="only: pooled top1 with each OKR's objectives ranked after column balancing",
    )
    ap.add_argument("--fusions", default=",".join(FUSIONS))
    ap.add_argument("--criterion", choices=("mean", "maxmin", "listwise"), default="mean")
    ap.add_argument("--grid", action="store_true", help="every fixed weight per group")
    ap.add_argument("--modes", default="keep,aligned_first,move")
    ap.add_argument(
        "--choose-on", help="source folders whose organizations choose the weight (default: all)"
    )
    ap.add_argument("-v", action="store_true", help="per-organization figures of each winner")
    args = ap.parse_args()
    orgs = research.load_all(args.sources)
    embed = research.CachedEmbedder()
    names = args.signals.split(",")
    if args.perspective:
        names += [n + "+p" for n in names]
    scored = score_orgs(orgs, embed, names)
    embed.save()

    def run(rank_fn, mode="keep") -> dict[str, list[dict]]:
        rows: dict[str, list[dict]] = {}
        for s in scored:
            rows.setdefault(s.org.source, []).append(evaluate(s, rank_fn(s), mode))
        return rows

    if args.sinkhorn:
        base_top1 = pooled_top1(scored, lambda s: s.probs)
        print("pooled top1 | " + " | ".join(f"{g}: {v:.3f}" for g, v in base_top1.items()))
        for iterations, temperature in SINKHORN:
            balanced = partial(sinkhorn, iterations=iterations, temperature=temperature)
            top1 = pooled_top1(scored, lambda s, f=balanced: f(s.probs))
            worst = min(top1[g] - base_top1[g] for g in top1)
            cells = " | ".join(f"{g}: {v:.3f}" for g, v in top1.items())
            print(f"sinkhorn {iterations} x, T {temperature:g} | {cells} | worst gain {worst:+.3f}")
        return
    base = run(lambda s: s.probs)
    print("groups: top1 mrr link_f1 (mean over organizations)")
    print(f"{'engine':<34}", fmt(group_means(base), COLUMNS if args.full else COLUMNS[:3]))
    for name in names:
        alone = group_means(run(lambda s, name=name: s.signals[name]))
        print(f"{'lexical alone ' + name:<34}", fmt(alone))
    # Fixed-weight grid (in-sample view of the landscape), then leave-one-org-out choice.
    choosers = args.choose_on.split(",") if args.choose_on else None
    for fusion in args.fusions.split(","):
        fn = FUSIONS[fusion]
        for name in names:
            per_w = {}
            for w in WEIGHTS:
                per_w[w] = {
                    id(s): evaluate(s, fn(s.probs, s.signals[name], w), "keep") for s in scored
                }
            if args.grid:
                for w in WEIGHTS:
                    rows = {}
                    for s in scored:
                        rows.setdefault(s.org.source, []).append(per_w[w][id(s)])
                    print(f"   fixed w={w:<5}", fmt(group_means(rows), ("top1", "mrr")))
            grid = " ".join(
                f"{w}:{np.mean([per_w[w][id(s)]['mrr'] for s in scored]):.3f}" for w in WEIGHTS
            )
            for mode in args.modes.split(","):
                rows: dict[str, list[dict]] = {}
                detail = []
                for s in scored:  # weight chosen on the other organizations, by mean MRR
                    others = [
                        t
                        for t in scored
                        if t is not s and (choosers is None or t.org.source in choosers)
                    ]
                    crit = f"listwise:{name}" if args.criterion == "listwise" else args.criterion
                    w = choose_weight(others, per_w, crit)
                    fused = fn(s.probs, s.signals[name], w)
                    rows.setdefault(s.org.source, []).append(evaluate(s, fused, mode))
                    detail.append((s, w, fused))
                label = f"{fusion} {name} {mode}"
                print(f"{label:<34}", fmt(group_means(rows), COLUMNS if args.full else COLUMNS[:3]))
                if args.v and mode == args.modes.split(",")[0]:
                    print("   mrr by weight (all orgs):", grid)
                    wins: dict[str, list[int]] = {}
                    for s, w, fused in detail:
                        a, b = _hits(s, s.probs, "keep"), _hits(s, fused, mode)
                        g = wins.setdefault(s.org.source, [0, 0])
                        g[0] += int(((b == 1) & (a == 0)).sum())
                        g[1] += int(((b == 0) & (a == 1)).sum())
                        up, down = (
                            int(((b == 1) & (a == 0)).sum()),
                            int(((b == 0) & (a == 1)).sum()),
                        )
                        print(
                            f"   {s.org.name:<28} w={w:<5.3f} top1 {a.mean():.3f} -> {b.mean():.3f}"
                            f"  (+{up} -{down})"
                        )
                    print("   OKRs gained/lost at top1:", wins)


if __name__ == "__main__":
    main()
