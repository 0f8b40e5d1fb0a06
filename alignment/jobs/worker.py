"""Workers: `goldenthread worker` (a process of its own) and the one `serve` runs in a thread.

Besides running jobs, each worker hands back jobs whose worker died (no heartbeat for
`stalled_after_s`): procrastinate puts them back on the queue, and since a job's work commits
together with its result, the retry starts from a clean state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from procrastinate import App

from alignment import db
from alignment.jobs.priority import lower_backend_priority, lower_priority
from alignment.jobs.queue import QUEUES, RUNNING_HERE, TASK, worker_app
from alignment.settings import get_settings

log = logging.getLogger(__name__)


async def _recover_stalled(app: App) -> None:
    settings = get_settings().jobs
    while True:
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                task_name=TASK, seconds_since_heartbeat=settings.stalled_after_s
            )
            for job in stalled:
                if job.id in RUNNING_HERE:  # still running here: only the heartbeat was late
                    continue
                log.warning("job %s lost its worker; queued again", job.id)
                await app.job_manager.retry_job(job)
        except Exception:  # the database may be restarting; try again next round
            log.debug("stalled-job check failed", exc_info=True)
        await asyncio.sleep(settings.stalled_after_s / 3)


async def work(
    database_url: str,
    *,
    concurrency: int | None = None,
    wait: bool = True,
    name: str | None = None,
    install_signal_handlers: bool = True,
) -> None:
    settings = get_settings().jobs
    app = worker_app(database_url)
    async with app.open_async():
        recovery = asyncio.create_task(_recover_stalled(app))
        try:
            await app.run_worker_async(
                queues=QUEUES,
                concurrency=concurrency or settings.concurrency,
                wait=wait,
                # procrastinate types it `str`; its worker takes None (named "worker").
                name=name,  # type: ignore[arg-type]
                install_signal_handlers=install_signal_handlers,
                update_heartbeat_interval=settings.heartbeat_s,
                stalled_worker_timeout=settings.stalled_after_s,
                shutdown_graceful_timeout=5,
                delete_jobs="successful",  # our `jobs` rows keep the record
            )
        finally:
            recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recovery


def run(database_url: str, **options: object) -> None:
    """A worker in this process until SIGINT/SIGTERM (with wait=False: until the queue is empty)."""
    asyncio.run(work(database_url, **options))  # type: ignore[arg-type]


class InProcessWorker:
    """A worker on a thread of its own event loop, for `serve`: one command does it all."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task | None = None
        self._thread = threading.Thread(target=self._main, name="goldenthread-worker", daemon=True)

    def _main(self) -> None:
        lower_priority()
        lower_backend_priority(db.get_engine())
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(
            work(self._url, name="in-process", install_signal_handlers=False)
        )
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)
        self._loop.close()

    def start(self) -> InProcessWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 8.0) -> None:
        """Cancel (procrastinate lets running jobs finish for a few seconds); a job still
        running when the process exits is rolled back and handed to the next worker."""
        if self._task is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout)
