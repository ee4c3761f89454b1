"""Waivers: loading (every mistake names its line) and applying (time, subjects, staleness)."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import time_machine
from builders import change, compliant_snapshot, with_section

from auditor.errors import InputError
from auditor.results import ResultStatus, RuleResult, WaiverNote
from auditor.rules import load_rule_pack
from auditor.snapshot import Section, TenantSnapshot
from auditor.waivers import Waiver, apply_waivers, load_waivers

if TYPE_CHECKING:
    from auditor.rules.engine import RulePack

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "waivers.yaml"
TODAY = date(2026, 6, 1)
FOREIGN = "okta_app_no_foreign_redirect_uris"
REDIRECTS = "okta.app.settings.oauthClient.redirect_uris"
SIGN_IN = "https://auth.acme.rapticore.io/oauth2/idpresponse"
PARTNER = "https://sso.partner.example/cb"
EVIL = "https://evil.example.com/cb"


@pytest.fixture(scope="module")
def pack() -> RulePack:
    """The packaged rule pack, loaded once."""
    return load_rule_pack()


def write(tmp_path: Path, text: str) -> Path:
    """A waiver file with ``text`` (dedented)."""
    path = tmp_path / "waivers.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def waiver(**fields: object) -> Waiver:
    """A valid waiver for acme's foreign-redirect rule, far from expiry, with changes."""
    data: dict[str, object] = {
        "tenant": "acme",
        "rule": FOREIGN,
        "reason": "partner cut-over",
        "owner": "alice@rapticore.io",
        "expires": TODAY + timedelta(days=90),
    }
    return Waiver.model_validate(data | fields)


def evaluate(pack: RulePack, snapshot: TenantSnapshot) -> dict[str, list[RuleResult]]:
    """The pack's results for one tenant, keyed by its id."""
    return {snapshot.tenant_id: pack.evaluate(snapshot)}


def result(results: dict[str, list[RuleResult]], rule: str, tenant: str = "acme") -> RuleResult:
    """One rule's result for one tenant."""
    return next(r for r in results[tenant] if r.rule_id == rule)


def with_redirects(*uris: str, tenant: str = "acme") -> TenantSnapshot:
    """A compliant tenant whose redirect URIs are ``uris``."""
    return change(compliant_snapshot(tenant), REDIRECTS, list(uris))


# ------------------------------------------------------------------------------ loading


def test_example_file_loads_against_the_rule_pack(pack: RulePack) -> None:
    """The shipped example is valid: known rules, dates, every required field."""
    waivers = load_waivers(EXAMPLE, set(pack.ids), known_tenants={"acme"})
    assert [(w.tenant, w.rule) for w in waivers] == [
        ("acme", FOREIGN),
        ("*", "okta_app_signout_redirect_uri"),
    ]
    assert waivers[0].expires == date(2027, 3, 31)


def test_empty_file_waives_nothing(tmp_path: Path) -> None:
    """An empty waiver file is no waivers, not an error."""
    assert load_waivers(write(tmp_path, "")) == []


GOOD = """
    version: 1
    waivers:
      - tenant: acme
        rule: okta_app_active
        reason: app paused for migration
        owner: bob@rapticore.io
        expires: 2026-07-01
"""


@pytest.mark.parametrize(
    ("old", "new", "line", "says"),
    [
        ("    expires: 2026-07-01\n", "", 3, "'expires' is required"),
        ("2026-07-01", "2026-02-30", 7, "YYYY-MM-DD"),
        ("2026-07-01", "2026-13-01", 7, "YYYY-MM-DD"),
        ("2026-07-01", "next friday", 7, "YYYY-MM-DD"),
        ("2026-07-01", "2026-07-01 10:00:00", 7, "YYYY-MM-DD"),
        ("2026-07-01", "20260701", 7, "YYYY-MM-DD"),
        ("expires:", "expiry:", 7, "unknown key 'expiry'"),
        ("    owner:", "    ownr: x\n    owner:", 6, "unknown key 'ownr'"),
        ("reason: app paused for migration", 'reason: "  "', 5, "'reason' must not be empty"),
        ("owner: bob@rapticore.io", "owner: ''", 6, "'owner' must not be empty"),
        ("tenant: acme", "tenant: Acme Corp", 3, "tenant id"),
        ("tenant: acme", "tenant: 42", 3, "string"),
        ("version: 1", "version: 2", 1, "version"),
        ("waivers:", "waiver:", 2, "unknown key 'waiver'"),
        ("  - tenant: acme", "  - tenant: acme\n    tenant: beta", 4, "duplicate key"),
        ("rule: okta_app_active", "rule: [okta_app_active", 5, "not valid YAML"),
    ],
)
def test_bad_file_is_an_input_error_with_its_line(
    tmp_path: Path, old: str, new: str, line: int, says: str
) -> None:
    """Each mistake in a waiver file raises InputError naming the file and the line."""
    path = write(tmp_path, textwrap.dedent(GOOD).lstrip("\n").replace(old, new))
    with pytest.raises(InputError) as caught:
        load_waivers(path)
    assert caught.value.path == path
    assert caught.value.line == line, str(caught.value)
    assert says in caught.value.message


