"""The CSV form reads only what it can read without guessing: a quote left open, a column named
twice or a number in other digits is refused by row and column instead of silently changing what
is imported; and what an export writes comes back exactly as it was."""

from __future__ import annotations

import itertools

import pytest

from alignment.bundle.csvform import COLUMNS, parse_csv, parse_number, to_csv
from alignment.csvcells import neutralize, restore
from alignment.errors import BundleInvalid, Conflict

HEADER = ",".join(COLUMNS)


def problems(text: str) -> dict[str, str]:
    with pytest.raises(BundleInvalid) as caught:
        parse_csv(text)
    return {p["path"]: p["message"] for p in caught.value.details}


def test_a_quote_left_open_refuses_the_file_naming_its_row() -> None:
    text = (
        f"{HEADER}\n"
        'CSVQ,T-9,2026-Q4,"unterminated,,,K1,kt,,1,2,,lead\n'
        "CSVR,T-9,2026-Q4,second okr,,,,,,,,,\n"
    )
    found = problems(text)
    assert list(found) == ["row 2"]
    assert "never closed" in found["row 2"] and "line 2" in found["row 2"]


def test_the_row_of_an_open_quote_counts_records_not_lines() -> None:
    text = (
        f"{HEADER}\n"
        'O-1,T-1,2026-Q3,"two\nlines",,,,,,,,,\n'
        "\n"  # a blank row is a row of the sheet too
        'O-2,T-1,2026-Q3,"open,,,,,,,,,\n'
    )
    found = problems(text)
    assert list(found) == ["row 4"] and "line 5" in found["row 4"]


def test_text_after_a_closing_quote_is_refused() -> None:
    found = problems(f'{HEADER}\nO-1,T-1,2026-Q3,"half"quoted,,,,,,,,,\n')
    assert list(found) == ["row 2"] and "closing quote" in found["row 2"]


def test_lines_ended_by_a_lone_carriage_return_are_read() -> None:
    text = f"{HEADER}\rO-1,T-1,2026-Q3,Old Mac,,,,,,,,,\r"
    assert [o["title"] for o in parse_csv(text).okrs] == ["Old Mac"]


def test_a_column_named_twice_is_refused() -> None:
    text = f"{HEADER},okr_id\nO-1,T-1,2026-Q3,Title,,,,,,,,,,O-2\n"
    found = problems(text)
    assert list(found) == ["row 1, column okr_id"]
    assert "appears twice" in found["row 1, column okr_id"]


def test_a_blank_row_still_counts_in_later_row_numbers() -> None:
    text = f"{HEADER}\n\n,T-1,2026-Q3,No id,,,,,,,,,\n"
    assert list(problems(text)) == ["row 3, column okr_id"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7", 7.0),
        ("-2", -2.0),
        ("+3.5", 3.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("2.5E-2", 0.025),
        ("1,240.5", 1240.5),
        ("-1,000", -1000.0),
    ],
)
def test_plain_numbers_are_read(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text", ["1_000", "\u0663", "\uff11\uff12", "1,5", "0x10", "1 000", "--1", "1e", ".", "e5"]
)
def test_numbers_not_in_ascii_decimal_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a number"):
        parse_number(text)


@pytest.mark.parametrize("text", ["nan", "-inf", "Infinity", "1e400"])
def test_numbers_that_are_not_finite_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        parse_number(text)


def test_a_number_in_other_digits_is_named_by_row_and_column() -> None:
    text = f"{HEADER}\nO-1,T-1,2026-Q3,Title,,,K1,Count,,1_000,\uff11\uff12,\u0663,lead\n"
    found = {p["path"]: p["message"] for p in parse_csv(text).cell_problems}
    assert set(found) == {f"row 2, column {c}" for c in ("baseline", "target", "current")}
    assert "'1_000' is not a number" in found["row 2, column baseline"]


# Every string up to four characters long over the characters that matter to the prefix.
ALPHABET = ["'", "=", "+", "-", "@", "\t", "\r", "\n", "1", ".", "e", "a", " "]
STRINGS = ["".join(chars) for n in range(5) for chars in itertools.product(ALPHABET, repeat=n)] + [
    "'=literally quoted",
    "''=",
    "'''+1",
    "'-5",
    "-",
    "@",
    "\t=",
    "=1+1",
    "\u0663",
    "-\u0663",
]


def test_restore_undoes_neutralize_for_every_string() -> None:
    wrong = [s for s in STRINGS if restore(neutralize(s)) != s]
    assert not wrong, wrong[:10]


def test_an_exported_cell_never_starts_like_a_formula() -> None:
    def is_plain_number(text: str) -> bool:
        try:
            parse_number(text)
        except ValueError:
            return False
        return "," not in text

    formulas = [
        s
        for s in STRINGS
        if neutralize(s)[:1] in ("=", "+", "-", "@", "\t", "\r") and not is_plain_number(s)
    ]
    assert not formulas, formulas[:10]


def test_a_title_that_starts_with_an_apostrophe_and_a_trigger_round_trips() -> None:
    document = {
        "okrs": [
            {
                "id": "O-1",
                "team": "T-1",
                "cycle": "2026-Q3",
                "title": "'=literally quoted",
                "description": "  '+ spaced  ",
                "key_results": [{"id": "K1", "title": "''-twice", "unit": " % "}],
            }
        ]
    }
    text = to_csv(document)
    assert "'''=literally quoted" not in text and "''=literally quoted" in text
    okr = parse_csv(text).okrs[0]
    assert okr["title"] == "'=literally quoted"
    assert okr["description"] == "  '+ spaced  "
    assert okr["key_results"][0]["title"] == "''-twice"
    assert okr["key_results"][0]["unit"] == " % "


def test_an_export_refuses_a_stored_link_its_separator_would_split() -> None:
    # An id may hold ';', which the CSV form reads as two links: the export says so instead.
    okr = {"id": "O-1", "team": "T", "cycle": "C", "title": "Grow", "key_results": []}
    with pytest.raises(Conflict) as caught:
        to_csv({"okrs": [{**okr, "declared_links": ["SO-1", "SO-2;b"]}]})
    assert "'SO-2;b'" in caught.value.message and "JSON or YAML" in caught.value.message
    assert caught.value.details == [
        {"path": "$.okrs[0].declared_links[1]", "message": "'SO-2;b' contains ';'"}
    ]
    written = to_csv({"okrs": [{**okr, "declared_links": ["SO-1", "SO-2"]}]})
    assert parse_csv(written).okrs[0]["declared_links"] == ["SO-1", "SO-2"]


def test_a_key_result_id_of_a_stored_okr_is_named_by_its_row_not_a_bundle_path(session) -> None:
    """A row gives a new OKR the id of a stored OKR's key result: every problem names the
    CSV cell and the stored records in words, never `$.okrs[0]...` or `$.check_ins[0]...`,
    places in a bundle the person never saw."""
    from alignment.imports import import_csv, import_document
    from tests.factories import small_bundle

    import_document(session, small_bundle("csv-kr"))
    sheet = (
        "okr_id,team,cycle,okr_title,kr_id,kr_title,target\n"
        "O-new,T-1,2026-Q4,A new OKR,O-1-KR1,Reused id,5\n"
    )
    with pytest.raises(BundleInvalid) as refused:
        import_csv(session, "csv-kr", sheet)
    problems = refused.value.details
    assert {p["path"] for p in problems} == {"row 2, column kr_id"}, problems
    said = " ".join(p["message"] for p in problems)
    assert "$." not in said, said
    assert "key result 'O-1-KR1' of the stored OKR 'O-1'" in said
    assert "check-in" in said and "give this row another kr_id" in said
