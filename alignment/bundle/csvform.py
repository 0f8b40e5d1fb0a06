"""The spreadsheet form of OKRs and key results: one CSV row per key result.

Columns (header row required, order free):
  okr_id, team, cycle, okr_title, okr_description, declared_links (ids separated by ';'),
  kr_id, kr_title, unit, baseline, target, current, kind (lead|lag)
Rows that share an `okr_id` form one OKR; the OKR columns may be left blank after its first row.
An OKR without key results is one row with blank `kr_*` columns. Problems are reported as
"row N, column C" (row 1 is the header; rows as the spreadsheet counts them).
What could only be read by guessing (a quote left open, a column named twice, a number in
other digits) is refused, and a download uploads again unchanged (docs/csv.md).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from typing import Any

from alignment.bundle.io import decode
from alignment.bundle.text_rules import LINK_SEPARATOR, normal_id
from alignment.csvcells import NUMBER, neutralize, restore
from alignment.errors import BundleInvalid, Conflict
from alignment.vocabulary import counted

COLUMNS = (
    "okr_id",
    "team",
    "cycle",
    "okr_title",
    "okr_description",
    "declared_links",
    "kr_id",
    "kr_title",
    "unit",
    "baseline",
    "target",
    "current",
    "kind",
)
REQUIRED = ("okr_id", "team", "cycle", "okr_title")
ID_COLUMNS = ("okr_id", "team", "cycle", "kr_id")
NUMBERS = ("baseline", "target", "current")
OKR_FIELDS = {
    "team": "team",
    "cycle": "cycle",
    "okr_title": "title",
    "okr_description": "description",
}
KR_FIELDS = {
    "kr_id": "id",
    "kr_title": "title",
    "unit": "unit",
    "baseline": "baseline",
    "target": "target",
    "current": "current",
    "kind": "kind",
}


class CsvOkrs:
    """Parsed OKRs plus where each came from, to point bundle problems back at CSV cells."""

    def __init__(self) -> None:
        self.okrs: list[dict[str, Any]] = []
        self.okr_rows: list[int] = []
        self.kr_rows: list[list[int]] = []
        # Problems in single cells (a number that is not one): reported together with what
        # the bundle rules find in the rest, so one upload names every problem.
        self.cell_problems: list[dict[str, str]] = []

    def locate(self, okr_index: int, path_rest: str) -> str:
        match = re.match(r"\.key_results\[(\d+)\]\.?(\w*)", path_rest)
        if match:
            row = self.kr_rows[okr_index][int(match.group(1))]
            field = match.group(2)
            column = next((c for c, f in KR_FIELDS.items() if f == field), field or "kr_id")
            return f"row {row}, column {column}"
        field = path_rest.lstrip(".").split("[")[0]
        column = {"id": "okr_id", **{f: c for c, f in OKR_FIELDS.items()}}.get(field, field)
        return f"row {self.okr_rows[okr_index]}, column {column or 'okr_id'}"


# A comma is only ever a thousands separator ("1,240.5"): "1,5" is a decimal comma from a
# spreadsheet in another locale, and reading it as 15 would be silently wrong.
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")
_NOT_FINITE = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)
# Free text the bundle keeps as written, surrounding spaces included: stripping them here would
# make an export re-import as a change. Every other cell is stripped (the bundle strips ids and
# titles itself; a number or a kind padded with spaces is no different one).
VERBATIM = ("okr_description", "unit")


def parse_number(text: str) -> float:
    """A finite number as written in the CSV form; ValueError saying why not.

    Only ASCII digits: Python's float() also reads "1_000", Arabic-Indic and full-width digits,
    which no spreadsheet writes as a number, so what the sheet shows as text stays refused."""
    digits = text.replace(",", "")
    if "," in text and not _GROUPED.fullmatch(text):
        raise ValueError(f"{text!r} is not a number (use '.' for decimals, e.g. 1.5)")
    if _NOT_FINITE.fullmatch(text):
        raise ValueError(f"{text!r} is not a finite number")
    if not NUMBER.fullmatch(digits):
        raise ValueError(f"{text!r} is not a number (digits 0-9 and '.' for decimals, e.g. 1240.5)")
    value = float(digits)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_csv(raw: bytes | str) -> CsvOkrs:
    records = _read_records(decode(raw, name="CSV"))
    header = [h.strip() for h in (records[0] if records else [])]
    if not any(header):  # one problem, not one "missing column" per required column
        raise BundleInvalid(
            "CSV rejected: the file is empty; nothing was written",
            details=[{"path": "row 1", "message": f"no header row: it names the columns, "
                      f"at least {', '.join(REQUIRED)} (docs/csv.md)"}],
        )  # fmt: skip
    problems = _header_problems(header)
    if problems:
        raise BundleInvalid("CSV rejected: header is wrong; nothing was written", details=problems)

    parsed = CsvOkrs()
    index: dict[str, int] = {}
    # Row numbers count every record, blank ones too: they are the rows the spreadsheet shows.
    for rownum, record in enumerate(records[1:], start=2):
        row, extra = _cells(header, record)
        if extra:
            problems.append(
                {
                    "path": f"row {rownum}",
                    "message": f"has {len(extra)} more cell(s) than the header has columns "
                    f"({', '.join(map(repr, extra[:3]))}): a shifted row?",
                }
            )
            continue
        if not _filled(row, header):
            continue
        # Ids in the form the bundle compares them in: rows whose ids read the same are one
        # OKR, and a cell compares with another row's as people read both.
        for column in ID_COLUMNS:
            if row.get(column):
                row[column] = normal_id(row[column])
        okr_id = row.get("okr_id", "")
        if not okr_id:
            problems.append({"path": f"row {rownum}, column okr_id", "message": "is empty"})
            continue
        if okr_id not in index:
            index[okr_id] = len(parsed.okrs)
            okr: dict[str, Any] = {
                "id": okr_id,
                "key_results": [],
                "declared_links": _links(row),
            }
            for column, field in OKR_FIELDS.items():
                okr[field] = row.get(column) or None
            parsed.okrs.append(okr)
            parsed.okr_rows.append(rownum)
            parsed.kr_rows.append([])
        else:
            # Any row of an OKR may carry its columns (a sorted sheet moves the first row):
            # a blank takes the value from another row, two different values are a conflict.
            okr = parsed.okrs[index[okr_id]]
            links = _links(row)
            later: dict[str, Any] = {f: row.get(c) or None for c, f in OKR_FIELDS.items()}
            later["declared_links"] = links or None
            columns = {**{f: c for c, f in OKR_FIELDS.items()}, "declared_links": "declared_links"}
            for field, value in later.items():
                if not value:
                    continue
                if not okr[field]:
                    okr[field] = value
                elif value != okr[field]:
                    problems.append(
                        {
                            "path": f"row {rownum}, column {columns[field]}",
                            "message": f"differs from row {parsed.okr_rows[index[okr_id]]}"
                            f" for the same okr_id ({value!r} vs {okr[field]!r})",
                        }
                    )
        if not _filled(row, KR_FIELDS):
            continue
        kr: dict[str, Any] = {}
        for column, field in KR_FIELDS.items():
            value = row.get(column) or None
            if column in NUMBERS and value is not None:
                try:
                    value = parse_number(value)
                except ValueError as exc:
                    message = str(exc)
                    parsed.cell_problems.append(
                        {"path": f"row {rownum}, column {column}", "message": message}
                    )
                    value = None
            kr[field] = value
        parsed.okrs[index[okr_id]]["key_results"].append(kr)
        parsed.kr_rows[index[okr_id]].append(rownum)
    if problems:  # the rows do not even make OKRs: stop here, with the cells' problems too
        problems += parsed.cell_problems
        raise BundleInvalid(
            f"CSV rejected: {counted(len(problems), 'problem')}; nothing was written",
            details=problems,
        )
    return parsed


def _read_records(text: str) -> list[list[str]]:
    """Every record of the text; one the csv module could only read by guessing is refused."""
    # strict: without it a quote left open takes every later line into its cell, and text after
    # a closing quote is glued on. newline="": quoted cells keep their line breaks, and lines
    # ended by a lone CR (old Mac exports) are lines.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    started = 1  # the line the record being read starts on
    try:
        for record in reader:
            records.append(record)
            started = reader.line_num + 1
    except csv.Error as exc:
        raise BundleInvalid(
            "CSV rejected: it cannot be read as CSV; nothing was written",
            details=[{"path": f"row {len(records) + 1}", "message": _unreadable(exc, started)}],
        ) from exc
    return records


def _unreadable(exc: csv.Error, started: int) -> str:
    reason = str(exc)
    if reason == "unexpected end of data":
        return (
            f"a quoted cell is never closed (the row starts on line {started}): every later line"
            ' would be read into it; close the quote, and write a quote inside a cell as ""'
        )
    if reason.endswith("expected after '\"'"):
        return (
            f"has text after a closing quote (the row starts on line {started});"
            ' write a quote inside a cell as "" and quote the whole cell'
        )
    return f"cannot be read as CSV (the row starts on line {started}): {reason}"


def _header_problems(header: list[str]) -> list[dict[str, str]]:
    positions: dict[str, list[int]] = {}
    for number, column in enumerate(header, start=1):
        positions.setdefault(column, []).append(number)
    problems = [
        {"path": f"row 1, column {c}", "message": "unknown column"}
        for c in positions
        if c not in COLUMNS
    ]
    # A column named twice: which of its cells counts would be a guess.
    problems += [
        {"path": f"row 1, column {c}", "message": f"appears {_times(len(at))} ({_columns(at)})"}
        for c, at in positions.items()
        if c in COLUMNS and len(at) > 1
    ]
    problems += [
        {"path": f"row 1, column {c}", "message": "missing column"}
        for c in REQUIRED
        if c not in positions
    ]
    return problems


def _times(count: int) -> str:
    return "twice" if count == 2 else f"{count} times"


def _columns(numbers: list[int]) -> str:
    *first, last = map(str, numbers)
    return f"columns {', '.join(first)} and {last}"


def _cells(header: list[str], record: list[str]) -> tuple[dict[str, str], list[str]]:
    """The record's cells by column, and the non-blank cells past the header's last column."""
    row = {
        column: restore(value if column in VERBATIM else value.strip())
        for column, value in zip(header, record, strict=False)
    }
    return row, [v for v in record[len(header) :] if v.strip()]


def _links(row: dict[str, str]) -> list[str]:
    return [
        normal_id(link)
        for link in row.get("declared_links", "").split(LINK_SEPARATOR)
        if normal_id(link)
    ]


def _filled(row: dict[str, str], columns: Iterable[str]) -> bool:
    return any(row.get(c, "").strip() for c in columns)


def merge_into(bundle_doc: dict[str, Any], parsed: CsvOkrs) -> dict[str, Any]:
    """The organization's bundle with the CSV's OKRs replacing those of the same id."""
    by_id = {o["id"]: o for o in bundle_doc.get("okrs", [])}
    for okr in parsed.okrs:
        by_id[okr["id"]] = _keep_empty_texts(okr, by_id.get(okr["id"]))
    return {**bundle_doc, "okrs": list(by_id.values())}


def _keep_empty_texts(okr: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """A blank cell stands for both no text and "" (which the API stores as given): where the
    organization has "", the blank is that "", or every export of it would re-import as a change."""
    if stored is None:
        return okr
    if okr["description"] is None and stored.get("description") == "":
        okr = {**okr, "description": ""}
    units = {kr["id"]: kr.get("unit") for kr in stored.get("key_results") or []}
    krs = [
        {**kr, "unit": ""} if kr["unit"] is None and units.get(kr["id"]) == "" else kr
        for kr in okr["key_results"]
    ]
    return {**okr, "key_results": krs}


def to_csv(bundle_doc: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for index, okr in enumerate(bundle_doc.get("okrs", [])):
        base = {
            "okr_id": okr["id"],
            "team": okr["team"],
            "cycle": okr["cycle"],
            "okr_title": okr["title"],
            "okr_description": okr.get("description") or "",
            "declared_links": _joined_links(okr, f"$.okrs[{index}].declared_links"),
        }
        krs = okr.get("key_results") or [{}]
        for kr in krs:
            row = {**base, **{c: _cell(kr.get(f)) for c, f in KR_FIELDS.items()}}
            writer.writerow({c: neutralize(v) for c, v in row.items()})
    return out.getvalue()


def _joined_links(okr: dict[str, Any], path: str) -> str:
    links = okr.get("declared_links") or []
    if unsplittable := [i for i, link in enumerate(links) if LINK_SEPARATOR in link]:
        # Written here, it would read back as two links. Ids may hold ';' (refusing it would
        # strand what is stored: references, lookups and re-imports check ids by one rule).
        raise Conflict(
            f"OKR {okr['id']!r} is linked to {links[unsplittable[0]]!r}, whose ';' the CSV form"
            " reads as two ids; export this organization as JSON or YAML, or give that objective"
            " another id",
            details=[
                {"path": f"{path}[{i}]", "message": f"{links[i]!r} contains ';'"}
                for i in unsplittable
            ],
        )
    return LINK_SEPARATOR.join(links)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
