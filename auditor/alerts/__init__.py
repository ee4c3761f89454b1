"""Alerts (issue 7, CONTRACT section 6): tell Slack and webhooks what changed, once.

After a run is saved, :func:`announce` computes each route's events against what that
route was last told, records them in the store's outbox with the route's new state (one
transaction), and delivers the outbox. :func:`flush` delivers what is still pending,
:func:`pending` lists it, :func:`send_test` checks a route. None of them raises into the
audit; a :class:`DeliveryReport`'s ``summary()`` is the line for stderr.
"""

from __future__ import annotations

from auditor.alerts.config import AlertsConfig, EventKind, RouteConfig
from auditor.alerts.delivery import DEFAULT_POLICY, DeliveryPolicy
from auditor.alerts.service import (
    DeliveryReport,
    RouteDelivery,
    announce,
    announce_async,
    flush,
    pending,
    send_test,
    send_test_async,
    status_lines,
)

__all__ = [
    "DEFAULT_POLICY",
    "AlertsConfig",
    "DeliveryPolicy",
    "DeliveryReport",
    "EventKind",
    "RouteConfig",
    "RouteDelivery",
    "announce",
    "announce_async",
    "flush",
    "pending",
    "send_test",
    "send_test_async",
    "status_lines",
]
