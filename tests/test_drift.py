"""Drift: one change per test between two snapshots, and what must never count as one."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from builders import (
    APP_CLIENT_ID,
    app_not_found,
    change,
    compliant_snapshot,
    masked_ref,
    secret_ref,
    sensitive_strings,
    with_section,
)

from auditor.drift import ROTATED, SECRET_PRESENT, Against, diff_snapshots
from auditor.report.html_report import drift_lines
from auditor.snapshot import (
    CognitoAppClient,
    OktaClientSecret,
    OktaProfileMappingProperty,
    OktaScopeGrant,
    Section,
    TenantSnapshot,
)

if TYPE_CHECKING:
    from auditor.results import DriftEntry

REDIRECTS = "okta.app.settings.oauthClient.redirect_uris"
EVIL = "https://evil.example.com/cb"


def diff(
    before: TenantSnapshot | None, after: TenantSnapshot, against: Against = "previous"
) -> list[DriftEntry]:
    """The drift between two snapshots, through their stored JSON form."""
    old = None if before is None else json.loads(before.to_json())
    return diff_snapshots(old, json.loads(after.to_json()), against)


def only(entries: list[DriftEntry]) -> DriftEntry:
    """The single entry of ``entries`` (fails with the list otherwise)."""
    assert len(entries) == 1, entries
    return entries[0]


BASE = compliant_snapshot()


# ------------------------------------------------------------------ what is no drift


def test_identical_snapshots_have_no_drift() -> None:
    """The same configuration collected twice is no drift."""
    assert diff(BASE, compliant_snapshot()) == []


def test_first_run_has_no_drift() -> None:
    """With no earlier snapshot (first run, no baseline) there is nothing to compare."""
    assert diff(None, change(BASE, REDIRECTS, [EVIL])) == []


def test_collection_bookkeeping_is_not_drift() -> None:
    """collected_at, the errors list and a changed absent-reason text are not drift."""
    before = with_section(BASE, "cognito.idp", Section.absent("no identity provider named Okta"))
    after = change(before, "collected_at", "2030-06-01T12:00:00Z")
    after = with_section(after, "cognito.idp", Section.absent("none named Okta (3 providers)"))
    after_json = json.loads(after.to_json())
    after_json["errors"] = [{"source": "okta", "section": "okta.app", "message": "HTTP 500"}]
    assert diff_snapshots(json.loads(before.to_json()), after_json, "previous") == []


def test_volatile_fields_never_drift_should_they_appear() -> None:
    """lastUpdated, created, _links and request ids inside a section are ignored."""
    before: dict[str, Any] = json.loads(BASE.to_json())
    after: dict[str, Any] = json.loads(BASE.to_json())
    app_before, app_after = before["okta"]["app"]["value"], after["okta"]["app"]["value"]
    app_before |= {"lastUpdated": "2025-01-01T00:00:00.000Z", "_links": {"self": {"href": "a"}}}
    app_after |= {
        "lastUpdated": "2025-03-04T05:06:07.000Z",
        "created": "2025-03-04T05:06:07.000Z",
        "_links": {"self": {"href": "b"}},
        "requestId": "XyZ123",
    }
    after["cognito"]["idp"]["value"]["ResponseMetadata"] = {"RequestId": "f00-ba4"}
    assert diff_snapshots(before, after, "previous") == []


@pytest.mark.parametrize(
    ("path", "reordered"),
    [
        (REDIRECTS, ["https://b.acme.rapticore.io/cb", "https://a.acme.rapticore.io/cb"]),
        ("okta.app.settings.oauthClient.grant_types", ["refresh_token", "authorization_code"]),
        ("okta.assignments.group_ids", ["00g2", "00g1"]),
        ("cognito.app_clients.0.SupportedIdentityProviders", ["Okta", "COGNITO"]),
        ("cognito.app_clients.0.AllowedOAuthScopes", ["profile", "openid", "email"]),
        ("cognito.idp.ProviderDetails.authorize_scopes", "profile  openid email"),
    ],
)
def test_reordering_a_set_like_list_is_no_drift(path: str, reordered: object) -> None:
    """A list whose order means nothing (and a scope string) may come back in any order."""
    if isinstance(reordered, list):
        before = change(BASE, path, list(reversed(reordered)))
    else:
        before = change(BASE, path, "openid email profile")
    assert diff(before, change(before, path, reordered)) == []


def test_reordered_grants_are_no_drift() -> None:
    """Grants are matched by scopeId, so the order Okta lists them in does not matter."""
    assert BASE.okta.grants.value is not None
    after = change(BASE, "okta.grants", list(reversed(BASE.okta.grants.value)))
    assert diff(BASE, after) == []


@pytest.mark.parametrize("failed", [Section.error("HTTP 500"), Section.skipped("app missing")])
@pytest.mark.parametrize("failed_side", ["before", "after"])
def test_uncollected_section_gives_no_drift(failed: Section[Any], failed_side: str) -> None:
    """A section in error or skipped on either side is not compared: no spurious drift."""
    ok = change(BASE, REDIRECTS, [EVIL])
    broken = with_section(BASE, "okta.app", failed)
    before, after = (broken, ok) if failed_side == "before" else (ok, broken)
    assert diff(before, after) == []


# ------------------------------------------------------------------- what is drift


def test_added_redirect_uri_is_drift_shown_as_added() -> None:
    """A new redirect URI is one entry, with full sorted lists and the URI as added."""
    uris = BASE.okta.app.value.settings.oauthClient.redirect_uris  # type: ignore[union-attr]
    assert uris is not None
    entry = only(diff(BASE, change(BASE, REDIRECTS, [*uris, EVIL])))
    assert entry.path == REDIRECTS
    assert entry.against == "previous"
    assert entry.before == sorted(uris)
    assert entry.after == sorted([*uris, EVIL])
    assert (entry.added, entry.removed) == ([EVIL], [])
    assert [line.text for line in drift_lines(entry)] == [f"redirect_uris: + {EVIL}"]


def test_removed_and_replaced_values_are_listed() -> None:
    """Replacing one grant type with another shows one removed and one added value."""
    path = "okta.app.settings.oauthClient.grant_types"
    entry = only(diff(BASE, change(BASE, path, ["authorization_code", "implicit"])))
    assert (entry.path, entry.added, entry.removed) == (path, ["implicit"], ["refresh_token"])


def test_revoked_grant_reads_as_a_status_change_of_that_scope() -> None:
    """A revoked grant is okta.grants.<scopeId>.status: ACTIVE -> REVOKED."""
    assert BASE.okta.grants.value is not None
    index = [g.scopeId for g in BASE.okta.grants.value].index("okta.userTypes.read")
    entry = only(diff(BASE, change(BASE, f"okta.grants.{index}.status", "REVOKED")))
    assert entry.model_dump(exclude_none=True) == {
        "path": "okta.grants.okta.userTypes.read.status",
        "before": "ACTIVE",
        "after": "REVOKED",
        "against": "previous",
    }


def test_new_grant_is_listed_by_scope_at_the_grants_path() -> None:
    """A newly granted scope appears as added to okta.grants, named by its scopeId."""
    assert BASE.okta.grants.value is not None
    manage = OktaScopeGrant(id="oagManage", scopeId="okta.users.manage", status="ACTIVE")
    entry = only(diff(BASE, change(BASE, "okta.grants", [*BASE.okta.grants.value, manage])))
    assert (entry.path, entry.added, entry.removed) == ("okta.grants", ["okta.users.manage"], [])


def test_rotated_secrets_show_rotated_and_never_a_fingerprint() -> None:
    """Changed secret values (Okta's and Cognito's) read "rotated"; no fingerprint leaks."""
    after = change(BASE, "cognito.idp.ProviderDetails.client_secret", secret_ref("new-one"))
    after = change(after, "okta.secrets.0.secret", secret_ref("new-one"))
    after = change(after, "cognito.app_clients.0.client_secret", secret_ref("client-s3cret"))
    entries = diff(BASE, after)
    assert [(e.path, e.before, e.after) for e in entries] == [
        ("cognito.app_clients.5h2kq0rapticoreweb01.client_secret", None, SECRET_PRESENT),
        ("cognito.idp.ProviderDetails.client_secret", ROTATED, ROTATED),
        ("okta.secrets.ocs1activeSecret.secret", ROTATED, ROTATED),
    ]
    text = json.dumps([e.model_dump(mode="json") for e in entries])
    leaked = [s for s in sensitive_strings(BASE) | sensitive_strings(after) if s in text]
    assert leaked == []
    assert "new-one" not in text
    assert "client-s3cret" not in text


def test_secret_becoming_masked_is_rotated() -> None:
    """A change of the masked flag alone is also a rotation, shown without values."""
    after = change(BASE, "cognito.idp.ProviderDetails.client_secret", masked_ref())
    entry = only(diff(BASE, after))
    assert (entry.before, entry.after) == (ROTATED, ROTATED)


def test_new_okta_secret_is_reported_by_id_only() -> None:
    """Okta's rotation (new secret id, old one gone) names the ids, never the values."""
    new = OktaClientSecret(id="ocs2newSecret", status="ACTIVE", secret=secret_ref("rotated-v2"))
    after = change(BASE, "okta.secrets", [new])
    entry = only(diff(BASE, after))
    assert entry.model_dump(exclude_none=True) == {
        "path": "okta.secrets",
        "before": ["ocs1activeSecret"],
        "after": ["ocs2newSecret"],
        "against": "previous",
        "added": ["ocs2newSecret"],
        "removed": ["ocs1activeSecret"],
    }


