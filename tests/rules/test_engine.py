"""The engine's parts: operators, four-valued logic, key paths, templates, URL diagnosis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from builders import (
    change,
    compliant_snapshot,
    masked_ref,
    okta_client_secret,
    secret_ref,
    with_section,
)

from auditor.results import ResultStatus, Severity
from auditor.rules import OPERATORS, load_rule_pack
from auditor.rules.engine import Leaf, Rule, RulePack, evaluate
from auditor.rules.loader import parse_condition
from auditor.rules.operators import Operator
from auditor.rules.paths import KeyPath, type_at
from auditor.rules.schema import ParamSpec
from auditor.rules.urls import diagnose, host_within, origin
from auditor.rules.values import Context, Template
from auditor.snapshot import OktaOAuthClientSettings, Section, TenantSnapshot

if TYPE_CHECKING:
    from pathlib import Path

    from auditor.rules.outcome import Outcome, Verdict

PASS, FAIL = ResultStatus.PASS, ResultStatus.FAIL
ERROR, NOT_EVALUATED = ResultStatus.ERROR, ResultStatus.NOT_EVALUATED


def run(condition: object, snapshot: TenantSnapshot | None = None, **params: object) -> Outcome:
    """Compile ``condition`` and evaluate it on ``snapshot`` (default: compliant)."""
    specs = {
        name: ParamSpec(description="a test parameter", type="string_list", default=value)
        for name, value in params.items()
    }
    compiled = parse_condition(condition, params=specs)
    target = snapshot or compliant_snapshot()
    return evaluate(compiled, target, Context(target, params))


# ------------------------------------------------------------------- hosts and URLs


@pytest.mark.parametrize(
    ("url", "inside", "why"),
    [
        ("https://auth.acme.rapticore.io/oauth2/idpresponse", True, "within"),
        ("https://acme.rapticore.io", True, "within"),
        ("https://AUTH.ACME.RAPTICORE.IO/x", True, "within"),
        ("https://auth.acme.rapticore.io./x", True, "within"),
        ("https://auth.acme.rapticore.io:8443/x", True, "within"),
        ("https:// auth.acme.rapticore.io/oauth2/idpresponse", False, "not a valid DNS name"),
        ("https://evil.example.com/cb", False, "outside"),
        ("https://notacme.rapticore.io/cb", False, "outside"),
        ("https://acme.rapticore.io.evil.example/cb", False, "outside"),
        ("https://auth.acme.rapticore.io@evil.example/cb", False, "user info"),
        ("https://evil.example\\@auth.acme.rapticore.io/cb", False, "user info"),
        ("https://auth.acme.rapticore.io\\evil.example/cb", False, "not a valid DNS name"),
        ("https://auth_acme.rapticore.io/cb", False, "not a valid DNS name"),
        ("https://10.0.0.1/cb", False, "outside"),
        ("https://999.1.1.1/cb", False, "not a valid IPv4"),
        ("https://[::1]/cb", False, "outside"),
        ("https://[zz::1]/cb", False, "not a valid IPv6"),
        ("com.acme.app:/callback", False, "not an absolute URL"),
        ("https:///cb", False, "has no host"),
    ],
)
def test_host_within(url: str, inside: bool, why: str) -> None:  # noqa: FBT001 - a table column
    """Hosts are checked for RFC 3986 validity, then compared case-insensitively."""
    result, message = host_within(url, "acme.rapticore.io")
    assert result is inside
    assert why in message


@pytest.mark.parametrize(
    ("candidate", "notes"),
    [
        ("https://auth.acme.rapticore.io/oauth2/idpresponse/", ["has a trailing slash"]),
        ("https:// auth.acme.rapticore.io/oauth2/idpresponse", ["has a space"]),
        (" https://auth.acme.rapticore.io/oauth2/idpresponse", ["has a space"]),
        ("http://auth.acme.rapticore.io/oauth2/idpresponse", ["uses http, not https"]),
        ("https://AUTH.acme.rapticore.io/oauth2/idpresponse", ["host has upper-case letters"]),
        ("https://auth.acme.rapticore.io:443/oauth2/idpresponse", ["explicit :443 port"]),
        ("https://auth.acme.rapticore.io:8443/oauth2/idpresponse", ["port :8443, not :443"]),
        ("https://auth.acme2.rapticore.io/oauth2/idpresponse", ["names tenant acme2, not acme"]),
        (
            "https://auth.acme.rapticore.io/oauth2/idpresponse2",
            ["different path /oauth2/idpresponse2"],
        ),
        ("https://auth.acme.rapticore.io/oauth2/IdpResponse", ["path differs in upper/lower case"]),
        ("https://auth.acme.rapticore.io/oauth2/idpresponse?x=1", ["query ?x=1"]),
        (
            "http://auth.acme.rapticore.io/oauth2/idpresponse/",
            ["uses http, not https", "has a trailing slash"],
        ),
    ],
)
def test_diagnose_names_the_difference(candidate: str, notes: list[str]) -> None:
    """A near miss of a templated URL is explained in the words an admin can act on."""
    template = Template.parse("https://auth.{tenant}.{base_domain}/oauth2/idpresponse")
    assert template is not None
    want = "https://auth.acme.rapticore.io/oauth2/idpresponse"
    assert diagnose(candidate, want, template, ("acme", "rapticore.io")) == notes


def test_diagnose_without_a_template_names_the_host() -> None:
    """Without a template, a different host is named as such."""
    assert diagnose("https://a.example/x", "https://b.example/x") == [
        "host a.example, not b.example"
    ]
    assert diagnose("ACTIVE", "ACTIVE") == []
    assert diagnose("Active", "ACTIVE") == ["differs only in upper/lower case"]


def test_origin_uses_default_ports() -> None:
    """https://host and https://host:443 are the same origin; http and https are not."""
    assert origin("https://acme.okta.com:443/x") == origin("https://acme.okta.com")
    assert origin("http://acme.okta.com") != origin("https://acme.okta.com")
    assert origin("https://acme.okta.com:8443") == ("https", "acme.okta.com", 8443)
    assert origin("https:// acme.okta.com") is None


