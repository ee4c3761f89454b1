"""report.html: escaped, self-contained, worst tenants first, and readable without a browser."""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import re

import pytest
from markupsafe import escape
from report_builders import failing, memory_run, resolved, run_of, small_run, tenant, waiver

from auditor.report import ReportFormat, render
from auditor.report.html_report import drift_lines, format_value, run_duration, templates_dir
from auditor.results import DriftEntry, ResultStatus, RunReport, TenantError, WaiverIssue

PAYLOAD = "<script>alert(1)</script>"
QUOTE_PAYLOAD = '" onmouseover="alert(2)'


def _html(report: RunReport | None = None) -> str:
    return render(ReportFormat.HTML, report or small_run()).decode("utf-8")


def _tenant_order(html: str) -> list[str]:
    return re.findall(r'<details class="tenant [^"]*" id="[^"]*" data-tenant="([^"]*)"', html)


def _block(html: str, tenant_id: str) -> str:
    # Up to the next tenant (a tenant may hold <details> of its own, e.g. waived values).
    start = html.index(f'data-tenant="{tenant_id}"')
    end = html.find('<details class="tenant ', start)
    return html[start : end if end != -1 else html.index('<p id="f-none"', start)]


def hostile_run() -> RunReport:
    """A run whose every customer-controlled field carries markup."""
    evil = tenant(
        f"evil{PAYLOAD}",
        failing(
            "okta_app_oidc_web",
            message=f"app label is {PAYLOAD}",
            expected=[PAYLOAD],
            actual={"label": PAYLOAD, "attr": QUOTE_PAYLOAD},
            title=f"title {PAYLOAD}",
            lifecycle="persisting",
            first_seen=QUOTE_PAYLOAD,
        ),
        failing(
            "okta_app_no_foreign_redirect_uris",
            message=f"redirect URI {PAYLOAD}",
            expected=[],
            actual=[QUOTE_PAYLOAD],
            waiver=waiver(
                reason=f"because {PAYLOAD}",
                owner=QUOTE_PAYLOAD,
                expires="2025-01-10",
                expiring_soon=True,
            ),
        ),
        drift=[
            DriftEntry(
                path=f"okta.app.label{PAYLOAD}",
                before=PAYLOAD,
                after=QUOTE_PAYLOAD,
                against="previous",
            ),
            DriftEntry(
                path="okta.app.settings.oauthClient.redirect_uris",
                before=[],
                after=[PAYLOAD, QUOTE_PAYLOAD],
                against="baseline",
                added=[PAYLOAD, {"x": QUOTE_PAYLOAD}],
                removed=[f"</pre>{PAYLOAD}"],
            ),
        ],
        errors=[TenantError(source="okta", message=f"E0000006 {PAYLOAD}")],
    )
    issue = WaiverIssue(
        tenant=PAYLOAD,
        rule=QUOTE_PAYLOAD,
        subject=PAYLOAD,
        owner=QUOTE_PAYLOAD,
        expires="2025-01-10",
        problem="expiring",
    )
    return run_of(evil, tenant(QUOTE_PAYLOAD), waivers=[issue])


def test_hostile_text_is_escaped_everywhere() -> None:
    """Markup in labels, messages, values, titles, drift, errors, waivers and ids is escaped."""
    html = _html(hostile_run())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert 'onmouseover="' not in html
    assert "</pre><script" not in html
    # Only our own inline script element: one opening tag in the whole page.
    assert html.count("<script") == 1


def test_hostile_waiver_and_drift_values_are_escaped_where_they_show() -> None:
    """Waiver reason and owner, waiver issues and drift +/- values appear as escaped text."""
    html = _html(hostile_run())
    escaped, quoted = str(escape(PAYLOAD)), str(escape(QUOTE_PAYLOAD))
    waived = html[html.index('<div class="waived">') :]
    assert f'<span class="k">Reason</span> because {escaped}</span>' in waived
    assert f'<span class="k">Owner</span> {quoted}</span>' in waived
    assert f'<span class="add">redirect_uris: + {escaped}</span>' in html
    assert f'<span class="del">redirect_uris: - &lt;/pre&gt;{escaped}</span>' in html
    assert "redirect_uris: + {&#34;x&#34;: &#34;\\&#34; onmouseover" in html
    issues = html[html.index('id="waivers"') : html.index('<h2 class="section">')]
    assert f'<td class="brk">{escaped}</td><td><code>{quoted}</code></td>' in issues
    since = escape(QUOTE_PAYLOAD[:10])  # the date part of a (corrupt) first_seen
    assert f'<span class="lc persisting">persisting since {since}</span>' in html


