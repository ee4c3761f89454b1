"""The fixture builders the rule, report and end-to-end tests share."""

from __future__ import annotations

from typing import Any

import pytest
from builders import (
    app_not_found,
    change,
    compliant_snapshot,
    idp_not_found,
    remove,
    sensitive_strings,
    with_section,
)
from pydantic import ValidationError

from auditor.snapshot import Section, SectionStatus


def test_compliant_snapshot_is_fully_collected() -> None:
    """Every section of the compliant snapshot is ok and there are no collection errors."""
    snapshot = compliant_snapshot()
    sections: list[Section[Any]] = [
        snapshot.okta.app,
        snapshot.okta.grants,
        snapshot.okta.default_user_type_id,
        snapshot.okta.profile_mapping,
        snapshot.okta.secrets,
        snapshot.okta.assignments,
        snapshot.okta.discovery,
        snapshot.cognito.idp,
        snapshot.cognito.app_clients,
        snapshot.cognito.domain,
    ]
    assert all(s.status is SectionStatus.OK for s in sections)
    assert not snapshot.has_errors


def test_secret_digests_match_across_halves_and_stay_out_of_json() -> None:
    """Okta's secret and Cognito's copy share a digest that never reaches the JSON dump."""
    snapshot = compliant_snapshot()
    okta = (snapshot.okta.secrets.value or [])[0].secret
    cognito = snapshot.cognito.idp.value
    assert cognito is not None
    assert cognito.ProviderDetails.client_secret is not None
    assert okta.sha256
    assert okta.sha256 == cognito.ProviderDetails.client_secret.sha256
    assert okta.sha256 not in snapshot.to_json()


def test_change_replaces_one_value_and_keeps_the_rest() -> None:
    """change() returns a new snapshot with one value replaced; the original is untouched."""
    before = compliant_snapshot()
    after = change(before, "okta.app.status", "INACTIVE")
    assert after.okta.app.value is not None
    assert after.okta.app.value.status == "INACTIVE"
    assert before.okta.app.value is not None
    assert before.okta.app.value.status == "ACTIVE"
    assert after.cognito == before.cognito


def test_change_validates_against_the_models() -> None:
    """A wrong type or an unknown field is an error, not a silently odd snapshot."""
    with pytest.raises(ValidationError):
        change(compliant_snapshot(), "okta.app.settings.oauthClient.redirect_uris", 42)
    with pytest.raises(ValueError, match="no field 'stauts'"):
        change(compliant_snapshot(), "okta.app.stauts", "ACTIVE")


def test_change_of_a_section_wraps_plain_values() -> None:
    """Setting a section path to a plain value makes it an ok section with that value."""
    snapshot = change(compliant_snapshot(), "okta.grants", [])
    assert snapshot.okta.grants.status is SectionStatus.OK
    assert snapshot.okta.grants.value == []


def test_remove_deletes_dict_keys_and_list_items() -> None:
    """remove() drops a mapping key or a list item."""
    snapshot = remove(compliant_snapshot(), "okta.profile_mapping.properties.email")
    assert snapshot.okta.profile_mapping.value is not None
    assert "email" not in snapshot.okta.profile_mapping.value.properties
    assert len(remove(snapshot, "okta.grants.0").okta.grants.value or []) == 3


def test_with_section_records_errors_like_the_collector() -> None:
    """An error section is also listed in the snapshot's errors, with its source."""
    snapshot = with_section(compliant_snapshot(), "okta.discovery", Section.error("timeout"))
    assert snapshot.okta.discovery.status is SectionStatus.ERROR
    assert [(e.source, e.section, e.message) for e in snapshot.errors] == [
        ("discovery", "okta.discovery", "timeout")
    ]
    with pytest.raises(ValueError, match="use with_section"):
        change(snapshot, "okta.discovery.issuer", "x")


def test_situation_helpers() -> None:
    """app_not_found and idp_not_found mark the object absent and its dependents skipped."""
    gone = app_not_found(compliant_snapshot())
    assert gone.okta.app.status is SectionStatus.ABSENT
    assert gone.okta.secrets.status is SectionStatus.SKIPPED
    assert not gone.has_errors
    no_idp = idp_not_found(compliant_snapshot())
    assert no_idp.cognito.idp.status is SectionStatus.ABSENT
    assert no_idp.okta.discovery.status is SectionStatus.SKIPPED


def test_sensitive_strings_cover_digest_fingerprint_and_value() -> None:
    """sensitive_strings lists every secret-derived string of a snapshot."""
    snapshot = compliant_snapshot()
    found = sensitive_strings(snapshot)
    okta = (snapshot.okta.secrets.value or [])[0].secret
    assert okta.sha256 in found
    assert okta.fingerprint in found
    assert len(found) >= 3
