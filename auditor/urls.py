"""The origin of a URL (RFC 6454), decided once for the collectors and the rules.

Both layers ask the same question of tenant data: is this URL on that org? The
collector asks before it fetches an issuer's discovery document or follows a
pagination link; the ``same_origin`` rule asks when it judges Cognito's issuer. If the
two answered differently, the auditor could fetch what the rule then calls foreign, or
the reverse, so there is one answer, here.

A URL has an origin only when a browser or an HTTP client would agree on where it
points: ``scheme://`` and an authority, no user info (``https://acme.okta.com@evil.com``
hides its host), a host that is a DNS name or an IP address (RFC 3986 section 3.2.2),
and a port that is a number from 0 to 65535. ``https://acme.okta.com:abc/`` has none:
a client refuses it, so it is on no org.

We split the authority ourselves rather than trust :func:`urllib.parse.urlsplit`, which
accepts hosts with spaces or backslashes that browsers and Okta read differently.
"""

from __future__ import annotations

import ipaddress
import re

Origin = tuple[str, str, int | None]
"""(lower-case scheme, lower-case host without a final dot, port or the scheme's default)."""

_ABSOLUTE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)", re.DOTALL)
_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_PORT = 65535


def origin(url: str) -> Origin | None:
    """The origin of ``url`` as RFC 6454 compares them; None when it names none."""
    match = _ABSOLUTE.match(url)
    if match is None:
        return None
    scheme, authority = match.group(1).lower(), match.group(2)
    if "@" in authority:
        return None
    host, port_text = _split_authority(authority)
    host = host.lower().removesuffix(".")
    if not _valid_host(host):
        return None
    if not port_text:  # absent, or ``host:`` (RFC 3986: an empty port is the default)
        return scheme, host, _DEFAULT_PORTS.get(scheme)
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > _MAX_PORT:
        return None
    return scheme, host, int(port_text)


def _split_authority(authority: str) -> tuple[str, str | None]:
    if authority.startswith("["):
        end = authority.find("]")
        rest = authority[end + 1 :] if end != -1 else ""
        if end == -1 or (rest and not rest.startswith(":")):
            return authority, "invalid"  # makes the whole URL originless
        return authority[: end + 1], rest[1:] if rest else None
    host, colon, port = authority.rpartition(":")
    return (host, port) if colon else (authority, None)


def _valid_host(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        return _is_ip(host[1:-1], ipaddress.IPv6Address)
    if host.replace(".", "").isdigit():
        return _is_ip(host, ipaddress.IPv4Address)
    return _DNS_NAME.fullmatch(host) is not None  # not match(): "$" also matches before "\n"


def _is_ip(text: str, kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True
