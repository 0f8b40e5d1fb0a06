"""The order in which an eval reports progress: a bundle counts once its work is done, so the
bar never reads N/N while the last bundle still runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


class _Stop(Exception):
    pass


def progress_order(
    monkeypatch: pytest.MonkeyPatch,
    module: Any,
    stage: str,
    label: str,
    run: Callable[[Callable[[str], None]], object],
    returns: Any = None,
) -> list[str]:
    """`module.stage` (the work on one bundle) replaced by a recorder answering `returns`, then
    `run(progress)` over two bundles, stopped once the second is counted: what happened, in
    order ("<label> a.json", "done a.json", ...)."""
    events: list[str] = []

    def work(*args: Any, **_kwargs: Any) -> Any:
        path = next(a for a in args if isinstance(a, Path))
        events.append(f"{label} {path.name}")
        return returns

    def progress(name: str) -> None:
        events.append(f"done {name}")
        if len(events) == 4:
            raise _Stop

    monkeypatch.setattr(module, stage, work)
    with pytest.raises(_Stop):
        run(progress)
    return events
