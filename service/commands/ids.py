"""Ids typed on the command line, read as the API reads them: in the Unicode form (NFKC) they
are stored in (alignment/bundle/text_rules.py), so `--org ＡＣＭＥ` finds organization `ACME`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from alignment.bundle.text_rules import normal_id


def as_stored(value: Any) -> Any:
    """A typer callback for an id option or argument: one id, a repeated one, or none."""
    if isinstance(value, str):
        return normal_id(value)
    if isinstance(value, list | tuple):
        return [normal_id(v) for v in value]
    return value


Org = Annotated[str, typer.Option("--org", help="Organization id.", callback=as_stored)]
