"""The Okta collector, through the real okta SDK, against the Okta emulator on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from builders import HASHER
from pydantic import SecretStr

from auditor.collect.okta import collect_okta
from auditor.config import OktaConfig, PrivateKeyCredential
from auditor.emulator.okta import Fault, OktaOrg
from auditor.localserver import ServerThread
from auditor.snapshot import CollectionError, OktaHalf, SectionStatus

OK = SectionStatus.OK


@pytest.fixture(autouse=True)
def _allow_loopback(monkeypatch):
    monkeypatch.setenv("AUDITOR_ALLOW_HTTP_LOOPBACK", "1")


def config_for(org: OktaOrg, **changes) -> OktaConfig:
    values = {"org_url": org.url, "token": SecretStr(org.token), "request_timeout": 5.0}
    values.update(changes)
    return OktaConfig(**values)


def collect(
    org: OktaOrg, config: OktaConfig | None = None, *, app_id=None, issuer="org"
) -> tuple[OktaHalf, list[CollectionError]]:
    return asyncio.run(
        collect_okta(
            config or config_for(org),
            HASHER,
            app_id=app_id or org.app_id,
            issuer=org.issuer if issuer == "org" else issuer,
        )
    )


def api_calls(org: OktaOrg, path_fragment: str) -> int:
    return sum(1 for r in org.requests if path_fragment in r.path)


def test_compliant_org_is_collected_whole(okta_org):
    """Every part of a compliant org is collected, with the values Okta serves."""
    half, errors = collect(okta_org)
    assert errors == []
    app = half.app.value
    assert half.app.status is OK
    assert app is not None
    assert app.status == "ACTIVE"
    assert app.signOnMode == "OPENID_CONNECT"
    assert app.settings.oauthClient.grant_types == ["authorization_code"]
    assert app.settings.oauthClient.redirect_uris == [
        "https://auth.acme.rapticore.io/oauth2/idpresponse"
    ]
    assert app.credentials.oauthClient.client_id == okta_org.client_id
    assert sorted(g.scopeId for g in half.grants.value) == sorted(
        ["okta.users.read", "okta.users.read.self", "okta.userTypes.read",
         "okta.profileMappings.read"]
    )
    mapping = half.profile_mapping.value
    assert mapping.properties["email"].expression == "user.email"
    assert mapping.target.id == okta_org.app_id
    assert half.default_user_type_id.value == mapping.source.id
    assert [s.status for s in half.secrets.value] == ["ACTIVE"]
    assert len(half.assignments.value.group_ids) == 1
    assert len(half.assignments.value.user_ids) == 1
    assert half.discovery.status is OK
    assert half.discovery.value.issuer == okta_org.issuer


def test_no_secret_value_reaches_the_snapshot_json(okta_org):
    """The client secret and the API token appear nowhere in the serialized half."""
    half, _ = collect(okta_org)
    dumped = half.model_dump_json()
    assert okta_org.client_secret not in dumped
    assert okta_org.token not in dumped
    secret = half.secrets.value[0].secret
    assert secret.fingerprint
    assert secret.sha256 is not None  # in memory, for the cross-half rule
    assert secret.sha256 not in dumped


def test_private_key_mode_reads_the_same_app(okta_org, tmp_path):
    """The OAuth service-app credential (private_key_jwt) collects the same app."""
    client_id, pem, kid = okta_org.add_service_app(
        ["okta.apps.read", "okta.appGrants.read", "okta.profileMappings.read",
         "okta.userTypes.read"]
    )
    key_file = tmp_path / "service.pem"
    key_file.write_text(pem)
    config = config_for(
        okta_org,
        token=None,
        private_key=PrivateKeyCredential(client_id=client_id, key_file=key_file, kid=kid),
    )
    half, errors = collect(okta_org, config)
    assert errors == []
    assert half.app.value.id == okta_org.app_id
    assert half.grants.status is OK
    assert api_calls(okta_org, "/oauth2/v1/token") == 1  # one token, reused for every call


@pytest.mark.parametrize("content", [
    "not a key at all",
    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    '{"kty": "RSA"}',
])
def test_unusable_private_key_is_one_line_and_no_traceback(okta_org, tmp_path, caplog, content):
    """A key file that is no key: one error naming the file, no request, no traceback logged."""
    key_file = tmp_path / "broken.pem"
    key_file.write_text(content)
    config = config_for(okta_org, token=None,
                        private_key=PrivateKeyCredential(client_id="0oaSvc", key_file=key_file))
    half, errors = collect(okta_org, config)
    assert half.app.status is SectionStatus.ERROR
    (error,) = errors
    assert "is not a usable private key" in error.message
    assert str(key_file) in error.message
    assert "\n" not in error.message
    assert api_calls(okta_org, "/oauth2/v1/token") == 0
    assert not [r for r in caplog.records if r.exc_info]


def test_missing_admin_scope_is_an_error_naming_the_scope(okta_org, tmp_path):
    """A service app not granted okta.appGrants.read is an error naming that scope."""
    client_id, pem, kid = okta_org.add_service_app(
        ["okta.apps.read", "okta.profileMappings.read", "okta.userTypes.read"]
    )
    key_file = tmp_path / "service.pem"
    key_file.write_text(pem)
    config = config_for(
        okta_org,
        token=None,
        private_key=PrivateKeyCredential(
            client_id=client_id, key_file=key_file, kid=kid,
            scopes=["okta.apps.read", "okta.appGrants.read", "okta.profileMappings.read",
                    "okta.userTypes.read"],
        ),
    )
    half, errors = collect(okta_org, config)
    # Okta refuses to mint a token with a scope the service app was not granted.
    assert half.app.status is SectionStatus.ERROR
    assert "invalid_scope" in errors[0].message
    assert "okta.appGrants.read" in errors[0].message
    assert "Okta API Scopes" in errors[0].message
    assert all(pem not in e.message for e in errors)


def test_pagination_follows_every_page(okta_org):
    """With two items per page, all grants, groups and users are still collected."""
    okta_org.page_size = 2
    for _ in range(4):
        okta_org.add_app_group()
        okta_org.add_app_user()
    half, errors = collect(okta_org)
    assert errors == []
    assert len(half.grants.value) == 4
    assert len(half.assignments.value.group_ids) == 5
    assert len(half.assignments.value.user_ids) == 5
    assert api_calls(okta_org, "/grants") == 2


def test_rate_limit_then_success_is_not_an_error(okta_org):
    """A 429 with Okta's rate-limit headers is waited out by the SDK and retried."""
    okta_org.faults.append(Fault.rate_limited("/api/v1/apps/*/grants", times=1))
    half, errors = collect(okta_org)
    assert errors == []
    assert half.grants.status is OK
    assert api_calls(okta_org, "/grants") == 2


