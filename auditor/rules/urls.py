"""URL answers for the redirect and issuer rules, and the near-miss diagnosis.

OAuth servers compare redirect URIs as plain strings (RFC 6749 section 3.1.2.3), so the
rules compare strings too. This module only *explains* a difference in words a person
can act on ("has a trailing slash", "explicit :443 port"), and says whether a URL's host
is within a domain for the foreign-host rule. URLs are split, and hosts and origins
judged, by :mod:`auditor.urls`, the parser the collectors use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.urls import host_problem, normalized_host, split_url

# One origin() for the collectors and the rules: re-exported for the operators.
from auditor.urls import origin as origin  # noqa: PLC0414 - an explicit re-export

if TYPE_CHECKING:
    from auditor.rules.values import Template
    from auditor.urls import UrlParts


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
