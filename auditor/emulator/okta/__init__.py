"""An Okta org emulator that the real ``okta`` SDK talks to over HTTP on loopback.

Used by the tests and by ``auditor demo``; never by a real audit::

    from auditor.emulator.okta import OktaEmulator, Fault, compliant_org

    with OktaEmulator() as emu:
        org = emu.add_org(compliant_org("acme"))          # org.url = http://127.0.0.1:PORT
        org.oauth_client["grant_types"].append("implicit")  # one misconfiguration
        org.faults.append(Fault.rate_limited("/api/v1/apps/*/grants"))

It serves the Management API endpoints the auditor reads (the app, its grants, client
secrets, assignments, user types and profile mappings), OIDC discovery for the org and
custom authorization servers, and the token endpoint for the private-key credential
mode, with Okta's headers, error bodies, pagination and rate limiting.
"""

from auditor.emulator.okta.builders import REQUIRED_MAPPING, REQUIRED_SCOPES, compliant_org
from auditor.emulator.okta.host import OktaEmulator
from auditor.emulator.okta.org import (
    Fault,
    FaultKind,
    IssuedToken,
    OktaOrg,
    RequestRecord,
    ServiceApp,
)

__all__ = [
    "REQUIRED_MAPPING",
    "REQUIRED_SCOPES",
    "Fault",
    "FaultKind",
    "IssuedToken",
    "OktaEmulator",
    "OktaOrg",
    "RequestRecord",
    "ServiceApp",
    "compliant_org",
]