# ------------------------------------------------------------------------ operators


@pytest.mark.parametrize(
    ("condition", "status", "fragment"),
    [
        ({"key": "okta.app.status", "op": "equals", "value": "ACTIVE"}, PASS, "is ACTIVE"),
        ({"key": "okta.app.status", "op": "not_equals", "value": "ACTIVE"}, FAIL, "is ACTIVE"),
        ({"key": "okta.app.status", "op": "in", "value": ["ACTIVE", "X"]}, PASS, "ACTIVE"),
        ({"key": "okta.app.status", "op": "in", "value": ["X"]}, FAIL, "not one of [X]"),
        ({"key": "okta.app.status", "op": "matches", "value": "^ACT"}, PASS, "matches /^ACT/"),
        (
            {"key": "okta.app.status", "op": "equals", "value": "Active", "normalize": ["lower"]},
            PASS,
            "is active",
        ),
        (
            {"key": "okta.app.status", "op": "equals", "value": "active", "name": "the status"},
            FAIL,
            "the status is ACTIVE, not active: differs only in upper/lower case",
        ),
        ({"key": "okta.app.label", "op": "contains", "value": "apti"}, PASS, "contains apti"),
        (
            {
                "key": "okta.app.settings.oauthClient.grant_types",
                "op": "not_contains",
                "value": "implicit",
            },
            PASS,
            "does not have implicit",
        ),
        (
            {
                "key": "okta.app.settings.oauthClient.grant_types",
                "op": "disjoint",
                "value": ["implicit", "refresh_token"],
            },
            FAIL,
            "has refresh_token",
        ),
        (
            {
                "key": "okta.app.settings.oauthClient.grant_types",
                "op": "superset",
                "value": ["authorization_code", "password"],
            },
            FAIL,
            "lacks password",
        ),
        (
            {"key": "okta.app.settings.oauthClient.initiate_login_uri", "op": "absent"},
            PASS,
            "missing",
        ),
        ({"key": "okta.app.settings.oauthClient.initiate_login_uri", "op": "empty"}, PASS, "empty"),
        (
            {
                "key": "okta.app.settings.oauthClient.initiate_login_uri",
                "op": "equals",
                "value": "x",
            },
            FAIL,
            "is missing, not x",
        ),
        ({"key": "okta.assignments.user_ids", "op": "not_empty"}, FAIL, "is empty"),
        (
            {"key": "okta.grants", "op": "covers", "by": "scopeId", "value": ["okta.users.read"]},
            PASS,
            "covers",
        ),
        (
            {
                "key": "cognito.idp.AttributeMapping",
                "op": "has_entries",
                "value": {"username": "sub", "phone_number": "phone"},
            },
            FAIL,
            "no item",
        ),
    ],
)
def test_operator(condition: dict[str, object], status: ResultStatus, fragment: str) -> None:
    """Each operator judges the value and says what it found."""
    outcome = run(condition)
    assert outcome.status is status
    assert fragment in outcome.message