def test_template_is_found_and_autoescape_cannot_be_bypassed_by_name() -> None:
    """The template ships next to its CSS and JS, and renders with autoescape on."""
    folder = templates_dir()
    assert {"report.html.j2", "report.css", "report.js"} <= {p.name for p in folder.iterdir()}
    from auditor.report.html_report import _environment  # noqa: PLC0415 - private, test only

    env = _environment()
    assert callable(env.autoescape)
    assert env.autoescape("report.html.j2")
    assert env.autoescape("anything.txt")


def test_failing_and_error_tenants_sort_before_passing_ones_worst_first() -> None:
    """Failing and error tenants come first, worst severity first; passing ones last, collapsed."""
    report = run_of(
        tenant("a-pass"),
        tenant("b-low", failing("okta_app_signout_redirect_uri")),
        tenant("c-pass"),
        tenant("d-critical", failing("okta_app_active")),
        tenant("e-medium", failing("cognito_idp_scopes")),
    )
    html = _html(report)
    assert _tenant_order(html) == ["d-critical", "e-medium", "b-low", "a-pass", "c-pass"]
    assert re.search(r'data-tenant="d-critical"[^>]* open>', html)
    assert re.search(r'data-tenant="a-pass"[^>]*data-rules="">', html)


def test_error_tenants_show_their_errors_and_unresolved_rules() -> None:
    """An error tenant lists what could not be collected and which rules it left in error."""
    block = _block(_html(), "initech")
    assert "AccessDeniedException: not authorized to DescribeUserPool" in block
    assert '<span class="src">cognito</span>' in block
    assert '<li data-rule="cognito_idp_exists"><span class="st error">error</span>' in block
    assert "Passed (11)" in block


def test_failing_result_shows_rule_severity_message_values_and_remediation() -> None:
    """A failing result shows id, title, severity, message, expected/actual and remediation."""
    block = _block(_html(), "globex")
    assert (
        '<span class="sev critical">critical</span><code>okta_app_signin_redirect_uri</code>'
        in block
    )
    assert "Okta app signin redirect uri" in block
    assert "found it with a trailing &#39;/&#39;" in block
    assert (
        "<h4>Actual</h4><pre>https://auth.globex.rapticore.io/oauth2/idpresponse/\n"
        "https://evil.example.com/cb</pre>"
    ) in block
    assert "<h4>Remediation</h4><pre>1. In the Okta Admin Console" in block
    assert "Applications &gt; Applications.\n2. Select" in block


def test_drift_lines_render_as_changes() -> None:
    """Drift shows added and removed list items with + and -, and a changed secret as rotated."""
    html = _html()
    assert '<span class="add">redirect_uris: + https://evil.example.com/cb</span>' in html
    assert '<span class="rot">secrets: rotated</span>' in html
    assert '<h4 class="ag a-baseline">since baseline</h4>' in html
    lines = drift_lines(
        DriftEntry(
            path="okta.app.settings.oauthClient.redirect_uris",
            before=["a", "b"],
            after=["b", "c"],
            against="previous",
        )
    )
    assert [(line.kind, line.text) for line in lines] == [
        ("del", "redirect_uris: - a"),
        ("add", "redirect_uris: + c"),
    ]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("ACTIVE", "INACTIVE", ["status: - ACTIVE", "status: + INACTIVE"]),
        (None, "ACTIVE", ["status: + ACTIVE"]),
        ("ACTIVE", None, ["status: - ACTIVE"]),
        (
            {"a": 1, "b": 2},
            {"a": 1, "b": 3, "c": 4},
            ["status.b: - 2", "status.b: + 3", "status.c: + 4"],
        ),
        (["x", "y"], ["y", "x"], ["status: reordered"]),
        ("rotated", "rotated", ["status: rotated"]),
        # Only the differ's secret marker (both sides) means rotated; a value is a value.
        ("ACTIVE", "rotated", ["status: - ACTIVE", "status: + rotated"]),
        ("https://a", "https://a ", ["status: - https://a", 'status: + "https://a "']),
    ],
)
def test_drift_of_each_value_shape(before: object, after: object, expected: list[str]) -> None:
    """Scalars, objects, reorders, secrets and whitespace changes render as change lines."""
    entry = DriftEntry(path="okta.app.status", before=before, after=after, against="previous")
    assert [line.text for line in drift_lines(entry)] == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "(none)"),
        ([], "(empty list)"),
        (["a", "b"], "a\nb"),
        ({"email": "user.email", "n": 2}, "email: user.email\nn: 2"),
        ("https:// auth.acme.rapticore.io", "https:// auth.acme.rapticore.io"),
        ("https://acme.rapticore.io ", '"https://acme.rapticore.io "'),
        ([" openid"], '" openid"'),
        (True, "true"),
    ],
)
def test_values_are_formatted_for_reading(value: object, text: str) -> None:
    """Lists read one item per line, objects one key per line, and edge whitespace stays visible."""
    assert format_value(value) == text


