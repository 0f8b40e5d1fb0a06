"""Compare two stored runs by finding key: what is new, what was resolved, what remains."""

from __future__ import annotations

from typing import Any

from alignment.report.store import ReportRun


def diff_runs(current: ReportRun, baseline: ReportRun) -> dict[str, Any]:
    """`current` against an earlier `baseline` of the same organization.

    A finding whose severity changed counts as unchanged (same key) and is listed under
    `severity_changed` as well. Runs built with different filters compare what each listed.
    """
    before = {f["key"]: f for f in baseline.findings}
    after = {f["key"]: f for f in current.findings}
    new = [f for k, f in after.items() if k not in before]
    resolved = [f for k, f in before.items() if k not in after]
    unchanged = [f for k, f in after.items() if k in before]
    changed = [
        {"key": k, "from": before[k]["severity"], "to": f["severity"]}
        for k, f in after.items()
        if k in before and before[k]["severity"] != f["severity"]
    ]
    return {
        "format": "goldenthread.report-diff/v1",
        "organization": current.org_id,
        "report": _header(current),
        "against": _header(baseline),
        "same_inputs": current.inputs_version == baseline.inputs_version,
        "same_filters": current.filters == baseline.filters,
        # Different filters: "resolved" then also holds findings the current run does not cover.
        "warning": None
        if current.filters == baseline.filters
        else "the runs were built with different filters; compare runs with the same filters",
        "counts": {"new": len(new), "resolved": len(resolved), "unchanged": len(unchanged)},
        "new": new,
        "resolved": resolved,
        "unchanged": [f["key"] for f in unchanged],
        "severity_changed": changed,
    }


def _header(run: ReportRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "created_at": run.created_at.isoformat(),
        "inputs_version": run.inputs_version,
        "filters": run.filters,
    }
