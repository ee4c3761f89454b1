"""Slack messages as a Slack workspace would receive them: limits, order, escaping."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from alert_helpers import FAST, RULE_IDS, Receiver, Runs, alerts_config, slack_route
from report.report_builders import failing, tenant

from auditor.alerts import announce
from auditor.alerts.slack import clip, escape, first_step, preview

if TYPE_CHECKING:
    from auditor.store import Store

REPORT_URL = "https://audits.example.internal/latest/report.html"


def texts(message: dict[str, Any]) -> list[str]:
    """Every text of a message: fallback, headers, sections, context elements."""
    found = [message["text"]]
    for block in message["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found.extend(element["text"] for element in block.get("elements", []))
    return found


def mrkdwn_objects(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The mrkdwn text objects of a message's blocks."""
    objects = [b["text"] for b in message["blocks"] if b.get("text", {}).get("type") == "mrkdwn"]
    for block in message["blocks"]:
        objects.extend(e for e in block.get("elements", []) if e.get("type") == "mrkdwn")
    return objects


def test_a_120_finding_run_stays_within_slacks_limits(
    runs: Runs, store: Store, slack_receiver: Receiver
) -> None:
    """133 new failures (over 120) split into messages within every Slack limit, each named once."""
    tenants = [
        tenant(f"tenant-{n}", *(failing(rule_id, message="x" * 5000) for rule_id in RULE_IDS[:20]))
        for n in range(7)
    ]
    config = alerts_config(slack_route(slack_receiver.url), report_url=REPORT_URL)

    result = announce(runs.save(*tenants), store, config, policy=FAST)

    assert result.ok
    assert result.delivered == 133
    messages = [r.json() for r in slack_receiver.requests]
    assert len(messages) == 3
    named: list[str] = []
    for message in messages:
        assert len(message["blocks"]) <= 50
        for block in message["blocks"]:
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
        named += [
            text.split("tenant `")[1].split("`")[0] + "/" + text.split("rule `")[1].split("`")[0]
            for text in texts(message)
            if "rule `" in text
        ]
        assert any(REPORT_URL in text for text in texts(message))
    assert len(named) == len(set(named)) == 133


def test_messages_list_the_most_severe_first_with_title_message_and_first_step(
    runs: Runs, store: Store, slack_receiver: Receiver
) -> None:
    """One message: critical before high before low; each names title, message, first step."""
    config = alerts_config(slack_route(slack_receiver.url), report_url=REPORT_URL)
    report = runs.save(
        tenant(
            "acme",
            failing("okta_app_signout_redirect_uri", message="no sign-out URI"),  # low
            failing("okta_app_signin_redirect_uri", message="wrong redirect URI"),  # critical
            failing("okta_app_assigned", message="no group assigned"),  # high
        )
    )

    announce(report, store, config, policy=FAST)

    (message,) = [r.json() for r in slack_receiver.requests]
    sections = [t for t in texts(message) if "rule `" in t]
    assert [s.split("rule `")[1].split("`")[0] for s in sections] == [
        "okta_app_signin_redirect_uri",
        "okta_app_assigned",
        "okta_app_signout_redirect_uri",
    ]
    assert "*CRITICAL*" in sections[0]
    assert "wrong redirect URI" in sections[0]
    assert "Okta app signin redirect uri" in sections[0]  # the rule's title
    assert "_Fix:_ In the Okta Admin Console, open Applications &gt; Applications." in sections[0]
    assert "3 new" in message["text"]
    assert f"<{REPORT_URL}|Open the full report>" in texts(message)


def test_a_hostile_label_cannot_mention_the_channel_or_make_a_link(
    runs: Runs, store: Store, slack_receiver: Receiver
) -> None:
    """Tenant-written text with <!channel>, links and @here reaches Slack inert."""
    hostile = (
        "app label <!channel> <!here|here> <@U123> <https://evil.example/login|Reset password> "
        "@channel https://evil.example/cb &amp; & < >"
    )
    config = alerts_config(slack_route(slack_receiver.url))
    report = runs.save(
        tenant("acme", failing("okta_app_no_foreign_redirect_uris", message=hostile, title=hostile))
    )

    announce(report, store, config, policy=FAST)

    (message,) = [r.json() for r in slack_receiver.requests]
    raw = json.dumps(message)
    for text in texts(message):
        assert "<" not in text
        assert ">" not in text
        assert not re.search(r"&(?!amp;|lt;|gt;)", text)  # every & is an escape
    assert "&lt;!channel&gt;" in raw
    assert all(obj["verbatim"] is True for obj in mrkdwn_objects(message))  # no auto-links
    assert message["unfurl_links"] is False


def test_clip_never_cuts_an_escape_in_half() -> None:
    """Clipping escaped text stops before a partial &amp; rather than inside it."""
    text = escape("a" * 8 + "&&&&")
    assert clip(text, 12) == "aaaaaaaa…"
    assert clip("short", 10) == "short"


def test_first_step_is_the_first_numbered_line() -> None:
    """The first remediation step loses its number; a plain text stays whole."""
    assert first_step("1. Open the app.\n2. Save.") == "Open the app."
    assert first_step("\n  Rotate the secret.\n") == "Rotate the secret."
    assert first_step(None) is None


def test_first_step_keeps_who_acts_where_and_joins_wrapped_lines() -> None:
    """A heading ("Customer, in the Okta Admin Console:") prefixes step 1, unwrapped."""
    text = (
        "Customer, in the Okta Admin Console:\n"
        "1. In the navigation pane, expand Applications, choose Applications, and open the\n"
        "   Rapticore app.\n"
        "2. Open the Okta API Scopes tab."
    )
    assert first_step(text) == (
        "Customer, in the Okta Admin Console: In the navigation pane, expand Applications, "
        "choose Applications, and open the Rapticore app."
    )
    prose = (
        "Customer, in the Okta Admin Console: open Applications > Applications > the\n"
        "Rapticore app and send the secret to Rapticore.\n"
        "Rapticore, in the AWS console: edit the provider."
    )
    assert first_step(prose) == (
        "Customer, in the Okta Admin Console: open Applications > Applications > the "
        "Rapticore app and send the secret to Rapticore."
    )


def test_preview_shows_the_text_without_terminal_control_characters() -> None:
    """The demo's plain-text preview undoes escapes but drops ESC and other controls."""
    body = {
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "SSO audit: 1 new"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "a &lt;b&gt; \x1b[2Jc"}},
        ]
    }
    assert preview(body) == "SSO audit: 1 new\na <b> [2Jc"
