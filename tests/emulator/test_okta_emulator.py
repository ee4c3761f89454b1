"""The Okta emulator behaves like an Okta org to the real okta SDK and to plain HTTP.

Every test talks to the emulator over loopback HTTP: the okta SDK's request executor
(what the collector uses) where the SDK's behaviour is the point, plain aiohttp where the
exact status, headers or body are.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from okta.client import Client

if TYPE_CHECKING:
    from multidict import CIMultiDictProxy

from auditor.emulator.okta import (
    REQUIRED_MAPPING,
    REQUIRED_SCOPES,
    Fault,
    OktaEmulator,
    OktaOrg,
    compliant_org,
)

ADMIN_SCOPES = [
    "okta.apps.read",
    "okta.appGrants.read",
    "okta.profileMappings.read",
    "okta.userTypes.read",
]
OKTA_ID = re.compile(r"^[0-9a-z]{3}[0-9A-Za-z]{17}$")


# ------------------------------------------------------------------------ helpers


class Answer:
    """One HTTP answer, read completely."""

    def __init__(self, status: int, headers: CIMultiDictProxy[str], text: str) -> None:
        self.status = status
        self.headers = headers
        self.text = text

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.text)


def http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    authorization: str | None = None,
    data: dict[str, str] | None = None,
) -> Answer:
    """Send one request with plain aiohttp (``token`` -> ``SSWS <token>``)."""
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"SSWS {token}"
    if authorization is not None:
        headers["Authorization"] = authorization

    async def send() -> Answer:
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, url, headers=headers, data=data) as response,
        ):
            return Answer(response.status, response.headers, await response.text())

    return asyncio.run(send())


def get(org: OktaOrg, path: str, **kwargs: Any) -> Answer:
    """GET ``path`` from the org, with its SSWS token unless told otherwise."""
    kwargs.setdefault("token", org.token)
    return http("GET", org.url + path, **kwargs)


def sdk_client(org: OktaOrg, **config: Any) -> Client:
    """The okta SDK pointed at the emulator.

    The SDK refuses an http:// orgUrl, and its ``testing`` switch can only come from
    okta.yaml or the environment (a ``testing`` key in the config dict lands under
    ``client`` and is ignored), so build it on the https spelling and then point its
    shared config back at http, as the collector does.
    """
    settings: dict[str, Any] = {
        "orgUrl": "https://" + org.url.removeprefix("http://"),
        "authorizationMode": "SSWS",
        "token": org.token,
        "cache": {"enabled": False},
        **config,
    }
    client = Client(settings)
    client.get_config()["client"]["orgUrl"] = org.url  # type: ignore[no-untyped-call]
    return client


def sdk_get(client: Client, url: str) -> tuple[Any, Any, Any]:
    """``create_request`` + ``execute`` through the SDK's request executor."""

    async def send() -> tuple[Any, Any, Any]:
        executor = client.get_request_executor()  # type: ignore[no-untyped-call]
        request, error = await executor.create_request("GET", url)
        if error is not None:
            return None, None, error
        result: tuple[Any, Any, Any] = await executor.execute(request)
        return result

    return asyncio.run(send())


def new_rsa_pem() -> str:
    """A new 2048-bit RSA private key, PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    """One RSA key for the module's service apps (generating one costs ~0.1 s)."""
    return new_rsa_pem()


@pytest.fixture(scope="module")
def other_rsa_pem() -> str:
    """A second key, registered nowhere."""
    return new_rsa_pem()


def client_assertion(org: OktaOrg, client_id: str, pem: str, kid: str, **claims: Any) -> str:
    """A private_key_jwt client assertion; a claim set to None is left out."""
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": f"{org.url}/oauth2/v1/token",
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    payload.update(claims)
    payload = {key: value for key, value in payload.items() if value is not None}
    return jwt.encode(payload, pem, algorithm="RS256", headers={"kid": kid})


