"""The demo's loopback Slack receiver, driven by the same Slack client real alerts use."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import pytest
from alert_helpers import FAST

from auditor.alerts import slack
from auditor.alerts.local_receiver import DEMO_ROUTE, LocalSlack


def test_receiver_keeps_what_slack_would_get_and_shows_it_once() -> None:
    """A posted message is answered ok, kept, and shown as the channel would show it, once."""
    with LocalSlack() as receiver:
        config = receiver.alerts_config()
        (route,) = config.routes
        assert route.name == DEMO_ROUTE
        url = route.slack.webhook_url.get_secret_value() if route.slack else ""
        error = asyncio.run(slack.post(url, slack.hello_message(DEMO_ROUTE), FAST))
        assert error is None
        said: list[str] = []
        assert receiver.show(said.append) == 1
        assert said[0] == "demo: Slack message 1 of 1, as the channel would show it:"
        assert "  | SSO auditor: test message" in said
        said.clear()
        assert receiver.show(said.append) == 0
        assert said == ["demo: Slack got no message (nothing changed for the route)"]


def test_receiver_refuses_another_path_like_a_revoked_webhook() -> None:
    """Only its own unguessable path is accepted; anything else is a 404 and is not kept."""
    with LocalSlack() as receiver:
        base = receiver.url.rsplit("/", 1)[0]
        request = urllib.request.Request(  # noqa: S310 - loopback http, built from our URL
            f"{base}/guess", data=b'{"text": "hi"}', method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)  # noqa: S310
        assert refused.value.code == 404
        assert receiver.messages == []