def test_redacted_unknown_provider_detail_secret_is_rotated() -> None:
    """A secret kept as "redacted:<fingerprint>" in ProviderDetails.other shows rotated."""
    path = "cognito.idp.ProviderDetails.other"
    before = change(BASE, path, {"private_key": "redacted:aaaa1111", "x": "1"})
    after = change(BASE, path, {"private_key": "redacted:bbbb2222", "x": "1"})
    entry = only(diff(before, after))
    assert (entry.path, entry.before, entry.after) == (f"{path}.private_key", ROTATED, ROTATED)


def test_section_status_change_is_one_entry_at_the_section() -> None:
    """A deleted app is okta.app: "ok" -> "absent: <reason>", and nothing below it."""
    entry = only(diff(BASE, app_not_found(BASE)))
    assert (entry.path, entry.before, entry.after) == (
        "okta.app",
        "ok",
        "absent: Okta answered 404 Not Found",
    )
    back = only(diff(app_not_found(BASE), BASE, "baseline"))
    assert (back.before, back.after, back.against) == (
        "absent: Okta answered 404 Not Found",
        "ok",
        "baseline",
    )


@pytest.mark.parametrize(
    ("path", "value", "expected_path", "before", "after"),
    [
        (
            "cognito.idp.ProviderDetails.client_id",
            "0oaOTHER",
            "cognito.idp.ProviderDetails.client_id",
            "0oa8k2x4fzQv7Hm1d5d7",
            "0oaOTHER",
        ),
        (
            "okta.profile_mapping.properties.email",
            OktaProfileMappingProperty(expression="user.login", pushStatus="PUSH"),
            "okta.profile_mapping.properties.email.expression",
            "user.email",
            "user.login",
        ),
        (
            "okta.app.status",
            "INACTIVE",
            "okta.app.status",
            "ACTIVE",
            "INACTIVE",
        ),
    ],
)
def test_changed_field_path_reads_like_the_field(
    path: str, value: object, expected_path: str, before: object, after: object
) -> None:
    """A changed scalar is named by its Okta/Cognito field path, section wrappers elided."""
    entry = only(diff(BASE, change(BASE, path, value)))
    assert (entry.path, entry.before, entry.after) == (expected_path, before, after)
    assert (entry.added, entry.removed) == (None, None)


