"""Findings about single OKRs and their links: orphans, and the audit of declared links.

Reads the score stage's stored labels (people's confirmed/rejected verdicts already applied).
"""

from __future__ import annotations

from alignment.quality import quote
from alignment.report.config import ReportConfig
from alignment.report.facts import Decision, LinkRow, OrgFacts
from alignment.report.findings import Finding, Records
from alignment.report.scope import Scope
from alignment.verdicts import ORPHAN_SHARE_OF_MEDIAN, Comparison, verdicts


def _link_evidence(link: LinkRow | None, facts: OrgFacts) -> dict[str, object]:
    if link is None:
        return {}
    best = link.evidence
    return {
        "objective_id": link.objective_id,
        "objective_title": facts.objectives[link.objective_id].title,
        "score": round(link.score, 4),
        "label": link.label,
        "strongest_match": (
            {
                "okr_field": best.get("okr_field"),
                "okr_text": best.get("okr_text"),
                "objective_text": best.get("objective_text"),
                "similarity": best.get("similarity"),
                "shared_terms": best.get("shared_terms"),
            }
            if best
            else None
        ),
    }


def _compared_evidence(compared: Comparison | None, rejected: bool) -> dict[str, object]:
    """Why the engine is confident: its orphan score (its best score under the orphan rule's
    calibration, alignment/verdicts.py) against the organization's median when the verdict
    was decided (kept since while the OKR and its objectives are unchanged, so today's score
    may differ a little). People's rejections need no reason."""
    if compared is None or not compared.far_below or rejected:
        return {}
    return {
        "best_score_when_decided": round(compared.best_score, 4),
        "organization_median_best": round(compared.reference, 4),
        "orphan_below": round(ORPHAN_SHARE_OF_MEDIAN * compared.reference, 4),
    }


def _against_median(compared: Comparison | None, rejected: bool) -> str:
    if compared is None or not compared.far_below or rejected:
        return ""  # a person's decision, or scored before comparisons were stored
    return (
        f"; on the orphan test it scores {compared.best_score:.2f}, far under the "
        f"{compared.reference:.2f} a typical OKR here reaches"
    )


def _decided(decision: Decision | None) -> str:
    """An orphan by a person's decision says whose, as a drift finding a person decided does:
    the reader should know it is not the engine's guess, and whom to ask."""
    if decision is None:
        return ""
    return f": {decision.decided_by} decided so on {decision.decided_at:%Y-%m-%d}"


def _decision_evidence(decision: Decision | None) -> dict[str, object]:
    if decision is None:
        return {}
    out: dict[str, object] = {
        "decided_by": decision.decided_by,
        "decided_at": decision.decided_at.isoformat(),
    }
    if decision.note:
        out["note"] = decision.note
    return out


def _undeclared(okr_id: str, link: LinkRow, confirmed: Decision | None) -> str:
    """A link a person confirmed is their judgment, not the engine's: its score (often low,
    which is why it was asked) would read as the reason, so the reason names who decided."""
    if confirmed is None:
        return (
            f"{okr_id} clearly serves {link.objective_id} but does not declare it "
            f"(score {link.score:.2f})"
        )
    return (
        f"{okr_id} serves {link.objective_id} as confirmed by a person "
        f"({confirmed.decided_by} on {confirmed.decided_at:%Y-%m-%d}) but does not declare it"
    )


def _support(link: LinkRow | None) -> str:
    """How far the text goes towards a declared objective, in words rather than a label."""
    if link is None:
        return "not scored yet"
    if link.label == "weak":
        return f"only a weak match, score {link.score:.2f}"
    return f"no match, score {link.score:.2f}"


def find_linkage(
    facts: OrgFacts, scope: Scope, config: ReportConfig, rec: Records
) -> list[Finding]:
    """The four findings about an OKR's links, one function each, in the order of the
    report's table (docs/report.md); an OKR's findings stay together."""
    out: list[Finding] = []
    far_below = {okr: c.far_below for okr, c in facts.compared.items()}
    verdict = verdicts(facts.links, facts.called_orphan, far_below)
    for okr_id in scope.okr_ids:
        links = facts.links.get(okr_id)
        if not links:  # not scored (no objectives): nothing to say about its links
            continue
        if verdict.get(okr_id) == "needs_review" and config.enabled("needs_review"):
            out.append(_needs_review(facts, rec, okr_id, links))
        if verdict.get(okr_id) == "orphan" and config.enabled("orphan_okr"):
            out.append(_orphan(facts, rec, okr_id, links, rejected=okr_id in facts.called_orphan))
        if config.enabled("unsupported_declared_link"):
            out.extend(_unsupported_declared(facts, rec, okr_id, links))
        if config.enabled("suggested_link"):
            out.extend(_suggested(facts, rec, okr_id, links))
    return out


