"""auditor.urls.origin: the one answer to "is this URL on that org?" for collectors and rules."""

from __future__ import annotations

import pytest

from auditor.collect import okta_client
from auditor.collect.discovery import issuer_refusal
from auditor.rules import urls as rule_urls
from auditor.urls import origin


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://acme.okta.com", ("https", "acme.okta.com", 443)),
        ("https://ACME.okta.com:443/oauth2/default", ("https", "acme.okta.com", 443)),
        ("HTTPS://acme.okta.com./", ("https", "acme.okta.com", 443)),
        ("http://127.0.0.1:8080/x", ("http", "127.0.0.1", 8080)),
        ("https://acme.okta.com:/", ("https", "acme.okta.com", 443)),
        ("http://[::1]:9/", ("http", "[::1]", 9)),
        ("ftp://files.acme.com", ("ftp", "files.acme.com", None)),
    ],
)
def test_origin_of_a_usable_url(url: str, expected: tuple[str, str, int | None]) -> None:
    """Scheme and host are compared without case, the port falls back to the scheme's."""
    assert origin(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.okta.com:abc/",  # a port that is not a number
        "https://acme.okta.com:99999/",  # a port beyond 65535
        "https://acme.okta.com:\uff14\uff14\uff13/",  # fullwidth digits, not ASCII ones
        "https://acme.okta.com@evil.example/",  # user info hides the real host
        "https:// acme.okta.com",  # a space in the host
        "https://evil.example\\@acme.okta.com",  # a backslash browsers read as a slash
        "https://[::1/",  # an unclosed IPv6 literal
        "https://[::1]x/",  # junk after an IPv6 literal
        "https://999.1.1.1/",  # not an IPv4 address
        "https:///path",  # no host
        "acme.okta.com",  # no scheme://
        "https://acme.okta.com\n",  # a trailing newline ("$" alone would let it through)
    ],
)
def test_url_without_an_origin_is_none(url: str) -> None:
    """A URL a client would refuse, or read as another host, has no origin at all."""
    assert origin(url) is None


def test_collector_and_rules_share_one_origin() -> None:
    """The collector, the rules and the neutral module are the same function."""
    assert okta_client.origin is origin
    assert rule_urls.origin is origin


def test_an_invalid_port_is_on_no_org() -> None:
    """An issuer with a non-numeric port is neither fetched nor passed by the issuer rule."""
    refusal = issuer_refusal("https://acme.okta.com:abc/", ["https://acme.okta.com"])
    assert refusal == "is not on the tenant's Okta org"
    why = rule_urls.origin_difference("https://acme.okta.com:abc/", "https://acme.okta.com")
    assert why == "port 'abc' is not a number from 0 to 65535"


@pytest.mark.parametrize(
    "issuer",
    [
        "https://user:pw@acme.okta.com",  # user info before the org's own host
        "https://acme.okta.com@evil.example",  # the org's name as user info
        "https://acme.okta.com/oauth2/ default",  # a space in the path
    ],
)
def test_an_issuer_with_user_info_or_a_space_is_on_no_org(issuer: str) -> None:
    """User info or whitespace in an issuer keeps its discovery document from being fetched."""
    assert issuer_refusal(issuer, ["https://acme.okta.com"]) == "is not on the tenant's Okta org"