def test_rate_limit_without_headers_is_an_error_with_the_reason(okta_org):
    """A 429 without rate-limit headers cannot be waited on: a recorded error, not a crash."""
    okta_org.faults.append(
        Fault.rate_limited("/api/v1/apps/*/grants", times=None, headers=False)
    )
    half, errors = collect(okta_org)
    assert half.grants.status is SectionStatus.ERROR
    assert [e.section for e in errors] == ["grants"]
    assert "rate limited" in errors[0].message
    assert half.secrets.status is OK  # the other parts are still collected


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        (Fault.error(500, "/api/v1/apps/*/credentials/secrets"), "HTTP 500"),
        (Fault.malformed_json("/api/v1/apps/*/credentials/secrets"), "not valid JSON"),
        (Fault.dropped_connection("/api/v1/apps/*/credentials/secrets"), "connection"),
    ],
    ids=["500", "malformed-json", "dropped-connection"],
)
def test_a_failing_call_is_a_recorded_error(okta_org, fault, fragment):
    """A 500, malformed JSON or a dropped connection errors only its own section."""
    okta_org.faults.append(fault)
    half, errors = collect(okta_org)
    assert half.secrets.status is SectionStatus.ERROR
    assert [e.section for e in errors] == ["secrets"]
    assert fragment in errors[0].message
    assert half.app.status is OK
    assert half.grants.status is OK


def test_a_timeout_is_a_recorded_error_within_the_bound(okta_org):
    """A call slower than request_timeout fails that section in bounded time."""
    okta_org.faults.append(Fault.latency(5, "/api/v1/apps/*/groups"))
    started = time.monotonic()
    half, errors = collect(okta_org, config_for(okta_org, request_timeout=1.0))
    elapsed = time.monotonic() - started
    assert half.assignments.status is SectionStatus.ERROR
    assert "timed out" in errors[0].message
    assert elapsed < 4.5


def test_a_rejected_token_is_an_error_that_says_what_to_do(okta_org):
    """A 401 names the status and tells the operator to issue a new token."""
    half, errors = collect(okta_org, config_for(okta_org, token=SecretStr("00wrongtoken")))
    assert half.app.status is SectionStatus.ERROR
    assert "HTTP 401" in errors[0].message
    assert "new one" in errors[0].message
    assert "00wrongtoken" not in json.dumps([e.message for e in errors])
    assert half.grants.status is SectionStatus.SKIPPED


