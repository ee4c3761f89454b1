"""report.json: CONTRACT section 4's keys, validated by the schema that ships in the package."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError
from report_builders import failing, memory_run, run_of, small_run, tenant

from auditor.report import ReportFormat, load_schema, render, render_json
from auditor.results import ResultStatus, RunReport

RESULT_KEYS = ["rule_id", "status", "severity", "message", "expected", "actual", "remediation"]
TENANT_KEYS = ["tenant_id", "status", "results", "drift", "errors"]


def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _document(report: RunReport | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render_json(report or small_run()))
    return data


def test_shipped_schema_is_a_valid_draft_2020_12_schema() -> None:
    """The packaged report.schema.json is itself a valid JSON Schema, draft 2020-12."""
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_small_run_validates_against_the_shipped_schema() -> None:
    """The JSON report of a pass / fail+drift / error run is valid under the shipped schema."""
    _validator().validate(_document())


def test_document_has_the_contract_keys_in_order() -> None:
    """Top level, run, summary and tenants carry CONTRACT section 4's keys, in its order."""
    doc = _document()
    assert list(doc)[:4] == ["schema_version", "run", "summary", "tenants"]
    assert doc["schema_version"] == "1"
    assert list(doc["run"])[:3] == ["id", "started_at", "finished_at"]
    assert list(doc["summary"])[:4] == ["tenants", "passed", "failed", "errored"]
    assert {k: doc["summary"][k] for k in ("tenants", "passed", "failed", "errored")} == {
        "tenants": 3,
        "passed": 1,
        "failed": 1,
        "errored": 1,
    }
    for tenant_doc in doc["tenants"]:
        assert list(tenant_doc)[:5] == TENANT_KEYS


def test_every_result_carries_every_key() -> None:
    """Every result of every tenant (error ones too) has all seven keys, null where none applies."""
    doc = _document()
    for tenant_doc in doc["tenants"]:
        assert len(tenant_doc["results"]) == 19
        for result in tenant_doc["results"]:
            assert list(result)[:7] == RESULT_KEYS
    passed = doc["tenants"][0]["results"][0]
    assert passed["status"] == "pass"
    assert passed["expected"] is None
    assert passed["actual"] is None
    assert passed["remediation"] is None


@pytest.mark.parametrize("key", RESULT_KEYS)
def test_a_result_missing_a_key_fails_the_schema(key: str) -> None:
    """Dropping any contract key from a result makes the report invalid: the schema can fail."""
    doc = _document()
    del doc["tenants"][1]["results"][4][key]
    with pytest.raises(ValidationError, match=repr(key)):
        _validator().validate(doc)


@pytest.mark.parametrize(
    ("where", "key"),
    [
        ((), "summary"),
        (("run",), "finished_at"),
        (("tenants", 0), "drift"),
        (("tenants", 2), "errors"),
    ],
)
def test_a_report_missing_a_fixed_key_fails_the_schema(
    where: tuple[str | int, ...], key: str
) -> None:
    """Dropping a fixed key at the top, in run, or in a tenant makes the report invalid."""
    doc = _document()
    node: Any = doc
    for step in where:
        node = node[step]
    del node[key]
    with pytest.raises(ValidationError):
        _validator().validate(doc)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("tenants", 0, "status"), "ok"),
        (("tenants", 0, "results", 0, "status"), "skipped"),
        (("tenants", 0, "results", 0, "severity"), "urgent"),
        (("tenants", 1, "drift", 0, "against"), "yesterday"),
        (("run", "started_at"), "yesterday at 2"),
        (("schema_version",), "2"),
    ],
)
def test_the_schema_rejects_values_outside_the_contract(
    path: tuple[str | int, ...], value: str
) -> None:
    """A status, severity, drift basis, timestamp or version outside the contract is invalid."""
    doc = copy.deepcopy(_document())
    node: Any = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    with pytest.raises(ValidationError):
        _validator().validate(doc)


def test_json_is_deterministic_utf8_with_a_trailing_newline() -> None:
    """Two renders are byte-identical, non-ASCII stays UTF-8, and the file ends in one newline."""
    report = run_of(
        tenant("zeta", failing("okta_app_oidc_web", message="Étiquette « Rapticore »")),
        tenant("alpha"),
    )
    first = render(ReportFormat.JSON, report)
    assert first == render(ReportFormat.JSON, report)
    assert first.endswith(b"}\n")
    assert not first.endswith(b"\n\n")
    assert "Étiquette « Rapticore »".encode() in first
    assert [t["tenant_id"] for t in json.loads(first)["tenants"]] == ["zeta", "alpha"]


def test_json_round_trips_to_the_same_report() -> None:
    """report.json read back into the models equals the report it was written from."""
    report = small_run()
    assert RunReport.model_validate_json(render_json(report)) == report


def test_values_of_any_json_shape_survive() -> None:
    """Expected and actual keep their JSON shape (objects, lists, numbers, booleans)."""
    result = failing(
        "okta_app_profile_mapping",
        expected={"email": "user.email", "given_name": "user.firstName"},
        actual={"email": " user.email ", "n": 3, "ok": False},
        status=ResultStatus.FAIL,
    )
    doc = _document(run_of(tenant("acme", result)))
    _validator().validate(doc)
    got = doc["tenants"][0]["results"][10]
    assert got["expected"] == {"email": "user.email", "given_name": "user.firstName"}
    assert got["actual"] == {"email": " user.email ", "n": 3, "ok": False}


