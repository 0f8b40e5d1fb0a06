"""POST one delivery, signed; a non-2xx answer or no answer is a failure the queue retries.

The connection goes to an address `targets.resolve_target` checked (the URL's host replaced by
it), with the original `Host` header and, for https, the original name for SNI and the
certificate check; no proxy from the environment, no redirects."""

from __future__ import annotations

import json
import ssl
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import httpx
from sqlalchemy.orm import Session

from alignment.errors import Unavailable
from alignment.models import WebhookDelivery, WebhookSubscription
from alignment.settings import get_settings
from alignment.webhooks.signing import HEADER, sign
from alignment.webhooks.targets import resolve_target


class DeliveryFailed(Unavailable):
    code = "webhook_delivery_failed"

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


# The job ends without a POST: nobody subscribes any more, so there is nothing to retry. Its
# result must not say "delivered", which a reader takes for a receiver's 2xx.
DROPPED = {"status": "dropped", "reason": "the subscription was deleted"}


def deliver(session: Session, delivery_id: int) -> dict[str, Any]:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:  # deleting a subscription deletes its delivery log with it
        return {"delivery_id": delivery_id, **DROPPED}
    if delivery.status == "delivered":  # the queue ran the job again after it was stored
        return {"delivery_id": delivery_id, "status": "delivered"}
    sub = session.get(WebhookSubscription, delivery.subscription_id)
    assert sub is not None  # deleting a subscription deletes its deliveries
    target = resolve_target(sub.url, path="subscription.url")
    body = json.dumps(delivery.payload, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GoldenThread-Webhooks/1",
        "X-GoldenThread-Event": delivery.event,
        "X-GoldenThread-Delivery": str(delivery.payload.get("id")),
        HEADER: sign(sub.secret, body, int(time.time())),
        "Host": target.host_header,  # the URL's own host, while the connection is pinned
    }
    timeout = get_settings().webhooks.timeout_s
    answer: httpx.Response | None = None
    failure: httpx.HTTPError | None = None
    with httpx.Client(
        verify=_ssl_context(), trust_env=False, follow_redirects=False, timeout=timeout
    ) as client:
        for address in target.addresses:  # as a resolver-driven connect would, in order
            try:
                answer = client.post(
                    target.pinned_url(address),
                    content=body,
                    headers=headers,
                    extensions=target.extensions,
                )
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = exc  # nothing was sent: the next address may answer
            except httpx.HTTPError as exc:
                failure = exc
                break
    if answer is None:
        raise DeliveryFailed(f"{type(failure).__name__} posting to the subscriber") from failure
    if not 200 <= answer.status_code < 300:
        raise DeliveryFailed(f"the subscriber answered {answer.status_code}", answer.status_code)
    delivery.status, delivery.delivered_at = "delivered", datetime.now(UTC)
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_error = answer.status_code, None
    return {"delivery_id": delivery_id, "status": "delivered", "status_code": answer.status_code}


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """httpx's default verification (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), made once."""
    return httpx.create_ssl_context()


def record_failure(session: Session, delivery_id: int, exc: BaseException, *, final: bool) -> None:
    """After a failed attempt (its transaction rolled back): count it and keep the reason."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return
    delivery.attempts += 1
    delivery.last_status_code = getattr(exc, "status_code", None)
    delivery.last_error = str(exc)[:500]
    if final:
        delivery.status = "failed"