def test_no_external_references() -> None:
    """The page loads nothing: no http(s) or // src/href, no url(), no @import, no <link>."""
    html = _html()
    assert "https://evil.example.com/cb" in html  # URLs appear, but only as text
    assert not re.search(
        r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE
    )
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", html, re.IGNORECASE)
    assert "@import" not in html
    assert "<link" not in html
    assert "default-src 'none'" in html_lib.unescape(html)


def test_content_security_policy_allows_exactly_the_inline_style_and_script() -> None:
    """The CSP allows by hash exactly the page's one <style> and one <script>, nothing else."""
    html = _html()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html)
    assert csp is not None
    for tag in ("style", "script"):
        bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.DOTALL)
        assert len(bodies) == 1
        digest = base64.b64encode(hashlib.sha256(bodies[0].encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in html_lib.unescape(csp.group(1))


def test_fleet_summary_counts_and_top_failing_rules() -> None:
    """The summary counts tenants, failing results by severity, and lists the most failed rules."""
    report = run_of(
        tenant("a", failing("okta_app_active"), failing("okta_app_assigned")),
        tenant("b", failing("okta_app_active")),
        tenant("c"),
    )
    html = _html(report)
    summary = html[html.index('id="summary"') : html.index('id="filters"')]
    assert '<a class="card c-fail" href="#status=fail"><b>2</b>' in summary
    assert '<td><span class="sev critical">critical</span></td><td class="num">2</td>' in summary
    assert '<td><span class="sev high">high</span></td><td class="num">1</td>' in summary
    top = summary[summary.index("Top failing rules") :]
    assert top.index("okta_app_active") < top.index("okta_app_assigned")
    assert '<option value="okta_app_active">okta_app_active (2)</option>' in html


def test_passing_tenants_stay_lean() -> None:
    """A passing tenant is one collapsed line and a count, not a table of nineteen results."""
    block = _block(_html(), "acme")
    assert " open" not in block.split(">", 1)[0]
    assert "All 19 rules passed." in block
    assert "<article" not in block
    assert len(block) < 600


def test_not_evaluated_results_are_listed_not_passed() -> None:
    """Rules that could not be judged appear as not evaluated, never among the passed ones."""
    report = run_of(
        tenant(
            "acme",
            failing("okta_app_active", message="not found: deleted, or wrong app_id"),
            failing(
                "okta_app_assigned", status=ResultStatus.NOT_EVALUATED, message="the app is missing"
            ),
        )
    )
    block = _block(_html(report), "acme")
    assert (
        '<span class="st not_evaluated">not evaluated</span><code>okta_app_assigned</code>' in block
    )
    assert "okta_app_assigned" not in block[block.index("Passed (17)") :]


# ------------------------------------------------------------------ memory across runs


def test_run_trigger_is_shown_in_the_header() -> None:
    """The header says what started the run: scheduled, manual or demo."""
    header = _html(memory_run()).split("</header>", 1)[0]
    assert '<span class="trig">scheduled run</span> <code>run-20250101T020000Z</code>' in header
    assert '<span class="trig">manual run</span>' in _html(small_run())


def test_failing_results_carry_their_lifecycle_badge() -> None:
    """Each failing result says new, persisting since its first-seen date, or regressed."""
    block = _block(_html(memory_run()), "globex")
    assert re.search(r'<code>okta_app_active</code>.*?<span class="lc new">new</span></h3>', block)
    assert re.search(
        r"<code>okta_app_assigned</code>.*?"
        r'<span class="lc persisting">persisting since 2024-11-03</span></h3>',
        block,
    )
    assert re.search(
        r"<code>cognito_idp_scopes</code>.*?"
        r'<span class="lc regressed" title="failing again; first seen 2024-10-01">regressed</span>'
        r"</h3>",
        block,
    )


def test_resolved_findings_are_listed_per_tenant() -> None:
    """A passing result whose finding was open before is listed as resolved since last run."""
    html = _html(memory_run())
    block = _block(html, "globex")
    resolved_list = block[block.index('<div class="resolved">') :]
    assert resolved_list.startswith(
        '<div class="resolved"><h3>Resolved since last run (1)</h3><ul>\n'
        '<li data-rule="okta_app_signout_redirect_uri"><span class="lc resolved">resolved</span>'
    )
    assert "failed from 2024-12-01 to 2024-12-31" in resolved_list
    assert "1 resolved &middot; 3 drifted</span></summary>" in block
    assert '<span class="lc new">1 new</span> <span class="lc regressed">1 regressed</span>' in html
    assert '<div class="resolved">' not in _block(html, "hooli")


def test_reports_without_history_show_no_lifecycle_or_waivers() -> None:
    """A run without a store has no lifecycle badges, resolved lists or waiver blocks."""
    html = _html()
    body = html[html.index("<body>") :]
    for marker in ('class="lc', 'class="resolved"', 'id="waivers"', 'class="waived"', "Since the"):
        assert marker not in body


def test_waived_failures_are_marked_and_set_apart() -> None:
    """A waived failure shows the waived badge, owner, reason and expiry in its own block."""
    block = _block(_html(memory_run()), "hooli")
    waived = block[block.index('<div class="waived">') :]
    assert waived.startswith(
        '<div class="waived"><h3>Waived (1) <span class="muted">accepted risks, '
        "not counted as failing</span></h3>"
    )
    assert (
        '<h3><span class="wv">waived</span><span class="sev high">high</span>'
        "<code>okta_app_no_excess_scopes</code>"
    ) in waived
    assert '<span class="k">Reason</span> Provisioning pilot</span>' in waived
    assert '<span class="k">Owner</span> bob@example.com</span>' in waived
    assert '<span class="k">Expires</span> 2025-06-30</span>' in waived
    assert "expires soon" not in waived
    # Not an open failure: no remediation, and nothing outside the waived block for it.
    assert "Remediation" not in block
    assert block.count('data-rule="okta_app_no_excess_scopes"') == 1


def test_expiring_soon_waiver_is_highlighted() -> None:
    """A waiver expiring within 14 days says so next to its expiry date."""
    block = _block(_html(memory_run()), "globex")
    waived = block[block.index('<div class="waived">') :]
    assert (
        '<span class="k">Expires</span> 2025-01-10 <span class="soon">expires soon</span>' in waived
    )
    assert "<summary>Expected and actual</summary>" in waived  # values kept, folded away


def test_waived_failures_do_not_count_in_tenant_or_fleet_summaries() -> None:
    """Tenant and fleet counts show waived failures apart, never as failing or by severity."""
    html = _html(memory_run())
    globex = _block(html, "globex")
    head = globex[: globex.index("</summary>")]
    assert '<span class="meta">3 failing &middot; <span class="wvc">1 waived</span>' in head
    assert "15 passed" in head
    assert '<span class="sev high">1 high</span>' in head  # okta_app_assigned only
    hooli = _block(html, "hooli")
    head = hooli[: hooli.index("</summary>")]
    assert 'data-status="pass"' in head
    assert '<span class="st pass">pass</span>' in head
    assert '<span class="meta"><span class="wvc">1 waived</span> &middot; 18 passed</span>' in head
    assert 'class="sev' not in head
    assert "All 19 rules passed." not in hooli
    assert "Passed (18):" in hooli
    summary = html[html.index('id="summary"') : html.index('id="waivers"')]
    assert "3 failing results &middot; 2 waived (not counted)" in summary
    assert '<td><span class="sev high">high</span></td><td class="num">1</td>' in summary
    top = summary[summary.index("Top failing rules") :]
    assert "okta_app_no_excess_scopes" not in top
    assert "okta_app_no_foreign_redirect_uris" not in top


def test_a_tenant_whose_failures_are_all_waived_sorts_with_passing_ones() -> None:
    """A waived critical failure does not pull a tenant above a tenant with an open low one."""
    report = run_of(
        tenant("a-waived", failing("okta_app_active", waiver=waiver())),
        tenant("b-low", failing("okta_app_signout_redirect_uri")),
        tenant("c-pass"),
    )
    assert _tenant_order(_html(report)) == ["b-low", "a-waived", "c-pass"]


def test_waivers_needing_attention_are_listed_worst_first() -> None:
    """Expired, expiring and stale waivers are listed with tenant, rule, subject, owner, expiry."""
    html = _html(memory_run())
    block = html[html.index('id="waivers"') : html.index('<h2 class="section">')]
    assert (
        '<h2>Waivers needing attention <span class="pb expired">1 expired</span> '
        '<span class="pb expiring">1 expiring</span> <span class="pb stale">1 stale</span></h2>'
    ) in block
    rows = re.findall(r'<tr><td><span class="pb (\w+)">', block)
    assert rows == ["expired", "expiring", "stale"]
    assert (
        '<td class="brk">globex</td><td><code>okta_app_no_foreign_redirect_uris</code></td>'
        '<td class="brk">https://sso.partner.example/cb</td><td class="brk">alice@example.com</td>'
        '<td class="num">2025-01-10</td>'
    ) in block
    assert '<td class="brk">all tenants</td>' in block  # tenant "*"
    assert '<td class="brk">(any)</td>' in block  # no subject
    assert "matches no failing result: remove it" in block
    assert "expires within 14 days" in block


def test_drift_shows_added_and_removed_lines_by_basis() -> None:
    """Drift reads as +/- lines under "since previous run" and "since baseline"; secrets rotate."""
    block = _block(_html(memory_run()), "globex")
    drift = block[block.index('<div class="drift">') :]
    previous = drift[drift.index("since previous run") : drift.index("since baseline")]
    baseline = drift[drift.index("since baseline") :]
    assert '<span class="add">redirect_uris: + https://evil.example.com/cb</span>' in previous
    assert "idpresponse" not in previous  # unchanged members are not repeated
    assert (
        '<span class="del">grant_types: - refresh_token</span>\n'
        '<span class="add">grant_types: + implicit</span>'
    ) in baseline
    assert '<span class="rot">client_secret: rotated</span>' in baseline


def test_drift_lines_prefer_the_entrys_added_and_removed() -> None:
    """For a keyed list the differ's added/removed keys are shown, not the whole before/after."""
    entry = DriftEntry(
        path="okta.grants",
        before=["okta.groups.read", "okta.users.read"],
        after=["okta.groups.read", "okta.users.manage", "okta.users.read"],
        against="previous",
        added=["okta.users.manage"],
        removed=[],
    )
    assert [(line.kind, line.text) for line in drift_lines(entry)] == [
        ("add", "grants: + okta.users.manage")
    ]
    both = entry.model_copy(update={"added": [" x", 3], "removed": ["y"]})
    assert [line.text for line in drift_lines(both)] == [
        "grants: - y",
        'grants: + " x"',
        "grants: + 3",
    ]


def test_resolved_results_are_not_listed_for_results_that_never_failed() -> None:
    """Only results whose lifecycle is resolved make the list: a plain pass does not."""
    report = run_of(tenant("acme", resolved("okta_app_active")))
    block = _block(_html(report), "acme")
    assert block.count("<li data-rule=") == 1
    assert '<li data-rule="okta_app_active"><span class="lc resolved">' in block
    assert "All 19 rules passed." in block


# --- issue 11: drift counted once, run times, hidden characters ---------------------------


def test_a_change_seen_against_previous_and_baseline_counts_once() -> None:
    """One field changed since the previous run and the baseline is "1 drifted", not 2."""
    path = "okta.app.settings.oauthClient.redirect_uris"
    both = [
        DriftEntry(path=path, before=[], after=["https://x.example"], against="previous"),
        DriftEntry(path=path, before=[], after=["https://x.example"], against="baseline"),
        DriftEntry(path="cognito.idp.scopes", before="a", after="b", against="baseline"),
    ]
    html = _html(run_of(tenant("acme", failing("okta_app_assigned"), drift=both)))
    block = _block(html, "acme")
    assert "&middot; 2 drifted</span>" in block
    # Both bases still list the change itself.
    assert block.count(f'<code class="dp">{path}</code>') == 2


def test_header_shows_start_end_and_how_long_the_run_took() -> None:
    """A sub-second run shows distinct start and end times and "took 0.42 s"."""
    report = run_of(tenant("acme"))
    report = report.model_copy(
        update={
            "run": report.run.model_copy(
                update={
                    "started_at": "2025-01-01T02:00:00.000Z",
                    "finished_at": "2025-01-01T02:00:00.420Z",
                }
            )
        }
    )
    header = _html(report).split("</header>", 1)[0]
    assert "2025-01-01T02:00:00.000Z &rarr; 2025-01-01T02:00:00.420Z" in header
    assert '<span class="took">(took 0.42 s)</span>' in header


@pytest.mark.parametrize(
    ("started", "finished", "took"),
    [
        ("2025-01-01T02:00:00Z", "2025-01-01T02:00:42Z", "42 s"),
        ("2025-01-01T02:00:00Z", "2025-01-01T02:04:03Z", "4 min 3 s"),
        ("2025-01-01T02:00:00Z", "2025-01-01T03:02:00+00:00", "1 h 2 min"),
        ("2025-01-01T02:00:00Z", "not a time", None),
        ("2025-01-01T02:00:09Z", "2025-01-01T02:00:00Z", None),
    ],
)
def test_run_duration_reads_naturally(started: str, finished: str, took: str | None) -> None:
    """Durations read in s, min or h; an unreadable or negative span shows nothing."""
    assert run_duration(started, finished) == took


BIDI = "\u202e"
HIDDEN = f"moc.elpmaxe{BIDI}//:sptth\0\u2066x\u2069\x1b[2K\u200b"


def test_hidden_and_bidi_characters_never_reach_the_page_raw() -> None:
    """U+202E, NUL, isolates, ESC and zero-width spaces show as uXXXX escapes, never raw."""
    hostile = tenant(
        "acme",
        failing(
            "okta_app_no_foreign_redirect_uris",
            message=f"redirect URI {HIDDEN} is foreign",
            expected=[f"https://auth.acme.rapticore.io{BIDI}"],
            actual=[HIDDEN, {"k": HIDDEN}],
        ),
        failing("okta_app_assigned", expected=HIDDEN, actual=f"x{BIDI}"),
        drift=[DriftEntry(path=f"okta.app.label{BIDI}", before=HIDDEN, after="b",
                          against="previous")],
        errors=[TenantError(source="okta", message=f"E0000006 {HIDDEN}")],
    )
    html = _html(run_of(hostile))
    for char in (BIDI, "\0", "\u2066", "\u2069", "\x1b", "\u200b"):
        assert char not in html, f"raw {char!r} in the page"
    # The list item is quoted as JSON (NUL is JSON-escaped); the rest read as \uXXXX.
    assert "&#34;moc.elpmaxe\\u202e//:sptth\\u0000\\u2066x\\u2069\\u001b[2K\\u200b&#34;" in html
    assert "<pre>&#34;https://auth.acme.rapticore.io\\u202e&#34;</pre>" in html
    assert "redirect URI moc.elpmaxe\\u202e//:sptth\\u0000" in html
    assert "okta.app.label\\u202e" in html


def test_a_literal_backslash_u_is_not_confused_with_an_escaped_character() -> None:
    """A tenant's literal backslash-u text shows unquoted; the real U+202E shows quoted."""
    html = _html(run_of(tenant("acme", failing(
        "okta_app_assigned", expected=["\\u202e"], actual=[BIDI]
    ))))
    assert "<pre>\\u202e</pre>" in html
    assert "<pre>&#34;\\u202e&#34;</pre>" in html


def test_newlines_and_tabs_keep_their_layout() -> None:
    """Remediation steps keep their newlines and a tab stays a tab (only hidden chars change)."""
    html = _html(run_of(tenant("acme", failing("okta_app_assigned", message="a\tb"))))
    assert "1. In the Okta Admin Console, open Applications &gt; Applications.\n2." in html
    assert '<p class="msg">a\tb</p>' in html
