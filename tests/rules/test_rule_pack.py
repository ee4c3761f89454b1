"""The rule pack as a whole: the catalog, the file format, and errors that name file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from builders import compliant_snapshot

from auditor.errors import InputError
from auditor.results import ResultStatus, Severity
from auditor.rules import OPERATORS, RulePack, default_rules_dir, load_rule_pack
from auditor.yamlsource import load_yaml

# CONTRACT section 5, in its order: rule id -> default severity.
CATALOG = {
    "okta_app_active": "critical",
    "okta_app_oidc_web": "high",
    "okta_app_grant_authorization_code": "critical",
    "okta_app_no_extra_grants": "high",
    "okta_app_signin_redirect_uri": "critical",
    "okta_app_no_foreign_redirect_uris": "high",
    "okta_app_signout_redirect_uri": "low",
    "okta_app_assigned": "high",
    "okta_app_required_scopes": "high",
    "okta_app_no_excess_scopes": "high",
    "okta_app_profile_mapping": "medium",
    "cognito_idp_exists": "critical",
    "cognito_idp_client_id_matches": "critical",
    "cognito_idp_client_secret_matches": "critical",
    "cognito_idp_issuer_matches": "critical",
    "cognito_idp_scopes": "medium",
    "cognito_idp_attribute_mapping": "high",
    "cognito_client_enables_idp": "critical",
    "cognito_domain_active": "critical",
}


@pytest.fixture(scope="module")
def pack() -> RulePack:
    """The packaged rule pack, loaded once for the module."""
    return load_rule_pack()


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    """A writable copy of the packaged rule pack."""
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


# ---------------------------------------------------------------------- the catalog


def test_default_rules_dir_is_the_repository_pack() -> None:
    """Outside a wheel, the default pack is <repo>/rules, with pack.yaml in it."""
    assert default_rules_dir() == Path(__file__).resolve().parents[2] / "rules"
    assert (default_rules_dir() / "pack.yaml").is_file()


def test_catalog_ids_order_and_severities(pack: RulePack) -> None:
    """The pack has exactly CONTRACT 5's rules, in its order, with its severities."""
    assert list(pack.ids) == list(CATALOG)
    assert {rule.id: rule.severity.value for rule in pack.rules} == CATALOG


def test_ids_are_unique_and_equal_file_names(pack: RulePack) -> None:
    """Each rule id is unique and is the name of the file it comes from."""
    assert len(set(pack.ids)) == len(pack.ids)
    for rule in pack.rules:
        assert rule.source.name == f"{rule.id}.yaml"
    files = {p.stem for p in default_rules_dir().glob("*.yaml")} - {"pack"}
    assert files == set(pack.ids)


def test_every_rule_is_documented(pack: RulePack) -> None:
    """Every rule has a title, a rationale, a remediation and https references."""
    for rule in pack.rules:
        assert rule.title.strip(), rule.id
        assert len(rule.rationale) > 80, rule.id
        assert len(rule.remediation) > 80, rule.id
        assert rule.references, rule.id
        assert all(ref.startswith("https://") for ref in rule.references), rule.id


def test_remediation_says_who_fixes_what(pack: RulePack) -> None:
    """Okta rules give Okta Admin Console steps; Cognito rules give AWS console/boto3 steps."""
    for rule in pack.rules:
        if rule.id.startswith("okta_"):
            assert "Okta Admin Console" in rule.remediation, rule.id
        else:
            assert "AWS console" in rule.remediation, rule.id
            assert "boto3" in rule.remediation, rule.id


def test_redirect_remediation_follows_the_setup_guide(pack: RulePack) -> None:
    """The redirect URI steps quote the guide's fields, without its stray space."""
    text = pack.rule("okta_app_signin_redirect_uri").remediation
    assert "Sign-in redirect URIs" in text
    assert "https://auth.{tenant}.{base_domain}/oauth2/idpresponse" in text
    assert "https:// auth" not in text


def test_references_cite_the_specifications(pack: RulePack) -> None:
    """Redirect rules cite RFC 6749 3.1.2.3; the issuer rule cites OIDC Discovery 4."""
    assert any(
        "rfc6749#section-3.1.2.3" in ref
        for ref in pack.rule("okta_app_signin_redirect_uri").references
    )
    assert any(
        "openid-connect-discovery-1_0.html#ProviderConfig" in ref
        for ref in pack.rule("cognito_idp_issuer_matches").references
    )


def test_pack_params_have_contract_defaults(pack: RulePack) -> None:
    """The pack's parameters default to CONTRACT 5's scopes, mappings and grant types."""
    assert pack.params["required_scopes"] == [
        "okta.users.read",
        "okta.users.read.self",
        "okta.userTypes.read",
        "okta.profileMappings.read",
    ]
    assert pack.params["required_mappings"] == {
        "email": "user.email",
        "given_name": "user.firstName",
        "family_name": "user.lastName",
    }
    assert pack.params["allowed_grant_types"] == ["authorization_code", "refresh_token"]


