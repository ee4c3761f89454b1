"""What the Okta emulator serves is what Okta documents: its OpenAPI schema and SDK models.

The schema is Okta's published Management API spec, trimmed to the operations the
emulator serves by ``tools/trim_okta_openapi.py`` (``okta-openapi-trimmed.yaml`` here).
Payloads are fetched over HTTP from a compliant org and validated against the response
schema declared for that operation and status, then parsed with the okta SDK's own models.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import okta.models
import pydantic
import pytest
import yaml
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

if TYPE_CHECKING:
    from collections.abc import Callable

from auditor.emulator.okta import Fault, OktaEmulator, OktaOrg, compliant_org

TRIMMED = Path(__file__).with_name("okta-openapi-trimmed.yaml")
# shared/ lies beside the checkout, here and in CI.
SOURCE = Path(__file__).resolve().parents[3] / "shared/okta-openapi/management-2026.06.3.yaml"
UNKNOWN_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange-2030"

JSON = Any


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """The trimmed Okta Management API spec."""
    loaded: dict[str, Any] = yaml.safe_load(TRIMMED.read_text(encoding="utf-8"))
    return loaded


def fetch(org: OktaOrg, path: str, authorization: str | None = "ssws") -> tuple[int, JSON]:
    """GET ``path`` and parse the JSON body (``ssws``: the org's API token)."""
    headers = {"Accept": "application/json"}
    if authorization == "ssws":
        headers["Authorization"] = f"SSWS {org.token}"
    elif authorization is not None:
        headers["Authorization"] = authorization

    async def send() -> tuple[int, JSON]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(org.url + path, headers=headers) as response,
        ):
            return response.status, json.loads(await response.text())

    return asyncio.run(send())


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def validate(spec: dict[str, Any], schema: dict[str, Any], instance: JSON) -> None:
    """Validate ``instance`` as a response body, following a top-level discriminator.

    openapi-schema-validator only applies a discriminator that sits beside oneOf/anyOf/
    allOf; Okta's ``Application`` has a bare one, so its mapped schema (for an OIDC app,
    ``OpenIdConnectApplication``) is checked here as well.
    """
    document = {"components": spec["components"], **schema}
    OAS30ReadValidator(document, format_checker=oas30_format_checker).validate(instance)
    resolved = _resolve(spec, schema)
    items = [instance] if resolved.get("type") != "array" else list(instance)
    element = resolved if resolved.get("type") != "array" else _resolve(spec, resolved["items"])
    discriminator = element.get("discriminator")
    if discriminator:
        for item in items:
            target = discriminator["mapping"].get(item.get(discriminator["propertyName"]))
            assert target, f"no schema for {discriminator['propertyName']}={item!r}"
            validate(spec, {"$ref": target}, item)


def validate_response(spec: dict[str, Any], template: str, status: int, body: JSON) -> None:
    """Validate against the response the spec declares for GET ``template`` and ``status``.

    A status the operation does not declare (Okta's spec leaves out 401 and 500 on most
    operations) is validated against Okta's ``Error`` schema.
    """
    responses = spec["paths"][template]["get"]["responses"]
    declared = responses.get(str(status))
    if declared is None:
        assert status >= 400, f"{template} declares no {status} response"
        schema: dict[str, Any] = {"$ref": "#/components/schemas/Error"}
    else:
        schema = _resolve(spec, declared)["content"]["application/json"]["schema"]
    validate(spec, schema, body)


def _compliant_paths(org: OktaOrg) -> dict[str, str]:
    mapping = org.mapping
    assert mapping is not None
    app = f"/api/v1/apps/{org.app_id}"
    return {
        "/api/v1/apps/{appId}": f"/api/v1/apps/{org.app_id}",
        "/api/v1/apps/{appId}/grants": f"/api/v1/apps/{org.app_id}/grants",
        "/api/v1/apps/{appId}/credentials/secrets": f"{app}/credentials/secrets",
        "/api/v1/apps/{appId}/groups": f"/api/v1/apps/{org.app_id}/groups",
        "/api/v1/apps/{appId}/users": f"/api/v1/apps/{org.app_id}/users",
        "/api/v1/meta/types/user": "/api/v1/meta/types/user",
        "/api/v1/mappings": f"/api/v1/mappings?targetId={org.app_id}",
        "/api/v1/mappings/{mappingId}": f"/api/v1/mappings/{mapping['id']}",
    }