def token_request(org: OktaOrg, assertion: str, scope: str) -> Answer:
    """POST the client-credentials token request the SDK's private-key mode sends."""
    return http(
        "POST",
        f"{org.url}/oauth2/v1/token",
        data={
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )


# --------------------------------------------------------------- org and state


def test_add_org_serves_on_its_own_loopback_port(okta_emulator: OktaEmulator) -> None:
    """add_org binds a 127.0.0.1 port, sets org.url without a trailing slash, and rebases links."""
    first = okta_emulator.add_org(compliant_org("one"))
    second = okta_emulator.add_org(compliant_org("two"), custom_domain=True)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", first.url)
        assert first.url != second.url
        assert first.custom_domain is None
        assert second.custom_domain is not None
        assert re.fullmatch(r"127\.0\.0\.1:\d+", second.custom_domain)
        assert first.app["_links"]["users"]["href"].startswith(first.url + "/api/v1/apps/")
        assert first.issuer == first.url
        assert not first.url.endswith("/")
        assert all(g["issuer"] == first.url for g in first.grants[first.app_id])
        with pytest.raises(ValueError, match="already served"):
            okta_emulator.add_org(first)
    finally:
        okta_emulator.remove_org(first)
        okta_emulator.remove_org(second)


def test_compliant_org_is_configured_as_the_seed_guide_says(okta_org: OktaOrg) -> None:
    """The compliant builder sets up the app, grants, mapping, secret and assignments."""
    app = get(okta_org, f"/api/v1/apps/{okta_org.app_id}").json()
    client = app["settings"]["oauthClient"]
    assert app["status"] == "ACTIVE"
    assert (app["name"], app["label"], app["signOnMode"]) == (
        "oidc_client",
        "Rapticore",
        "OPENID_CONNECT",
    )
    assert client["application_type"] == "web"
    assert client["grant_types"] == ["authorization_code"]
    assert client["response_types"] == ["code"]
    assert client["redirect_uris"] == ["https://auth.acme.rapticore.io/oauth2/idpresponse"]
    assert client["post_logout_redirect_uris"] == ["https://acme.rapticore.io"]
    assert (client["consent_method"], client["issuer_mode"]) == ("REQUIRED", "ORG_URL")
    credentials = app["credentials"]["oauthClient"]
    assert credentials["client_id"] == app["id"] == okta_org.app_id == okta_org.client_id
    assert credentials["token_endpoint_auth_method"] == "client_secret_basic"
    assert credentials["autoKeyRotation"] is True
    assert OKTA_ID.match(app["id"])
    assert app["id"].startswith("0oa")

    grants = get(okta_org, f"/api/v1/apps/{okta_org.app_id}/grants").json()
    assert sorted(g["scopeId"] for g in grants) == sorted(REQUIRED_SCOPES)
    assert {g["status"] for g in grants} == {"ACTIVE"}
    assert {g["issuer"] for g in grants} == {okta_org.url}

    secrets = get(okta_org, f"/api/v1/apps/{okta_org.app_id}/credentials/secrets").json()
    assert [s["status"] for s in secrets] == ["ACTIVE"]
    assert secrets[0]["client_secret"] == okta_org.client_secret
    assert re.fullmatch(r"[A-Za-z0-9_-]{64}", okta_org.client_secret)

    types = get(okta_org, "/api/v1/meta/types/user").json()
    default = next(t for t in types if t["default"])
    summaries = get(
        okta_org, f"/api/v1/mappings?sourceId={default['id']}&targetId={okta_org.app_id}"
    ).json()
    assert len(summaries) == 1
    mapping = get(okta_org, f"/api/v1/mappings/{summaries[0]['id']}").json()
    assert (mapping["source"]["type"], mapping["target"]["type"]) == ("user", "appuser")
    assert {k: v["expression"] for k, v in mapping["properties"].items()} == REQUIRED_MAPPING

    assert len(get(okta_org, f"/api/v1/apps/{okta_org.app_id}/groups").json()) == 1
    assert len(get(okta_org, f"/api/v1/apps/{okta_org.app_id}/users").json()) == 1


def test_compliant_org_is_the_same_on_every_run() -> None:
    """Ids, secret and token derive from the tenant, so drift between demo runs stays quiet."""
    again, other = compliant_org("acme"), compliant_org("globex")
    first = compliant_org("acme")
    assert (first.app_id, first.client_secret, first.token) == (
        again.app_id,
        again.client_secret,
        again.token,
    )
    assert first.app_id != other.app_id
    assert first.client_secret != other.client_secret
    assert compliant_org("acme", seed="other").app_id != first.app_id
    assert OktaOrg("one").org_id != OktaOrg("two").org_id


def test_state_changes_show_on_the_next_request(okta_org: OktaOrg) -> None:
    """A test edits the raw JSON (even to a value Okta does not know); the next GET serves it."""
    with okta_org.lock:
        okta_org.oauth_client["grant_types"].append(
            "urn:ietf:params:oauth:grant-type:token-exchange-2030"
        )
        okta_org.app["status"] = "INACTIVE"
    app = get(okta_org, f"/api/v1/apps/{okta_org.app_id}").json()
    assert app["status"] == "INACTIVE"
    assert app["settings"]["oauthClient"]["grant_types"][-1].endswith("token-exchange-2030")


def test_masked_secrets_are_served_masked(okta_org: OktaOrg) -> None:
    """mask_secrets makes Okta return client secrets the auditor cannot compare."""
    okta_org.mask_secrets()
    [secret] = get(okta_org, f"/api/v1/apps/{okta_org.app_id}/credentials/secrets").json()
    assert secret["client_secret"] == okta_org.client_secret[:3] + "*****"
    okta_org.client_secret = "DRUFXGF9XbLnS3x3POBiIxDreBCdZuFs5B0123456789"
    okta_org.secrets[okta_org.app_id][0]["client_secret"] = okta_org.client_secret
    okta_org.mask_secrets("dots")
    [secret] = get(okta_org, f"/api/v1/apps/{okta_org.app_id}/credentials/secrets").json()
    assert "......" in secret["client_secret"]


def test_deleted_app_answers_404_everywhere(okta_org: OktaOrg) -> None:
    """After delete_app the app and every list under it answer Okta's 404 E0000007 (AppInstance)."""
    okta_org.delete_app()
    for suffix in ("", "/grants", "/credentials/secrets", "/groups", "/users"):
        answer = get(okta_org, f"/api/v1/apps/{okta_org.app_id}{suffix}")
        assert answer.status == 404
        body = answer.json()
        assert body["errorCode"] == "E0000007"
        assert (
            body["errorSummary"]
            == f"Not found: Resource not found: {okta_org.app_id} (AppInstance)"
        )
        assert body["errorCauses"] == []
    assert get(okta_org, f"/api/v1/mappings?targetId={okta_org.app_id}").json() == []


# ------------------------------------------------------------------- headers


def test_every_answer_carries_oktas_headers(okta_org: OktaOrg) -> None:
    """Success, 401 and 404 answers all carry Date, X-Rate-Limit-*, X-Okta-Request-Id and JSON."""
    answers = [
        get(okta_org, f"/api/v1/apps/{okta_org.app_id}"),
        get(okta_org, f"/api/v1/apps/{okta_org.app_id}", token="wrong"),
        get(okta_org, "/api/v1/apps/0oanotthereatall1d7x"),
        get(okta_org, "/.well-known/openid-configuration", token=None),
    ]
    assert [a.status for a in answers] == [200, 401, 404, 200]
    now = time.time()
    request_ids = set()
    for answer in answers:
        assert answer.headers["Content-Type"] == "application/json"
        date = parsedate_to_datetime(answer.headers["Date"]).timestamp()
        assert abs(date - now) < 5
        assert int(answer.headers["X-Rate-Limit-Limit"]) == 600
        assert 0 <= int(answer.headers["X-Rate-Limit-Remaining"]) < 600
        assert date < int(answer.headers["X-Rate-Limit-Reset"]) <= date + 60
        request_ids.add(answer.headers["X-Okta-Request-Id"])
    assert len(request_ids) == len(answers)


def test_unknown_path_and_method_answer_like_okta(okta_org: OktaOrg) -> None:
    """An unknown path is a 404 E0000007 and a wrong method a 405 E0000022, as in Okta."""
    missing = get(okta_org, "/api/v1/nothing-here")
    assert (missing.status, missing.json()["errorCode"]) == (404, "E0000007")
    wrong = http("DELETE", f"{okta_org.url}/api/v1/apps/{okta_org.app_id}", token=okta_org.token)
    assert (wrong.status, wrong.json()["errorCode"]) == (405, "E0000022")


# ------------------------------------------------------------------ credentials


@pytest.mark.parametrize(
    "authorization",
    [None, "SSWS wrong-token", "SSWS{token}", "Bearer not-issued", "Basic dXNlcjpwYXNz"],
    ids=["missing", "wrong-ssws", "ssws-without-space", "unknown-bearer", "basic"],
)
def test_bad_credentials_are_401_e0000011(okta_org: OktaOrg, authorization: str | None) -> None:
    """Missing, unknown or malformed credentials get 401 E0000011 "Invalid token provided"."""
    header = authorization.format(token=okta_org.token) if authorization else None
    answer = http("GET", f"{okta_org.url}/api/v1/apps/{okta_org.app_id}", authorization=header)
    assert answer.status == 401
    body = answer.json()
    assert (body["errorCode"], body["errorSummary"]) == ("E0000011", "Invalid token provided")
    assert okta_org.requests[-1].authorized is False


def test_request_log_records_calls_but_never_credentials(okta_org: OktaOrg) -> None:
    """The request log has method, path, query and the auth outcome, never a token's value."""
    get(okta_org, f"/api/v1/apps/{okta_org.app_id}/users?limit=5")
    http(
        "GET",
        f"{okta_org.url}/api/v1/apps/{okta_org.app_id}",
        authorization=f"SSWS{okta_org.token}",
    )
    ok, bad = okta_org.requests[-2:]
    assert (ok.method, ok.path, ok.query) == (
        "GET",
        f"/api/v1/apps/{okta_org.app_id}/users",
        {"limit": "5"},
    )
    assert (ok.authorized, ok.auth_scheme, ok.status) == (True, "SSWS", 200)
    assert (bad.authorized, bad.auth_scheme, bad.status) == (False, "malformed", 401)
    assert okta_org.token not in repr(okta_org.requests)


def test_sdk_request_executor_reads_the_app_with_ssws(okta_org: OktaOrg) -> None:
    """The real okta SDK's request executor gets the raw app JSON with an SSWS token."""
    response, body, error = sdk_get(sdk_client(okta_org), f"/api/v1/apps/{okta_org.app_id}")
    assert error is None
    assert response.status == 200
    assert '"client_id":"' + okta_org.client_id + '"' in body
    assert okta_org.requests[-1].auth_scheme == "SSWS"


def test_sdk_generated_methods_are_refused_for_ssws_without_space(
    okta_org: OktaOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK's generated get_application sends "SSWS<token>" (no space) and gets 401 E0000011."""
    # Generated methods keep the orgUrl they were built with, so this client is built on
    # http:// directly, allowed by the SDK's testing switch from the environment.
    monkeypatch.setenv("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")
    client = Client({"orgUrl": okta_org.url, "token": okta_org.token})
    app, response, error = asyncio.run(client.get_application(okta_org.app_id))
    assert app is None
    assert response.status == 401
    assert "E0000011" in str(error)
    assert (okta_org.requests[-1].auth_scheme, okta_org.requests[-1].status) == ("malformed", 401)


def test_private_key_flow_through_the_sdk(okta_org: OktaOrg, rsa_pem: str) -> None:
    """The SDK's PrivateKey mode gets a token from /oauth2/v1/token and reads with it as Bearer."""
    client_id, pem, kid = okta_org.add_service_app(ADMIN_SCOPES, private_key_pem=rsa_pem)
    client = sdk_client(
        okta_org,
        authorizationMode="PrivateKey",
        clientId=client_id,
        scopes=ADMIN_SCOPES,
        privateKey=pem,
        kid=kid,
    )
    for path in (f"/api/v1/apps/{okta_org.app_id}", f"/api/v1/apps/{okta_org.app_id}/grants"):
        response, _, error = sdk_get(client, path)
        assert error is None
        assert response.status == 200
    token_call, *reads = [r for r in okta_org.requests if r.status is not None]
    assert (token_call.method, token_call.path, token_call.authorized) == (
        "POST",
        "/oauth2/v1/token",
        True,
    )
    assert [(r.auth_scheme, r.authorized) for r in reads] == [("Bearer", True), ("Bearer", True)]
    assert len(okta_org.access_tokens) == 1  # the SDK reuses its token


def test_bearer_without_the_scope_gets_403_with_www_authenticate(
    okta_org: OktaOrg, rsa_pem: str
) -> None:
    """A Bearer token lacking the endpoint's admin scope gets 403 E0000006 and Okta's challenge."""
    client_id, pem, kid = okta_org.add_service_app(["okta.apps.read"], private_key_pem=rsa_pem)
    token = token_request(
        okta_org, client_assertion(okta_org, client_id, pem, kid), "okta.apps.read"
    ).json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["scope"] == "okta.apps.read"
    bearer = f"Bearer {token['access_token']}"
    assert get(okta_org, f"/api/v1/apps/{okta_org.app_id}", authorization=bearer).status == 200
    denied = get(okta_org, f"/api/v1/mappings?targetId={okta_org.app_id}", authorization=bearer)
    assert denied.status == 403
    assert denied.json()["errorCode"] == "E0000006"
    challenge = denied.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer authorization_uri="{okta_org.url}/oauth2/v1/authorize"')
    assert 'scope="okta.profileMappings.read"' in challenge
    assert 'error="insufficient_scope"' in challenge
    assert 'resource="/api/v1/mappings"' in challenge


def test_manage_scope_also_allows_reading(okta_org: OktaOrg, rsa_pem: str) -> None:
    """As in Okta, okta.apps.manage satisfies an endpoint that needs okta.apps.read."""
    client_id, pem, kid = okta_org.add_service_app(["okta.apps.manage"], private_key_pem=rsa_pem)
    token = token_request(
        okta_org, client_assertion(okta_org, client_id, pem, kid), "okta.apps.manage"
    ).json()["access_token"]
    answer = get(okta_org, f"/api/v1/apps/{okta_org.app_id}", authorization=f"Bearer {token}")
    assert answer.status == 200


def test_expired_access_token_is_401(okta_org: OktaOrg, rsa_pem: str) -> None:
    """An access token past its expiry is refused like an unknown one."""
    client_id, pem, kid = okta_org.add_service_app(["okta.apps.read"], private_key_pem=rsa_pem)
    token = token_request(
        okta_org, client_assertion(okta_org, client_id, pem, kid), "okta.apps.read"
    ).json()["access_token"]
    issued = okta_org.access_tokens[token]
    okta_org.access_tokens[token] = type(issued)(issued.client_id, issued.scopes, time.time() - 1)
    answer = get(okta_org, f"/api/v1/apps/{okta_org.app_id}", authorization=f"Bearer {token}")
    assert answer.status == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"aud": "https://acme.okta.com/oauth2/v1/token"}, 401, "invalid_client"),
        ({"exp": int(time.time()) - 60}, 401, "invalid_client"),
        ({"exp": int(time.time()) + 7200}, 401, "invalid_client"),
        ({"iss": "0oasomeoneelse0000001"}, 401, "invalid_client"),
        ({"jti": None}, 401, "invalid_client"),
        ({"scope": "okta.users.manage"}, 400, "invalid_scope"),
        ({"scope": ""}, 400, "invalid_scope"),
        ({"key": "other"}, 401, "invalid_client"),
        ({"client": "unknown"}, 401, "invalid_client"),
    ],
    ids=[
        "wrong-audience",
        "expired",
        "expires-too-late",
        "iss-not-sub",
        "no-jti",
        "scope-not-granted",
        "no-scope",
        "signed-by-another-key",
        "unknown-client",
    ],
)
def test_token_endpoint_refuses_bad_requests(  # noqa: PLR0913, PLR0917 - fixtures and parameters
    okta_org: OktaOrg,
    rsa_pem: str,
    other_rsa_pem: str,
    change: dict[str, Any],
    status: int,
    error: str,
) -> None:
    """Each way a client-credentials request can be wrong gets Okta's OAuth error, no token."""
    client_id, pem, kid = okta_org.add_service_app(ADMIN_SCOPES, private_key_pem=rsa_pem)
    scope = change.pop("scope", "okta.apps.read")
    if change.pop("key", None):
        pem = other_rsa_pem
    if change.pop("client", None):
        client_id = "0oanotregistered00001"
        change.setdefault("iss", client_id)
    answer = token_request(
        okta_org, client_assertion(okta_org, client_id, pem, kid, **change), scope
    )
    assert answer.status == status
    body = answer.json()
    assert body["error"] == error
    assert body["error_description"]
    assert "access_token" not in body
    assert okta_org.access_tokens == {}


