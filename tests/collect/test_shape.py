"""auditor.collect.shape: how a payload of the wrong shape is worded, for every source."""

from __future__ import annotations

import pytest

from auditor.collect.shape import ShapeError, parse
from auditor.snapshot import OktaApp, OktaProfileMapping, OktaScopeGrant


def shape_error(kind: type, raw: object) -> str:
    with pytest.raises(ShapeError) as caught:
        parse(kind, raw, "GET /x")
    return caught.value.message


def test_unknown_keys_and_values_are_kept_absent_fields_stay_none() -> None:
    """Keys the audit does not read are ignored; unknown enum strings pass; absent is None."""
    app = parse(
        OktaApp,
        {"id": "0oa1", "_links": {}, "settings": {"oauthClient": {"grant_types": ["urn:new"]}}},
        "GET /x",
    )
    assert app.settings is not None
    assert app.settings.oauthClient is not None
    assert app.settings.oauthClient.grant_types == ["urn:new"]
    assert app.settings.oauthClient.consent_method is None
    assert app.credentials is None


def test_types_are_strict() -> None:
    """A boolean sent as text or a string sent as a number is refused, not coerced."""
    assert shape_error(OktaApp, {"id": "a", "credentials": {"oauthClient": {
        "pkce_required": "true"}}}) == (
        "GET /x returned a response of an unexpected shape "
        "(credentials.oauthClient.pkce_required: bool_type)"
    )
    assert "[0].id: string_type" in shape_error(list[OktaScopeGrant], [{"id": 7}])


def test_message_is_one_line_without_values() -> None:
    """A hostile key is quoted and cut short, the value never appears, at most 3 are listed."""
    key = "evil\nkey" + "x" * 100
    message = shape_error(
        OktaProfileMapping,
        # The secret is a wrong-typed value among the listed errors: shown if values were.
        {"id": 1, "source": {"id": ["s3cr3t-v4lue"]}, "target": 3,
         "properties": {key: {"expression": "fine"}, "ok": {"expression": 5}}},
    )
    assert "\n" not in message
    assert "s3cr3t-v4lue" not in message
    assert message.startswith("GET /x returned a response of an unexpected shape (id: string_type")
    assert message.endswith("; 1 more)")
    assert shape_error(OktaProfileMapping, {"id": "m", "properties": {key: {"expression": 1}}}) == (
        "GET /x returned a response of an unexpected shape "
        f"(properties.{key[:40] + '...'!r}.expression: string_type)"
    )


def test_a_body_that_is_not_an_object_is_named_as_such() -> None:
    """A list where an object is due is reported against the whole body."""
    assert shape_error(OktaApp, ["not", "an", "app"]).endswith("(the whole body: model_type)")
