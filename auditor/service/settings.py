"""The service's knobs: the one definition of these keys of the ``schedule:`` section.

``auditor.config.ScheduleConfig`` inherits them from :class:`ServiceSettings`, so a
default or a bound cannot differ between the config file and the service::

    schedule:
      cron: "0 2 * * *"
      listen: 127.0.0.1:9464        # serve /metrics and /healthz (flag: --listen)
      grace_minutes: 180            # a slot's run may take this long before /healthz fails
      lease_ttl_seconds: 300        # a crashed replica's slot or tenant frees after this
      tenant_wait_seconds: 3600     # an audit waits this long for a tenant another process audits
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ServiceSettings(BaseModel):
    """``schedule.listen``, ``grace_minutes``, ``lease_ttl_seconds``, ``tenant_wait_seconds``."""

    # strict, as every model of the config is: YAML already gives each value its type.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    listen: str | None = Field(
        default=None, description="HOST:PORT to serve /metrics and /healthz on; off when unset."
    )
    grace_minutes: int = Field(
        default=180, ge=1, le=7 * 24 * 60,
        description="How long after its scheduled time a run may finish before /healthz fails.",
    )
    lease_ttl_seconds: int = Field(
        default=300, ge=10, le=3600,
        description="A lease not renewed for this long is free: a crashed holder's expiry.",
    )
    tenant_wait_seconds: int = Field(
        default=3600, ge=0, le=24 * 3600,
        description="How long a run waits for a tenant another process is auditing.",
    )

    @field_validator("listen")
    @classmethod
    def _listen(cls, listen: str | None) -> str | None:
        # Imported here: the config imports this module, and prometheus_client (which the
        # http module loads) has no business in `auditor --help`.
        from auditor.service.http import parse_listen  # noqa: PLC0415

        if listen is not None:
            parse_listen(listen)
        return listen

    @property
    def grace(self) -> timedelta:
        """``grace_minutes`` as a span."""
        return timedelta(minutes=self.grace_minutes)

    @property
    def lease_ttl(self) -> timedelta:
        """``lease_ttl_seconds`` as a span."""
        return timedelta(seconds=self.lease_ttl_seconds)
