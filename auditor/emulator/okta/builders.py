"""Ready-made orgs: :func:`compliant_org` is a tenant set up exactly as the seed guide says.

Tests start from it and change one thing (STYLE: fixture builders default to compliant).
"""

from __future__ import annotations

from auditor.emulator.okta import payloads
from auditor.emulator.okta.org import OktaOrg

# The Okta API scopes the seed guide tells the customer to grant the app.
REQUIRED_SCOPES = (
    "okta.users.read",
    "okta.users.read.self",
    "okta.userTypes.read",
    "okta.profileMappings.read",
)

# Okta user -> app profile mapping the seed guide asks for (attribute <- expression).
REQUIRED_MAPPING = {
    "email": "user.email",
    "given_name": "user.firstName",
    "family_name": "user.lastName",
}


def compliant_org(
    tenant_id: str,
    base_domain: str = "rapticore.io",
    *,
    label: str = "Rapticore",
    seed: str | None = None,
) -> OktaOrg:
    """A customer org whose Rapticore app passes every Okta-side rule.

    The app is an ACTIVE OIDC web app with the authorization-code grant, the tenant's
    sign-in and sign-out redirect URIs, the four required Okta API scope grants, the
    default user type mapped to it (email, given_name, family_name), one ACTIVE client
    secret, and one group and one user assigned. Ids, the secret and the SSWS token are
    derived from ``seed`` (default: tenant and base domain), so they are the same on
    every run.
    """
    org = OktaOrg(name=tenant_id, base_domain=base_domain, seed=seed or "")
    ids = org.ids
    base = org.url
    app_id = ids.new(payloads.PREFIX_APP)
    created = ids.timestamp()

    org.app_id = org.client_id = app_id
    org.token = ids.api_token()
    org.api_tokens.add(org.token)
    org.apps[app_id] = payloads.oidc_app(
        base,
        app_id=app_id,
        org_id=org.org_id,
        label=label,
        redirect_uris=[f"https://auth.{tenant_id}.{base_domain}/oauth2/idpresponse"],
        post_logout_redirect_uris=[f"https://{tenant_id}.{base_domain}"],
        signing_kid=ids.key_id(),
        policy_id=ids.new(payloads.PREFIX_POLICY),
        app_link_id=ids.new(payloads.PREFIX_APP_LINK),
        created=created,
        last_updated=ids.timestamp(),
    )
    for scope in REQUIRED_SCOPES:
        org.add_grant(scope)

    secret = org.add_secret()
    org.client_secret = secret["client_secret"]
    org.add_app_group()
    org.add_app_user()

    default_type = payloads.user_type(
        base,
        type_id=ids.new(payloads.PREFIX_USER_TYPE),
        schema_id=ids.new(payloads.PREFIX_SCHEMA),
        admin_user_id=org.admin_user_id,
        created=ids.timestamp(),
        default=True,
    )
    org.user_types.append(default_type)
    org.mappings.append(
        payloads.profile_mapping(
            base,
            mapping_id=ids.new(payloads.PREFIX_MAPPING),
            source_type=default_type,
            target_app=org.apps[app_id],
            properties=REQUIRED_MAPPING,
        )
    )
    org.authorization_servers["default"] = payloads.authorization_server(
        base, server_id="default", name="default", created=ids.timestamp()
    )
    return org
