"""Relational model: organizations own everything; every key is (org_id, id).

Ids are the caller's own (bundle ids), unique per kind inside an organization, so imports
update by id and every query is scoped by organization through the key itself.
Texts that get embedded carry `content_hash` so the embed stage can skip unchanged text.
"""

from alignment.models.access import ApiKey, AuditEntry, IdempotentRequest
from alignment.models.base import Base, Timestamped, content_hash, org_fk, stamped_now
from alignment.models.goals import (
    HASHED_FIELDS,
    CheckIn,
    Cycle,
    DeclaredLink,
    KeyResult,
    Kpi,
    Okr,
    Organization,
    StrategicObjective,
    Team,
    row_hash,
)
from alignment.models.jobs import BundleUpload, Job, LlmUsage, WebhookDelivery, WebhookSubscription
from alignment.models.scoring import (
    EMBEDDING_DIM,
    CheckInDrift,
    CheckInFeedback,
    LastScoringRun,
    LinkFeedback,
    OkrVerdict,
    ReadVersion,
    ScoredLink,
    TextEmbedding,
)
from alignment.vocabulary import LEAD_LAG, PERSPECTIVES

__all__ = [
    "EMBEDDING_DIM",
    "HASHED_FIELDS",
    "LEAD_LAG",
    "PERSPECTIVES",
    "ApiKey",
    "AuditEntry",
    "Base",
    "BundleUpload",
    "CheckIn",
    "CheckInDrift",
    "CheckInFeedback",
    "Cycle",
    "DeclaredLink",
    "IdempotentRequest",
    "Job",
    "KeyResult",
    "Kpi",
    "LastScoringRun",
    "LinkFeedback",
    "LlmUsage",
    "Okr",
    "OkrVerdict",
    "Organization",
    "ReadVersion",
    "ScoredLink",
    "StrategicObjective",
    "Team",
    "TextEmbedding",
    "Timestamped",
    "WebhookDelivery",
    "WebhookSubscription",
    "content_hash",
    "org_fk",
    "row_hash",
    "stamped_now",
]
