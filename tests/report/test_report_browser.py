"""report.html in a real browser: headless Chromium runs the filter script, never the payloads.

Skipped when /usr/bin/chromium is absent (CI installs it with apt: chromium).
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from report_builders import failing, resolved, run_of, tenant, waiver

from auditor.report import ReportFormat, render
from auditor.results import DriftEntry, RunReport, TenantError, TenantStatus, WaiverIssue
from auditor.store import TrendPoint

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"
    ),
    pytest.mark.slow,
]

# Each would set the page title if the browser ever ran it.
PAYLOADS = (
    "<script>document.title='pwned-script'</script>",
    "<img src=x onerror=\"document.title='pwned-img'\">",
    '" onmouseover="document.title=\'pwned-attr\'" x="',
    "</pre><svg onload=\"document.title='pwned-svg'\">",
)


def _run() -> RunReport:
    script, img, attr, svg = PAYLOADS
    return run_of(
        tenant("acme", resolved("okta_app_assigned")),
        tenant(
            "globex",
            failing(
                "okta_app_oidc_web",
                message=f"app label {script}",
                expected=[img],
                actual={"label": svg},
                lifecycle="persisting",
                first_seen="2024-11-03T02:00:00Z",
            ),
            failing(
                "okta_app_no_foreign_redirect_uris",
                message=f"redirect URI {svg}",
                expected=[],
                actual=[img],
                lifecycle="new",
                waiver=waiver(reason=f"pilot {script}", owner=attr, expiring_soon=True),
            ),
            drift=[
                DriftEntry(path="okta.app.label", before=attr, after=script, against="previous"),
                DriftEntry(
                    path="okta.app.settings.oauthClient.redirect_uris",
                    before=[],
                    after=[svg],
                    against="baseline",
                    added=[svg, img],
                    removed=[script],
                ),
            ],
        ),
        tenant("initech", errors=[TenantError(source="okta", message=img)]),
        tenant(f"hostile{attr}"),
        waivers=[
            WaiverIssue(
                tenant="globex",
                rule=attr,
                subject=svg,
                owner=script,
                expires="2025-01-10",
                problem="expiring",
            )
        ],
    )


def _chromium(tmp_path: Path, url: str, *extra: str) -> str:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        *extra,
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)  # noqa: S603
    return done.stdout


@pytest.fixture
def page(tmp_path: Path) -> Path:
    """The hostile run's report.html, written where the browser can open it."""
    path = tmp_path / "report.html"
    start = datetime(2024, 12, 1, 2, 0, tzinfo=UTC)
    statuses = [TenantStatus.PASS, TenantStatus.FAIL, TenantStatus.ERROR]
    trends = {
        tenant_id: [
            TrendPoint(f"r{i}", start + timedelta(days=i), statuses[i % 3]) for i in range(30)
        ]
        for tenant_id in ("acme", "globex")
    }
    path.write_bytes(render(ReportFormat.HTML, _run(), trends=trends))
    return path


def _hidden_tenants(dom: str) -> set[str]:
    hidden = set()
    for tag in re.findall(r"<details [^>]*class=\"tenant[^>]*>", dom):
        if re.search(r"\shidden(?:=\"\")?[\s>]", tag):
            match = re.search(r'data-tenant="([^"]*)"', tag)
            assert match is not None
            hidden.add(match.group(1))
    return hidden


def test_filter_script_runs_and_no_payload_executes(page: Path, tmp_path: Path) -> None:
    """Chromium runs the filter script over all tenants; no payload touches the title."""
    dom = _chromium(tmp_path, page.as_uri(), "--dump-dom")
    title = re.search(r"<title>(.*?)</title>", dom, re.DOTALL)
    assert title is not None
    assert title.group(1).startswith("SSO audit report")
    assert "pwned" not in title.group(1)
    assert "Showing 4 of 4 tenants" in dom  # the script ran to the end
    assert re.search(r'<html lang="en" class="[^"]*\bjs\b', dom)
    assert '<form id="filters" class="filters">' in dom  # shown once the script runs
    assert {"acme", "globex", "initech"} <= set(re.findall(r'data-tenant="([a-z]+)"', dom))
    assert _hidden_tenants(dom) == set()
    # The memory parts are painted as text, payloads and all.
    assert "Waivers needing attention" in dom
    assert '<span class="wv">waived</span>' in dom
    assert "Resolved since last run (1)" in dom
    assert "redirect_uris: + &lt;img src=x onerror=" in dom
    # Each tenant with a history shows its trend strip, drawn inline.
    assert dom.count('<svg class="tr" viewBox="0 0 178 16" role="img">') == 2


def test_filters_from_the_url_fragment_hide_other_tenants(page: Path, tmp_path: Path) -> None:
    """A #status=pass link shows only passing tenants, #rule=... only those failing it."""
    dom = _chromium(tmp_path, page.as_uri() + "#status=pass", "--dump-dom")
    assert "Showing 2 of 4 tenants" in dom
    assert _hidden_tenants(dom) == {"globex", "initech"}

    dom = _chromium(tmp_path, page.as_uri() + "#rule=okta_app_oidc_web&q=glo", "--dump-dom")
    assert "Showing 1 of 4 tenants" in dom
    assert "globex" not in _hidden_tenants(dom)
    assert len(_hidden_tenants(dom)) == 3

    # A waived failure still finds its tenant by rule; its open failures are hidden.
    rule = "okta_app_no_foreign_redirect_uris"
    dom = _chromium(tmp_path, page.as_uri() + f"#rule={rule}", "--dump-dom")
    assert "Showing 1 of 4 tenants" in dom
    assert "globex" not in _hidden_tenants(dom)
    assert f'<article class="r" data-rule="{rule}">' in dom
    assert '<article class="r" data-rule="okta_app_oidc_web" hidden="">' in dom


def test_rule_filter_with_status_pass_shows_tenants_passing_that_rule(
    page: Path, tmp_path: Path
) -> None:
    """#status=pass&rule=R shows the passing tenants (they pass R) instead of none."""
    dom = _chromium(tmp_path, page.as_uri() + "#status=pass&rule=okta_app_oidc_web", "--dump-dom")
    assert "Showing 2 of 4 tenants" in dom
    assert _hidden_tenants(dom) == {"globex", "initech"}


def test_screenshot_renders(page: Path, tmp_path: Path) -> None:
    """Chromium paints the page to a non-trivial PNG (kept in tmp_path for a person to look at)."""
    shot = tmp_path / "report.png"
    _chromium(
        tmp_path,
        page.as_uri(),
        f"--screenshot={shot}",
        "--window-size=1280,1600",
        "--hide-scrollbars",
    )
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 20_000
