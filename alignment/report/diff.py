"""Compare two stored runs by finding key: what is new, what was resolved, what remains."""

from __future__ import annotations

from typing import Any

from alignment.report.store import ReportRun


def diff_runs(current: ReportRun, baseline: ReportRun) -> dict[str, Any]:
    """`current` against an earlier `baseline` of the same organization.

    A finding whose severity changed counts as unchanged (same key) and is listed under
    `severity_changed` as well. Runs built differently (filters, an explicit `as_of` or one-off
    settings, which are stored with the filters; the organization's settings; the model) compare
    what each listed, and `warning` says how they differ: a finding that is "resolved" may then
    only be out of the current run's view or below its thresholds. The default `as_of` moving
    because new check-ins arrived is the records changing, not a warning (`same_as_of` shows it).
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
    differences = _differences(current, baseline)
    return {
        "format": "goldenthread.report-diff/v1",
        "organization": current.org_id,
        "report": _header(current),
        "against": _header(baseline),
        "same_inputs": current.inputs_version == baseline.inputs_version,
        "same_filters": _same_filters(current, baseline),
        "same_config": current.config == baseline.config,
        "same_as_of": current.as_of == baseline.as_of,
        "warning": _warning(differences),
        "counts": {"new": len(new), "resolved": len(resolved), "unchanged": len(unchanged)},
        "new": new,
        "resolved": resolved,
        "unchanged": [f["key"] for f in unchanged],
        "severity_changed": changed,
    }


def _differences(current: ReportRun, baseline: ReportRun) -> list[str]:
    out = []
    if not _same_filters(current, baseline):
        out.append(
            "different filters (new and resolved may hold findings only one of the runs covers)"
        )
    if current.config != baseline.config:
        fields = sorted(
            k
            for k in {*current.config, *baseline.config}
            if current.config.get(k) != baseline.config.get(k)
        )
        out.append(f"different settings ({', '.join(fields)})")
    if current.model != baseline.model:
        out.append(f"a different model ({current.model} vs {baseline.model})")
    return out


def _same_filters(current: ReportRun, baseline: ReportRun) -> bool:
    """Filter values compared as sets: runs stored before they were kept sorted and once."""

    def canonical(filters: dict[str, Any] | None) -> dict[str, Any]:
        return {k: sorted(set(v)) if isinstance(v, list) else v for k, v in (filters or {}).items()}

    return canonical(current.filters) == canonical(baseline.filters)


def _warning(differences: list[str]) -> str | None:
    if not differences:
        return None
    return (
        f"the runs were built with {'; '.join(differences)}: findings may differ for that reason "
        "rather than because the records changed; compare runs built the same way"
    )


def _day(run: ReportRun) -> str | None:
    return run.as_of.isoformat() if run.as_of else None


def _header(run: ReportRun) -> dict[str, Any]:
    return {
        "id": run.number,
        "created_at": run.created_at.isoformat(),
        "inputs_version": run.inputs_version,
        "model": run.model,
        "as_of": _day(run),
        "filters": run.filters,
        "config": run.config,
    }
