"""Centered relative features beside the plain nine, not in their place (DB-free)

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.centering_beside DEV_DIR...

evals/centering.py's variant A (`obj_mean`: every vector the link features read minus the mean
of the organization's objective field vectors, renormalized) ranks and links better on the
folders others wrote but halves the confident orphan flags on dev. Here the nine plain features
stay, and A's centered versions of some of them are added as extra columns (named `<feature>_c`)
so the calibration can keep the plain orphan signal and use the centered ranking signal:

    plain        the engine as shipped (reference)
    obj_mean     A, in place of the plain vectors (reference)
    beside_rel   the nine + A's col_z, row_z, gap, team, context, kr_support (obj_mean_rel's six)
    beside_z     the nine + A's col_z, row_z
    beside_sim   the nine + A's sim

The extra columns enter link_features.FEATURES / LINK_FEATURES at runtime (as evals.token_match
does), so fitting and scoring read them alike; the fit is `research.fit_links`' linear logistic
one (no pairwise products: `quadratic_pairs` only applies to a quadratic calibration, which this
fit never makes), leave-one-org-out exactly as evals/centering.py. Printed: centering.py's
tables, each variant's weights fitted on all fit organizations, and the worst-folder rule.
Research only: nothing here changes what the service runs.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from alignment.scoring import calibration, link_features
from evals import centering, research

BASE_FEATURES = link_features.FEATURES
BASE_LINK_FEATURES = dict(link_features.LINK_FEATURES)
RELATIVE = ("col_z", "row_z", "gap", "team", "context", "kr_support")
BESIDE = {"beside_rel": RELATIVE, "beside_z": ("col_z", "row_z"), "beside_sim": ("sim",)}
VARIANTS = ("plain", "obj_mean", *BESIDE)


def centered_prepare(objectives, okrs, embed, full_weight, words):
    """The shared per-organization values under A's map (centering.VARIANTS["obj_mean"])."""
    obj_texts, _ = centering.field_texts(objectives, okrs)
    transform = centering.centering(np.asarray(embed(obj_texts)))
    mapped = lambda texts: transform(embed(texts))  # noqa: E731
    return centering.PLAIN_PREPARE(objectives, okrs, mapped, full_weight, words)


def beside_prepare(objectives, okrs, embed, full_weight, words):
    """The plain values, with A's centered ones beside them (read by the `_c` features)."""
    p = centering.PLAIN_PREPARE(objectives, okrs, embed, full_weight, words)
    p.centered = centered_prepare(objectives, okrs, embed, full_weight, words)
    return p


def _centered(name: str):
    return lambda p: p.centered.feature(name)


def use_variant(name: str) -> None:
    """The nine features, plus the variant's centered columns after them."""
    link_features.LINK_FEATURES.clear()
    link_features.LINK_FEATURES.update(BASE_LINK_FEATURES)
    link_features.FEATURES = BASE_FEATURES
    if name not in BESIDE:
        centering.use_variant(name)
        return
    added = {f"{f}_c": _centered(f) for f in BESIDE[name]}
    link_features.LINK_FEATURES.update(added)
    link_features.FEATURES = (*BASE_FEATURES, *added)
    link_features._prepare = beside_prepare
    research._FEATURES.clear()  # the per-organization feature tensors of another variant


def _pooled_flags(rows: dict[str, list[dict]]) -> tuple[int, int]:
    """(right, false) orphan flags pooled over every folder."""
    right = sum(r["flags_right"] for src in rows.values() for r in src)
    made = sum(r["flags"] for src in rows.values() for r in src)
    return right, made - right


def rule(results: dict, name: str) -> tuple[bool, str]:
    """The worst-folder rule against plain: no folder's net rank-1 change below -1 OKR, a net
    gain overall, and the pooled orphan flags no worse (not fewer right, not more false) at
    the shipped share and with the share re-chosen."""
    plain_hits, hits = results["plain"][2], results[name][2]
    net: dict[str, int] = {}
    for key, hit in hits.items():
        net[key[0]] = net.get(key[0], 0) + int(hit) - int(plain_hits[key])
    worst = min(net, key=net.get)
    flags = []
    for i in (0, 1):  # shipped share, re-chosen share
        (r0, f0), (r1, f1) = _pooled_flags(results["plain"][i]), _pooled_flags(results[name][i])
        flags.append(r1 >= r0 and f1 <= f0)
        flags.append(f"{r1}/{r1 + f1} vs {r0}/{r0 + f0}")
    ok = net[worst] >= -1 and sum(net.values()) > 0 and flags[0] and flags[2]
    text = (
        f"worst folder {worst} {net[worst]:+d}, net {sum(net.values()):+d} OKRs; pooled flags "
        f"right/made {flags[1]} (shipped share), {flags[3]} (re-chosen)"
    )
    return ok, text


def main(argv: list[str] | None = None) -> None:
    t0 = time.perf_counter()
    orgs = research.organizations_from_argv(__doc__, argv)
    embed = research.CachedEmbedder()
    fit_orgs = [o for o in orgs if o.fit]
    results, weights = {}, {}
    for name in VARIANTS:
        t = time.perf_counter()
        results[name] = centering.run(orgs, embed, fit_orgs, name, install=use_variant)
        cal = research.fit_links(fit_orgs, embed, calibration.DEFAULT)
        weights[name] = dict(zip(link_features.FEATURES, cal.weights, strict=True))
        print(f"{name:<12}{time.perf_counter() - t:>7.1f} s", flush=True)
    use_variant("plain")
    embed.save()
    centering.report(orgs, results)
    print("\nweights fitted on all fit organizations")
    for name, w in weights.items():
        print(f"{name:<12}" + " ".join(f"{f}={v:+.2f}" for f, v in w.items()))
    print("\nworst-folder rule against plain")
    for name in VARIANTS[1:]:
        ok, text = rule(results, name)
        print(f"{name:<12}{'PASS' if ok else 'fail'}  {text}")
    print(f"time: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