def test_deleted_app_is_absent_not_an_error(okta_org):
    """A 404 app is a finding (absent), and what hangs off it is skipped."""
    okta_org.delete_app()
    half, errors = collect(okta_org)
    assert errors == []
    assert half.app.status is SectionStatus.ABSENT
    assert "not found" in half.app.reason
    assert half.grants.status is SectionStatus.SKIPPED
    assert half.secrets.status is SectionStatus.SKIPPED


def test_unknown_grant_type_is_kept_as_found(okta_org):
    """A grant type the SDK's models would reject is kept verbatim for a rule to judge."""
    okta_org.oauth_client["grant_types"].append("urn:example:grant-type:future")
    half, errors = collect(okta_org)
    assert errors == []
    assert half.app.value.settings.oauthClient.grant_types == [
        "authorization_code", "urn:example:grant-type:future"
    ]


def test_absent_field_stays_absent(okta_org):
    """A field Okta does not send is None, never the SDK model's default."""
    del okta_org.oauth_client["consent_method"]
    half, _ = collect(okta_org)
    assert half.app.value.settings.oauthClient.consent_method is None


def test_hostile_app_id_is_never_requested(okta_org):
    """An app id that would traverse the API path is refused before any request."""
    before = len(okta_org.requests)
    half, errors = collect(okta_org, app_id="../users")
    assert half.app.status is SectionStatus.ABSENT
    assert "not a valid Okta app id" in half.app.reason
    assert not any("users" in r.path for r in okta_org.requests[before:])
    assert errors == []


def test_off_org_issuer_is_never_fetched(okta_org):
    """An issuer on another host is not fetched: discovery is skipped with the reason."""
    half, _ = collect(okta_org, issuer="http://127.0.0.2:9/evil")
    assert half.discovery.status is SectionStatus.SKIPPED
    assert "not on the tenant's Okta org" in half.discovery.reason


@pytest.mark.parametrize("suffix", ["?x=1", "#@127.0.0.1:1234", "/?", "#"])
def test_issuer_with_a_query_or_fragment_is_never_fetched(okta_org, suffix):
    """An org issuer with a query or fragment is refused before any discovery request."""
    before = len(okta_org.requests)
    half, errors = collect(okta_org, issuer=okta_org.issuer + suffix)
    assert half.discovery.status is SectionStatus.SKIPPED
    assert "query or fragment" in half.discovery.reason
    assert errors == []
    assert not any("openid-configuration" in r.path for r in okta_org.requests[before:])


def test_masked_secrets_are_marked_not_hashed(okta_org):
    """Okta's masked secrets are recorded as masked, with no fingerprint or digest."""
    okta_org.mask_secrets()
    half, _ = collect(okta_org)
    secret = half.secrets.value[0].secret
    assert secret.masked is True
    assert secret.fingerprint is None
    assert secret.sha256 is None


def test_okta_yaml_and_env_do_not_change_the_client(okta_org, tmp_path, monkeypatch):
    """An okta.yaml in the working directory and OKTA_CLIENT_* variables are ignored."""
    (tmp_path / "okta.yaml").write_text(
        "okta:\n  client:\n    token: wrong\n    cache:\n      enabled: true\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OKTA_CLIENT_TOKEN", "wrong-too")
    monkeypatch.setenv("OKTA_CLIENT_CACHE_ENABLED", "true")
    _, errors = collect(okta_org)
    assert errors == []
    first = api_calls(okta_org, f"/api/v1/apps/{okta_org.app_id}")
    collect(okta_org)
    # No response cache: the second run asked Okta again.
    assert api_calls(okta_org, f"/api/v1/apps/{okta_org.app_id}") > first


# ------------------------------------------------------------- payloads of the wrong shape


def _app_pkce_as_text(org: OktaOrg) -> None:
    org.app["credentials"]["oauthClient"]["pkce_required"] = "yes"


def _grant_scope_as_number(org: OktaOrg) -> None:
    org.grants[org.app_id][0]["scopeId"] = 42


def _secret_without_id(org: OktaOrg) -> None:
    del org.secrets[org.app_id][0]["id"]


def _mapping_expression_as_list(org: OktaOrg) -> None:
    assert org.mapping is not None
    org.mapping["properties"]["email"]["expression"] = ["user.email"]


def _group_id_as_object(org: OktaOrg) -> None:
    org.app_groups[org.app_id][0]["id"] = {"nested": True}


