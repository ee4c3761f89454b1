"""JSON bodies shaped exactly as Okta's Management API serves them.

Each builder returns a fresh ``dict`` (the emulator's state is raw JSON, so a test can
change any field, add an unknown one, or delete one, just as a real org could). Shapes
follow Okta's published examples for the same endpoints (OpenAPI ``management-2026.06.3``)
with one deliberate difference: where Okta's examples show ``null`` for a field its own
schema does not mark ``nullable`` (``accessibility.errorRedirectUrl``, ``settings.notes``,
...), the field is left out, so every body validates against Okta's schema.

Ids, secrets and timestamps come from an :class:`IdFactory`, which is seeded: the same
tenant gets the same ids, secret and token on every run (stable drift in ``auditor demo``),
while each tenant's are different.
"""

from __future__ import annotations

import base64
import hashlib
import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

JSON = dict[str, Any]

_ALNUM = string.ascii_letters + string.digits
_URLSAFE = _ALNUM + "-_"
# Okta ids end in a short "cell" suffix (0g4, 1d7, ...); one per org, like a real org.
_CELLS = ("0g4", "0h7", "1d7", "5d7", "0x7", "2p7")
_EPOCH = datetime(2023, 1, 1, tzinfo=UTC)

# Id prefixes Okta uses, by object type.
PREFIX_APP = "0oa"
PREFIX_ORG = "00o"
PREFIX_GRANT = "oag"
PREFIX_SECRET = "ocs"  # noqa: S105 - an id prefix, not a secret
PREFIX_GROUP = "00g"
PREFIX_USER = "00u"
PREFIX_USER_TYPE = "oty"
PREFIX_SCHEMA = "osc"
PREFIX_MAPPING = "prm"
PREFIX_AUTH_SERVER = "aus"
PREFIX_POLICY = "rst"
PREFIX_APP_LINK = "aln"


def okta_timestamp(moment: datetime) -> str:
    """Okta's timestamp format: UTC, milliseconds always ``.000``, ``Z`` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class IdFactory:
    """Deterministic Okta-looking ids, secrets and timestamps for one org.

    Not for anything secret: the values are predictable from the seed by design.
    """

    def __init__(self, seed: str) -> None:
        # A seeded PRNG on purpose: the same tenant must get the same ids on every run.
        self._rng = random.Random(seed)  # noqa: S311 - deterministic fixtures, not crypto
        self._cell = self._rng.choice(_CELLS)
        self._clock = _EPOCH + timedelta(days=self._rng.randrange(0, 400))

    def new(self, prefix: str) -> str:
        """A 20-character id: Okta's 3-character type prefix, 14 random, the org's cell."""
        return prefix + "".join(self._rng.choices(_ALNUM, k=14)) + self._cell

    def client_secret(self) -> str:
        """A 64-character client secret in Okta's alphabet."""
        return "".join(self._rng.choices(_URLSAFE, k=64))

    def api_token(self) -> str:
        """An SSWS API token: ``00`` and 40 characters, as Okta issues them."""
        return "00" + "".join(self._rng.choices(_URLSAFE, k=40))

    def key_id(self) -> str:
        """A 43-character base64url key id (the shape of a JWK thumbprint)."""
        return "".join(self._rng.choices(_URLSAFE, k=43))

    def timestamp(self) -> str:
        """A timestamp a little later than the previous one (objects are made in order)."""
        self._clock += timedelta(
            minutes=self._rng.randrange(1, 180), seconds=self._rng.randrange(60)
        )
        return okta_timestamp(self._clock)


