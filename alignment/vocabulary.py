"""Closed vocabularies of the record model, spelled once.

The bundle and drafting schemas validate against these `Literal`s and the tables' check
constraints are built from the same values (alignment/models/), so an input the schema accepts
is one the database stores. Imports nothing of the package, so any layer can use it.
"""

from __future__ import annotations

from typing import Literal, get_args

# A strategic objective's balanced-scorecard perspective.
Perspective = Literal["financial", "customer", "internal_process", "learning_growth"]
# Whether a KPI or key result leads (predicts) or lags (records) the outcome.
LeadLag = Literal["lead", "lag"]

PERSPECTIVES: tuple[Perspective, ...] = get_args(Perspective)
LEAD_LAG: tuple[LeadLag, ...] = get_args(LeadLag)
