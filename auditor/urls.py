"""URLs split and judged once, for the collectors and the rules: origin, host, parts.

Both layers ask the same question of tenant data: is this URL on that org? The
collector asks before it fetches an issuer's discovery document or follows a
pagination link; the ``same_origin`` rule asks when it judges Cognito's issuer. If the
two answered differently, the auditor could fetch what the rule then calls foreign, or
the reverse, so there is one answer, here, on one parser the rules' messages share.

A URL has an origin (RFC 6454) only when a browser or an HTTP client would agree on
where it points: ``scheme://`` and an authority, no user info
(``https://acme.okta.com@evil.com`` hides its host), a host that is a DNS name or an IP
address (RFC 3986 section 3.2.2), and a port that is a number from 0 to 65535.
``https://acme.okta.com:abc/`` has none: a client refuses it, so it is on no org.

We split the authority ourselves rather than trust :func:`urllib.parse.urlsplit`, which
accepts hosts with spaces or backslashes that browsers and Okta read differently.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

Origin = tuple[str, str, int | None]
"""(lower-case scheme, lower-case host without a final dot, port or the scheme's default)."""

_URL = re.compile(
    r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#(.*))?$", re.DOTALL
)
_DNS_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_IPV4_SHAPE = re.compile(r"^[0-9.]+$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_DNS_NAME = 253
_MAX_PORT = 65535


@dataclass(frozen=True)
class UrlParts:
    """A URL with an authority, split as RFC 3986 section 3 describes (nothing decoded)."""

    scheme: str
    userinfo: str | None
    host: str
    port: str | None  # the text after ':', possibly empty or not a number
    path: str
    query: str | None
    fragment: str | None

    @property
    def port_number(self) -> int | None:
        """The port, explicit or the scheme's default; None when unknown or invalid."""
        if not self.port:  # absent, or ``host:`` (RFC 3986: an empty port is the default)
            return _DEFAULT_PORTS.get(self.scheme.lower())
        if self.port.isascii() and self.port.isdigit() and int(self.port) <= _MAX_PORT:
            return int(self.port)
        return None


def split_url(text: str) -> UrlParts | None:
    """Split ``scheme://authority/path?query#fragment``; None without ``scheme://``."""
    match = _URL.match(text)
    if match is None:
        return None
    scheme, authority, path, query, fragment = match.groups()
    userinfo: str | None = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
    host, port = _split_host_port(authority)
    return UrlParts(scheme, userinfo, host, port, path, query, fragment)


def _split_host_port(authority: str) -> tuple[str, str | None]:
    if authority.startswith("["):
        end = authority.find("]")
        rest = authority[end + 1 :]
        if end == -1 or (rest and not rest.startswith(":")):
            return authority, None  # an unclosed literal or junk after it: an invalid host
        return authority[: end + 1], rest[1:] if rest else None
    host, colon, port = authority.rpartition(":")
    if colon:
        return host, port
    return authority, None


def host_problem(host: str) -> str | None:
    """Why ``host`` is not a valid DNS name or IP address, or None when it is."""
    if not host:
        return "has no host"
    if host.startswith("["):
        return _ip_problem(host[1:-1] if host.endswith("]") else host, ipaddress.IPv6Address)
    if _IPV4_SHAPE.fullmatch(host):
        return _ip_problem(host, ipaddress.IPv4Address)
    name = host.removesuffix(".")
    labels_ok = all(_DNS_LABEL.fullmatch(label) for label in name.split("."))
    if len(name) > _MAX_DNS_NAME or not labels_ok:
        return f"host {host!r} is not a valid DNS name or IP address (RFC 3986)"
    return None


def _ip_problem(text: str, kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> str | None:
    try:
        kind(text)
    except ValueError:
        return f"host {text!r} is not a valid {kind.__name__.removesuffix('Address')} address"
    return None


def normalized_host(host: str) -> str:
    """Hosts compare case-insensitively; a final root dot changes nothing."""
    return host.lower().removesuffix(".")


def origin(url: str) -> Origin | None:
    """The origin of ``url`` as RFC 6454 compares them; None when it names none."""
    parts = split_url(url)
    if parts is None or parts.userinfo is not None:
        return None
    host = normalized_host(parts.host)
    port = parts.port_number
    if host_problem(host) or (parts.port and port is None):
        return None
    return parts.scheme.lower(), host, port
