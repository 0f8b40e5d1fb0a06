"""How a command ends when it is cut short: Ctrl-C, or a standard output that cannot be
written (a full disk, a closed pipe). One line on stderr says so and what was stored; never a
traceback, and never "nothing was written" when something was.

A command stores its work in one transaction, committed at its end, and prints its result
after that. So Ctrl-C mostly lands before the commit (nothing stored), but a slow reader of
stdout (`| less`) can hold a command past it. Which one happened is asked of PostgreSQL, not
assumed: before each commit, `txid_current_if_assigned()` says whether the transaction wrote
anything (a transaction gets an id at its first write, never for reads). A command whose
result can be had again without redoing the work says how (`kept`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import Any, TextIO

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.core import TyperGroup

INTERRUPTED = 130  # 128 + SIGINT: what a shell shows for a command Ctrl-C stopped
# 128 + SIGPIPE: what `cat` or `grep` end with when the reader of their output went away
# (`... | head`), so a script under `set -o pipefail` can treat them all alike.
READER_GONE = 141
OUTPUT_FAILED = 1  # not 2, which says "refused: nothing stored"; the work may be stored here

_WROTE = "goldenthread.wrote"


class _Done:
    """What the running command has stored so far."""

    wrote = False  # a transaction that changed something was committed
    kept: str | None = None  # what is stored and how to see it again, in the command's words


_done = _Done()


def kept(note: str) -> None:
    """Say, once the command's transaction is committed, what it stored and how to get its
    result again: the line printed if the command is then cut short."""
    _done.kept = note


class StdoutFailed(Exception):
    """A write to standard output failed (raised by `guard_stdout`'s wrapper)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.errno, self.reason = error.errno, error.strerror or str(error)


class _GuardedStdout:
    """The process's stdout, whose failed writes raise `StdoutFailed`: an OSError from a write
    anywhere else (a file the command writes, a socket) stays what it is."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, data: str) -> int:
        try:
            return self._stream.write(data)
        except OSError as exc:
            raise StdoutFailed(exc) from exc

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise StdoutFailed(exc) from exc

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, ...
        return getattr(self._stream, name)

    def discard(self) -> None:
        """Send what is still buffered to /dev/null: the interpreter flushes stdout once more
        as it exits, and that flush would fail again ("Exception ignored ... BrokenPipeError").
        Python's own advice: https://docs.python.org/3/library/signal.html#note-on-sigpipe"""
        with contextlib.suppress(OSError, ValueError):  # no file descriptor: nothing to flush
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)


def guard_stdout() -> None:
    """Make a failed write to stdout a `StdoutFailed` (the command line's `main` calls it)."""
    if not isinstance(sys.stdout, _GuardedStdout) and sys.stdout is not None:
        sys.stdout = _GuardedStdout(sys.stdout)  # type: ignore[assignment]


def _note_writes(session: Session) -> None:
    """Before a commit: did this transaction change anything? (Kept in the session until the
    commit succeeds.)"""
    session.flush()  # the commit flushes after this hook: those writes count too
    try:
        wrote = session.execute(text("SELECT txid_current_if_assigned() IS NOT NULL")).scalar()
    except DBAPIError:  # a failed transaction: its commit fails too
        wrote = False
    session.info[_WROTE] = bool(wrote)


def _committed(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        _done.wrote = True


def watch_writes() -> None:
    _done.wrote, _done.kept = False, None
    if not event.contains(Session, "before_commit", _note_writes):
        event.listen(Session, "before_commit", _note_writes)
        event.listen(Session, "after_commit", _committed)


def stop_watching() -> None:
    """No more asking at each commit: `serve` and `worker` stop on Ctrl-C as they should, and
    their requests and jobs need no extra query each."""
    if event.contains(Session, "before_commit", _note_writes):
        event.remove(Session, "before_commit", _note_writes)
        event.remove(Session, "after_commit", _committed)


def _stored() -> str:
    if _done.kept:
        return _done.kept
    if _done.wrote:
        return "the command's changes were stored before that, and are kept"
    return "nothing was stored"


def _say(opening: str, line: str) -> None:
    # A console of its own: Ctrl-C in the middle of the shared one's print leaves that line in
    # its buffer, and the next print would repeat it.
    said = Console(stderr=True, soft_wrap=True, highlight=False)
    with contextlib.suppress(OSError):  # stderr gone too: the exit code says it
        said.print(f"{opening} {escape(line)}")


class CommandLine(TyperGroup):
    """The top-level group: runs a command and, when it is cut short, ends it in one line."""

    def invoke(self, ctx: Any) -> Any:
        watch_writes()
        try:
            result = super().invoke(ctx)
            if sys.stdout is not None:  # None when started with stdout closed (`>&-`)
                sys.stdout.flush()  # what is still buffered fails here, not at the exit
            return result
        except KeyboardInterrupt:
            _say("interrupted:", _stored())
            raise typer.Exit(INTERRUPTED) from None
        except StdoutFailed as exc:
            raise typer.Exit(_output_failed(exc)) from None
        finally:
            stop_watching()


def _output_failed(exc: StdoutFailed) -> int:
    """Says (unless the reader just left) that stdout failed, and what was stored: the exit
    code."""
    if isinstance(sys.stdout, _GuardedStdout):
        sys.stdout.discard()
    if exc.errno == errno.EPIPE:  # the reader has all it wanted (`| head`): quiet
        return READER_GONE
    _say("[red]error:[/]", f"could not write to standard output: {exc.reason}; {_stored()}")
    return OUTPUT_FAILED


def run_guarded(app: Any) -> None:
    """The command line's entry: `app` with a guarded stdout. Help and usage are printed
    before any command is invoked, so a failed write there is caught here."""
    guard_stdout()
    try:
        app()
    except StdoutFailed as exc:
        raise SystemExit(_output_failed(exc)) from None
