"""Alerts (issue 7, CONTRACT section 6): tell Slack and webhooks what changed, once.

After a run is saved, :func:`announce` computes each route's events against what that
route was last told, records them in the store's outbox with the route's new state (one
transaction), and delivers the outbox. :func:`flush` delivers what is still pending,
:func:`pending` lists it (:func:`status_lines` words it), :func:`send_test_reason` checks
a route. None of them raises into the audit; a :class:`DeliveryReport`'s ``summary()`` is
the line for stderr.

The delivery machinery (slack_sdk, aiohttp, the store) is imported on first use:
``auditor.config`` imports :mod:`auditor.alerts.config` to validate the ``alerts:``
block, and loading a config must not pull in HTTP clients.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from auditor.alerts.config import AlertsConfig, EventKind, RouteConfig

if TYPE_CHECKING:
    from auditor.alerts.delivery import DEFAULT_POLICY, DeliveryPolicy
    from auditor.alerts.service import (
        DeliveryReport,
        RouteDelivery,
        announce,
        flush,
        pending,
        send_test_reason,
        status_lines,
    )

_LAZY = {
    "DEFAULT_POLICY": "auditor.alerts.delivery",
    "DeliveryPolicy": "auditor.alerts.delivery",
    "DeliveryReport": "auditor.alerts.service",
    "RouteDelivery": "auditor.alerts.service",
    "announce": "auditor.alerts.service",
    "flush": "auditor.alerts.service",
    "pending": "auditor.alerts.service",
    "send_test_reason": "auditor.alerts.service",
    "status_lines": "auditor.alerts.service",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whatever the named attribute is
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DEFAULT_POLICY",
    "AlertsConfig",
    "DeliveryPolicy",
    "DeliveryReport",
    "EventKind",
    "RouteConfig",
    "RouteDelivery",
    "announce",
    "flush",
    "pending",
    "send_test_reason",
    "status_lines",
]
