"""Prometheus metrics of this process (every organization's traffic: platform admins only),
plus the job queue's depth and age, read from PostgreSQL at each scrape."""

from fastapi import APIRouter, Response
from sqlalchemy import text

from service.deps import SessionDep
from service.observability import metrics_body

router = APIRouter(tags=["operations"])

# procrastinate's own tables: counts only. The platform admin who scrapes them reads every
# organization's entries through the queue's row policy (migration 0024), and writes none.
_QUEUE = text(
    """
    SELECT j.queue_name, j.status::text, count(*),
           coalesce(extract(epoch FROM now() - min(e.at)), 0)
    FROM procrastinate_jobs j
    LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
    WHERE j.status IN ('todo', 'doing')
    GROUP BY 1, 2
    """
)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(session: SessionDep) -> Response:
    body, media_type = metrics_body()
    rows = session.execute(_QUEUE).all()
    lines = [
        "# HELP goldenthread_queue_jobs Jobs waiting (todo) or running (doing), by queue.",
        "# TYPE goldenthread_queue_jobs gauge",
        *(f'goldenthread_queue_jobs{{queue="{q}",state="{s}"}} {n}' for q, s, n, _ in rows),
        "# HELP goldenthread_queue_oldest_seconds Age of the oldest job in that state.",
        "# TYPE goldenthread_queue_oldest_seconds gauge",
        *(
            f'goldenthread_queue_oldest_seconds{{queue="{q}",state="{s}"}} {float(age):.1f}'
            for q, s, _, age in rows
        ),
    ]
    return Response(body + ("\n".join(lines) + "\n").encode(), media_type=media_type)