def test_unknown_rule_is_an_input_error_with_a_suggestion(tmp_path: Path, pack: RulePack) -> None:
    """A rule id not in the pack is refused at its line, with the closest id offered."""
    path = write(tmp_path, GOOD.replace("okta_app_active", "okta_app_activ"))
    with pytest.raises(InputError) as caught:
        load_waivers(path, set(pack.ids))
    assert caught.value.line == 4
    assert "unknown rule 'okta_app_activ'; did you mean okta_app_active?" in str(caught.value)


def test_unknown_tenant_is_an_input_error(tmp_path: Path) -> None:
    """A tenant the config does not have is refused when the tenants are known."""
    with pytest.raises(InputError) as caught:
        load_waivers(write(tmp_path, GOOD), known_tenants={"beta"})
    assert (caught.value.line, "unknown tenant 'acme'" in caught.value.message) == (3, True)


def test_same_waiver_twice_is_an_input_error(tmp_path: Path) -> None:
    """Two waivers for the same tenant, rule and subject are refused at the second one."""
    entry = textwrap.dedent(GOOD).split("waivers:\n")[1]
    path = write(tmp_path, textwrap.dedent(GOOD) + entry)
    with pytest.raises(InputError) as caught:
        load_waivers(path)
    assert caught.value.line == 8
    assert "the first is at line 3" in caught.value.message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    """A bare list at the top is refused, saying what the file should look like."""
    with pytest.raises(InputError, match="'waivers:' list"):
        load_waivers(write(tmp_path, "- tenant: acme\n"))


# ----------------------------------------------------------------------------- applying


def test_unexpired_waiver_marks_the_failure_without_changing_its_status(pack: RulePack) -> None:
    """A matching waiver keeps the result failing, attaches the note, and it stops counting."""
    results = evaluate(pack, with_redirects(SIGN_IN, PARTNER))
    assert result(results, FOREIGN).counts
    waived, issues = apply_waivers(results, [waiver()], today=TODAY)
    hit = result(waived, FOREIGN)
    assert hit.status is ResultStatus.FAIL
    assert hit.waiver == WaiverNote(
        reason="partner cut-over",
        owner="alice@rapticore.io",
        expires="2026-08-30",
        expiring_soon=False,
    )
    assert not hit.counts
    assert issues == []
    others = [r for r in waived["acme"] if r.rule_id != FOREIGN]
    assert others == [r for r in results["acme"] if r.rule_id != FOREIGN]


@pytest.mark.parametrize(
    ("days_left", "flagged"), [(0, ["expiring"]), (14, ["expiring"]), (15, [])]
)
def test_waiver_expiring_within_14_days_applies_and_is_flagged(
    pack: RulePack, days_left: int, flagged: list[str]
) -> None:
    """Up to 14 days before expiry (inclusive, expiry day included) it applies and is flagged."""
    results = evaluate(pack, with_redirects(SIGN_IN, PARTNER))
    near = waiver(expires=TODAY + timedelta(days=days_left))
    waived, issues = apply_waivers(results, [near], today=TODAY)
    note = result(waived, FOREIGN).waiver
    assert note is not None
    assert note.expiring_soon is bool(flagged)
    assert [i.problem for i in issues] == flagged


def test_expired_waiver_stops_applying_by_itself(tmp_path: Path, pack: RulePack) -> None:
    """Travelling past the expiry date, the same file no longer waives and reports expired."""
    path = write(
        tmp_path,
        f"""
        waivers:
          - tenant: acme
            rule: {FOREIGN}
            reason: partner cut-over
            owner: alice@rapticore.io
            expires: 2026-06-30
        """,
    )
    results = evaluate(pack, with_redirects(SIGN_IN, PARTNER))
    waivers = load_waivers(path, set(pack.ids))
    with time_machine.travel(date(2026, 6, 30), tick=False):
        waived, issues = apply_waivers(results, waivers, today=datetime.now(UTC).date())
        assert not result(waived, FOREIGN).counts
        assert [i.problem for i in issues] == ["expiring"]
    with time_machine.travel(date(2026, 7, 1), tick=False):
        waived, issues = apply_waivers(results, waivers, today=datetime.now(UTC).date())
    assert result(waived, FOREIGN).waiver is None
    assert result(waived, FOREIGN).counts
    assert [(i.problem, i.expires, i.owner) for i in issues] == [
        ("expired", "2026-06-30", "alice@rapticore.io")
    ]


