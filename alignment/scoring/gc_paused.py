"""`gc_paused()`: the cyclic garbage collector held off while a block builds many objects.

Scoring a 10,000-OKR organization creates a few hundred thousand small objects (links,
term lists, sets) that live on. CPython counts them as they are allocated and every so often
walks the whole heap looking for cycles: on `benchmarks.scoring` those walks were 0.4 s of a
first 2.0 s call and 0.25 s of later ones. The scoring code makes no reference cycles
(tests/alignment/test_gc_paused.py checks), so nothing waits for the collector; reference
counting still frees everything as usual. The collector runs again when the block ends, and
as before when it was already off.

Threads share the collector's switch: a depth count keeps it off until the last of
overlapping blocks ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