# The okta SDK model for each endpoint's object (list endpoints: for each item).
SDK_MODELS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "/api/v1/apps/{appId}": okta.models.OpenIdConnectApplication.from_dict,
    "/api/v1/apps/{appId}/grants": okta.models.OAuth2ScopeConsentGrant.from_dict,
    "/api/v1/apps/{appId}/credentials/secrets": okta.models.OAuth2ClientSecret.from_dict,
    "/api/v1/apps/{appId}/groups": okta.models.ApplicationGroupAssignment.from_dict,
    "/api/v1/apps/{appId}/users": okta.models.AppUser.from_dict,
    "/api/v1/meta/types/user": okta.models.UserType.from_dict,
    "/api/v1/mappings": okta.models.ListProfileMappings.from_dict,
    "/api/v1/mappings/{mappingId}": okta.models.ProfileMapping.from_dict,
}


# ------------------------------------------------------------- the trimmed spec


def test_trimmed_spec_comes_from_the_shared_okta_spec() -> None:
    """The committed trimmed spec names the SHA-256 of the Okta spec it was cut from."""
    header = TRIMMED.read_text(encoding="utf-8").split("\nopenapi:", 1)[0]
    assert "# Generated by tools/trim_okta_openapi.py" in header
    if not SOURCE.exists():
        pytest.skip(f"{SOURCE} is not available here")
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    assert f"# source-sha256: {digest}" in header


def test_every_reference_in_the_trimmed_spec_resolves(spec: dict[str, Any]) -> None:
    """The $ref closure is complete: every reference points at something inside the file."""
    refs: list[str] = []
    stack: list[Any] = [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            mapping = node.get("discriminator", {}).get("mapping", {})
            refs.extend(mapping.values())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    assert refs
    for ref in refs:
        assert _resolve(spec, {"$ref": ref}), ref
    assert set(spec["paths"]) == set(SDK_MODELS)


# ----------------------------------------------------------- compliant payloads


@pytest.mark.parametrize("template", list(SDK_MODELS))
def test_compliant_payload_validates_against_oktas_schema(
    okta_org: OktaOrg, spec: dict[str, Any], template: str
) -> None:
    """Each endpoint's body for a compliant org validates against Okta's declared 200 schema."""
    status, body = fetch(okta_org, _compliant_paths(okta_org)[template])
    assert status == 200
    assert body
    validate_response(spec, template, status, body)


@pytest.mark.parametrize("template", list(SDK_MODELS))
def test_compliant_payload_parses_with_the_sdk_models(okta_org: OktaOrg, template: str) -> None:
    """Each endpoint's body for a compliant org parses with the okta SDK's own model."""
    _, body = fetch(okta_org, _compliant_paths(okta_org)[template])
    parse = SDK_MODELS[template]
    for item in body if isinstance(body, list) else [body]:
        model = parse(item)
        assert model is not None
        assert model.id == item["id"]


def test_app_parses_as_oidc_through_the_sdks_application_discriminator(okta_org: OktaOrg) -> None:
    """okta.models.Application picks OpenIdConnectApplication from signOnMode, as for a real app."""
    _, body = fetch(okta_org, f"/api/v1/apps/{okta_org.app_id}")
    app = okta.models.Application.from_dict(body)
    assert isinstance(app, okta.models.OpenIdConnectApplication)
    assert (
        app.settings.oauth_client.redirect_uris == body["settings"]["oauthClient"]["redirect_uris"]
    )


@pytest.mark.parametrize(
    "path",
    ["/.well-known/openid-configuration", "/oauth2/default/.well-known/openid-configuration"],
)
def test_discovery_documents_validate_as_oauth_metadata(
    okta_org: OktaOrg, spec: dict[str, Any], path: str
) -> None:
    """The org and custom authorization servers' discovery documents validate as OAuthMetadata."""
    status, body = fetch(okta_org, path, authorization=None)
    assert status == 200
    validate(spec, {"$ref": "#/components/schemas/OAuthMetadata"}, body)


# ------------------------------------------------------------------ error bodies


def _bearer(org: OktaOrg, scopes: set[str]) -> str:
    return "Bearer " + org.issue_token("0oaservice00000000001", frozenset(scopes), 60)


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("invalid-token", 401, "E0000011"),
        ("insufficient-scope", 403, "E0000006"),
        ("app-not-found", 404, "E0000007"),
        ("rate-limited", 429, "E0000047"),
        ("server-error", 500, "E0000009"),
    ],
)
def test_error_bodies_validate_and_parse(
    okta_org: OktaOrg, spec: dict[str, Any], name: str, status: int, code: str
) -> None:
    """Okta error bodies the emulator sends validate as declared and parse as the SDK's Error."""
    template, path, authorization = (
        "/api/v1/apps/{appId}",
        f"/api/v1/apps/{okta_org.app_id}",
        "ssws",
    )
    if name == "invalid-token":
        template, path = "/api/v1/apps/{appId}/credentials/secrets", path + "/credentials/secrets"
        authorization = "SSWS not-a-token"
    elif name == "insufficient-scope":
        authorization = _bearer(okta_org, {"okta.users.read"})
    elif name == "app-not-found":
        path = "/api/v1/apps/0oadoesnotexist000001"
    elif name == "rate-limited":
        okta_org.faults.append(Fault.rate_limited(times=1))
    else:
        okta_org.faults.append(Fault.error(500, times=1))
    got, body = fetch(okta_org, path, authorization)
    assert (got, body["errorCode"]) == (status, code)
    validate_response(spec, template, got, body)
    error = okta.models.Error.from_dict(body)
    assert error is not None
    assert error.error_code == code