def _needs_review(facts: OrgFacts, rec: Records, okr_id: str, links: list[LinkRow]) -> Finding:
    okr, best = facts.okrs[okr_id], links[0]
    return rec.okr_scope(
        Finding(
            "needs_review",
            "low",
            f"{quote(okr.title)} has no clear strategic objective; closest is "
            f"{best.objective_id} (score {best.score:.2f}): confirm it or call it an orphan",
            [rec.okr(okr_id), rec.team(okr.team_id)],
            {
                "candidates": [_link_evidence(lk, facts) for lk in links[:3]],
                "declared": sorted(facts.declared.get(okr_id, set())),
            },
            (okr_id,),
        ),
        [okr_id],
    )


def _orphan(
    facts: OrgFacts, rec: Records, okr_id: str, links: list[LinkRow], *, rejected: bool
) -> Finding:
    """`rejected`: a person called it an orphan ("serves none"), not just dropped a link."""
    okr, best = facts.okrs[okr_id], links[0]
    decision = facts.rejected_by.get(okr_id) if rejected else None
    compared = facts.compared.get(okr_id)
    return rec.okr_scope(
        Finding(
            "orphan_okr",
            "high",
            f"{quote(okr.title)} serves no strategic objective (best match "
            f"{best.objective_id}, score {best.score:.2f}"
            f"{_against_median(compared, rejected)}){_decided(decision)}",
            [rec.okr(okr_id), rec.team(okr.team_id)],
            {
                "best_link": _link_evidence(best, facts),
                "declared": sorted(facts.declared.get(okr_id, set())),
                **_compared_evidence(compared, rejected),
                **_decision_evidence(decision),
            },
            (okr_id,),
        ),
        [okr_id],
    )


def _unsupported_declared(
    facts: OrgFacts, rec: Records, okr_id: str, links: list[LinkRow]
) -> list[Finding]:
    """Declared links the text does not support that nobody has decided: a person who dropped
    one ("Drop it", or "serves none", which drops them all) or kept it has answered what the
    finding asks, as the review queue already knows (review.unsupported_declared). The
    declaration stays, marked decided by the decision, while the OKR's text is what was
    judged."""
    okr = facts.okrs[okr_id]
    by_objective = {lk.objective_id: lk for lk in links}
    aligned = [lk for lk in links if lk.label == "aligned"]
    out = []
    for objective_id in sorted(facts.declared.get(okr_id, set())):
        link = by_objective.get(objective_id)
        if link is not None and link.label == "aligned":
            continue
        pair = (okr_id, objective_id)
        if pair in facts.rejected or pair in facts.confirmed_by:
            continue
        finding = Finding(
            "unsupported_declared_link",
            "medium",
            f"{okr_id} declares {objective_id} but its text does not support it ({_support(link)})",
            [rec.okr(okr_id), rec.objective(objective_id), rec.team(okr.team_id)],
            {
                "declared": _link_evidence(link, facts) or {"objective_id": objective_id},
                "best_link": _link_evidence(aligned[0] if aligned else links[0], facts),
            },
            (okr_id, objective_id),
        )
        out.append(rec.objective_scope(rec.okr_scope(finding, [okr_id]), [objective_id]))
    return out


def _suggested(facts: OrgFacts, rec: Records, okr_id: str, links: list[LinkRow]) -> list[Finding]:
    okr = facts.okrs[okr_id]
    declared = facts.declared.get(okr_id, set())
    out = []
    for link in links:
        if link.label != "aligned":
            continue
        if link.objective_id in declared or (okr_id, link.objective_id) in facts.rejected:
            continue
        confirmed = facts.confirmed_by.get((okr_id, link.objective_id))
        finding = Finding(
            "suggested_link",
            "low",
            _undeclared(okr_id, link, confirmed),
            [rec.okr(okr_id), rec.objective(link.objective_id), rec.team(okr.team_id)],
            {
                "link": _link_evidence(link, facts),
                "declared": sorted(declared),
                **_decision_evidence(confirmed),
            },
            (okr_id, link.objective_id),
        )
        out.append(rec.objective_scope(rec.okr_scope(finding, [okr_id]), [link.objective_id]))
    return out
