"""Report stage: findings for the strategy office, stored per run, rendered as JSON/CSV/HTML.

build     -> fresh verdicts (score stage if stale), then findings, summary, stored run
facts     -> the records and verdicts a report reads (its SQL, but for the ids config checks)
linkage, coverage, duplicates, progress, portfolio -> one module per family of findings
findings, kinds -> the finding shape and its kinds/severities; evidence_text -> their reasons
config, scope -> settings and filters, the cycles and day a run covers
render    -> goldenthread.report/v1 JSON, CSV, self-contained HTML; page -> one page of findings
store, finding_rows -> stored runs and their findings as rows; diff -> two runs compared
"""

from alignment.report.build import SCHEMA_VERSION, build_report, effective_config
from alignment.report.config import ReportConfig, ReportFilters, parse_config
from alignment.report.diff import diff_runs
from alignment.report.kinds import KINDS, SEVERITIES
from alignment.report.render import page_document, to_csv, to_document, to_html, to_json
from alignment.report.store import NoReport, ReportRun, get_run, latest_run, list_runs

__all__ = [
    "KINDS",
    "SCHEMA_VERSION",
    "SEVERITIES",
    "NoReport",
    "ReportConfig",
    "ReportFilters",
    "ReportRun",
    "build_report",
    "diff_runs",
    "effective_config",
    "get_run",
    "latest_run",
    "list_runs",
    "page_document",
    "parse_config",
    "to_csv",
    "to_document",
    "to_html",
    "to_json",
]
