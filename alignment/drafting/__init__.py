"""Draft stage: suggested OKRs and review summaries, drafted for people to approve.

context -> drafter (LLM via `alignment.chat`, or offline templates) -> gates -> one repair ->
stored draft (or failed attempt) with provenance -> a person approves, edits, or rejects.
Modules: schemas, sources (SQL), similar (pgvector), findings, context, cycles (which cycle a
draft is for), gates, drafters, offline (with offline_suggestions, offline_summary and
offline_text), draft, approve, store. The LLM call budget is `alignment.llm_budget`.
"""
