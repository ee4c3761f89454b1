"""Alert fixtures (defined in alert_helpers, next to the helpers the tests import)."""

from alert_helpers import (
    hook_receiver,
    loopback_http,
    receiver_factory,
    runs,
    slack_receiver,
    store,
)

__all__ = [
    "hook_receiver",
    "loopback_http",
    "receiver_factory",
    "runs",
    "slack_receiver",
    "store",
]
