"""How hard delivery tries: timeouts, retries, backoff and ``Retry-After``, in one place.

Delivery must never hold an audit hostage: every request has a timeout, retries are
counted, a ``Retry-After`` longer than :attr:`DeliveryPolicy.max_retry_after` is cut
short (what still fails stays in the outbox for the next run), and a whole delivery has a
deadline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Timeouts and retries of one delivery (tests shrink them)."""

    request_timeout: float = 10.0  # seconds, one HTTP request
    retries: int = 3  # after the first attempt, for 429, 5xx and connection errors
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_backoff: float = 8.0
    max_retry_after: float = 30.0  # a longer Retry-After is left to the next run
    deadline: float = 90.0  # seconds for delivering everything to one route

    def backoff_for(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based) without Retry-After."""
        return min(self.backoff * 2.0**retry, self.max_backoff)


DEFAULT_POLICY = DeliveryPolicy()


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date; None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def wait_before_retry(policy: DeliveryPolicy, retry: int, retry_after: str | None) -> float | None:
    """Seconds to wait before the retry, or None when waiting would exceed the policy."""
    asked = retry_after_seconds(retry_after)
    if asked is None:
        return policy.backoff_for(retry)
    if asked > policy.max_retry_after:
        return None
    return asked


def silent_logger() -> logging.Logger:
    """A logger that drops everything, for HTTP clients that log URLs.

    slack_sdk's webhook client logs the request URL (the Slack credential) at DEBUG
    whenever its logger's own level is unset; this logger has no level to inherit.
    """
    logger = logging.getLogger("auditor.alerts.http-client")
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


def describe_failure(exc: BaseException) -> str:
    """Why a request failed, without the URL (aiohttp's messages can contain it)."""
    name = type(exc).__name__
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"connection failed ({name})"
