"""The offline drafter: deterministic templates over the organization's own records.

The default when no LLM is configured. Suggestions take their key results from the objective's
KPIs (baseline and target as the strategy states them) and carry forward the team's unfinished
key results of the last cycle at their latest measured value; summaries are built from key-result
progress and findings. Every number and id comes from a record it cites, and the output says
that no LLM wrote it. Same inputs, same output.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from alignment.chat import Usage
from alignment.drafting.context import SuggestContext, SummaryContext
from alignment.drafting.drafters import Attempt
from alignment.drafting.offline_suggestions import suggestions
from alignment.drafting.offline_summary import summary
from alignment.llm_budget import Budget

NOTICE = (
    "Drafted offline from templates over this organization's own records (strategy, KPIs, team "
    "mission, past OKRs, check-ins and findings). No LLM wrote this text."
)
MODEL = "offline-templates"
VERSION = 1
# The templates are these modules: their bytes are the "prompt" a draft records.
_HASH = hashlib.sha256(
    b"".join(
        (Path(__file__).parent / name).read_bytes()
        for name in (
            "offline.py",
            "offline_suggestions.py",
            "offline_summary.py",
            "offline_text.py",
        )
    )
).hexdigest()


class OfflineDrafter:
    kind = "offline"
    model = MODEL
    repairs = 0  # deterministic: a second try would say the same thing

    def budget_limit(self, org_id: str) -> int | None:
        return None  # spends no tokens

    def suggest(self, ctx: SuggestContext, budget: Budget) -> Attempt:
        started = time.perf_counter()
        return self._attempt("suggest_okrs", suggestions(ctx), started)

    def summarize(self, ctx: SummaryContext, budget: Budget) -> Attempt:
        started = time.perf_counter()
        return self._attempt("review_summary", summary(ctx), started)

    def repair(
        self, kind: str, previous: Attempt, problems: list[dict[str, str]], budget: Budget
    ) -> Attempt:
        """Templates are deterministic: another try would produce the same text, so none is made.

        `repairs = 0` keeps the drafting loop from asking; if asked anyway, the answer is the
        previous attempt, which the gates then reject again with the same reasons.
        """
        return previous

    def _attempt(self, name: str, payload: dict[str, Any], started: float) -> Attempt:
        return Attempt(
            raw=json.dumps(payload),
            prompt={"id": f"offline/{name}", "version": VERSION, "hash": _HASH},
            usage=Usage(),
            latency_ms=round((time.perf_counter() - started) * 1000),
            model=MODEL,
            notice=NOTICE,
        )