# ------------------------------------------------------------------ memory across runs

NEW_RESULT_KEYS = ["fingerprint", "lifecycle", "first_seen", "last_seen", "waiver"]


def _globex_result(doc: dict[str, Any], rule_id: str) -> dict[str, Any]:
    results = next(t for t in doc["tenants"] if t["tenant_id"] == "globex")["results"]
    result: dict[str, Any] = next(r for r in results if r["rule_id"] == rule_id)
    return result


def test_a_report_with_history_validates_and_carries_the_new_keys() -> None:
    """Lifecycle, waivers, drift added/removed, trigger and waived count validate and are kept."""
    doc = _document(memory_run())
    _validator().validate(doc)
    assert doc["run"]["trigger"] == "schedule"
    assert doc["summary"]["waived"] == 2
    assert [w["problem"] for w in doc["waivers"]] == ["stale", "expired", "expiring"]
    waived = _globex_result(doc, "okta_app_no_foreign_redirect_uris")
    assert list(waived)[7:] == ["title", *NEW_RESULT_KEYS]
    assert waived["waiver"] == {
        "reason": "Partner SSO migration, ticket SEC-142",
        "owner": "alice@example.com",
        "expires": "2025-01-10",
        "expiring_soon": True,
    }
    assert _globex_result(doc, "okta_app_assigned")["first_seen"] == "2024-11-03T02:00:00Z"
    assert _globex_result(doc, "okta_app_signout_redirect_uri")["lifecycle"] == "resolved"
    drift = doc["tenants"][0]["drift"]
    assert drift[1]["added"] == ["implicit"]
    assert drift[1]["removed"] == ["refresh_token"]
    assert drift[2]["before"] == drift[2]["after"] == "rotated"
    assert RunReport.model_validate_json(render_json(memory_run())) == memory_run()


def test_the_new_keys_are_optional() -> None:
    """A report from before run history (no trigger, waived, lifecycle...) still validates."""
    doc = _document(memory_run())
    del doc["run"]["trigger"], doc["summary"]["waived"], doc["waivers"]
    for tenant_doc in doc["tenants"]:
        for result in tenant_doc["results"]:
            for key in NEW_RESULT_KEYS:
                del result[key]
        for entry in tenant_doc["drift"]:
            del entry["added"], entry["removed"]
    _validator().validate(doc)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("run", "trigger"), "cron"),
        (("summary", "waived"), -1),
        (("summary", "waived"), "2"),
        (("tenants", 0, "results", 0, "lifecycle"), "fixed"),
        (("tenants", 0, "results", 0, "first_seen"), "last tuesday"),
        (("tenants", 0, "results", 0, "last_seen"), 20250101),
        (("tenants", 0, "results", 0, "fingerprint"), 42),
        (("tenants", 0, "results", 5, "waiver"), "yes"),
        (("tenants", 0, "results", 5, "waiver", "expires"), "next month"),
        (("tenants", 0, "results", 5, "waiver", "expires"), "2025-02-30"),
        (("tenants", 0, "results", 5, "waiver", "expiring_soon"), "true"),
        (("tenants", 0, "results", 5, "waiver", "owner"), None),
        (("tenants", 0, "drift", 0, "added"), "https://evil.example.com/cb"),
        (("tenants", 0, "drift", 0, "removed"), {"uri": "x"}),
        (("waivers",), {"tenant": "acme"}),
        (("waivers", 0, "problem"), "old"),
        (("waivers", 0, "expires"), "2025-03-01T00:00:00Z"),
        (("waivers", 0, "subject"), ["a"]),
    ],
)
def test_the_new_keys_reject_wrong_types(path: tuple[str | int, ...], value: Any) -> None:
    """A new key holding the wrong type or an unknown value makes the report invalid."""
    doc = _document(memory_run())
    _validator().validate(doc)
    node: Any = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    with pytest.raises(ValidationError):
        _validator().validate(doc)


@pytest.mark.parametrize("key", ["reason", "owner", "expires"])
def test_a_waiver_note_missing_a_key_fails_the_schema(key: str) -> None:
    """A waiver note without its reason, owner or expiry is invalid."""
    doc = _document(memory_run())
    del _globex_result(doc, "okta_app_no_foreign_redirect_uris")["waiver"][key]
    with pytest.raises(ValidationError, match=f"{key!r} is a required property"):
        _validator().validate(doc)


@pytest.mark.parametrize(
    ("rule_id", "key", "value"),
    [
        # A passing result cannot be waived, nor be new; a failing one cannot be resolved.
        ("okta_app_oidc_web", "waiver", {"reason": "r", "owner": "o", "expires": "2025-06-30"}),
        ("okta_app_oidc_web", "lifecycle", "new"),
        ("okta_app_active", "lifecycle", "resolved"),
    ],
)
def test_lifecycle_and_waiver_must_agree_with_the_status(
    rule_id: str, key: str, value: object
) -> None:
    """The schema refuses a waived or new passing result and a resolved failing one."""
    doc = _document(memory_run())
    _globex_result(doc, rule_id)[key] = value
    with pytest.raises(ValidationError):
        _validator().validate(doc)
