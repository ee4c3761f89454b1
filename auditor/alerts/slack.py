"""Slack: Block Kit messages built with slack_sdk's models, posted with its webhook client.

One message per route per run, split into parts when a run has more events than fit in
50 blocks; each event is named (tenant and rule) in exactly one part. The block models
check Slack's limits when serialized (150 characters a header, 3,000 a section), and
:func:`clip` keeps our texts under them first.

Tenant data is hostile (Okta app labels, redirect URIs and error texts come from
customers' admins): every text is escaped for mrkdwn (``&``, ``<``, ``>``) and every
mrkdwn object is ``verbatim``, so Slack neither parses ``<!channel>``/``@here`` nor turns
a bare URL into a link. Our only link is ``report_url`` from the config.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import ClientOSError, ServerConnectionError, ServerDisconnectedError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.webhook.async_client import AsyncWebhookClient

from auditor.alerts.config import EventKind
from auditor.alerts.delivery import (
    DEFAULT_POLICY,
    DeliveryPolicy,
    describe_failure,
    silent_logger,
    wait_before_retry,
)
from auditor.results import Severity

if TYPE_CHECKING:
    from collections.abc import Sequence

    from slack_sdk.http_retry.request import HttpRequest
    from slack_sdk.http_retry.response import HttpResponse
    from slack_sdk.http_retry.state import RetryState

    from auditor.store.alerts import AlertRecord

MAX_BLOCKS = 50
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
# Header, context line and report link around the events: 47 would fit, 45 leaves room.
EVENTS_PER_MESSAGE = 45
MESSAGE_LIMIT = 700  # characters of a failure message shown; the report has the rest
TITLE_LIMIT = 200
STEP_LIMIT = 400

_BAD_NEWS = (EventKind.ERROR, EventKind.NEW, EventKind.REGRESSED, EventKind.REMINDER)
_LABEL = {
    EventKind.NEW: ":rotating_light: *New*",
    EventKind.REGRESSED: ":repeat: *Regressed*",
    EventKind.REMINDER: ":alarm_clock: *Still failing*",
    EventKind.ERROR: ":warning: *Could not audit*",
    EventKind.RESOLVED: ":white_check_mark: *Resolved*",
    EventKind.RECOVERED: ":large_green_circle: *Recovered*",
}
_PLURAL = {
    EventKind.NEW: "new",
    EventKind.REGRESSED: "regressed",
    EventKind.REMINDER: "still failing",
    EventKind.ERROR: "not audited",
    EventKind.RESOLVED: "resolved",
    EventKind.RECOVERED: "recovered",
}


def escape(text: str) -> str:
    """Text as Slack mrkdwn shows it literally: ``&``, ``<`` and ``>`` escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never inside an escape."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]  # half of &amp; / &lt; / &gt; would show as garbage
    return cut + "…"


def first_step(remediation: str | None) -> str | None:
    """The first step of a remediation text, unwrapped, without its "1." numbering.

    The rule pack's texts name who acts where ("Customer, in the Okta Admin Console:"),
    then number the steps, wrapping long ones onto indented lines. A heading alone says
    nothing to do, so it is kept as the step's prefix; wrapped lines are joined.
    """
    if not remediation:
        return None
    items: list[str] = []
    for raw in remediation.splitlines():
        line = raw.strip()
        if not line:
            continue
        head, dot, rest = line.partition(". ")
        numbered = bool(dot) and head.isdigit()
        # A wrapped line continues its item; a number or a finished sentence starts one.
        if items and not numbered and not items[-1].endswith((".", ":")):
            items[-1] += " " + line
        else:
            items.append(rest if numbered else line)
    if not items:
        return None
    if items[0].endswith(":") and len(items) > 1:
        return f"{items[0]} {items[1]}"
    return items[0]


def _rank(event: AlertRecord) -> tuple[int, float, str, str]:
    """Sort key: bad news before good, most severe first, then tenant and rule."""
    kind = EventKind(event.kind)
    bad = 0 if kind in _BAD_NEWS else 1
    # A tenant that could not be audited may hide anything: right after critical.
    severity = 3.5 if event.severity is None else Severity(event.severity).rank
    return (bad, -severity, event.tenant_id, event.rule_id or "")


def order(events: Sequence[AlertRecord]) -> list[AlertRecord]:
    """Events in the order a message lists them."""
    return sorted(events, key=_rank)


def _mrkdwn(text: str) -> MarkdownTextObject:
    # verbatim: no auto-linking of URLs, no parsing of @channel / #channel names.
    return MarkdownTextObject(text=text, verbatim=True)


def event_text(event: AlertRecord) -> str:
    """One event as section mrkdwn: kind, severity, tenant, title, message, first step."""
    kind = EventKind(event.kind)
    head = _LABEL[kind]
    if event.severity is not None:
        head += f" · *{event.severity.upper()}*"
    head += f" · tenant `{escape(event.tenant_id)}`"
    if event.rule_id is not None:
        head += f" · rule `{escape(event.rule_id)}`"
    lines = [head, f"*{clip(escape(event.title), TITLE_LIMIT)}*"]
    if event.message and event.message != event.title:
        lines.append(clip(escape(event.message), MESSAGE_LIMIT))
    step = first_step(event.remediation)
    if step is not None:
        lines.append(f"_Fix:_ {clip(escape(step), STEP_LIMIT)}")
    return clip("\n".join(lines), SECTION_LIMIT)


