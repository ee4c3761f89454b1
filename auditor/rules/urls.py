"""URL pieces for the redirect and issuer rules, and the near-miss diagnosis.

OAuth servers compare redirect URIs as plain strings (RFC 6749 section 3.1.2.3), so the
rules compare strings too. This module only *explains* a difference in words a person
can act on ("has a trailing slash", "explicit :443 port"), and decides whether a host is
a valid DNS name or IP address (RFC 3986 section 3.2.2) for the foreign-host rule.

We parse the authority ourselves rather than trust :func:`urllib.parse.urlsplit`, which
accepts hosts with spaces or backslashes that browsers and Okta read differently.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

# One origin() for the collectors and the rules: re-exported for the operators.
from auditor.urls import origin as origin  # noqa: PLC0414 - an explicit re-export

if TYPE_CHECKING:
    from auditor.rules.values import Template

_URL = re.compile(
    r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#(.*))?$", re.DOTALL
)
_DNS_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_IPV4_SHAPE = re.compile(r"^[0-9.]+$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_DNS_NAME = 253


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
        if self.port:
            return int(self.port) if self.port.isdigit() else None
        return _DEFAULT_PORTS.get(self.scheme.lower())


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
        if end != -1:
            rest = authority[end + 1 :]
            return authority[: end + 1], rest[1:] if rest.startswith(":") else None
        return authority, None
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


def host_within(url: str, domain: str) -> tuple[bool, str]:
    """Whether the URL's host is ``domain`` or a subdomain of it, and why (or why not)."""
    parts = split_url(url)
    if parts is None:
        return False, "is not an absolute URL with a host (scheme://host/...)"
    if parts.userinfo is not None:
        return False, f"has user info {parts.userinfo!r}@ before the host, which hides the host"
    problem = host_problem(parts.host)
    if problem:
        return False, problem
    host, want = normalized_host(parts.host), normalized_host(domain)
    if host == want or host.endswith("." + want):
        return True, f"host {host} is within {want}"
    return False, f"host {host} is outside {want}"


def origin_text(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` for messages (the URL itself if unparsable)."""
    parts = split_url(url)
    if parts is None:
        return url
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}"


def origin_difference(url: str, want: str) -> str:
    """What differs between the origins of ``url`` and ``want``, in words."""
    got_o, want_o = origin(url), origin(want)
    if got_o is None:
        parts = split_url(url)
        if parts is None:
            return "is not an absolute URL"
        if parts.userinfo is None and not host_problem(parts.host):
            return f"port {parts.port!r} is not a number from 0 to 65535"
        return host_problem(parts.host) or "has user info before the host"
    if want_o is None:
        return f"cannot compare with {want!r}"
    notes = []
    if got_o[0] != want_o[0]:
        notes.append(f"scheme {got_o[0]}, not {want_o[0]}")
    if got_o[1] != want_o[1]:
        notes.append(f"host {got_o[1]}, not {want_o[1]}")
    if got_o[2] != want_o[2]:
        notes.append(f"port {got_o[2]}, not {want_o[2]}")
    return "; ".join(notes)


# ----------------------------------------------------------------------- diagnosis


def diagnose(
    candidate: str,
    expected: str,
    template: Template | None = None,
    template_values: tuple[str, ...] = (),
) -> list[str]:
    """Why ``candidate`` is not ``expected``, as short phrases; [] when no good guess.

    With the template ``expected`` was rendered from, a difference in a placeholder is
    named after it: "names tenant acme2, not acme".
    """
    if candidate == expected:
        return []
    notes: list[str] = []
    if any(ch.isspace() for ch in candidate) and not any(ch.isspace() for ch in expected):
        notes.append("has a space")
        candidate = "".join(candidate.split())
        if candidate == expected:
            return notes
    if template is not None and template_values:
        candidate, var_notes = _placeholder_differences(candidate, template, template_values)
        notes.extend(var_notes)
        if candidate == expected:
            return notes
    got, want = split_url(candidate), split_url(expected)
    if got is not None and want is not None:
        notes.extend(_url_differences(got, want))
    elif candidate.lower() == expected.lower():
        notes.append("differs only in upper/lower case")
    elif candidate.rstrip("/") == expected.rstrip("/"):
        notes.append("has a trailing slash" if candidate.endswith("/") else "lacks the final /")
    return notes


def _placeholder_differences(
    candidate: str, template: Template, values: tuple[str, ...]
) -> tuple[str, list[str]]:
    """Name placeholders whose text differs; return the candidate with them corrected."""
    match = template.pattern().match(candidate)
    if match is None:
        return candidate, []
    notes: list[str] = []
    fixed = candidate
    spans = []
    for number, (var, want) in enumerate(zip(template.vars, values, strict=True), start=1):
        got = match.group(number)
        if got.lower() != want.lower():
            notes.append(f"names {var.label} {got}, not {want}")
            spans.append((match.span(number), want))
    for (start, end), want in reversed(spans):
        fixed = fixed[:start] + want + fixed[end:]
    return fixed, notes


def _url_differences(got: UrlParts, want: UrlParts) -> list[str]:
    notes: list[str] = []
    if got.scheme.lower() != want.scheme.lower():
        notes.append(f"uses {got.scheme}, not {want.scheme}")
    elif got.scheme != want.scheme:
        notes.append("scheme has upper-case letters")
    if got.userinfo != want.userinfo:
        notes.append(f"has user info {got.userinfo}@" if got.userinfo else "lacks the user info")
    if got.host != want.host:
        if got.host.lower() == want.host.lower():
            notes.append("host has upper-case letters")
        else:
            notes.append(f"host {got.host}, not {want.host}")
    if got.port != want.port:
        notes.append(_port_note(got, want))
    if got.path != want.path:
        notes.append(_path_note(got.path, want.path))
    if got.query != want.query:
        notes.append(f"query ?{got.query}" if got.query is not None else "lacks the query")
    if got.fragment != want.fragment:
        notes.append(f"fragment #{got.fragment}" if got.fragment is not None else "no fragment")
    return notes


def _port_note(got: UrlParts, want: UrlParts) -> str:
    if want.port is None and got.port_number == want.port_number:
        return f"explicit :{got.port} port"
    if got.port is None:
        return f"lacks the :{want.port} port"
    return f"port :{got.port}, not :{want.port or want.port_number}"


def _path_note(got: str, want: str) -> str:
    if got == want + "/":
        return "has a trailing slash"
    if got + "/" == want:
        return "lacks the trailing slash"
    if got.lower() == want.lower():
        return "path differs in upper/lower case"
    return f"different path {got or '(empty)'}"