def test_token_endpoint_refuses_a_replayed_assertion(okta_org: OktaOrg, rsa_pem: str) -> None:
    """Okta consumes each assertion's jti: the same assertion sent twice fails the second time."""
    client_id, pem, kid = okta_org.add_service_app(ADMIN_SCOPES, private_key_pem=rsa_pem)
    assertion = client_assertion(okta_org, client_id, pem, kid)
    assert token_request(okta_org, assertion, "okta.apps.read").status == 200
    again = token_request(okta_org, assertion, "okta.apps.read")
    assert (again.status, again.json()["error"]) == (401, "invalid_client")


def test_token_endpoint_grants_exactly_the_requested_scopes(
    okta_org: OktaOrg, rsa_pem: str
) -> None:
    """A token carries the requested scopes (a subset of the app's), never more."""
    client_id, pem, kid = okta_org.add_service_app(ADMIN_SCOPES, private_key_pem=rsa_pem)
    body = token_request(
        okta_org,
        client_assertion(okta_org, client_id, pem, kid),
        "okta.apps.read okta.userTypes.read",
    ).json()
    assert body["scope"] == "okta.apps.read okta.userTypes.read"
    assert okta_org.access_tokens[body["access_token"]].scopes == {
        "okta.apps.read",
        "okta.userTypes.read",
    }