def test_operator_table_is_documented() -> None:
    """Every operator in the one table has a name matching its key and a description."""
    for name, op in OPERATORS.items():
        assert op.name == name
        assert op.doc


def test_wrong_shapes_fail_instead_of_crashing() -> None:
    """A list operator on a string, or a string operator on a list, fails with a reason."""
    assert "not a list" in run({"key": "okta.app.status", "op": "subset", "value": ["x"]}).message
    grant_types = {"key": "okta.app.settings.oauthClient.grant_types"}
    assert "not a string" in run({**grant_types, "op": "matches", "value": "x"}).message
    assert "not a URL" in run({**grant_types, "op": "host_within", "value": "x"}).message
    assert "not a mapping" in run({**grant_types, "op": "has_entries", "value": {}}).message


def test_operand_list_drops_missing_templates() -> None:
    """A template naming a missing value drops out of a list of alternatives."""
    condition = {
        "key": "cognito.idp.ProviderDetails.oidc_issuer",
        "op": "same_origin",
        "value": [{"ref": "okta.org_url"}, "https://{okta.custom_domain}"],
    }
    outcome = run(condition)
    assert outcome.status is PASS
    assert outcome.evidence[0].expected == "https://acme.okta.com"
    with_domain = change(compliant_snapshot(), "okta.custom_domain", "login.acme.com:8443")
    moved = change(
        with_domain, "cognito.idp.ProviderDetails.oidc_issuer", "https://login.acme.com:8443"
    )
    assert run(condition, moved).status is PASS


def test_whole_placeholder_keeps_the_value_type() -> None:
    """A string that is one placeholder is that value unchanged: a list stays a list."""
    condition = {
        "key": "okta.app.settings.oauthClient.grant_types",
        "op": "subset",
        "value": "{params.allowed}",
    }
    assert run(condition, allowed=["authorization_code", "refresh_token"]).status is PASS
    assert run(condition, allowed=["authorization_code"]).status is FAIL


def test_star_projection_and_digest_in() -> None:
    """digest_in compares a secret with each of a projected list of secrets, by digest."""
    condition = {
        "key": "cognito.idp.ProviderDetails.client_secret",
        "op": "digest_in",
        "value": {"ref": "okta.secrets.*.secret"},
    }
    assert run(condition).status is PASS
    other = change(compliant_snapshot(), "okta.secrets.0.secret", secret_ref("rotated"))
    failed = run(condition, other)
    assert failed.status is FAIL
    assert "matches none of the 1 secrets" in failed.message
    masked = change(compliant_snapshot(), "okta.secrets.0.secret", masked_ref())
    assert run(condition, masked).status is NOT_EVALUATED


