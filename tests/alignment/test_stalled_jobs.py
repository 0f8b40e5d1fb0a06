"""A worker whose heartbeat runs late is not dead: it never hands back its own running jobs.

Seen once under load (a clean-clone CI with other work on both cores): the worker's heartbeat
slipped past `stalled_after_s` while it ran a scoring job, its stalled-job check queued that
same job again, and the second copy failed against the first one's scoring lock.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from alignment.jobs import worker
from alignment.jobs.queue import RUNNING_HERE


class _Jobs:
    def __init__(self, stalled: list[SimpleNamespace]) -> None:
        self.stalled, self.retried = stalled, []

    async def get_stalled_jobs(self, **_: object) -> list[SimpleNamespace]:
        return self.stalled

    async def retry_job(self, job: SimpleNamespace) -> None:
        self.retried.append(job.id)


def test_only_jobs_of_dead_workers_are_queued_again(monkeypatch) -> None:
    mine, orphaned = SimpleNamespace(id=41), SimpleNamespace(id=42)
    manager = _Jobs([mine, orphaned])
    monkeypatch.setattr(worker.get_settings().jobs, "stalled_after_s", 0.03)
    RUNNING_HERE.add(mine.id)
    try:

        async def one_round() -> None:
            check = asyncio.create_task(
                worker._recover_stalled(SimpleNamespace(job_manager=manager))
            )
            await asyncio.sleep(0.05)  # a few rounds
            check.cancel()

        asyncio.run(one_round())
    finally:
        RUNNING_HERE.discard(mine.id)
    assert manager.retried and set(manager.retried) == {orphaned.id}