def test_sdk_private_key_mode_reports_a_refused_scope(okta_org: OktaOrg, rsa_pem: str) -> None:
    """When the service app lacks a requested scope the SDK returns Okta's invalid_scope error."""
    client_id, pem, kid = okta_org.add_service_app(["okta.apps.read"], private_key_pem=rsa_pem)
    client = sdk_client(
        okta_org,
        authorizationMode="PrivateKey",
        clientId=client_id,
        scopes=ADMIN_SCOPES,
        privateKey=pem,
        kid=kid,
    )
    response, _, error = sdk_get(client, f"/api/v1/apps/{okta_org.app_id}")
    assert response is None
    assert "invalid_scope" in str(error)
    assert [r.path for r in okta_org.requests] == ["/oauth2/v1/token"]


# ------------------------------------------------------------------ pagination


def _links(answer: Answer) -> dict[str, str]:
    found = {}
    for value in answer.headers.getall("Link"):
        match = re.fullmatch(r'<([^>]+)>; rel="(\w+)"', value)
        assert match, value
        found[match.group(2)] = match.group(1)
    return found


def test_page_size_pages_with_self_and_next_link_headers(okta_org: OktaOrg) -> None:
    """With page_size, lists come in pages, each with separate Link headers for self and next."""
    for _ in range(4):
        okta_org.add_app_user()
    okta_org.page_size = 2
    path = f"/api/v1/apps/{okta_org.app_id}/users"
    seen: list[str] = []
    answer = get(okta_org, path)
    pages = 1
    while True:
        page = answer.json()
        seen += [user["id"] for user in page]
        links = _links(answer)
        assert links["self"].startswith(okta_org.url + path)
        if "next" not in links:
            break
        assert len(answer.headers.getall("Link")) == 2
        assert f"after={page[-1]['id']}" in links["next"]
        answer = http("GET", links["next"], token=okta_org.token)
        pages += 1
    assert pages == 3
    assert seen == [user["id"] for user in okta_org.app_users[okta_org.app_id]]