def test_pack_yaml_path_is_accepted(pack: RulePack) -> None:
    """Pointing at pack.yaml itself loads the same pack as pointing at its directory."""
    assert load_rule_pack(default_rules_dir() / "pack.yaml").ids == pack.ids


# ------------------------------------------------------------- broken rule files


def _edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` by ``new`` in the file; return the 1-based line of the change."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


BROKEN = [
    # (file, old text, new text, fragment of the error, line offset from the change)
    ("okta_app_active.yaml", "op: equals", "op: equalz", "unknown operator 'equalz'", 0),
    (
        "okta_app_no_excess_scopes.yaml",
        r"value: '\.manage$'",
        "value: '(unclosed'",
        "invalid regular expression",
        0,
    ),
    (
        "okta_app_active.yaml",
        "      op: exists",
        "      op: exists\n      opp: x",
        "unknown key 'opp'",
        1,
    ),
    ("okta_app_assigned.yaml", "severity: high", "severity: 5", "severity", 0),
    ("okta_app_assigned.yaml", "severity: high", "severity: urgent", "severity", 0),
    ("okta_app_assigned.yaml", "severity: high", "severty: high", "unknown key 'severty'", 0),
    (
        "okta_app_oidc_web.yaml",
        "key: okta.app.signOnMode",
        "key: okta.app.signonmode",
        "no field 'signonmode'",
        0,
    ),
    (
        "okta_app_signout_redirect_uri.yaml",
        '{tenant}.{base_domain}"',
        '{tenantt}.{base_domain}"',
        "tenantt",
        0,
    ),
    (
        "okta_app_no_extra_grants.yaml",
        'value: "{params.allowed_grant_types}"',
        'value: "{params.allowed_grants}"',
        "unknown parameter",
        0,
    ),
    (
        "okta_app_active.yaml",
        "id: okta_app_active",
        "id: okta_app_activ",
        "must equal the file name",
        0,
    ),
    (
        "cognito_idp_scopes.yaml",
        "value: [openid, email, profile]",
        "value: openid",
        "superset needs a list",
        0,
    ),
    ("okta_app_active.yaml", "      value: ACTIVE", "", "equals needs a value", -1),
    ("cognito_idp_scopes.yaml", "normalize: [split]", "normalize: [shout]", "normalize", 0),
    ("okta_app_required_scopes.yaml", "  by: scopeId\n", "", "covers needs by:", -2),
    (
        "okta_app_signin_redirect_uri.yaml",
        "  op: contains",
        "  op: contains\n  where: {key: '@', op: exists}",
        "takes no where:",
        1,
    ),
    (
        "okta_app_no_foreign_redirect_uris.yaml",
        "op: all_items",
        "op: all_items\n  label: nope",
        "cannot go into str",
        1,
    ),
    (
        "cognito_domain_active.yaml",
        "ref: cognito.user_pool_id",
        "ref: cognito.user_pool",
        "no field 'user_pool'",
        0,
    ),
    (
        "okta_app_assigned.yaml",
        "requires: [okta.app]",
        "requires: [okta.org_url]",
        "not a section",
        0,
    ),
    ("okta_app_assigned.yaml", "  - https://help.okta.com", "  - help.okta.com", "references", 0),
    (
        "okta_app_active.yaml",
        "condition:\n  all:",
        "condition:\n  every:",
        "unknown key 'every'",
        1,
    ),
    ("okta_app_active.yaml", "title: The", "title: [The", "not valid YAML", 1),
    ("okta_app_active.yaml", "title: The", "title: x\ntitle: The", "duplicate key 'title'", 1),
    (
        "okta_app_active.yaml",
        "name: Okta app {okta.app_id}",
        "name: Okta app {okta.app.status}",
        "reads a collected section",
        0,
    ),
]


@pytest.mark.parametrize(
    ("file", "old", "new", "fragment", "offset"),
    BROKEN,
    ids=[f"{b[0]}:{b[3]}" for b in BROKEN],
)
def test_broken_rule_file_names_file_and_line(  # noqa: PLR0913, PLR0917 - the table's columns
    pack_copy: Path, file: str, old: str, new: str, fragment: str, offset: int
) -> None:
    """A broken rule file is an InputError naming that file and the offending line."""
    line = _edit(pack_copy / file, old, new) + offset
    with pytest.raises(InputError) as caught:
        load_rule_pack(pack_copy)
    assert caught.value.path == pack_copy / file
    assert fragment in caught.value.message
    assert caught.value.line == line, str(caught.value)


def test_unlisted_rule_file_is_an_error(pack_copy: Path) -> None:
    """A rule file that pack.yaml does not list is refused, naming the file."""
    shutil.copy(pack_copy / "okta_app_active.yaml", pack_copy / "okta_app_extra.yaml")
    with pytest.raises(InputError, match="not listed") as caught:
        load_rule_pack(pack_copy)
    assert caught.value.path == pack_copy / "okta_app_extra.yaml"


def test_listed_rule_without_file_is_an_error(pack_copy: Path) -> None:
    """A rule that pack.yaml lists without a file is refused at its line in pack.yaml."""
    (pack_copy / "okta_app_assigned.yaml").unlink()
    with pytest.raises(InputError, match="has no file") as caught:
        load_rule_pack(pack_copy)
    assert caught.value.path == pack_copy / "pack.yaml"
    data, lines = load_yaml(pack_copy / "pack.yaml")
    position = data["rules"].index("okta_app_assigned")
    assert caught.value.line == lines.line_of(("rules", position))


def test_rule_listed_twice_is_an_error(pack_copy: Path) -> None:
    """pack.yaml may list a rule only once."""
    _edit(pack_copy / "pack.yaml", "  - okta_app_assigned\n", "  - okta_app_assigned\n" * 2)
    with pytest.raises(InputError, match="listed twice"):
        load_rule_pack(pack_copy)


def test_missing_pack_directory_is_an_error(tmp_path: Path) -> None:
    """A path with no pack.yaml is refused before anything else."""
    with pytest.raises(InputError, match=r"pack\.yaml"):
        load_rule_pack(tmp_path)


def test_param_default_must_match_its_type(pack_copy: Path) -> None:
    """A parameter default of the wrong type is refused at its line."""
    line = _edit(
        pack_copy / "pack.yaml",
        "    type: string_list\n    default:\n      - okta.users.read\n",
        "    type: string_map\n    default:\n      - okta.users.read\n",
    )
    with pytest.raises(InputError, match="does not match type") as caught:
        load_rule_pack(pack_copy)
    assert caught.value.line == line + 1  # the line of default:


# ---------------------------------------------------------------------- overrides


def test_param_override_changes_what_is_required() -> None:
    """An extra required scope from the config makes its missing grant a failure."""
    scopes = [*load_rule_pack().params["required_scopes"], "okta.groups.read"]  # type: ignore[misc]
    pack = load_rule_pack(overrides={"params": {"required_scopes": scopes}})
    results = {r.rule_id: r for r in pack.evaluate(compliant_snapshot())}
    assert results["okta_app_required_scopes"].status is ResultStatus.FAIL
    assert "no grant for okta.groups.read" in (results["okta_app_required_scopes"].message or "")


def test_mapping_override_is_used() -> None:
    """A required mapping from the config replaces the default mappings."""
    pack = load_rule_pack(overrides={"params": {"required_mappings": {"login": "user.login"}}})
    results = {r.rule_id: r for r in pack.evaluate(compliant_snapshot())}
    assert "no attribute login" in (results["okta_app_profile_mapping"].message or "")


def test_severity_override_applies_to_rules_and_results() -> None:
    """A severity override from the config changes the rule and its results."""
    pack = load_rule_pack(overrides={"severity": {"okta_app_signout_redirect_uri": "medium"}})
    rule = pack.rule("okta_app_signout_redirect_uri")
    assert rule.severity is Severity.MEDIUM
    assert rule.default_severity is Severity.LOW
    result = pack.evaluate(compliant_snapshot())[list(pack.ids).index(rule.id)]
    assert result.severity is Severity.MEDIUM


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"params": {"required_scope": ["x"]}}, "rules.params.required_scope: unknown parameter"),
        ({"params": {"required_scopes": "okta.users.read"}}, "must be a list of strings"),
        ({"params": {"required_mappings": ["email"]}}, "must be a mapping of strings"),
        ({"severity": {"okta_app_nope": "high"}}, "rules.severity.okta_app_nope: unknown rule id"),
        ({"severity": {"okta_app_active": "urgent"}}, "rules.severity.okta_app_active"),
        ({"disable": ["okta_app_active"]}, "unknown key 'disable'"),
    ],
)
def test_bad_override_is_an_input_error(overrides: dict[str, object], fragment: str) -> None:
    """An override naming an unknown parameter or rule, or of the wrong type, is refused."""
    with pytest.raises(InputError) as caught:
        load_rule_pack(overrides=overrides)
    assert fragment in str(caught.value)
    assert caught.value.path is None


def test_bad_override_names_the_config_line(tmp_path: Path) -> None:
    """With the config's line index, an override error names the config file and line."""
    config = tmp_path / "auditor.yaml"
    config.write_text(
        "version: 1\nrules:\n  params:\n    required_scopes: [okta.users.read]\n"
        "  severity:\n    okta_app_nope: high\n",
        encoding="utf-8",
    )
    data, lines = load_yaml(config)
    with pytest.raises(InputError) as caught:
        load_rule_pack(overrides=data["rules"], overrides_lines=lines)
    assert caught.value.path == config
    assert caught.value.line == 6


def test_every_operator_is_documented_in_the_pack_readme() -> None:
    """rules/README.md describes every operator of the engine's table."""
    text = (default_rules_dir() / "README.md").read_text(encoding="utf-8")
    for name in OPERATORS:
        assert f"`{name}`" in text, name
