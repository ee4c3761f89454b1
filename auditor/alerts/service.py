"""Announce a recorded run, drain the outbox, list what is pending, send a test message.

The order is the contract's: the run is saved first (by the caller); then, in one store
transaction, every route's events are computed against what it was told and recorded in
the outbox together with the route's new state; only then does anything go over the
network. A crash at any point loses nothing: what was recorded and not delivered goes out
with the next run or ``auditor alerts flush``.

Delivery never raises and never decides the exit code: the caller gets a
:class:`DeliveryReport` and prints its :meth:`~DeliveryReport.summary` on stderr.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from auditor.alerts import slack, webhook
from auditor.alerts.delivery import DEFAULT_POLICY, DeliveryPolicy
from auditor.alerts.events import announce_run
from auditor.store.alerts import AlertRecord, AlertStore, OutboxEntry

if TYPE_CHECKING:
    from collections.abc import Coroutine, Sequence

    from auditor.alerts.config import AlertsConfig, RouteConfig
    from auditor.results import RunView
    from auditor.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RouteDelivery:
    """How one route fared: events recorded now, delivered now, still pending."""

    route: str
    recorded: int = 0
    delivered: int = 0
    pending: int = 0
    error: str | None = None  # why the last attempt failed (never a URL or secret)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What :func:`announce` or :func:`flush` did, per route."""

    routes: tuple[RouteDelivery, ...] = ()
    problem: str | None = None  # alerts could not be recorded at all
    skipped: bool = False  # `--no-alerts`: nothing recorded, nothing sent

    @property
    def undelivered(self) -> int:
        """Events still in the outbox of the configured routes."""
        return sum(route.pending for route in self.routes)

    @property
    def delivered(self) -> int:
        """Events delivered by this call."""
        return sum(route.delivered for route in self.routes)

    @property
    def ok(self) -> bool:
        """Nothing left undelivered and nothing went wrong."""
        return self.problem is None and self.undelivered == 0

    def summary(self) -> str | None:
        """One line for stderr when something was not delivered; None when all is well."""
        if self.problem is not None:
            return f"alerts: {self.problem}"
        stuck = [r for r in self.routes if r.pending]
        if not stuck:
            return None
        parts = ", ".join(
            f"{r.route}: {r.pending}" + (f" ({r.error})" if r.error else "") for r in stuck
        )
        return (
            f"alerts: {self.undelivered} event(s) not delivered ({parts}); they stay in the "
            "outbox and go out with the next run or `auditor alerts flush`"
        )

    def lines(self) -> list[str]:
        """What stderr says: one line per route still holding events; empty when all went.

        Or the one reason nothing was recorded. Route names and error descriptions only:
        never a URL or a secret.
        """
        if self.skipped:
            return [
                (
                    "alerts: none sent (--no-alerts); the next run without it tells each "
                    "route what it has not been told"
                )
            ]
        if self.problem is not None:
            return [f"alerts: {self.problem}"]
        return [
            f"alerts: route {r.route}: {r.pending} event(s) not delivered"
            + (f" ({r.error})" if r.error else "")
            + "; kept in the outbox for the next run or `auditor alerts flush`"
            for r in self.routes
            if r.pending
        ]


def announce(
    report: RunView, store: Store, config: AlertsConfig, *, policy: DeliveryPolicy = DEFAULT_POLICY
) -> DeliveryReport:
    """Record the (already saved) run's events for every route, then deliver the outbox.

    A ``--no-alerts`` run does not call this: the routes' state stays as it was, so a
    later run announces what they have not been told.
    """
    return _run_sync(_announce(report, store, config, policy))


