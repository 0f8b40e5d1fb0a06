"""What any text a person or tool sends may contain, checked where it enters (bundles, API).

Control characters (NUL above all) and lone UTF-16 surrogates are refused, naming the field:
PostgreSQL cannot store NUL or a surrogate in text, and the others are invisible in every view.
Unicode bidirectional overrides are removed: they can make a title read differently from what it
is (an OKR that shows "Cut costs" while its characters say otherwise), and no goal needs them.
Ids also become URL path segments, so they cannot be "." or "..", nor contain "/", "?", "#" or
whitespace other than spaces. Nor can they hold an invisible (format) character, such as a
zero-width space: "T-9" with one reads as "T-9" and would be another record (the zero-width
joiner and non-joiner, which some scripts need, excepted), nor "%" and two hex digits, which
URLs read as an escape ("x%2Fy" would be reached as "x/y"). An organization id may not hold a
bidirectional control at all (`no_direction_controls`): it is refused, naming the character and
its position, where other ids have it removed. A text made only of such characters is refused
as blank.

Ids are compared the way people read them: in Unicode NFKC form (`normal_id`), so "Café" typed
with a combining accent or precomposed, or "ＯＫＲ－１" typed in fullwidth, name the same record
as "Café" and "OKR-1". Every entry point stores and looks ids up in that form: bundles (JSON,
YAML, CSV) and request bodies through `plain_id`, URL paths (service/middleware.py) and list
filters (`LookupId`) through `normal_id`.

A line break is one character, "\n", wherever text comes from: browsers send each one of a
form's text as CRLF (the HTML form encoding) and files written on Windows hold CRLF, so a text
counted or stored as sent would be longer than the person typed (1950 characters in a
2000-character field refused as 2100) and would not compare equal to itself sent another way.
`one_line_break` turns CRLF and a lone CR into LF; `plain_text` does it first, and `LINE_BREAKS`
does it before a type's own length limit (`StringConstraints` runs before any AfterValidator).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A JSON escape like "\ud800" decodes to half of a UTF-16 pair, which no UTF-8 text can hold.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
BIDI_OVERRIDES = re.compile("[\u202a-\u202e\u2066-\u2069]")
CR_LINE_BREAK = re.compile(r"\r\n?")
ID_FORBIDDEN = re.compile(r"[/?#\t\n\r]")
# "%2F" in an id reads as a URL escape: /orgs/x%2Fy reaches "x/y", never the id "x%2Fy".
URL_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
ID_MAX = 200
# The CSV form separates declared links with it: an id holding one is exported as JSON or YAML.
LINK_SEPARATOR = ";"


def one_line_break(value: str) -> str:
    return CR_LINE_BREAK.sub("\n", value)


def _line_breaks_of_text(value: object) -> object:
    # Anything but text goes on untouched: the type's own check says what is wrong with it.
    return one_line_break(value) if isinstance(value, str) else value


# Placed after a type's StringConstraints (Annotated runs a BeforeValidator before what precedes
# it), so that the limit counts "\n" as the one character it is.
LINE_BREAKS = BeforeValidator(_line_breaks_of_text)


def plain_text(value: str) -> str:
    value = one_line_break(value)
    if match := CONTROL.search(value):
        raise ValueError(
            f"contains the control character U+{ord(match.group()):04X} at position "
            f"{match.start()}; remove it"
        )
    if match := LONE_SURROGATE.search(value):
        raise ValueError(
            f"contains U+{ord(match.group()):04X} at position {match.start()}, half of a UTF-16 "
            "surrogate pair that is no character; send the whole character"
        )
    plain = BIDI_OVERRIDES.sub("", value)
    if value.strip() and not plain.strip():
        # Stored, it would be an empty title that no later import could read back.
        raise ValueError("is empty once its invisible direction marks are removed")
    if plain.strip() and all(ch.isspace() or _invisible(ch) for ch in plain):
        # Shown, it would be a blank title or name nobody can tell from an empty one.
        raise ValueError("holds only invisible characters (such as U+200B, a zero-width space)")
    return plain


# Zero-width (non-)joiners shape letters in Persian and Indic scripts and join emoji: they are
# part of how such an id is written, so they stay.
JOINERS = "\u200c\u200d"


def _invisible(ch: str) -> bool:
    # Unicode's format characters: zero-width spaces and joiners, direction marks, a soft hyphen.
    return unicodedata.category(ch) == "Cf"


def normal_id(value: str) -> str:
    """The form an id is stored and compared in; never refuses (that is `plain_id`'s part)."""
    # Overrides go first: removing one can bring a letter and its accent together.
    return unicodedata.normalize("NFKC", BIDI_OVERRIDES.sub("", value)).strip()


def plain_id(value: str) -> str:
    # Normalized before the rules: fullwidth "／" or "．．" become "/" and "..".
    value = normal_id(plain_text(value))
    if not value:
        raise ValueError("an id cannot be empty")
    if len(value) > ID_MAX:
        raise ValueError(
            f"is {len(value)} characters in Unicode NFKC form, the form ids are compared in; "
            f"at most {ID_MAX}"
        )
    if value in (".", ".."):
        raise ValueError(f"{value!r} cannot be an id (it is a path step in URLs)")
    if match := ID_FORBIDDEN.search(value):
        raise ValueError(f"an id cannot contain {match.group()!r} (it is part of URLs)")
    if match := URL_ESCAPE.search(value):
        raise ValueError(
            f"an id cannot contain {match.group()!r} at position {match.start()}: it reads as a "
            "URL escape, so the id's own address would name another id"
        )
    hidden = next((i for i, ch in enumerate(value) if _invisible(ch) and ch not in JOINERS), None)
    if hidden is not None:
        # "T-9" and "T-9" with a zero-width space read the same and would be two records.
        raise ValueError(
            f"contains the invisible character U+{ord(value[hidden]):04X} at position {hidden}; "
            f"{SEEN_AND_TYPED}"
        )
    return value


SEEN_AND_TYPED = "ids hold only characters people can see and type"


def no_direction_controls(value: object) -> object:
    """An organization id with a bidirectional control is refused, not cleaned: it names the
    organization in every address and every key, and silently storing "h3evil2" for
    "h3\u202eevil2" would give the sender an id other than the one they sent and saw."""
    if isinstance(value, str) and (match := BIDI_OVERRIDES.search(value)):
        ch = match.group()
        raise ValueError(
            f"contains the direction control U+{ord(ch):04X} ({unicodedata.name(ch)}) at "
            f"position {match.start()}; {SEEN_AND_TYPED}"
        )
    return value


def direction_controls_in_name(value: object) -> object:
    """An organization's name with a bidirectional control is refused, naming it: the name
    heads every page and key listing, and "Admin \u202egnp.exe" shows as "Admin exe.png"."""
    if isinstance(value, str) and (match := BIDI_OVERRIDES.search(value)):
        ch = match.group()
        raise ValueError(
            f"contains the direction control U+{ord(ch):04X} ({unicodedata.name(ch)}) at "
            f"position {match.start()}; an organization's name reads as it is typed, so it "
            "holds none"
        )
    return value


def no_compatibility_forms(value: object) -> object:
    """An organization id that Unicode NFKC would change beyond composing accents is refused,
    naming the character: "h7-\u212aelvin" (KELVIN SIGN) would be stored as "h7-Kelvin", an
    id other than the one sent. Accents typed apart ("cafe\u0301") are the same letters and
    are composed without a word."""
    if not isinstance(value, str):
        return value
    for i, ch in enumerate(value):
        # Per character: a letter and an accent typed apart are each left as they are, while
        # KELVIN SIGN (even NFC makes it "K") or a fullwidth letter becomes another character.
        folded = unicodedata.normalize("NFKC", ch)
        if folded != ch and not BIDI_OVERRIDES.match(ch):
            raise ValueError(
                f"contains U+{ord(ch):04X} ({unicodedata.name(ch, 'unnamed')}) at position {i}, "
                f"which ids store as {folded!r} (Unicode NFKC): send {folded!r} instead, so the "
                "organization's id is the one you sent"
            )
    return value


def id_key(value: str) -> str:
    """What two ids are the same under, as people read them: NFKC, then case folded ("straße"
    and "STRASSE" both give "strasse"; lower() would keep "ß")."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


# Free text in any request body (notes, reasons, names, settings): what `plain_text` allows. A
# `Field(max_length=...)` around it is checked after `plain_text`, so on one "\n" per line break.
PlainText = Annotated[str, AfterValidator(plain_text)]
# An id a request looks records up by (a list filter): read in the stored form; one naming no
# record is the list's to refuse, as unknown.
LookupId = Annotated[str, AfterValidator(normal_id)]