def _counts(events: Sequence[AlertRecord]) -> str:
    counted = {kind: sum(e.kind == kind.value for e in events) for kind in EventKind}
    order_ = (*_BAD_NEWS, EventKind.RESOLVED, EventKind.RECOVERED)
    return ", ".join(f"{counted[k]} {_PLURAL[k]}" for k in order_ if counted[k])


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One message and the events it names."""

    body: dict[str, Any]
    event_ids: tuple[str, ...]


def build_messages(
    route: str, run_id: str, events: Sequence[AlertRecord], *, report_url: str | None
) -> list[SlackMessage]:
    """The messages that tell ``route`` about one run's events (several when many)."""
    ordered = order(events)
    chunks = [
        ordered[i : i + EVENTS_PER_MESSAGE] for i in range(0, len(ordered), EVENTS_PER_MESSAGE)
    ]
    summary = _counts(ordered)
    messages: list[SlackMessage] = []
    for number, chunk in enumerate(chunks, start=1):
        part = f" (part {number}/{len(chunks)})" if len(chunks) > 1 else ""
        header = clip(f"SSO audit: {summary}{part}", HEADER_LIMIT)
        blocks: list[Block] = [
            HeaderBlock(text=PlainTextObject(text=header, emoji=True)),
            ContextBlock(elements=[_mrkdwn(f"Route `{escape(route)}` · run `{escape(run_id)}`")]),
        ]
        blocks.extend(SectionBlock(text=_mrkdwn(event_text(event))) for event in chunk)
        if report_url is not None:
            blocks.append(
                SectionBlock(text=_mrkdwn(f"<{escape(report_url)}|Open the full report>"))
            )
        body: dict[str, Any] = {
            # The notification text: counts only, no tenant strings.
            "text": escape(f"SSO audit ({route}): {summary}{part}"),
            "blocks": [block.to_dict() for block in blocks],  # to_dict checks the limits
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if len(blocks) > MAX_BLOCKS:  # pragma: no cover - EVENTS_PER_MESSAGE says not
            raise AssertionError("a Slack message has more than 50 blocks")
        messages.append(SlackMessage(body=body, event_ids=tuple(e.id for e in chunk)))
    return messages


def hello_message(route: str) -> dict[str, Any]:
    """What ``auditor alerts test`` posts: a message saying it is a test."""
    text = f"SSO auditor test message for route {route}: alerts for this route arrive here."
    return {
        "text": escape(text),
        "blocks": [
            HeaderBlock(text=PlainTextObject(text="SSO auditor: test message")).to_dict(),
            SectionBlock(text=_mrkdwn(escape(text))).to_dict(),
        ],
    }


_CONTROL = dict.fromkeys(c for c in range(32) if c != 10)


def preview(body: dict[str, Any]) -> str:
    """A message as plain terminal text (the demo prints what Slack would show).

    Escapes are undone for reading, and control characters dropped: tenant text must not
    drive the terminal either.
    """
    lines: list[str] = []
    for block in body.get("blocks", []):
        texts = [block["text"]["text"]] if "text" in block else []
        texts += [element.get("text", "") for element in block.get("elements", [])]
        for text in texts:
            shown = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            lines.append(shown.translate(_CONTROL))
    return "\n".join(lines)


# -------------------------------------------------------------------------- sending


def _header(response: HttpResponse, name: str) -> str | None:
    for key, values in response.headers.items():
        if key.lower() == name:
            return values[0] if isinstance(values, list) else values
    return None


class _StatusRetry(AsyncRetryHandler):
    """Retry an answer whose status is in ``statuses``, after the wait the policy gives.

    That is what ``Retry-After`` asks, or the backoff without one; a ``Retry-After``
    beyond the policy's cap ends the retries (the events stay in the outbox).
    """

    def __init__(self, policy: DeliveryPolicy, statuses: range) -> None:
        super().__init__(max_retry_count=policy.retries)
        self._policy = policy
        self._statuses = statuses

    def _wait(self, state: RetryState, response: HttpResponse | None) -> float | None:
        if response is None:
            return None
        retry_after = _header(response, "retry-after")
        return wait_before_retry(self._policy, state.current_attempt, retry_after)

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,  # noqa: ARG002 - slack_sdk's signature
        response: HttpResponse | None = None,
        error: Exception | None = None,  # noqa: ARG002
    ) -> bool:
        return (
            response is not None
            and response.status_code in self._statuses
            and self._wait(state, response) is not None
        )

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,  # noqa: ARG002
        response: HttpResponse | None = None,
        error: Exception | None = None,  # noqa: ARG002
    ) -> None:
        state.next_attempt_requested = True
        await asyncio.sleep(self._wait(state, response) or 0.0)
        state.increment_current_attempt()


def client(url: str, policy: DeliveryPolicy = DEFAULT_POLICY) -> AsyncWebhookClient:
    """slack_sdk's async webhook client with our timeouts and retry handlers."""
    return AsyncWebhookClient(
        url=url,
        timeout=math.ceil(policy.request_timeout),
        logger=silent_logger(),
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(
                max_retry_count=policy.retries,
                interval_calculator=BackoffRetryIntervalCalculator(backoff_factor=policy.backoff),
                error_types=[
                    ServerConnectionError,
                    ServerDisconnectedError,
                    ClientOSError,  # connection refused / reset
                    TimeoutError,
                ],
            ),
            _StatusRetry(policy, range(429, 430)),  # rate limited
            _StatusRetry(policy, range(500, 600)),  # Slack's side failed
        ],
    )


async def post(
    url: str, body: dict[str, Any], policy: DeliveryPolicy = DEFAULT_POLICY
) -> str | None:
    """Post one message; None when Slack took it, else why not (never the URL)."""
    try:
        response = await client(url, policy).send_dict(body)
    except Exception as exc:  # noqa: BLE001 - any failure keeps the events in the outbox
        return describe_failure(exc)
    if 200 <= response.status_code < 300:
        return None
    detail = (response.body or "").strip()[:80]
    return f"HTTP {response.status_code}" + (f" ({detail})" if detail else "")
