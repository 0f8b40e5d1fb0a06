"""The spreadsheet form of OKRs and key results: one CSV row per key result.

Columns (header row required, order free):
  okr_id, team, cycle, okr_title, okr_description, declared_links (ids separated by ';'),
  kr_id, kr_title, unit, baseline, target, current, kind (lead|lag)
Rows that share an `okr_id` form one OKR; the OKR columns may be left blank after its first row.
An OKR without key results is one row with blank `kr_*` columns. Problems are reported as
"row N, column C" (row 1 is the header).
"""

from __future__ import annotations

import csv
import io
import math
import re
from typing import Any

from alignment.bundle.io import decode
from alignment.csvcells import neutralize, restore
from alignment.errors import BundleInvalid

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
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def parse_number(text: str) -> float:
    """A finite number as written in the CSV form; ValueError saying why not."""
    if "," in text:
        if not _GROUPED.fullmatch(text):
            raise ValueError(f"{text!r} is not a number (use '.' for decimals, e.g. 1.5)")
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_csv(raw: bytes | str) -> CsvOkrs:
    text = decode(raw, name="CSV")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    problems: list[dict[str, str]] = []
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    problems += [{"path": f"row 1, column {c}", "message": "unknown column"} for c in unknown]
    problems += [{"path": f"row 1, column {c}", "message": "missing column"} for c in missing]
    if problems:
        raise BundleInvalid("CSV rejected: header is wrong; nothing was written", details=problems)

    parsed = CsvOkrs()
    index: dict[str, int] = {}
    for rownum, raw_row in enumerate(reader, start=2):
        row = {(k or "").strip(): restore((v or "").strip()) for k, v in raw_row.items() if k}
        extra = [v for v in raw_row.get(None) or [] if v.strip()]  # cells past the header's
        if extra:
            problems.append(
                {
                    "path": f"row {rownum}",
                    "message": f"has {len(extra)} more cell(s) than the header has columns "
                    f"({', '.join(map(repr, extra[:3]))}): a shifted row?",
                }
            )
            continue
        if not any(row.values()):
            continue
        okr_id = row.get("okr_id", "")
        if not okr_id:
            problems.append({"path": f"row {rownum}, column okr_id", "message": "is empty"})
            continue
        if okr_id not in index:
            index[okr_id] = len(parsed.okrs)
            okr: dict[str, Any] = {
                "id": okr_id,
                "key_results": [],
                "declared_links": [
                    link.strip()
                    for link in row.get("declared_links", "").split(";")
                    if link.strip()
                ],
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
            links = [x.strip() for x in row.get("declared_links", "").split(";") if x.strip()]
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
        if not any(row.get(c) for c in KR_FIELDS):
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
            f"CSV rejected: {len(problems)} problem(s); nothing was written", details=problems
        )
    return parsed


def merge_into(bundle_doc: dict[str, Any], parsed: CsvOkrs) -> dict[str, Any]:
    """The organization's bundle with the CSV's OKRs replacing those of the same id."""
    by_id = {o["id"]: o for o in bundle_doc.get("okrs", [])}
    for okr in parsed.okrs:
        by_id[okr["id"]] = okr
    return {**bundle_doc, "okrs": list(by_id.values())}


def to_csv(bundle_doc: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for okr in bundle_doc.get("okrs", []):
        base = {
            "okr_id": okr["id"],
            "team": okr["team"],
            "cycle": okr["cycle"],
            "okr_title": okr["title"],
            "okr_description": okr.get("description") or "",
            "declared_links": ";".join(okr.get("declared_links") or []),
        }
        krs = okr.get("key_results") or [{}]
        for kr in krs:
            row = {**base, **{c: _cell(kr.get(f)) for c, f in KR_FIELDS.items()}}
            writer.writerow({c: neutralize(v) for c, v in row.items()})
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