def test_digest_equals_never_shows_digests() -> None:
    """digest_equals reports same/different/masked, never a digest or a secret."""
    condition = {
        "key": "cognito.idp.ProviderDetails.client_secret",
        "op": "digest_equals",
        "value": {"ref": "okta.secrets.0.secret"},
    }
    outcome = run(condition)
    assert outcome.status is PASS
    assert outcome.evidence[0].actual == "same"
    unread = change(
        compliant_snapshot(), "cognito.idp.ProviderDetails.client_secret", secret_ref("x")
    )
    text = repr(run(condition, unread))
    assert okta_client_secret() not in text
    assert (secret_ref(okta_client_secret()).sha256 or "-") not in text


# ---------------------------------------------------------- sections and the logic


@pytest.mark.parametrize(
    ("section", "status"),
    [
        (Section.absent("404"), FAIL),
        (Section.skipped("not tried"), NOT_EVALUATED),
        (Section.error("HTTP 500"), ERROR),
    ],
)
def test_exists_sees_absence_and_others_do_not(
    section: Section[object], status: ResultStatus
) -> None:
    """Exists fails on an absent section; any other check on it is not_evaluated."""
    snapshot = with_section(compliant_snapshot(), "okta.app", section)
    assert run({"key": "okta.app", "op": "exists"}, snapshot).status is status
    other = run({"key": "okta.app.status", "op": "equals", "value": "ACTIVE"}, snapshot)
    assert other.status is (ERROR if status is ERROR else NOT_EVALUATED)
    assert run({"key": "okta.app", "op": "absent"}, snapshot).status is (
        PASS if status is FAIL else status
    )


def _leaf(status: ResultStatus) -> dict[str, str]:
    """A check with the given outcome on the snapshot built by :func:`_logic_snapshot`."""
    return {
        PASS: {"key": "okta.app.status", "op": "equals", "value": "ACTIVE"},
        FAIL: {"key": "okta.app.status", "op": "equals", "value": "INACTIVE"},
        ERROR: {"key": "okta.grants", "op": "not_empty"},
        NOT_EVALUATED: {"key": "okta.secrets", "op": "not_empty"},
    }[status]


def _logic_snapshot() -> TenantSnapshot:
    snapshot = with_section(compliant_snapshot(), "okta.grants", Section.error("boom"))
    return with_section(snapshot, "okta.secrets", Section.skipped("not tried"))


STATUSES = (PASS, FAIL, ERROR, NOT_EVALUATED)


@pytest.mark.parametrize("left", STATUSES)
@pytest.mark.parametrize("right", STATUSES)
def test_all_and_any_follow_kleene(left: ResultStatus, right: ResultStatus) -> None:
    """All fails if any part fails, any passes if any part passes; else error, then n/e, win."""
    snapshot = _logic_snapshot()
    parts = [_leaf(left), _leaf(right)]
    order = {FAIL: 0, ERROR: 1, NOT_EVALUATED: 2, PASS: 3}
    want_all = min((left, right), key=order.__getitem__)
    any_order = {PASS: 0, ERROR: 1, NOT_EVALUATED: 2, FAIL: 3}
    want_any = min((left, right), key=any_order.__getitem__)
    assert run({"all": parts}, snapshot).status is want_all
    assert run({"any": parts}, snapshot).status is want_any


@pytest.mark.parametrize("status", STATUSES)
def test_not_swaps_only_pass_and_fail(status: ResultStatus) -> None:
    """Not turns pass into fail and back, and keeps error and not_evaluated."""
    flipped = {PASS: FAIL, FAIL: PASS}.get(status, status)
    assert run({"not": _leaf(status)}, _logic_snapshot()).status is flipped


def test_item_operators_over_an_errored_section() -> None:
    """Item operators over an uncollected list are error, never an empty pass."""
    snapshot = with_section(compliant_snapshot(), "okta.grants", Section.error("HTTP 500"))
    for op in ("all_items", "none_item"):
        condition = {"key": "okta.grants", "op": op, "where": {"key": "status", "op": "exists"}}
        outcome = run(condition, snapshot)
        assert outcome.status is ERROR
        assert "HTTP 500" in outcome.message


