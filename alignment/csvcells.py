"""Spreadsheet-safe CSV cells: text that starts like a formula is exported as text.

A cell starting with = + - @ (or a tab or carriage return) runs as a formula in Excel, LibreOffice
and Google Sheets, so an OKR titled "=HYPERLINK(...)" would act when an exported file is opened.
Exports prefix such cells with an apostrophe, which the spreadsheet shows as text; imports drop
exactly that apostrophe again, so an export re-imports unchanged. Numbers (-5, +3.2) are left as
they are: they are no formula.
"""

from __future__ import annotations

import re

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralize(value: str) -> str:
    if value[:1] in TRIGGERS and not NUMBER.match(value):
        return "'" + value
    return value


def restore(value: str) -> str:
    """The inverse of `neutralize` on cells read back from a CSV."""
    if value[:1] == "'" and value[1:2] in TRIGGERS and not NUMBER.match(value[1:]):
        return value[1:]
    return value
