"""Signed JSON webhooks (CONTRACT section 6): payload models, signature, delivery.

The payload is a pydantic model; ``webhook.schema.json`` next to this module is its JSON
Schema, shipped in the package for consumers (a test keeps the file equal to the model).

Signature: ``X-Auditor-Signature: v1=<hex HMAC-SHA256(secret, "v1:" + ts + ":" + body)>``
with ``X-Auditor-Timestamp: ts`` (whole unix seconds), over the exact body bytes sent.
Every attempt is signed afresh, so a retry carries a current timestamp.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from auditor.alerts.delivery import (
    DEFAULT_POLICY,
    DeliveryPolicy,
    describe_failure,
    wait_before_retry,
)
from auditor.store.lifecycle import rfc3339

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from auditor.store.alerts import AlertRecord

SCHEMA_VERSION = "1"
SCHEMA_RESOURCE = "webhook.schema.json"
TIMESTAMP_HEADER = "X-Auditor-Timestamp"
SIGNATURE_HEADER = "X-Auditor-Signature"
EVENTS_PER_REQUEST = 100


class _Payload(BaseModel):
    # The schema describes what we send: every field is always present (null or not).
    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )


class WebhookEvent(_Payload):
    """One event; ``id`` is stable for one transition (deduplicate on it)."""

    id: str = Field(description="Stable for one transition across retries and re-runs.")
    kind: Literal["new", "regressed", "resolved", "error", "recovered", "reminder"]
    route: str
    tenant_id: str
    rule_id: str | None = Field(description="null for error and recovered")
    severity: Literal["critical", "high", "medium", "low", "info"] | None
    title: str
    message: str
    remediation: str | None
    occurred_at: str = Field(description="RFC 3339: the start of the run that saw it.")
    report_url: str | None


class WebhookPayload(_Payload):
    """The body of one POST."""

    schema_version: Literal["1"] = "1"
    run_id: str
    sent_at: str = Field(description="RFC 3339")
    events: list[WebhookEvent]


def payload_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`WebhookPayload`, as shipped in webhook.schema.json."""
    schema = WebhookPayload.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://rapticore.io/schemas/sso-auditor/webhook-1.json",
        **schema,
    }


def shipped_schema() -> dict[str, Any]:
    """The schema file in the installed package."""
    text = resources.files("auditor.alerts").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def build_payload(
    run_id: str, events: Sequence[AlertRecord], *, report_url: str | None, sent_at: datetime
) -> WebhookPayload:
    """The payload telling a route about (part of) one run."""
    return WebhookPayload(
        run_id=run_id,
        sent_at=rfc3339(sent_at) or "",
        events=[
            WebhookEvent(
                id=event.id,
                kind=event.kind,
                route=event.route,
                tenant_id=event.tenant_id,
                rule_id=event.rule_id,
                severity=event.severity,
                title=event.title,
                message=event.message,
                remediation=event.remediation,
                occurred_at=rfc3339(event.occurred_at) or "",
                report_url=report_url,
            )
            for event in events
        ],
    )


def encode(payload: WebhookPayload) -> bytes:
    """The exact bytes posted (and signed)."""
    return json.dumps(
        payload.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` and the lower-case hex HMAC-SHA256 of ``v1:{timestamp}:{body}``."""
    message = b"v1:" + timestamp.encode("ascii") + b":" + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """Content type, timestamp and signature headers for ``body``."""
    timestamp = str(int(time.time() if now is None else now))
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


async def post(
    url: str, secret: str, body: bytes, policy: DeliveryPolicy = DEFAULT_POLICY
) -> str | None:
    """POST ``body`` signed; retry 429, 5xx and connection errors. None when delivered."""
    timeout = aiohttp.ClientTimeout(total=policy.request_timeout)
    last = "not attempted"
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for attempt in range(policy.retries + 1):
            retry_after: str | None = None
            try:
                async with session.post(
                    url, data=body, headers=signed_headers(secret, body), allow_redirects=False
                ) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        return None
                    last = f"HTTP {response.status}"
                    if response.status != 429 and response.status < 500:
                        return last  # 4xx: retrying will not help; it stays in the outbox
                    retry_after = response.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = describe_failure(exc)
            if attempt == policy.retries:
                break
            wait = wait_before_retry(policy, attempt, retry_after)
            if wait is None:
                return f"{last}, Retry-After longer than {policy.max_retry_after:g} s"
            await asyncio.sleep(wait)
    return last
