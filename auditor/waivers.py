"""Waivers as code: accepted risks, written down with an owner, a reason and an expiry.

The config names a YAML file (``waivers: waivers.yaml``, relative to the config)::

    version: 1
    waivers:
      - tenant: acme                  # a tenant id, or "*" for every tenant
        rule: okta_app_no_foreign_redirect_uris
        subject: https://sso.partner.example/cb   # optional, see "Subjects" below
        reason: Partner SSO migration, ticket SEC-142
        owner: alice@example.com
        expires: 2025-06-30           # required; the waiver applies through this day

A waived failure keeps its ``fail`` status and carries a :class:`WaiverNote`, so it is
shown in both reports but does not count for the exit code or alerts. Only ``fail``
results are waived: a rule that could not be evaluated (``error``, ``not_evaluated``)
is about missing data, which no waiver can accept.

Time: a waiver whose ``expires`` is before today stops applying by itself and is reported
``expired``; one expiring within ``soon_days`` (14, inclusive) still applies, its note
says ``expiring_soon`` and it is reported ``expiring``; one that matched no failing
result in the run is reported ``stale`` (whether or not it is expiring).

Subjects: results carry no structured subject, so a waiver's ``subject`` is matched
against the result's message, which names every offending value ("redirect URI
https://evil.example.com/cb: host ... is outside ..."). The subject must appear there as
a whole token (the exact string, case-sensitive, not as part of a longer URL, host or
scope). A message lists its problems separated by ``"; "``; a result is waived only
when every problem is covered (contains the subject of a matching waiver, or a matching
waiver has no subject). So a waiver for one accepted redirect URI never hides a second,
new one: the result fails again, naming both. (A limitation: a problem that names
several values in one sentence, such as "has implicit, password, beyond the allowed",
is covered by a waiver for any one of them.)
"""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auditor.results import ResultStatus, RuleResult, WaiverIssue, WaiverNote
from auditor.yamlsource import LineIndex, load_yaml

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from pathlib import Path

    from auditor.yamlsource import Loc

ANY_TENANT = "*"
SOON_DAYS = 14

# Used with fullmatch: ``$`` would also match before a final newline.
_TENANT = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Characters that continue a token (URL, host, scope id, attribute name); "." and ":"
# continue it only when followed by one of these ("okta.users" is not in "okta.users.read",
# but "https://x/cb" is in "https://x/cb: host x is ...").
_TOKEN_CHAR = r"[\w\-/@%?#=&+~*]"  # noqa: S105 - a regex, not a password
_PROBLEM_SEPARATOR = "; "