# ----------------------------------------------- why the collector reads raw JSON


def test_unknown_grant_type_makes_the_sdk_model_raise(
    okta_org: OktaOrg, spec: dict[str, Any]
) -> None:
    """A grant type Okta adds later breaks the SDK's model (and Okta's closed-enum schema)."""
    okta_org.oauth_client["grant_types"].append(UNKNOWN_GRANT)
    _, body = fetch(okta_org, f"/api/v1/apps/{okta_org.app_id}")
    assert UNKNOWN_GRANT in body["settings"]["oauthClient"]["grant_types"]
    with pytest.raises(pydantic.ValidationError, match="grant_types"):
        okta.models.OpenIdConnectApplication.from_dict(body)
    with pytest.raises(Exception, match="is not one of"):
        validate(spec, {"$ref": "#/components/schemas/OpenIdConnectApplication"}, body)


def test_sdk_model_can_invent_a_consent_method_okta_did_not_send(okta_org: OktaOrg) -> None:
    """Without consent_method, the SDK's model_validate reads TRUSTED (from_dict: None)."""
    _, body = fetch(okta_org, f"/api/v1/apps/{okta_org.app_id}")
    client = copy.deepcopy(body["settings"]["oauthClient"])
    del client["consent_method"]
    invented = okta.models.OpenIdConnectApplicationSettingsClient.model_validate(client)
    assert invented.consent_method == okta.models.OpenIdConnectApplicationConsentMethod.TRUSTED
    assert (
        okta.models.OpenIdConnectApplicationSettingsClient.from_dict(client).consent_method is None
    )


def test_benchmark_scale_orgs_are_cheap_to_build_and_serve() -> None:
    """Two hundred compliant orgs build, bind and answer within seconds (benchmark scale)."""
    started = time.monotonic()
    with OktaEmulator() as emulator:
        orgs = [emulator.add_org(compliant_org(f"tenant{n}")) for n in range(200)]
        assert len({org.url for org in orgs}) == 200
        status, body = fetch(orgs[-1], f"/api/v1/apps/{orgs[-1].app_id}")
        assert status == 200
        assert body["label"] == "Rapticore"
    assert time.monotonic() - started < 5
