"""The `goldenthread.bundle/v1` interchange format: schema, rules, CSV form."""

from alignment.bundle.schema import BUNDLE_FORMAT, LABELS_FORMAT, Bundle, Labels
from alignment.bundle.validate import Problem, parse_bundle, parse_labels

__all__ = [
    "BUNDLE_FORMAT",
    "LABELS_FORMAT",
    "Bundle",
    "Labels",
    "Problem",
    "parse_bundle",
    "parse_labels",
]