class Waiver(BaseModel):
    """One accepted risk: a rule's failure for a tenant (or all), until a date."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    tenant: str = Field(min_length=1, description='A tenant id, or "*" for every tenant.')
    rule: str = Field(min_length=1, description="A rule id of the pack.")
    subject: str | None = Field(
        default=None, min_length=1, description="A value the result's message names."
    )
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    expires: date = Field(description="the last day the waiver applies, YYYY-MM-DD")

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, tenant: str) -> str:
        if tenant != ANY_TENANT and not _TENANT.fullmatch(tenant):
            raise ValueError(f'tenant {tenant!r} must be a tenant id or "*" for every tenant')
        return tenant

    @field_validator("expires", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        # YAML gives a date for 2025-06-30; pydantic alone would also take a datetime, a
        # Unix timestamp (20250630) or "2025-6-30", all ambiguous in a file people edit.
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
            return value.strip()
        shown = value.isoformat() if isinstance(value, date) else repr(value)
        raise ValueError(f"expires must be a date written YYYY-MM-DD, without a time (got {shown})")

    def covers_tenant(self, tenant_id: str) -> bool:
        """True when the waiver is for this tenant (by id or ``*``)."""
        return self.tenant in (ANY_TENANT, tenant_id)

    def names(self, problem: str) -> bool:
        """True when the waiver covers this problem: no subject, or the subject in it."""
        return self.subject is None or _mentions(problem, self.subject)


class _WaiverFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    waivers: list[Waiver] = Field(default_factory=list)


# --------------------------------------------------------------------------- loading


def load_waivers(
    path: Path,
    known_rules: Collection[str] | None = None,
    *,
    known_tenants: Collection[str] | None = None,
) -> list[Waiver]:
    """The waivers of the YAML file at ``path``, in file order.

    Every problem is an :class:`InputError` naming the file and line: bad YAML, an unknown
    key, a missing or empty field, a bad date, a rule not in ``known_rules`` or a tenant
    not in ``known_tenants`` (when given), a waiver written twice.
    """
    data, index = load_yaml(path)
    if data is None:
        return []  # an empty file waives nothing
    if not isinstance(data, dict):
        raise index.error((), "a waiver file is a mapping with a 'waivers:' list")
    parsed = _validate(data, index)
    seen: dict[tuple[str, str, str | None], int] = {}
    for i, waiver in enumerate(parsed.waivers):
        loc: Loc = ("waivers", i)
        if known_rules is not None and waiver.rule not in known_rules:
            raise index.error((*loc, "rule"), _unknown("rule", waiver.rule, known_rules))
        if (
            known_tenants is not None
            and waiver.tenant != ANY_TENANT
            and waiver.tenant not in known_tenants
        ):
            raise index.error((*loc, "tenant"), _unknown("tenant", waiver.tenant, known_tenants))
        key = (waiver.tenant, waiver.rule, waiver.subject)
        if key in seen:
            raise index.error(
                loc,
                f"a second waiver for tenant {waiver.tenant}, rule {waiver.rule}"
                + (f", subject {waiver.subject}" if waiver.subject else "")
                + f" (the first is at line {seen[key]}): keep one",
            )
        seen[key] = index.line_of(loc)
    return list(parsed.waivers)


def _validate(data: dict[str, Any], index: LineIndex) -> _WaiverFile:
    try:
        return _WaiverFile.model_validate(data)
    except ValidationError as exc:
        raise index.invalid(exc, _WaiverFile) from None


def _unknown(what: str, value: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(value, sorted(known), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"unknown {what} {value!r}{hint}"


# -------------------------------------------------------------------------- applying


def apply_waivers(
    results_by_tenant: Mapping[str, list[RuleResult]],
    waivers: list[Waiver],
    *,
    today: date,
    soon_days: int = SOON_DAYS,
) -> tuple[dict[str, list[RuleResult]], list[WaiverIssue]]:
    """Mark the failures covered by unexpired waivers; report the waivers needing care.

    Returns the results (same tenants, same order; a covered failure gets its
    ``waiver`` note, every other result has none) and the issues (:meth:`WaiverBook.issues`).
    A whole run at once: a streamed run uses :class:`WaiverBook` tenant by tenant.
    """
    book = WaiverBook(waivers, today=today, soon_days=soon_days)
    out = {tenant: book.apply(tenant, results) for tenant, results in results_by_tenant.items()}
    return out, book.issues()


class WaiverBook:
    """The run's waivers, applied one tenant at a time; what needs care, at the end."""

    def __init__(
        self, waivers: Sequence[Waiver], *, today: date, soon_days: int = SOON_DAYS
    ) -> None:
        self._waivers = list(waivers)
        self._today = today
        self._soon = today + timedelta(days=soon_days)
        self._live = [(i, w) for i, w in enumerate(self._waivers) if w.expires >= today]
        self._matched: set[int] = set()
        self._judged: set[int] = set()

    def apply(self, tenant_id: str, results: Sequence[RuleResult]) -> list[RuleResult]:
        """The tenant's results, each covered failure with its note and every other without."""
        out: list[RuleResult] = []
        for result in results:
            mine = [
                (i, w) for i, w in self._live
                if w.covers_tenant(tenant_id) and w.rule == result.rule_id
            ]
            if result.status in (ResultStatus.PASS, ResultStatus.FAIL):
                self._judged.update(i for i, _ in mine)
            note = None
            if result.status is ResultStatus.FAIL:
                covering = _covering(result.message, mine)
                self._matched.update(i for i, _ in covering)
                if covering and _covers_all(result.message, [w for _, w in covering]):
                    earliest = min((w for _, w in covering), key=lambda w: w.expires)
                    note = _note(earliest, self._soon)
            same = result.waiver == note
            out.append(result if same else result.model_copy(update={"waiver": note}))
        return out

    def issues(self) -> list[WaiverIssue]:
        """The waivers needing care, in file order, as seen in the tenants applied so far.

        Each expired waiver; each stale one (it matched no failure, though its rule was
        evaluated for at least one of its tenants: a waiver for a tenant not audited, or
        whose rule could not be evaluated, is not called stale); each other one expiring
        within ``soon_days``.
        """
        return _issues(
            self._waivers, matched=self._matched, judged=self._judged, today=self._today,
            soon=self._soon,
        )


def _covering(
    message: str | None, candidates: list[tuple[int, Waiver]]
) -> list[tuple[int, Waiver]]:
    """The candidates that match a failure with this message (subject named in it)."""
    problems = _problems(message)
    return [(i, w) for i, w in candidates if w.subject is None or any(map(w.names, problems))]


def _covers_all(message: str | None, covering: list[Waiver]) -> bool:
    if any(w.subject is None for w in covering):
        return True
    problems = _problems(message)
    return bool(problems) and all(any(w.names(p) for w in covering) for p in problems)


def _problems(message: str | None) -> list[str]:
    return [part for part in (message or "").split(_PROBLEM_SEPARATOR) if part.strip()]


def _mentions(text: str, subject: str) -> bool:
    """True when ``subject`` is a whole token of ``text`` (bare, or JSON-quoted)."""
    for form in dict.fromkeys((subject, _json_quoted(subject))):
        pattern = (
            rf"(?<!{_TOKEN_CHAR})(?<![.:]){re.escape(form)}"
            rf"(?!{_TOKEN_CHAR})(?![.:]{_TOKEN_CHAR})"
        )
        if re.search(pattern, text):
            return True
    return False


def _json_quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _note(waiver: Waiver, soon: date) -> WaiverNote:
    return WaiverNote(
        reason=waiver.reason,
        owner=waiver.owner,
        expires=waiver.expires.isoformat(),
        expiring_soon=waiver.expires <= soon,
    )


def _issues(
    waivers: list[Waiver], *, matched: set[int], judged: set[int], today: date, soon: date
) -> list[WaiverIssue]:
    issues: list[WaiverIssue] = []
    for i, waiver in enumerate(waivers):
        problem: Literal["stale", "expiring", "expired"] | None = None
        if waiver.expires < today:
            problem = "expired"
        elif i in judged and i not in matched:
            problem = "stale"  # delete it: whether it is expiring no longer matters
        elif waiver.expires <= soon:
            problem = "expiring"
        if problem is not None:
            issues.append(
                WaiverIssue(
                    tenant=waiver.tenant,
                    rule=waiver.rule,
                    subject=waiver.subject,
                    owner=waiver.owner,
                    expires=waiver.expires.isoformat(),
                    problem=problem,
                )
            )
    return issues