def test_limit_query_pages_and_the_sdk_follows_next(okta_org: OktaOrg) -> None:
    """An endpoint that takes limit honours it, and the SDK's executor can follow the next link."""
    okta_org.add_app_group()
    okta_org.add_app_group()
    client = sdk_client(okta_org)
    url: str | None = f"/api/v1/apps/{okta_org.app_id}/groups?limit=1"
    ids = []
    while url:
        response, body, error = sdk_get(client, url)
        assert error is None
        ids += re.findall(r'"id":"(00g\w+)"', body)
        next_link = response.links.get("next")
        url = str(next_link["url"]) if next_link else None
    assert ids == [group["id"] for group in okta_org.app_groups[okta_org.app_id]]
    assert len(ids) == 3


def test_limit_is_ignored_where_okta_takes_none(okta_org: OktaOrg) -> None:
    """Grants take no limit parameter in Okta, so limit=1 still returns every grant."""
    answer = get(okta_org, f"/api/v1/apps/{okta_org.app_id}/grants?limit=1")
    assert len(answer.json()) == len(REQUIRED_SCOPES)
    assert set(_links(answer)) == {"self"}


def test_mapping_list_filters_and_serves_the_summary_shape(okta_org: OktaOrg) -> None:
    """/mappings filters by sourceId/targetId and lists mappings without their properties."""
    assert get(okta_org, "/api/v1/mappings?targetId=0oanothingmapped00001").json() == []
    [summary] = get(okta_org, f"/api/v1/mappings?targetId={okta_org.app_id}").json()
    assert set(summary) == {"id", "source", "target", "_links"}
    full = get(okta_org, f"/api/v1/mappings/{summary['id']}").json()
    assert set(full["properties"]) == set(REQUIRED_MAPPING)
    missing = get(okta_org, "/api/v1/mappings/prmnotamapping000001")
    assert (missing.status, missing.json()["errorCode"]) == (404, "E0000007")


