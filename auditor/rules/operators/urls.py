"""Operators on URLs: a host within a domain, a URL on a given origin."""

from __future__ import annotations

from auditor.rules.messages import fmt
from auditor.rules.operators.base import (
    ERROR,
    FAIL,
    NOT_EVALUATED,
    PASS,
    Check,
    constant,
    register,
    typed,
)
from auditor.rules.outcome import Verdict
from auditor.rules.urls import host_within, origin, origin_difference, origin_text
from auditor.urls import split_url


def _host_view(check: Check) -> object:
    return f"host within {fmt(check.want)}"


@register("host_within", expected=_host_view, operand="text")
def _host_within(check: Check) -> Verdict:
    """The URL's host is valid (RFC 3986) and is the domain or a subdomain of it."""
    url = typed(check, str, "a URL")
    if isinstance(url, Verdict):
        return url
    domain = check.want
    if not isinstance(domain, str):
        return Verdict(ERROR, f"the rule's domain {fmt(domain)} is not a string", url)
    inside, why = host_within(url, domain)
    message = f"{check.subject}: {why}" if check.subject else why
    return Verdict(PASS if inside else FAIL, message, url)


def _origins(check: Check) -> list[str]:
    want = check.want
    values = want if isinstance(want, list) else [want]
    return [value for value in values if isinstance(value, str)]


def _origin_view(check: Check) -> object:
    origins = [origin_text(value) for value in _origins(check)]
    return origins[0] if len(origins) == 1 else origins


@register("same_origin", expected=_origin_view, operand="text_or_list")
def _same_origin(check: Check) -> Verdict:
    """The URL has the scheme, host and port of the operand URL (or of one of them)."""
    got = typed(check, str, "a URL")
    if isinstance(got, Verdict):
        return got
    allowed = _origins(check)
    if not allowed:
        return Verdict(NOT_EVALUATED, "no origin to compare with", got)
    got_origin = origin(got)
    for candidate in allowed:
        if got_origin is not None and got_origin == origin(candidate):
            message = f"{check.lead}{fmt(got)} is on {origin_text(candidate)}"
            return Verdict(PASS, message, got)
    shown = " or ".join(origin_text(candidate) for candidate in allowed)
    why = origin_difference(got, allowed[0])
    message = f"{check.lead}{fmt(got)} is not on {shown}" + (f": {why}" if why else "")
    return Verdict(FAIL, message, got)


@register("no_query_or_fragment", expected=constant("no query or fragment"), operand="none")
def _no_query_or_fragment(check: Check) -> Verdict:
    """The URL has neither a query (``?``) nor a fragment (``#``), as an OIDC issuer must."""
    url = typed(check, str, "a URL")
    if isinstance(url, Verdict):
        return url
    parts = split_url(url)
    # Without ``scheme://`` there is no query to speak of; same_origin reports that URL.
    if parts is None or (parts.query is None and parts.fragment is None):
        return Verdict(PASS, f"{check.lead}{fmt(url)} has no query or fragment", url)
    found = [f"query ?{parts.query}"] if parts.query is not None else []
    found += [f"fragment #{parts.fragment}"] if parts.fragment is not None else []
    message = f"{check.lead}{fmt(url)} has a {' and a '.join(found)}"
    return Verdict(FAIL, message, url)
