"""Per-organization token budget: what an organization's model calls may spend per calendar month.

Set with GOLDENTHREAD_LLM_TOKEN_BUDGET (every organization) and GOLDENTHREAD_LLM_TOKEN_BUDGETS
(JSON overrides by organization id). Spending is read from the stored drafts, failed attempts
included, and from `llm_usage` (link adjudication); a call is refused before it is made when
its prompt alone would cross the line.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from alignment.chat import Message
from alignment.drafting import store
from alignment.errors import DomainError


class BudgetExhausted(DomainError):
    status = 429
    code = "token_budget_exhausted"


def estimate_tokens(messages: list[Message]) -> int:
    # ~4 characters per token for English prose and JSON; only used to refuse early.
    return sum(len(m.content) for m in messages) // 4 + 1


class Budget:
    def __init__(self, org_id: str, limit: int | None, spent: int = 0) -> None:
        self.org_id, self.limit, self.spent = org_id, limit, spent

    @classmethod
    def for_org(cls, session: Session, org_id: str, limit: int | None) -> Budget:
        """The month's spending so far. With a limit, the organization's model calls are
        serialized until this transaction ends (an advisory lock), so two concurrent calls
        cannot both pass a check that only one of them fits under."""
        if not limit:
            return cls(org_id, limit, 0)
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"budget:{org_id}"}
        )
        spent = store.tokens_spent(session, org_id, since=store.month_start())
        return cls(org_id, limit, spent)

    def check(self, estimate: int) -> None:
        if self.limit is not None and self.spent + estimate > self.limit:
            raise BudgetExhausted(
                f"organization {self.org_id!r} has used {self.spent} of its {self.limit} LLM "
                f"tokens this month; this call needs about {estimate} more",
                details={"spent": self.spent, "limit": self.limit, "estimate": estimate},
            )

    def charge(self, tokens: int) -> None:
        self.spent += tokens