def test_app_clients_are_matched_by_client_id() -> None:
    """A new app client is listed by ClientId; a change inside one is named by its id."""
    extra = CognitoAppClient(ClientId="7newclient", AllowedOAuthFlows=["implicit"])
    path = "cognito.app_clients.0.AllowedOAuthFlows"
    after = change(BASE, path, ["code", "implicit"])
    assert after.cognito.app_clients.value is not None
    after = change(after, "cognito.app_clients", [extra, *after.cognito.app_clients.value])
    entries = diff(BASE, after)
    assert [(e.path, e.added, e.removed) for e in entries] == [
        ("cognito.app_clients", ["7newclient"], []),
        (f"cognito.app_clients.{APP_CLIENT_ID}.AllowedOAuthFlows", ["implicit"], []),
    ]


def test_scope_string_change_lists_the_scope() -> None:
    """Cognito's space-separated authorize_scopes is diffed as a set of scopes."""
    path = "cognito.idp.ProviderDetails.authorize_scopes"
    entry = only(diff(BASE, change(BASE, path, "openid profile")))
    assert (entry.before, entry.after) == (["email", "openid", "profile"], ["openid", "profile"])
    assert (entry.added, entry.removed) == ([], ["email"])


def test_entries_are_sorted_by_path_and_carry_the_basis() -> None:
    """Several changes come back sorted by path, each with the requested basis."""
    after = change(BASE, "okta.app.label", "Renamed")
    after = change(after, "cognito.domain.Status", "DELETING")
    after = change(after, REDIRECTS, [EVIL])
    entries = diff(BASE, after, "baseline")
    assert [e.path for e in entries] == [
        "cognito.domain.Status",
        "okta.app.label",
        REDIRECTS,
    ]
    assert {e.against for e in entries} == {"baseline"}
    assert diff(BASE, after, "baseline") == entries
