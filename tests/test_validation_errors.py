"""One translator for pydantic errors: config, rule and waiver files report alike."""

from __future__ import annotations

import shutil
import textwrap
from typing import TYPE_CHECKING

import pytest

from auditor.config import load_config, load_config_with_lines
from auditor.errors import InputError
from auditor.rules import default_rules_dir, load_rule_pack
from auditor.waivers import load_waivers

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

CONFIG = """\
version: 1
tenants:
  - id: acme
    okta:
      org_url: https://acme.okta.com
      token: t
    cognito:
      region: us-east-1
      user_pool_id: us-east-1_AbCdEf
      provider_name: Okta
"""

WAIVERS = """\
version: 1
waivers:
  - tenant: acme
    rule: okta_app_active
    reason: app paused for migration
    owner: bob@rapticore.io
    expires: 2026-07-01
"""


def _error(load: Callable[[Path], object], path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        load(path)
    assert caught.value.path == path
    return caught.value


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _rule_pack_with(tmp_path: Path, old: str, new: str) -> Path:
    pack = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), pack)
    rule = pack / "okta_app_active.yaml"
    text = rule.read_text(encoding="utf-8")
    assert old in text
    rule.write_text(text.replace(old, new, 1), encoding="utf-8")
    return rule


def test_config_typo_is_named_first_with_the_key_it_should_be(tmp_path: Path) -> None:
    """A misspelt config key is reported (not the 'missing' it causes), with the right key."""
    path = _write(tmp_path, "auditor.yaml", CONFIG.replace("provider_name", "provider_nme"))
    err = _error(load_config, path)
    assert err.line == 10
    assert "tenants.0.cognito.provider_nme: unknown key 'provider_nme'" in err.message
    assert "did you mean 'provider_name'?" in err.message
    assert "known here: region, user_pool_id, provider_name, role_arn" in err.message


def test_config_missing_key_says_it_is_required(tmp_path: Path) -> None:
    """A missing required config key is named at its parent's line."""
    path = _write(tmp_path, "auditor.yaml", CONFIG.replace("      region: us-east-1\n", ""))
    err = _error(load_config, path)
    assert err.line == 7
    assert "tenants.0.cognito.region: 'region' is required here" in err.message


def test_rule_typo_in_a_nested_condition_offers_the_check_keys(tmp_path: Path) -> None:
    """A typo inside a rule's condition names the condition keys, through its union."""
    rule = _rule_pack_with(tmp_path, "op: equals", "opp: equals")
    err = _error(lambda _: load_rule_pack(rule.parent), rule)
    assert err.line is not None
    assert rule.read_text(encoding="utf-8").splitlines()[err.line - 1].strip() == "opp: equals"
    assert "unknown key 'opp'; did you mean 'op'?" in err.message
    assert "known here: key, op, value" in err.message


def test_rule_top_level_typo_offers_the_rule_keys(tmp_path: Path) -> None:
    """A typo at the top of a rule file offers the rule file's own keys."""
    rule = _rule_pack_with(tmp_path, "severity:", "severty:")
    err = _error(lambda _: load_rule_pack(rule.parent), rule)
    assert "severty: unknown key 'severty'; did you mean 'severity'?" in err.message


def test_waiver_typo_offers_the_waiver_keys(tmp_path: Path) -> None:
    """A typo in a waiver names the key it should be and the keys a waiver has."""
    path = _write(tmp_path, "waivers.yaml", WAIVERS.replace("owner:", "ownr:"))
    err = _error(load_waivers, path)
    assert err.line == 6
    assert "did you mean 'owner'?" in err.message
    assert "tenant, rule, subject, reason, owner, expires" in err.message


def test_waiver_missing_expiry_says_how_to_write_it(tmp_path: Path) -> None:
    """A waiver without expires says it is required and how a date is written."""
    path = _write(tmp_path, "waivers.yaml", WAIVERS.replace("    expires: 2026-07-01\n", ""))
    err = _error(load_waivers, path)
    assert err.line == 3
    assert "'expires' is required here" in err.message
    assert "YYYY-MM-DD" in err.message


def test_wrong_version_says_the_version_to_write(tmp_path: Path) -> None:
    """An unsupported file version says which one is expected, in config and waivers alike."""
    waivers = _error(load_waivers, _write(tmp_path, "w.yaml", WAIVERS.replace("1", "2", 1)))
    config = _error(load_config, _write(tmp_path, "c.yaml", CONFIG.replace("1", "2", 1)))
    for err in (waivers, config):
        assert err.line == 1
        assert "version: 'version' must be 1" in err.message


def test_rule_overrides_typo_lists_the_allowed_keys(tmp_path: Path) -> None:
    """The config's rules: overrides are checked by the same translator, with their line."""
    path = _write(
        tmp_path, "auditor.yaml", CONFIG + "rules:\n  disable: [okta_app_active]\n"
    )
    config, lines = load_config_with_lines(path)
    with pytest.raises(InputError) as caught:
        load_rule_pack(overrides=config.rules, overrides_lines=lines)
    assert caught.value.path == path
    assert caught.value.line == 12
    message = caught.value.message
    assert "rules.disable: unknown key 'disable' (known here: params, severity)" in message
