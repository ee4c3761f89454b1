"""The config's ``alerts:`` block (CONTRACT section 6), validated with the rest of the file.

Destinations carry secrets: a Slack incoming-webhook URL is itself the credential, and a
webhook's HMAC key is one. Both are ``SecretStr`` and no error message here quotes them
(an invalid URL is described by its scheme and host only), because config errors are
printed on stderr and CI logs keep stderr.
"""

from __future__ import annotations

import fnmatch
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from auditor.results import Severity


class EventKind(StrEnum):
    """What happened to a finding or a tenant, from one route's point of view."""

    NEW = "new"
    REGRESSED = "regressed"
    RESOLVED = "resolved"
    ERROR = "error"
    RECOVERED = "recovered"
    REMINDER = "reminder"


ALL_KINDS = tuple(EventKind)

SeverityName = Literal["critical", "high", "medium", "low", "info"]
KindName = Literal["new", "regressed", "resolved", "error", "recovered", "reminder"]


class _Strict(BaseModel):
    # Strict: YAML's `reminder_days: "7"` or `min_severity: 3` is a typo, not a wish.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _check_destination(url: str, what: str) -> str:
    """``url`` when it is an acceptable destination; the error never quotes the URL."""
    # Imported here: auditor.config imports this module for its `alerts:` field.
    from auditor.config import check_url_scheme  # noqa: PLC0415

    url = url.strip()
    try:
        check_url_scheme(url, what)
    except ValueError as exc:
        # check_url_scheme quotes the URL; a Slack webhook URL is a credential, so say
        # what is wrong with its scheme and host instead.
        parts = urlsplit(url)
        shown = f"{parts.scheme or '(no scheme)'}://{parts.hostname or '(no host)'}/..."
        reason = str(exc).split("; ", 1)[1] if "; " in str(exc) else "use https://"
        raise ValueError(f"{what} ({shown}) must be an https:// URL: {reason}") from None
    return url


class SlackDestination(_Strict):
    """A Slack incoming webhook (the URL is the secret)."""

    webhook_url: SecretStr

    @field_validator("webhook_url")
    @classmethod
    def _https(cls, value: SecretStr) -> SecretStr:
        return SecretStr(_check_destination(value.get_secret_value(), "slack.webhook_url"))


class WebhookDestination(_Strict):
    """A signed JSON webhook (SIEM, on-call tool)."""

    url: SecretStr = Field(description="Kept secret too: some receivers put a token in the URL.")
    secret: SecretStr

    @field_validator("url")
    @classmethod
    def _https(cls, value: SecretStr) -> SecretStr:
        return SecretStr(_check_destination(value.get_secret_value(), "webhook.url"))

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("webhook.secret must be at least 16 characters (an HMAC key)")
        return value


RouteName = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=63)]


class RouteConfig(_Strict):
    """One destination and what it wants to hear."""

    name: RouteName
    slack: SlackDestination | None = None
    webhook: WebhookDestination | None = None
    min_severity: SeverityName = "low"
    tenants: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=lambda: ["*"], min_length=1
    )
    events: list[KindName] = Field(default_factory=lambda: [k.value for k in ALL_KINDS])

    @model_validator(mode="after")
    def _one_destination(self) -> RouteConfig:
        if (self.slack is None) == (self.webhook is None):
            raise ValueError(f"route {self.name!r} needs exactly one of slack: or webhook:")
        return self

    @property
    def kind(self) -> Literal["slack", "webhook"]:
        """Which destination the route posts to."""
        return "slack" if self.slack is not None else "webhook"

    @property
    def severity_floor(self) -> Severity:
        """``min_severity`` as a :class:`Severity`."""
        return Severity(self.min_severity)

    def wants_tenant(self, tenant_id: str) -> bool:
        """True when a ``tenants`` pattern matches (shell-style, case-sensitive)."""
        return any(fnmatch.fnmatchcase(tenant_id, pattern) for pattern in self.tenants)

    def wants_kind(self, kind: EventKind) -> bool:
        """True when the route listens to this event kind."""
        return kind.value in self.events


class AlertsConfig(_Strict):
    """The whole ``alerts:`` block."""

    report_url: str | None = None
    reminder_days: int | None = Field(default=None, ge=1, le=365)
    routes: list[RouteConfig] = Field(min_length=1)

    @field_validator("report_url")
    @classmethod
    def _link(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"report_url {url!r} must be an http(s) URL")
        if any(c in url for c in "<>|"):
            # These would break out of a Slack link <url|text>.
            raise ValueError(f"report_url {url!r} must not contain <, > or |")
        return url.strip()

    @field_validator("routes")
    @classmethod
    def _unique_names(cls, routes: list[RouteConfig]) -> list[RouteConfig]:
        # A field validator, so the error points at `routes:` rather than `alerts:`.
        seen: set[str] = set()
        for route in routes:
            if route.name in seen:
                raise ValueError(f"route name {route.name!r} appears twice")
            seen.add(route.name)
        return routes

    def route(self, name: str) -> RouteConfig | None:
        """The route with this name, if configured."""
        return next((r for r in self.routes if r.name == name), None)