def secret_hash(client_secret: str) -> str:
    """A 22-character base64url digest, the shape of Okta's ``secret_hash``."""
    digest = hashlib.sha256(client_secret.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def okta_error(code: str, summary: str, error_id: str, causes: list[str] | None = None) -> JSON:
    """An Okta error body (``Error`` in the spec)."""
    return {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": error_id,
        "errorCauses": [{"errorSummary": cause} for cause in causes or []],
    }


def oidc_app(  # noqa: PLR0913 - every argument is a field an admin configures
    base: str,
    *,
    app_id: str,
    org_id: str,
    label: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
    signing_kid: str,
    policy_id: str,
    app_link_id: str,
    created: str,
    last_updated: str,
    status: str = "ACTIVE",
) -> JSON:
    """An OIDC web app (``OpenIdConnectApplication``) as ``GET /api/v1/apps/{id}`` serves it.

    ``client_secret`` is absent: Okta only returns it in the response that creates or
    rotates it; the secrets live at ``/credentials/secrets``.
    """
    app_url = f"{base}/api/v1/apps/{app_id}"
    return {
        "id": app_id,
        "orn": f"orn:okta:idp:{org_id}:apps:oidc_client:{app_id}",
        "name": "oidc_client",
        "label": label,
        "status": status,
        "lastUpdated": last_updated,
        "created": created,
        "accessibility": {"selfService": False},
        "visibility": {
            "autoLaunch": False,
            "autoSubmitToolbar": False,
            "hide": {"iOS": True, "web": True},
            "appLinks": {"oidc_client_link": True},
        },
        "features": [],
        "signOnMode": "OPENID_CONNECT",
        "credentials": {
            "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
            "signing": {"kid": signing_kid},
            "oauthClient": {
                "autoKeyRotation": True,
                "client_id": app_id,
                "token_endpoint_auth_method": "client_secret_basic",
                "pkce_required": False,
            },
        },
        "settings": {
            "app": {},
            "notifications": {"vpn": {"network": {"connection": "DISABLED"}}},
            "manualProvisioning": False,
            "implicitAssignment": False,
            "notes": {},
            "emOptInStatus": "DISABLED",
            "oauthClient": {
                "redirect_uris": list(redirect_uris),
                "post_logout_redirect_uris": list(post_logout_redirect_uris),
                "response_types": ["code"],
                "grant_types": ["authorization_code"],
                "application_type": "web",
                "consent_method": "REQUIRED",
                "issuer_mode": "ORG_URL",
                "idp_initiated_login": {"mode": "DISABLED", "default_scope": []},
                "wildcard_redirect": "DISABLED",
                "dpop_bound_access_tokens": False,
            },
        },
        "_links": {
            "accessPolicy": {"href": f"{base}/api/v1/policies/{policy_id}"},
            "appLinks": [
                {
                    "name": "oidc_client_link",
                    "href": f"{base}/home/oidc_client/{app_id}/{app_link_id}",
                    "type": "text/html",
                }
            ],
            "groups": {"href": f"{app_url}/groups"},
            "logo": [
                {
                    "name": "medium",
                    "href": f"{base}/assets/img/logos/default.6770228fb0dab49a1695ef440a5279bb.png",
                    "type": "image/png",
                }
            ],
            "uploadLogo": {"href": f"{app_url}/logo", "hints": {"allow": ["POST"]}},
            "users": {"href": f"{app_url}/users"},
            "deactivate": {"href": f"{app_url}/lifecycle/deactivate"},
        },
    }


def scope_grant(  # noqa: PLR0913 - the grant's own fields
    base: str,
    *,
    grant_id: str,
    app_id: str,
    scope_id: str,
    issuer: str,
    admin_user_id: str,
    created: str,
    status: str = "ACTIVE",
) -> JSON:
    """An ``OAuth2ScopeConsentGrant`` of the app, granted by an admin."""
    return {
        "id": grant_id,
        "status": status,
        "created": created,
        "createdBy": {"id": admin_user_id, "type": "User"},
        "lastUpdated": created,
        "issuer": issuer,
        "clientId": app_id,
        "scopeId": scope_id,
        "source": "ADMIN",
        "_embedded": {"scope": {"id": scope_id}},
        "_links": {
            "app": {"href": f"{base}/api/v1/apps/{app_id}", "title": "Rapticore"},
            "self": {
                "href": f"{base}/api/v1/apps/{app_id}/grants/{grant_id}",
                "hints": {"allow": ["GET", "DELETE"]},
            },
            "client": {"href": f"{base}/oauth2/v1/clients/{app_id}", "title": "Rapticore"},
        },
    }


def client_secret(  # noqa: PLR0913 - the secret's own fields
    base: str,
    *,
    secret_id: str,
    app_id: str,
    value: str,
    created: str,
    status: str = "ACTIVE",
) -> JSON:
    """An ``OAuth2ClientSecret``; ``_links`` offer the lifecycle move its status allows."""
    secret_url = f"{base}/api/v1/apps/{app_id}/credentials/secrets/{secret_id}"
    links: JSON
    if status == "ACTIVE":
        links = {
            "deactivate": {
                "href": f"{secret_url}/lifecycle/deactivate",
                "hints": {"allow": ["POST"]},
            }
        }
    else:
        links = {
            "activate": {"href": f"{secret_url}/lifecycle/activate", "hints": {"allow": ["POST"]}},
            "delete": {"href": secret_url, "hints": {"allow": ["DELETE"]}},
        }
    return {
        "id": secret_id,
        "status": status,
        "client_secret": value,
        "secret_hash": secret_hash(value),
        "created": created,
        "lastUpdated": created,
        "_links": links,
    }


def group_assignment(
    base: str, *, app_id: str, group_id: str, priority: int, last_updated: str
) -> JSON:
    """An ``ApplicationGroupAssignment``."""
    return {
        "id": group_id,
        "lastUpdated": last_updated,
        "priority": priority,
        "profile": {},
        "_links": {
            "app": {"href": f"{base}/api/v1/apps/{app_id}"},
            "self": {"href": f"{base}/api/v1/apps/{app_id}/groups/{group_id}"},
            "group": {"href": f"{base}/api/v1/groups/{group_id}"},
        },
    }


def app_user(  # noqa: PLR0913 - the assignment's own fields
    base: str,
    *,
    app_id: str,
    user_id: str,
    email: str,
    first_name: str,
    last_name: str,
    created: str,
    scope: str = "USER",
) -> JSON:
    """An ``AppUser`` of an SSO-only app (no provisioning: ``syncState`` ``DISABLED``)."""
    return {
        "id": user_id,
        "created": created,
        "lastUpdated": created,
        "scope": scope,
        "status": "ACTIVE",
        "statusChanged": created,
        "passwordChanged": None,
        "syncState": "DISABLED",
        "credentials": {"userName": email},
        "profile": {
            "email": email,
            "given_name": first_name,
            "family_name": last_name,
        },
        "_links": {
            "app": {"href": f"{base}/api/v1/apps/{app_id}"},
            "user": {"href": f"{base}/api/v1/users/{user_id}"},
        },
    }


def user_type(  # noqa: PLR0913 - the user type's own fields
    base: str,
    *,
    type_id: str,
    schema_id: str,
    admin_user_id: str,
    created: str,
    default: bool,
    name: str = "user",
    display_name: str = "User",
    description: str = "Okta user profile template with default permission settings",
) -> JSON:
    """A ``UserType``; the org's built-in one has ``default: true``."""
    return {
        "id": type_id,
        "displayName": display_name,
        "name": name,
        "description": description,
        "createdBy": admin_user_id,
        "lastUpdatedBy": admin_user_id,
        "created": created,
        "lastUpdated": created,
        "default": default,
        "_links": {
            "self": {"href": f"{base}/api/v1/meta/types/user/{type_id}"},
            "schema": {"href": f"{base}/api/v1/meta/schemas/user/{schema_id}"},
        },
    }


def profile_mapping(
    base: str,
    *,
    mapping_id: str,
    source_type: JSON,
    target_app: JSON,
    properties: dict[str, str],
) -> JSON:
    """A full ``ProfileMapping`` from an Okta user type to an app (``appuser``)."""
    app_id = target_app["id"]
    schema_href = source_type["_links"]["schema"]["href"]
    return {
        "id": mapping_id,
        "source": {
            "id": source_type["id"],
            "name": source_type["name"],
            "type": "user",
            "_links": {
                "self": {"href": f"{base}/api/v1/meta/types/user/{source_type['id']}"},
                "schema": {"href": schema_href},
            },
        },
        "target": {
            "id": app_id,
            "name": target_app["name"],
            "type": "appuser",
            "_links": {
                "self": {"href": f"{base}/api/v1/apps/{app_id}"},
                "schema": {"href": f"{base}/api/v1/meta/schemas/apps/{app_id}/default"},
            },
        },
        "properties": {
            attribute: {"expression": expression, "pushStatus": "PUSH"}
            for attribute, expression in properties.items()
        },
        "_links": {"self": {"href": f"{base}/api/v1/mappings/{mapping_id}"}},
    }


def mapping_summary(mapping: JSON) -> JSON:
    """What ``GET /api/v1/mappings`` lists for a mapping: everything but ``properties``."""
    return {key: value for key, value in mapping.items() if key != "properties"}


def authorization_server(
    base: str, *, server_id: str, name: str, created: str, issuer_mode: str = "ORG_URL"
) -> JSON:
    """A custom ``AuthorizationServer`` (what ``/oauth2/{id}`` discovery describes)."""
    return {
        "id": server_id,
        "name": name,
        "description": f"{name} Authorization Server",
        "audiences": ["api://default" if server_id == "default" else f"api://{server_id}"],
        "issuer": f"{base}/oauth2/{server_id}",
        "issuerMode": issuer_mode,
        "status": "ACTIVE",
        "created": created,
        "lastUpdated": created,
        "_links": {
            "self": {"href": f"{base}/api/v1/authorizationServers/{server_id}"},
        },
    }


def discovery_document(issuer: str, *, oidc: bool = True) -> JSON:
    """The OpenID Provider metadata Okta serves for an authorization server.

    ``issuer`` is the authorization server's issuer; its endpoints live under
    ``<issuer>/oauth2/v1`` for the org authorization server (whose issuer is the bare
    domain) and ``<issuer>/v1`` for a custom one (``.../oauth2/{id}``).
    """
    endpoints = f"{issuer}/v1" if "/oauth2/" in issuer else f"{issuer}/oauth2/v1"
    document: JSON = {
        "issuer": issuer,
        "authorization_endpoint": f"{endpoints}/authorize",
        "token_endpoint": f"{endpoints}/token",
        "userinfo_endpoint": f"{endpoints}/userinfo",
        "registration_endpoint": f"{issuer.split('/oauth2/', maxsplit=1)[0]}/oauth2/v1/clients",
        "jwks_uri": f"{endpoints}/keys",
        "response_types_supported": [
            "code",
            "id_token",
            "code id_token",
            "code token",
            "id_token token",
            "code id_token token",
        ],
        "response_modes_supported": ["query", "fragment", "form_post", "okta_post_message"],
        "grant_types_supported": [
            "authorization_code",
            "implicit",
            "refresh_token",
            "password",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": [
            "openid",
            "email",
            "profile",
            "address",
            "phone",
            "offline_access",
            "groups",
        ],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt",
            "none",
        ],
        "claims_supported": [
            "iss",
            "ver",
            "sub",
            "aud",
            "iat",
            "exp",
            "jti",
            "auth_time",
            "amr",
            "idp",
            "nonce",
            "name",
            "nickname",
            "preferred_username",
            "given_name",
            "middle_name",
            "family_name",
            "email",
            "email_verified",
            "profile",
            "zoneinfo",
            "locale",
            "address",
            "phone_number",
            "picture",
            "website",
            "gender",
            "birthdate",
            "updated_at",
            "at_hash",
            "c_hash",
        ],
        "code_challenge_methods_supported": ["S256"],
        "introspection_endpoint": f"{endpoints}/introspect",
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt",
            "none",
        ],
        "revocation_endpoint": f"{endpoints}/revoke",
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt",
            "none",
        ],
        "end_session_endpoint": f"{endpoints}/logout",
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": [
            "HS256",
            "HS384",
            "HS512",
            "RS256",
            "RS384",
            "RS512",
            "ES256",
            "ES384",
            "ES512",
        ],
        "device_authorization_endpoint": f"{endpoints}/device/authorize",
        "dpop_signing_alg_values_supported": [
            "RS256",
            "RS384",
            "RS512",
            "ES256",
            "ES384",
            "ES512",
        ],
    }
    if not oidc:
        # The OAuth 2.0 metadata (RFC 8414) leaves out the OIDC-only fields.
        for key in (
            "userinfo_endpoint",
            "id_token_signing_alg_values_supported",
            "subject_types_supported",
            "claims_supported",
        ):
            document.pop(key)
    return document
