"""Reads Rapticore's half of a tenant's federation from Cognito, through boto3 cognito-idp.

Three parts are read, each into its own :class:`~auditor.snapshot.Section`:

* ``idp``: the user pool's identity provider named ``cognito.provider_name``
  (``DescribeIdentityProvider``);
* ``app_clients``: the app clients that list that provider in
  ``SupportedIdentityProviders`` (``ListUserPoolClients``, every page, then
  ``DescribeUserPoolClient`` per client, since only the latter shows the providers);
* ``domain``: the user pool domain ``auth.<tenant>.<base_domain>``
  (``DescribeUserPoolDomain``).

Endpoints, credentials and profiles follow boto3's own settings (``AWS_ENDPOINT_URL``,
``AWS_PROFILE``...); with ``cognito.role_arn`` the collector first assumes that role.

The package by job: :mod:`.session` builds the client (STS first when a role is
configured), :mod:`.advice` runs each AWS call and explains its failure, :mod:`.sections`
reads the three sections; this module runs them in order and records what failed.

What the audit may rely on:

* Nothing leaves this package as a boto3 dict: responses are normalized into the snapshot
  models, and every secret value (the provider's ``client_secret``, app clients'
  ``ClientSecret``) is turned into a :class:`~auditor.snapshot.SecretRef` on arrival.
* Not found is a finding, not an error: no provider of that name, no domain, or no
  user pool make the sections ``absent``; no enabling app client is ``ok([])``.
* Anything else that fails (AWS errors, throttling that outlasted the retries, network,
  timeouts, credentials, a response of an unexpected shape) makes that section ``error``
  with a :class:`~auditor.snapshot.CollectionError` saying what failed and how to fix
  it (for a wrong shape: which field, as :mod:`auditor.collect.shape` words it). The
  collector never raises, and what it collected before a failure is kept.
* No secret value appears in a message or a log line: messages are built from codes and
  names, and any text that came from AWS is scrubbed of the secrets seen so far.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from auditor.collect.cognito.advice import Advisor, FailureError, Scrubber, first_time
from auditor.collect.cognito.sections import Sections
from auditor.collect.cognito.session import CognitoClientSettings, SharedClients, connect
from auditor.collect.shape import ShapeError
from auditor.snapshot import CognitoHalf, CollectionError, Section

if TYPE_CHECKING:
    from collections.abc import Callable

    import boto3.session
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

    from auditor.collect.secrets import SecretHasher
    from auditor.config import TenantConfig

__all__ = ["CognitoClientSettings", "SharedClients", "collect_cognito"]

logger = logging.getLogger(__name__)

SectionName = Literal["idp", "app_clients", "domain"]

V = TypeVar("V")


def collect_cognito(  # noqa: PLR0913 - keyword-only settings of one collection
    tenant: TenantConfig,
    base_domain: str,
    hasher: SecretHasher,
    *,
    session: boto3.session.Session | None = None,
    settings: CognitoClientSettings | None = None,
    clients: SharedClients | None = None,
) -> tuple[CognitoHalf, list[CollectionError]]:
    """Read the tenant's Cognito half; never raises, failures are ``error`` sections.

    ``session`` supplies credentials and settings (default: boto3's usual chain, from a
    fresh session, so concurrent tenants never share a session). ``clients`` (a fleet
    run's, without ``session``) shares one paced client per role and region instead.
    Each errored section has exactly one :class:`CollectionError` whose ``section`` is
    the section's name.
    """
    cognito = tenant.cognito
    advisor = Advisor(
        region=cognito.region,
        pool_id=cognito.user_pool_id,
        role_arn=cognito.role_arn,
        settings=settings or CognitoClientSettings(),
        scrubber=Scrubber(),
        throttled_retries=(
            clients.pacing.config.aimd.max_throttled_retries
            if clients is not None and clients.pacing is not None
            else 0
        ),
    )
    sections = Sections(
        advisor,
        hasher,
        provider_name=cognito.provider_name,
        domain_name=f"auth.{tenant.id}.{base_domain}",
    )
    return _Run(tenant.id, advisor, sections).run(session, clients)


_BUG = (
    "the auditor failed while {doing} ({name}): this is a bug in the auditor; please "
    "report it with the log of this run"
)


@dataclass
class _Run:
    """One tenant's collection: the sections in order, each failure recorded once."""

    tenant_id: str
    advisor: Advisor
    sections: Sections
    errors: list[CollectionError] = field(default_factory=list)
    # Set when every later call would fail the same way: the rest is not attempted.
    fatal: str | None = None
    fatal_hint: str = ""
    # The section that reported ``fatal`` (the others only point at it).
    fatal_reported_by: SectionName | None = None

    def run(
        self, session: boto3.session.Session | None, clients: SharedClients | None = None
    ) -> tuple[CognitoHalf, list[CollectionError]]:
        client: CognitoIdentityProviderClient | None = None
        try:
            if clients is not None and session is None:
                client = clients.get(self.advisor)
            else:
                client = connect(self.advisor, session)
        except FailureError as failure:
            self.fatal, self.fatal_hint = failure.cause, failure.hint
        except Exception as exc:  # noqa: BLE001 - as in _section: a bug must become ERROR sections
            logger.error(  # noqa: TRY400 - no traceback: its text could quote response values
                "bug while connecting to cognito for tenant %s: %s",
                self.tenant_id,
                type(exc).__name__,
            )
            self.fatal = _BUG.format(doing="connecting to AWS", name=type(exc).__name__)

        def section(
            name: SectionName, collect: Callable[[CognitoIdentityProviderClient], Section[V]]
        ) -> Section[V]:
            return self._section(name, client, collect)

        # Clients first: their not-found tells the other sections whether the pool exists.
        app_clients = section("app_clients", self.sections.app_clients)
        idp = section("idp", self.sections.idp)
        domain = section("domain", self.sections.domain)
        half = CognitoHalf(
            region=self.advisor.region,
            user_pool_id=self.advisor.pool_id,
            provider_name=self.sections.provider_name,
            idp=idp,
            app_clients=app_clients,
            domain=domain,
        )
        logger.info(
            "cognito collected for tenant %s: idp=%s app_clients=%s domain=%s",
            self.tenant_id,
            idp.status,
            app_clients.status,
            domain.status,
        )
        return half, self.errors

    def _section(
        self,
        name: SectionName,
        client: CognitoIdentityProviderClient | None,
        collect: Callable[[CognitoIdentityProviderClient], Section[V]],
    ) -> Section[V]:
        if self.fatal is not None or client is None:
            return self._not_attempted(name)
        try:
            return collect(client)
        except FailureError as failure:
            if failure.fatal:
                self.fatal, self.fatal_hint = failure.cause, failure.hint
                return self._not_attempted(name)
            return self._error(name, failure.message)
        except ShapeError as exc:
            return self._error(name, exc.message)
        except Exception as exc:  # noqa: BLE001 - a bug must become ERROR sections, not a crash
            logger.error(  # noqa: TRY400 - no traceback: its text could quote response values
                "bug while collecting cognito %s for tenant %s: %s",
                name,
                self.tenant_id,
                type(exc).__name__,
            )
            return self._error(
                name, _BUG.format(doing="reading this part", name=type(exc).__name__)
            )

    def _not_attempted(self, name: SectionName) -> Section[Any]:
        """The failure every call would repeat: told in full once, then pointed at.

        Later sections do not repeat the first call's name (it was not their call) or the
        long hint: ``domain: not attempted, see app_clients``.
        """
        cause = self.fatal or "the AWS client could not be set up"
        if self.fatal_reported_by is None:
            self.fatal_reported_by = name
            full = f"{cause}: {self.fatal_hint}" if self.fatal_hint else cause
            # The hint goes to the log once per process; the report keeps it per tenant.
            logged = full if self.fatal_hint and first_time(self.fatal_hint) else cause
            return self._error(name, full, logged=logged)
        return self._error(
            name,
            f"not attempted: the {self.fatal_reported_by} section's failure "
            "would repeat on every call",
        )

    def _error(self, name: SectionName, message: str, *, logged: str | None = None) -> Section[Any]:
        message = self.advisor.scrubber.scrub(message)
        self.errors.append(CollectionError(source="cognito", section=name, message=message))
        shown = message if logged is None else self.advisor.scrubber.scrub(logged)
        logger.warning("cognito %s not collected for tenant %s: %s", name, self.tenant_id, shown)
        return Section.error(message)