async def _announce(
    report: RunView, store: Store, config: AlertsConfig, policy: DeliveryPolicy
) -> DeliveryReport:
    alerts = AlertStore(store)
    routes = {route.name: route for route in config.routes}
    try:
        recorded = alerts.record(
            report.run.id,
            list(routes),
            lambda name, told: announce_run(
                report, routes[name], told, reminder_days=config.reminder_days
            ),
            now=datetime.now(UTC),
        )
    except Exception as exc:  # noqa: BLE001 - alerts never fail the audit; said on stderr
        log.warning(
            "alerts: could not record run %s's events: %s", report.run.id, type(exc).__name__
        )
        return DeliveryReport(problem=f"could not record the run's events ({type(exc).__name__})")
    counts: dict[str, int] = {}
    for event in recorded:
        counts[event.route] = counts.get(event.route, 0) + 1
    result = await _deliver_all(alerts, config, policy)
    return DeliveryReport(
        routes=tuple(
            RouteDelivery(
                route=r.route,
                recorded=counts.get(r.route, 0),
                delivered=r.delivered,
                pending=r.pending,
                error=r.error,
            )
            for r in result.routes
        ),
        problem=result.problem,
    )


def flush(
    store: Store, config: AlertsConfig, *, policy: DeliveryPolicy = DEFAULT_POLICY
) -> DeliveryReport:
    """Deliver what is in the outbox (``auditor alerts flush``: exit 0 when ``ok``)."""
    return _run_sync(_deliver_all(AlertStore(store), config, policy))


def pending(store: Store, config: AlertsConfig | None = None) -> dict[str, list[OutboxEntry]]:
    """Undelivered events per route, oldest first (``auditor alerts status``).

    With ``config``, every configured route is listed (empty when all is delivered);
    events of routes no longer configured are listed too: they cannot go anywhere until
    the route is configured again.
    """
    by_route: dict[str, list[OutboxEntry]] = {}
    if config is not None:
        by_route = {route.name: [] for route in config.routes}
    for entry in AlertStore(store).pending():
        by_route.setdefault(entry.record.route, []).append(entry)
    return by_route


_CONTROL = dict.fromkeys(range(32))


def status_lines(by_route: dict[str, list[OutboxEntry]]) -> list[str]:
    """``auditor alerts status``: one line per route, then one per undelivered event.

    Tenant ids come from reports (hostile in principle): control characters are dropped
    so nothing printed can drive the terminal.
    """
    lines: list[str] = []
    for route, entries in sorted(by_route.items()):
        lines.append(f"{route}: {len(entries)} undelivered")
        for entry in entries:
            record = entry.record
            subject = record.tenant_id + (f"/{record.rule_id}" if record.rule_id else "")
            tried = f"{entry.attempts} attempt(s)"
            if entry.last_error:
                tried += f", last: {entry.last_error}"
            line = f"  {record.kind:<9} {subject}  run {record.run_id}  ({tried})"
            lines.append(line.translate(_CONTROL))
    return lines


def send_test_reason(route: RouteConfig, *, policy: DeliveryPolicy = DEFAULT_POLICY) -> str | None:
    """Send one message with the word "test" to the route.

    None when it was accepted, else the reason (never a URL).
    """
    return _run_sync(_send_test(route, policy))


async def _send_test(route: RouteConfig, policy: DeliveryPolicy) -> str | None:
    if route.slack is not None:
        error = await slack.post(
            route.slack.webhook_url.get_secret_value(), slack.hello_message(route.name), policy
        )
    else:
        assert route.webhook is not None  # noqa: S101 - a route has exactly one destination
        now = datetime.now(UTC)
        payload = webhook.build_payload(
            f"test-{now.strftime('%Y%m%dT%H%M%SZ')}", [], report_url=None, sent_at=now
        )
        error = await webhook.post(
            route.webhook.url.get_secret_value(),
            route.webhook.secret.get_secret_value(),
            webhook.encode(payload),
            policy,
        )
    if error is not None:
        log.info("alerts: test message to route %s not delivered: %s", route.name, error)
    return error


# ----------------------------------------------------------------------- delivery


