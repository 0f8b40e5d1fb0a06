"""Structure checks that run before a document is parsed, so parsing itself stays bounded.

A bundle is at most five levels deep; a document nested thousands of levels deep would make the
recursive JSON and YAML parsers fail with RecursionError, and YAML aliases ("billion laughs")
would expand into a structure far larger than the bytes sent. Both are refused up front, by a
linear scan.
"""

from __future__ import annotations

import re

import yaml

from alignment.errors import BundleInvalid

MAX_DEPTH = 32
# A string, or an unterminated one to the end of the text. Possessive and unrolled: no
# backtracking, so one pass over the text whatever it holds (an unterminated string of `\"`
# made the plain form quadratic: 10 s for 40 KB).
JSON_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+\\?+(?:"|\Z)', re.DOTALL)
BRACKET = re.compile(r"[\[\]{}]")


def check_json_depth(text: str, *, name: str) -> None:
    # Strings first (they may hold brackets), then only the brackets are walked: a bundle's
    # text is mostly strings, so this costs a fraction of parsing it.
    structure = JSON_STRING.sub('""', text)
    depth = 0
    for match in BRACKET.finditer(structure):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(name, structure.count("\n", 0, match.start()) + 1)
        else:
            depth -= 1


def check_yaml_events(text: str, *, name: str) -> None:
    """Refuse aliases and deep nesting by reading the event stream (no objects are built)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            raise BundleInvalid(
                f"{name} uses a YAML alias (*{event.anchor}); write the value out instead",
                details=[
                    {
                        "path": "$",
                        "message": f"line {mark.line + 1}, column {mark.column + 1}: "
                        "aliases are not accepted",
                    }
                ],
            )
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(name, event.start_mark.line + 1)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


def _too_deep(name: str, line: int) -> BundleInvalid:
    return BundleInvalid(
        f"{name} is nested more than {MAX_DEPTH} levels deep; a bundle needs five",
        details=[{"path": "$", "message": f"line {line}: nesting deeper than {MAX_DEPTH}"}],
    )
