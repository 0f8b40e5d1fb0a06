"""Prometheus metrics of the work itself (embedding, LLM calls, jobs), wherever it runs.

The API's `/metrics` shows them for work done in its process (the in-process worker included);
a separate `goldenthread worker --metrics-port N` serves its own. Labels stay bounded: no
organization or record ids.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EMBEDDED_TEXTS = Counter("goldenthread_embedded_texts_total", "Texts encoded by the model.")
EMBED_SECONDS = Counter("goldenthread_embed_seconds_total", "Time spent encoding texts.")
LLM_CALLS = Counter("goldenthread_llm_calls_total", "LLM calls by outcome.", ["outcome"])
LLM_TOKENS = Counter("goldenthread_llm_tokens_total", "LLM tokens used.", ["kind"])
LLM_SECONDS = Histogram(
    "goldenthread_llm_call_seconds",
    "Time for one LLM call (answered or failed).",
    buckets=(0.25, 0.5, 1, 2, 5, 10, 20, 30, 60),
)
JOBS = Counter("goldenthread_jobs_total", "Jobs finished by kind and outcome.", ["kind", "outcome"])
JOB_SECONDS = Histogram(
    "goldenthread_job_seconds",
    "Time to run one job attempt.",
    ["kind"],
    buckets=(0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900),
)