# ----------------------------------------------------- discovery and custom domain


def test_org_discovery_issuer_is_the_host_asked(okta_emulator: OktaEmulator) -> None:
    """The org authorization server's issuer is the org URL, or the custom domain on its port."""
    org = okta_emulator.add_org(compliant_org("acme"), custom_domain=True)
    try:
        on_org = get(org, "/.well-known/openid-configuration", token=None).json()
        assert on_org["issuer"] == org.url
        assert on_org["token_endpoint"] == f"{org.url}/oauth2/v1/token"
        assert org.custom_domain_url == f"http://{org.custom_domain}"
        on_custom = http("GET", f"{org.custom_domain_url}/.well-known/openid-configuration").json()
        assert on_custom["issuer"] == org.custom_domain_url
        assert on_custom["jwks_uri"] == f"{org.custom_domain_url}/oauth2/v1/keys"
        assert org.requests[-1].custom_domain is True
    finally:
        okta_emulator.remove_org(org)


def test_custom_authorization_server_discovery_honours_issuer_mode(
    okta_emulator: OktaEmulator,
) -> None:
    """/oauth2/{id} discovery answers <base>/oauth2/{id}, base chosen by the server's issuerMode."""
    org = okta_emulator.add_org(compliant_org("acme"), custom_domain=True)
    custom = org.custom_domain_url
    assert custom is not None
    path = "/oauth2/default/.well-known/openid-configuration"
    try:
        assert get(org, path, token=None).json()["issuer"] == f"{org.url}/oauth2/default"
        # ORG_URL (the default): asked on the custom domain, still the org URL.
        assert http("GET", custom + path).json()["issuer"] == f"{org.url}/oauth2/default"
        org.authorization_servers["default"]["issuerMode"] = "CUSTOM_URL"
        assert http("GET", custom + path).json()["issuer"] == f"{custom}/oauth2/default"
        assert (
            http("GET", custom + path).json()["token_endpoint"]
            == f"{custom}/oauth2/default/v1/token"
        )
        dynamic = org.add_authorization_server("partners", issuer_mode="DYNAMIC")
        dynamic_path = f"/oauth2/{dynamic['id']}/.well-known/openid-configuration"
        assert dynamic["id"].startswith("aus")
        on_custom = http("GET", custom + dynamic_path).json()
        assert on_custom["issuer"] == f"{custom}/oauth2/{dynamic['id']}"
        on_org = get(org, dynamic_path, token=None).json()
        assert on_org["issuer"] == f"{org.url}/oauth2/{dynamic['id']}"
        missing = get(
            org, "/oauth2/ausnosuchserver00001/.well-known/openid-configuration", token=None
        )
        assert (missing.status, missing.json()["errorCode"]) == (404, "E0000007")
    finally:
        okta_emulator.remove_org(org)


