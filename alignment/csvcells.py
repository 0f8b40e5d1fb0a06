"""Spreadsheet-safe CSV cells: text that starts like a formula is exported as text.

A cell starting with = + - @ (or a tab or carriage return) runs as a formula in Excel, LibreOffice
and Google Sheets, so an OKR titled "=HYPERLINK(...)" would act when an exported file is opened.
Exports prefix such cells with an apostrophe, which the spreadsheet shows as text; imports drop
exactly that apostrophe again, so an export re-imports unchanged. Numbers (-5, +3.2) are left as
they are: they are no formula.

Text the user began with apostrophes before a trigger ("'=literally") is prefixed too: an import
drops one apostrophe from such a cell, and without the prefix it would drop the user's own.
"""

from __future__ import annotations

import re

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# ASCII digits only: a spreadsheet reads "-\u0663" (an Arabic-Indic digit) as a formula, not a
# number. The CSV import reads exactly these as numbers (alignment.bundle.csvform.parse_number).
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _formula_like(value: str) -> bool:
    return value[:1] in TRIGGERS and not NUMBER.fullmatch(value)


def _prefixed_on_export(value: str) -> bool:
    # Apostrophes before a trigger count as part of the text, so that "''=x" exports as
    # "'''=x" and `restore` can always drop exactly one.
    return _formula_like(value.lstrip("'"))


def neutralize(value: str) -> str:
    return "'" + value if _prefixed_on_export(value) else value


def restore(value: str) -> str:
    """The inverse of `neutralize` on cells read back from a CSV."""
    if value[:1] == "'" and _prefixed_on_export(value[1:]):
        return value[1:]
    return value