@pytest.mark.parametrize(
    ("break_it", "section", "field"),
    [
        (_app_pkce_as_text, "app", "credentials.oauthClient.pkce_required: bool_type"),
        (_grant_scope_as_number, "grants", "[0].scopeId: string_type"),
        (_secret_without_id, "secrets", "[0].id: missing"),
        (_mapping_expression_as_list, "profile_mapping",
         "properties.email.expression: string_type"),
        (_group_id_as_object, "assignments", "[0].id: string_type"),
    ],
    ids=["app", "grants", "secrets", "mapping", "assignments"],
)
def test_wrong_shape_errors_its_section_naming_the_field(okta_org, break_it, section, field):
    """A field of the wrong type errors its section with a one-line reason naming it."""
    break_it(okta_org)
    half, errors = collect(okta_org)

    assert [(e.source, e.section) for e in errors] == [("okta", section)]
    message = errors[0].message
    assert "returned a response of an unexpected shape" in message
    assert field in message
    assert "\n" not in message
    assert getattr(half, section).status is SectionStatus.ERROR
    assert getattr(half, section).reason == message
    others = ["app", "grants", "secrets", "assignments", "profile_mapping", "discovery"]
    for other in others:
        if section == "app" and other != "discovery":
            # Nothing else can be read from an app that could not be read.
            expected = SectionStatus.ERROR if other == "app" else SectionStatus.SKIPPED
        else:
            expected = SectionStatus.ERROR if other == section else OK
        assert getattr(half, other).status is expected, other


def test_wrong_shape_never_quotes_the_value(okta_org):
    """A secret of the wrong type is named by its field, its value never repeated."""
    okta_org.secrets[okta_org.app_id][0]["client_secret"] = {"value": okta_org.client_secret}
    half, errors = collect(okta_org)
    assert [e.section for e in errors] == ["secrets"]
    assert "[0].client_secret: string_type" in errors[0].message
    assert okta_org.client_secret not in half.model_dump_json()
    assert okta_org.client_secret not in errors[0].message


class _Receiver:
    """A loopback HTTP server that answers every GET with ``body`` and counts the hits."""

    def __init__(self, body: bytes) -> None:
        self.hits: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                receiver.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args) -> None:  # noqa: A002
                pass

        self._serving = ServerThread(ThreadingHTTPServer(("127.0.0.1", 0), Handler), "test-http")
        self.origin = f"http://127.0.0.1:{self._serving.port}"
        self._serving.start()

    def close(self) -> None:
        self._serving.stop()


def test_discovery_document_of_the_wrong_shape_is_an_error_naming_the_field(okta_org):
    """A discovery document whose issuer is not a string errors discovery, not the rest."""
    server = _Receiver(json.dumps({"issuer": 42, "jwks_uri": "http://127.0.0.1/keys"}).encode())
    try:
        host = server.origin.removeprefix("http://")
        config = config_for(okta_org, custom_domain=host)
        half, errors = collect(okta_org, config, issuer=server.origin)
    finally:
        server.close()

    assert [(e.source, e.section) for e in errors] == [("discovery", "discovery")]
    assert errors[0].message == (
        f"GET {server.origin}/.well-known/openid-configuration returned a response "
        "of an unexpected shape (issuer: string_type)"
    )
    assert half.discovery.status is SectionStatus.ERROR
    assert half.app.status is OK
    assert half.grants.status is OK


# ------------------------------------------------------- redirects and oversized answers


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_off_the_org_is_an_error_and_never_followed(okta_org, status):
    """A 3xx from Okta errors its section, names where it pointed, and is never fetched."""
    other = _Receiver(json.dumps({"id": okta_org.app_id, "status": "ACTIVE"}).encode())
    okta_org.faults.append(
        Fault.redirect(f"{other.origin}/api/v1/apps/x", f"/api/v1/apps/{okta_org.app_id}",
                       status=status)
    )
    try:
        half, errors = collect(okta_org)
    finally:
        other.close()
    assert other.hits == []
    assert half.app.status is SectionStatus.ERROR
    assert [e.section for e in errors] == ["app"]
    assert f"HTTP {status} redirect to {other.origin}" in errors[0].message
    assert "not followed" in errors[0].message


def test_an_answer_of_the_wrong_content_type_is_an_error(okta_org):
    """An HTML page where Okta's JSON belongs errors its section, naming the type."""
    okta_org.faults.append(Fault.wrong_content_type("/api/v1/apps/*/grants"))
    half, errors = collect(okta_org)
    assert half.grants.status is SectionStatus.ERROR
    assert [e.section for e in errors] == ["grants"]
    assert "content type 'text/html', not JSON" in errors[0].message
    assert half.app.status is OK


def test_a_huge_answer_is_refused_unread(okta_org):
    """A 10 MB answer (valid JSON padded with spaces) errors its section, unparsed."""
    okta_org.faults.append(Fault.big_body(10_000_000, "/api/v1/apps/*/grants"))
    half, errors = collect(okta_org)
    assert half.grants.status is SectionStatus.ERROR
    assert "larger than 4 MiB; not read" in errors[0].message
    assert half.app.status is OK
