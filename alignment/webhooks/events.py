"""The events a subscription can ask for."""

EVENTS = (
    "report.completed",  # a report job finished: a new run, or the same one again (`reused`)
    "draft.created",  # a drafting job stored a draft (pending, or failed at the gates)
    "draft.decided",  # a person approved, edited and approved, or rejected a draft
    "okr.misaligned",  # scoring found an OKR serving no objective that did before (or is new)
)