def test_all_items_on_an_empty_list_passes_and_any_item_fails() -> None:
    """No item: nothing is foreign (all_items passes), nothing enables (any_item fails)."""
    snapshot = change(compliant_snapshot(), "okta.app.settings.oauthClient.redirect_uris", [])
    key = "okta.app.settings.oauthClient.redirect_uris"
    where = {"key": "@", "op": "host_within", "value": "x.io"}
    assert run({"key": key, "op": "all_items", "where": where}, snapshot).status is PASS
    assert run({"key": key, "op": "any_item", "where": where}, snapshot).status is FAIL


# --------------------------------------------------------------- robustness


def test_pack_never_raises_on_odd_data() -> None:
    """Values of the wrong type (bypassing validation) give results, never an exception."""
    snapshot = compliant_snapshot()
    odd_values: dict[str, object] = {
        "grant_types": "authorization_code",
        "response_types": None,
        "redirect_uris": [None, 42, "https://auth.acme.rapticore.io/oauth2/idpresponse"],
        "post_logout_redirect_uris": {"not": "a list"},
        "application_type": ["web"],
    }
    odd_client = OktaOAuthClientSettings.model_construct(**odd_values)  # type: ignore[arg-type]
    app = snapshot.okta.app.value
    assert app is not None
    assert app.settings is not None
    odd_app = app.model_copy(
        update={"settings": app.settings.model_copy(update={"oauthClient": odd_client})}
    )
    odd = snapshot.model_copy(
        update={"okta": snapshot.okta.model_copy(update={"app": Section.ok(odd_app)})}
    )
    pack = load_rule_pack()
    results = pack.evaluate(odd)
    assert [r.rule_id for r in results] == list(pack.ids)
    by_id = {r.rule_id: r for r in results}
    assert by_id["okta_app_no_extra_grants"].status is FAIL
    assert by_id["okta_app_signout_redirect_uri"].status is FAIL
    assert by_id["okta_app_no_foreign_redirect_uris"].status is FAIL


def test_a_crashing_operator_becomes_an_error_result(tmp_path: Path) -> None:
    """If evaluating a rule raises, the result is error (never pass) and the rest go on."""

    def explode(check: object) -> Verdict:  # noqa: ARG001 - an operator's signature
        raise ZeroDivisionError("boom")

    def nothing(check: object) -> object:  # noqa: ARG001 - an operator's signature
        return None

    broken = Operator("explode", explode, nothing, "none", "raises")
    rule = Rule(
        id="broken_rule",
        title="t",
        severity=Severity.HIGH,
        default_severity=Severity.HIGH,
        rationale="r",
        remediation="x",
        references=("https://example.com",),
        requires=(),
        condition=Leaf(KeyPath.parse("okta.app"), broken),
        source=tmp_path / "broken_rule.yaml",
    )
    pack = load_rule_pack()
    mixed = RulePack("p", 1, tmp_path, (rule, *pack.rules), pack.params)
    results = mixed.evaluate(compliant_snapshot())
    assert results[0].status is ERROR
    assert "ZeroDivisionError" in (results[0].message or "")
    assert all(r.status is PASS for r in results[1:])


# ------------------------------------------------------------------ key paths


def test_key_paths_are_checked_against_the_models() -> None:
    """A key path through the snapshot models resolves; a typo names the known fields."""
    assert type_at(TenantSnapshot, KeyPath.parse("okta.app.settings.oauthClient.redirect_uris"))
    with pytest.raises(ValueError, match="has no field 'redirect_uri'"):
        type_at(TenantSnapshot, KeyPath.parse("okta.app.settings.oauthClient.redirect_uri"))
    with pytest.raises(ValueError, match="segment"):
        KeyPath.parse("okta..app")
    assert type_at(TenantSnapshot, KeyPath.parse("cognito.idp.AttributeMapping.anything"))
