"""Outside calls a running job may give up on while they are in flight.

A drafting job spends most of its time waiting for the model (tens of seconds), and a job only
notices a cancel where it looks (jobs/cancel.py). Within `looking(look)` a `call(fn)` runs `fn`
on a thread of its own while the caller's thread runs `look` every `POLL_S`: when `look`
raises (the job's `Cancelled`), the call is marked abandoned and the exception goes on at
once, so the job's transaction rolls back without waiting for the reply. The call's thread is
left to end by itself: an adapter reads `abandoned()` and stops its HTTP request (and any
retry) as soon as it can, so nothing outlives the call's own timeout. Outside `looking` a call
runs on the caller's thread, as before (the command line, inline drafting).

`look` runs on the caller's thread, the one that owns the job's database session; `fn` must
touch no session.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

T = TypeVar("T")
POLL_S = 0.5  # how often a waiting job looks: one primary-key read each time

_LOOK: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "abandonable_look", default=None
)
_ABANDONED: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "abandonable_abandoned", default=None
)


@contextmanager
def looking(look: Callable[[], None]) -> Iterator[None]:
    """Within: every `call` can be given up, `look` raising to say so."""
    token = _LOOK.set(look)
    try:
        yield
    finally:
        _LOOK.reset(token)


def call(fn: Callable[[], T]) -> T:
    """`fn()`, given up as soon as the surrounding `looking` raises (that exception then)."""
    look = _LOOK.get()
    if look is None:
        return fn()
    abandoned = threading.Event()
    outcome: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()

    def run() -> None:
        _LOOK.set(None)  # the call's own thread does not look: the caller does
        _ABANDONED.set(abandoned)
        try:
            outcome.put((True, fn()))
        except BaseException as exc:  # handed to the caller, which raises it
            outcome.put((False, exc))

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), daemon=True, name="abandonable-call").start()
    while True:
        try:
            done, value = outcome.get(timeout=POLL_S)
        except queue.Empty:
            try:
                look()
            except BaseException:
                abandoned.set()
                raise
            continue
        if done:
            return cast(T, value)
        raise value


def abandoned() -> threading.Event | None:
    """For an adapter: set once the caller gave up on the call running on this thread (None
    when the call cannot be given up)."""
    return _ABANDONED.get()