def test_custom_domain_serves_the_same_org_with_links_on_that_host(
    okta_emulator: OktaEmulator,
) -> None:
    """The custom-domain port serves the same API; links follow the host, grant issuers do not."""
    org = okta_emulator.add_org(compliant_org("acme"), custom_domain=True)
    custom = org.custom_domain_url
    try:
        app = http("GET", f"{custom}/api/v1/apps/{org.app_id}", token=org.token).json()
        assert app["_links"]["users"]["href"].startswith(f"{custom}/api/v1/apps/")
        grants = http("GET", f"{custom}/api/v1/apps/{org.app_id}/grants", token=org.token).json()
        assert {g["issuer"] for g in grants} == {org.url}
        assert org.app["_links"]["users"]["href"].startswith(org.url)  # state is untouched
    finally:
        okta_emulator.remove_org(org)


# ---------------------------------------------------------------------- faults


def test_429_then_success_through_the_sdk_backs_off_about_a_second(okta_org: OktaOrg) -> None:
    """A 429 with Reset = now makes the SDK wait ~1 s (Reset - Date + 1) and retry successfully."""
    okta_org.faults.append(Fault.rate_limited(f"/api/v1/apps/{okta_org.app_id}", times=1))
    started = time.monotonic()
    response, _, error = sdk_get(sdk_client(okta_org), f"/api/v1/apps/{okta_org.app_id}")
    elapsed = time.monotonic() - started
    assert error is None
    assert response.status == 200
    assert 0.9 <= elapsed < 2.5
    assert [r.status for r in okta_org.requests] == [429, 200]


def test_429_sequence_carries_rate_limit_headers_then_clears(okta_org: OktaOrg) -> None:
    """A rate_limited fault answers 429 E0000047 with Remaining 0 and Reset = Date, times times."""
    okta_org.faults.append(Fault.rate_limited("/api/v1/apps/*/grants", times=2))
    path = f"/api/v1/apps/{okta_org.app_id}/grants"
    for _ in range(2):
        answer = get(okta_org, path)
        assert answer.status == 429
        assert answer.json()["errorCode"] == "E0000047"
        assert answer.headers["X-Rate-Limit-Remaining"] == "0"
        date = int(parsedate_to_datetime(answer.headers["Date"]).timestamp())
        assert int(answer.headers["X-Rate-Limit-Reset"]) == date
    assert get(okta_org, path).status == 200


def test_429_without_rate_limit_headers_makes_the_sdk_give_up_at_once(okta_org: OktaOrg) -> None:
    """Without X-Rate-Limit-* headers the SDK does not retry a 429: it returns only an error."""
    okta_org.faults.append(Fault.rate_limited(headers=False, times=None))
    answer = get(okta_org, f"/api/v1/apps/{okta_org.app_id}")
    assert answer.status == 429
    assert not [name for name in answer.headers if name.lower().startswith("x-rate-limit")]
    response, _, error = sdk_get(sdk_client(okta_org), f"/api/v1/apps/{okta_org.app_id}")
    assert response is None
    assert "X-Rate-Limit-Reset" in str(error)


def test_status_fault_answers_an_okta_error(okta_org: OktaOrg) -> None:
    """An error fault answers its status with an Okta error body; the SDK does not retry a 500."""
    okta_org.faults.append(Fault.error(500, "/api/v1/meta/types/user"))
    answer = get(okta_org, "/api/v1/meta/types/user")
    assert answer.status == 500
    assert answer.json()["errorCode"] == "E0000009"
    response, _, error = sdk_get(sdk_client(okta_org), "/api/v1/meta/types/user")
    assert error is not None
    assert response.status == 500
    assert [r.status for r in okta_org.requests] == [500, 500]


def test_a_single_503_is_retried_by_the_sdk_without_backoff(okta_org: OktaOrg) -> None:
    """The SDK retries 503 (it has rate-limit headers) immediately, so one 503 goes unnoticed."""
    okta_org.faults.append(Fault.error(503, times=1))
    started = time.monotonic()
    response, _, error = sdk_get(sdk_client(okta_org), f"/api/v1/apps/{okta_org.app_id}")
    assert error is None
    assert response.status == 200
    assert time.monotonic() - started < 0.9
    assert [r.status for r in okta_org.requests] == [503, 200]


