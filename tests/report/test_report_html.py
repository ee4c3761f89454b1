"""report.html: escaped, self-contained, worst tenants first, and readable without a browser."""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import re

import pytest
from report_builders import failing, run_of, small_run, tenant

from auditor.report import ReportFormat, render
from auditor.report.html_report import drift_lines, format_value, templates_dir
from auditor.results import DriftEntry, ResultStatus, RunReport, TenantError

PAYLOAD = "<script>alert(1)</script>"
QUOTE_PAYLOAD = '" onmouseover="alert(2)'


def _html(report: RunReport | None = None) -> str:
    return render(ReportFormat.HTML, report or small_run()).decode("utf-8")


def _tenant_order(html: str) -> list[str]:
    return re.findall(r'<details class="tenant [^"]*" id="[^"]*" data-tenant="([^"]*)"', html)


def _block(html: str, tenant_id: str) -> str:
    start = html.index(f'data-tenant="{tenant_id}"')
    return html[start : html.index("</details>", start)]


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
        ),
        drift=[
            DriftEntry(
                path=f"okta.app.label{PAYLOAD}",
                before=PAYLOAD,
                after=QUOTE_PAYLOAD,
                against="previous",
            )
        ],
        errors=[TenantError(source="okta", message=f"E0000006 {PAYLOAD}")],
    )
    return run_of(evil, tenant(QUOTE_PAYLOAD))


def test_hostile_text_is_escaped_everywhere() -> None:
    """Markup in labels, messages, values, titles, drift, errors and ids is shown escaped."""
    html = _html(hostile_run())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert 'onmouseover="' not in html
    # Only our own inline script element: one opening tag in the whole page.
    assert html.count("<script") == 1


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
    assert "since approved baseline" in html
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
        (None, "rotated", ["status: rotated"]),
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
