"""The token budget is checked atomically: a second model call of one organization reads the
spending only after the first call's transaction has recorded its tokens."""

from __future__ import annotations

import threading
import time
import uuid

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alignment import repository
from alignment.adapters.openai_chat import redacted
from alignment.llm_budget import Budget
from alignment.models import LlmUsage


def test_concurrent_budget_checks_see_each_others_spending(engine: Engine) -> None:
    org = f"budget-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s, s.begin():
        repository.create_org(s, org, "Budget")
    seen: list[int] = []
    try:
        first = Session(engine)
        first.begin()
        assert Budget.for_org(first, org, limit=1000).spent == 0

        def second_call() -> None:
            with Session(engine) as s, s.begin():
                seen.append(Budget.for_org(s, org, limit=1000).spent)

        waiter = threading.Thread(target=second_call)
        waiter.start()
        time.sleep(0.5)
        assert seen == []  # still waiting for the first call's transaction
        first.add(LlmUsage(org_id=org, purpose="t", model="m", input_tokens=600, output_tokens=0))
        first.commit()
        first.close()
        waiter.join(timeout=10)
        assert seen == [600]  # the second check counts the first call's tokens
    finally:
        with Session(engine) as s, s.begin():
            repository.delete_org(s, org)


def test_provider_address_is_shown_without_credentials() -> None:
    assert redacted("https://user:s3cret@llm.example:8443/v1?api-key=k") == (
        "https://llm.example:8443/v1"
    )
    assert redacted("http://localhost:11434/v1") == "http://localhost:11434/v1"