def test_latency_fault_delays_the_answer(okta_org: OktaOrg) -> None:
    """A latency fault answers normally, that many seconds late."""
    okta_org.faults.append(Fault.latency(0.3, f"/api/v1/apps/{okta_org.app_id}", times=1))
    started = time.monotonic()
    assert get(okta_org, f"/api/v1/apps/{okta_org.app_id}").status == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert get(okta_org, f"/api/v1/apps/{okta_org.app_id}").status == 200
    assert time.monotonic() - started < 0.3


def test_malformed_json_fault_breaks_the_sdk_executor(okta_org: OktaOrg) -> None:
    """A 200 with a truncated JSON body makes the SDK's execute raise JSONDecodeError."""
    okta_org.faults.append(Fault.malformed_json(f"/api/v1/apps/{okta_org.app_id}"))
    answer = get(okta_org, f"/api/v1/apps/{okta_org.app_id}")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.text.startswith('{"id":"')
    with pytest.raises(ValueError, match=r"Unterminated|Expecting"):
        answer.json()
    with pytest.raises(ValueError, match=r"Unterminated|Expecting"):
        sdk_get(sdk_client(okta_org), f"/api/v1/apps/{okta_org.app_id}")


def test_dropped_connection_fault_closes_without_an_answer(okta_org: OktaOrg) -> None:
    """A dropped connection is a disconnect for the client; aiohttp absorbs a single drop."""
    okta_org.faults.append(Fault.dropped_connection(f"/api/v1/apps/{okta_org.app_id}", times=1))
    assert get(okta_org, f"/api/v1/apps/{okta_org.app_id}").status == 200  # aiohttp retried
    assert [r.status for r in okta_org.requests] == [None, 200]
    okta_org.faults.append(Fault.dropped_connection(f"/api/v1/apps/{okta_org.app_id}"))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        get(okta_org, f"/api/v1/apps/{okta_org.app_id}")
    response, _, error = sdk_get(sdk_client(okta_org), f"/api/v1/apps/{okta_org.app_id}")
    assert response is None
    assert isinstance(error, aiohttp.ServerDisconnectedError)


def test_faults_match_by_method_path_and_count(okta_org: OktaOrg) -> None:
    """A fault applies only to its method and path glob, and stops after times."""
    okta_org.faults += [
        Fault.error(500, "/api/v1/apps/*", method="POST"),
        Fault.error(503, "/api/v1/apps/*/grants", times=1),
    ]
    app_path = f"/api/v1/apps/{okta_org.app_id}"
    assert get(okta_org, app_path).status == 200
    assert get(okta_org, app_path + "/grants").status == 503
    assert get(okta_org, app_path + "/grants").status == 200
    assert [f.hits for f in okta_org.faults] == [0, 1]


def test_real_rate_limit_answers_429_until_the_next_minute(okta_org: OktaOrg) -> None:
    """Past org.rate_limit requests in a minute, a 429 comes with Reset at the minute's end."""
    okta_org.rate_limit = 2
    if time.time() % 60 > 59:  # keep the three requests inside one rate-limit minute
        time.sleep(1.1)
    answers = [get(okta_org, "/api/v1/meta/types/user") for _ in range(3)]
    assert [a.status for a in answers] == [200, 200, 429]
    assert [a.headers["X-Rate-Limit-Remaining"] for a in answers] == ["1", "0", "0"]
    reset = int(answers[-1].headers["X-Rate-Limit-Reset"])
    assert reset % 60 == 0
    assert 0 < reset - time.time() <= 60


# -------------------------------------------------------------------- lifecycle


def test_emulator_start_stop_are_idempotent_and_ports_close() -> None:
    """start/stop can repeat, a removed org's port refuses connections, stop closes the rest."""
    emulator = OktaEmulator()
    assert emulator.start() is emulator.start()
    kept = emulator.add_org(compliant_org("kept"))
    gone = emulator.add_org(compliant_org("gone"))
    assert emulator.orgs == [kept, gone]
    emulator.remove_org(gone)
    assert emulator.orgs == [kept]
    with pytest.raises(aiohttp.ClientConnectionError):
        get(gone, "/.well-known/openid-configuration")
    assert get(kept, "/.well-known/openid-configuration").status == 200
    emulator.stop()
    emulator.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        get(kept, "/.well-known/openid-configuration")


def test_stop_does_not_wait_for_an_answer_held_by_a_latency_fault() -> None:
    """Stopping the emulator while a 30 s latency fault holds a request is quick and drops it."""
    emulator = OktaEmulator().start()
    org = emulator.add_org(compliant_org("slow"))
    org.faults.append(Fault.latency(30))
    outcome: list[BaseException | int] = []

    def call() -> None:
        try:
            outcome.append(get(org, "/api/v1/meta/types/user").status)
        except aiohttp.ClientError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 5
    while not org.faults[0].hits and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    emulator.stop()
    caller.join(timeout=5)
    assert time.monotonic() - started < 2
    assert len(outcome) == 1
    assert isinstance(outcome[0], aiohttp.ClientError)
