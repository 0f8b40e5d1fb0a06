"""What any text a person or tool sends may contain, checked where it enters (bundles, API).

Control characters (NUL above all) are refused, naming the field: PostgreSQL cannot store NUL in
text, and the others are invisible in every view. Unicode bidirectional overrides are removed:
they can make a title read differently from what it is (an OKR that shows "Cut costs" while its
characters say otherwise), and no goal needs them. Ids also become URL path segments, so they
cannot be "." or "..", nor contain "/", "?", "#" or whitespace other than spaces.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
BIDI_OVERRIDES = re.compile("[\u202a-\u202e\u2066-\u2069]")
ID_FORBIDDEN = re.compile(r"[/?#\t\n\r]")


def plain_text(value: str) -> str:
    if match := CONTROL.search(value):
        raise ValueError(
            f"contains the control character U+{ord(match.group()):04X} at position "
            f"{match.start()}; remove it"
        )
    return BIDI_OVERRIDES.sub("", value)


def plain_id(value: str) -> str:
    value = plain_text(value)
    if value in (".", ".."):
        raise ValueError(f"{value!r} cannot be an id (it is a path step in URLs)")
    if match := ID_FORBIDDEN.search(value):
        raise ValueError(f"an id cannot contain {match.group()!r} (it is part of URLs)")
    return value


# Free text in any request body (notes, reasons, names, settings): what `plain_text` allows.
PlainText = Annotated[str, AfterValidator(plain_text)]