def test_waiver_matching_no_failure_is_stale(pack: RulePack) -> None:
    """A waiver whose rule passes for its tenant is reported stale, and waives nothing."""
    results = evaluate(pack, compliant_snapshot())
    waived, issues = apply_waivers(results, [waiver(expires=TODAY)], today=TODAY)
    assert waived == results
    assert [(i.tenant, i.rule, i.problem) for i in issues] == [("acme", FOREIGN, "stale")]


def test_waiver_is_not_stale_when_its_rule_could_not_be_judged(pack: RulePack) -> None:
    """No stale verdict for a tenant not audited this run, or whose rule was not evaluated."""
    broken = with_section(compliant_snapshot(), "okta.app", Section.error("HTTP 500"))
    results = evaluate(pack, broken)
    assert result(results, FOREIGN).status is ResultStatus.ERROR
    other_tenant = waiver(tenant="beta")
    waived, issues = apply_waivers(results, [waiver(), other_tenant], today=TODAY)
    assert result(waived, FOREIGN).waiver is None
    assert issues == []


def test_star_waiver_covers_every_tenant(pack: RulePack) -> None:
    """A "*" tenant applies to the failure in each tenant of the run."""
    results = evaluate(pack, with_redirects(SIGN_IN, PARTNER))
    results |= evaluate(
        pack, with_redirects(SIGN_IN.replace("acme", "beta"), PARTNER, tenant="beta")
    )
    waived, issues = apply_waivers(results, [waiver(tenant="*")], today=TODAY)
    assert result(waived, FOREIGN, "acme").waiver is not None
    assert result(waived, FOREIGN, "beta").waiver is not None
    assert issues == []


def test_only_failures_are_waived(pack: RulePack) -> None:
    """A rule that errored is not waived: missing data is not an accepted risk."""
    broken = with_section(compliant_snapshot(), "okta.app", Section.error("HTTP 500"))
    waived, _ = apply_waivers(evaluate(pack, broken), [waiver(rule="okta_app_active")], today=TODAY)
    assert result(waived, "okta_app_active").status is ResultStatus.ERROR
    assert result(waived, "okta_app_active").waiver is None


# ----------------------------------------------------------------------------- subjects


def test_subject_waiver_covers_the_uri_its_message_names(pack: RulePack) -> None:
    """subject: <uri> waives the failure whose message names exactly that URI."""
    results = evaluate(pack, with_redirects(SIGN_IN, PARTNER))
    waived, issues = apply_waivers(results, [waiver(subject=PARTNER)], today=TODAY)
    assert result(waived, FOREIGN).waiver is not None
    assert issues == []


@pytest.mark.parametrize(
    "subject",
    [
        "https://sso.partner.example",
        "sso.partner",
        "https://sso.partner.example/c",
        "HTTPS://sso.partner.example/cb",
    ],
)
def test_subject_must_be_a_whole_token(pack: RulePack, subject: str) -> None:
    """A prefix, a fragment or another case of the URI is not the URI: stale, not waived."""
    results = evaluate(pack, with_redirects(SIGN_IN, PARTNER))
    waived, issues = apply_waivers(results, [waiver(subject=subject)], today=TODAY)
    assert result(waived, FOREIGN).counts
    assert [i.problem for i in issues] == ["stale"]


def test_subject_waiver_never_hides_a_new_offender(pack: RulePack) -> None:
    """With the waived URI and a new foreign one, the failure counts again (not stale)."""
    results = evaluate(pack, with_redirects(SIGN_IN, PARTNER, EVIL))
    waived, issues = apply_waivers(results, [waiver(subject=PARTNER)], today=TODAY)
    hit = result(waived, FOREIGN)
    assert hit.counts
    assert EVIL in (hit.message or "")
    assert issues == []
    both = [waiver(subject=PARTNER), waiver(subject=EVIL, expires=TODAY + timedelta(days=3))]
    waived, issues = apply_waivers(results, both, today=TODAY)
    note = result(waived, FOREIGN).waiver
    assert note is not None
    assert (note.expires, note.expiring_soon) == ("2026-06-04", True)  # the earliest governs
    assert [i.problem for i in issues] == ["expiring"]


def test_subject_quoted_in_the_message_still_matches(pack: RulePack) -> None:
    """A URI the message quotes (it has a space) is matched by its exact text."""
    spaced = "https:// evil.example.com/cb"
    results = evaluate(pack, with_redirects(SIGN_IN, spaced))
    waived, _ = apply_waivers(results, [waiver(subject=spaced)], today=TODAY)
    assert result(waived, FOREIGN).waiver is not None


def test_applying_again_without_the_waiver_clears_the_note(pack: RulePack) -> None:
    """apply_waivers recomputes notes: with the waiver gone, the failure counts again."""
    results = evaluate(pack, with_redirects(SIGN_IN, PARTNER))
    once, _ = apply_waivers(results, [waiver()], today=TODAY)
    again, _ = apply_waivers(once, [waiver()], today=TODAY)
    assert again == once
    cleared, _ = apply_waivers(once, [], today=TODAY)
    assert cleared == results