async def _deliver_all(
    alerts: AlertStore, config: AlertsConfig, policy: DeliveryPolicy
) -> DeliveryReport:
    try:
        results = await asyncio.gather(
            *(_deliver_route(alerts, route, config.report_url, policy) for route in config.routes)
        )
    except Exception as exc:  # noqa: BLE001 - alerts never fail the audit; said on stderr
        log.warning("alerts: delivery failed: %s", type(exc).__name__)
        return DeliveryReport(problem=f"delivery failed ({type(exc).__name__})")
    return DeliveryReport(routes=tuple(results))


async def _deliver_route(
    alerts: AlertStore, route: RouteConfig, report_url: str | None, policy: DeliveryPolicy
) -> RouteDelivery:
    delivered = 0
    error: str | None = None
    owner = uuid.uuid4().hex
    now = datetime.now(UTC)
    # A little beyond the deadline: the claim outlives this delivery only if we crash.
    until = now + timedelta(seconds=policy.deadline + 30)
    claimed = alerts.claim(route.name, owner=owner, until=until, now=now)
    if claimed is None:
        left = len(alerts.pending(route.name))
        return RouteDelivery(
            route=route.name, pending=left, error="another process is delivering this route"
        )
    try:
        async with asyncio.timeout(policy.deadline):
            for run_id, events in _by_run(claimed):
                for ids, send in _sends(route, run_id, events, report_url, policy):
                    error = await send()
                    if error is not None:
                        alerts.mark_failed(ids, error=error)
                        break
                    alerts.mark_delivered(ids, at=datetime.now(UTC))
                    delivered += len(ids)
                if error is not None:
                    break  # keep the route's order: nothing newer before the stuck part
    except TimeoutError:
        error = f"gave up after {policy.deadline:g} s"
    except Exception as exc:  # noqa: BLE001 - one route's trouble never stops the others
        error = f"delivery failed ({type(exc).__name__})"
    finally:
        alerts.release(route.name, owner=owner)
    if error is not None:
        log.warning("alerts: route %s: not everything was delivered: %s", route.name, error)
    left = len(alerts.pending(route.name))
    return RouteDelivery(route=route.name, delivered=delivered, pending=left, error=error)


def _by_run(entries: Sequence[OutboxEntry]) -> list[tuple[str, list[AlertRecord]]]:
    """The route's pending events, grouped by run in the order the runs were recorded."""
    groups: dict[str, list[AlertRecord]] = {}
    for entry in entries:
        groups.setdefault(entry.record.run_id, []).append(entry.record)
    return list(groups.items())


Send = Callable[[], Awaitable[str | None]]


def _sends(
    route: RouteConfig,
    run_id: str,
    events: list[AlertRecord],
    report_url: str | None,
    policy: DeliveryPolicy,
) -> list[tuple[list[str], Send]]:
    """The requests that deliver one run's events to the route, and the ids each carries."""
    if route.slack is not None:
        url = route.slack.webhook_url.get_secret_value()
        return [
            (list(message.event_ids), functools.partial(slack.post, url, message.body, policy))
            for message in slack.build_messages(route.name, run_id, events, report_url=report_url)
        ]
    assert route.webhook is not None  # noqa: S101 - a route has exactly one destination
    destination = route.webhook

    def send_chunk(chunk: list[AlertRecord]) -> Send:
        async def send() -> str | None:
            # Built when sent: sent_at is the time of this delivery, not of the run.
            payload = webhook.build_payload(
                run_id, chunk, report_url=report_url, sent_at=datetime.now(UTC)
            )
            return await webhook.post(
                destination.url.get_secret_value(),
                destination.secret.get_secret_value(),
                webhook.encode(payload),
                policy,
            )

        return send

    size = webhook.EVENTS_PER_REQUEST
    chunks = [events[start : start + size] for start in range(0, len(events), size)]
    return [([e.id for e in chunk], send_chunk(chunk)) for chunk in chunks]


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running loop's thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
