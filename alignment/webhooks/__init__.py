"""Webhooks for other tools: subscriptions per organization, signed deliveries with retries.

An event is recorded (`emit`) in the transaction of the change it reports, one delivery row
and one queued job per matching subscription; the job POSTs it (`deliver`), and the queue
retries failures with backoff. Receivers check the signature with `signing.verify`.
"""

from alignment.webhooks.emit import emit
from alignment.webhooks.events import EVENTS

__all__ = ["EVENTS", "emit"]
