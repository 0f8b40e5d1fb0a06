"""The collector pause around scoring: on and off as it should be, and safe because scoring
leaves no reference cycles for the collector to find."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from alignment.scoring.gc_paused import gc_paused


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_inside_and_back_after_even_on_error(collector_on) -> None:
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(collector_on) -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_overlapping_blocks_in_two_threads_keep_it_off_until_the_last_ends(collector_on) -> None:
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with gc_paused():
        thread.start()
        assert entered.wait(5)
    # This thread's block ended first: the other one still holds the pause.
    assert not gc.isenabled()
    release.set()
    thread.join(5)
    assert gc.isenabled()


# Run in a fresh interpreter: threads that earlier tests left in this process (servers, workers)
# allocate while the collector is off, and their cycles would be counted as scoring's.
_CYCLE_PROBE = """
import gc
from alignment.scoring.link_scores import score_links
from tests.alignment.test_link_scores import OBJECTIVES, OKRS, embed

score_links(OBJECTIVES, OKRS, embed=embed)  # warm: imports and caches made once
gc.collect()
gc.disable()
links = score_links(OBJECTIVES, OKRS, embed=embed, top=3)
print(sum(len(lk.evidence) for row in links.values() for lk in row))
del links
print(gc.collect())
"""


def test_scoring_leaves_no_reference_cycles() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(root)}
    run = subprocess.run(
        [sys.executable, "-c", _CYCLE_PROBE],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    evidence, collected = (int(line) for line in run.stdout.split())
    assert evidence > 0  # evidence was built
    # Everything scoring made was freed by reference counting: nothing left for the collector.
    assert collected == 0
