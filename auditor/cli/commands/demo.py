"""``auditor demo``: the auditor on built-in emulated tenants, twice, to show drift."""

from __future__ import annotations

import functools
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.application import AuditRequest
from auditor.cli.parser import add_report_flags
from auditor.cli.shared import audit_and_tell, report_formats
from auditor.errors import EXIT_OK
from auditor.report.destination import Destination
from auditor.results import Severity

if TYPE_CHECKING:
    import argparse

    from auditor.cli.parser import Commands


def register(commands: Commands) -> None:
    """Add ``demo``."""
    demo = commands.add_parser(
        "demo",
        help="audit built-in emulated tenants (no credentials, nothing leaves the machine)",
        description=(
            "Start a local Okta emulator and moto's Cognito server, build six tenants "
            "(one compliant, five with a typical misconfiguration), audit them and write "
            "both reports. Exits 0 when the demo ran."
        ),
    )
    add_report_flags(demo)
    demo.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    """Audit the demo fleet as set up, accept it as the baseline, change it, audit again."""
    from auditor.alerts.local_receiver import LocalSlack  # noqa: PLC0415 - keep --help fast
    from auditor.collect.secrets import SecretHasher  # noqa: PLC0415
    from auditor.demo import build_demo_fleet, running_fleet  # noqa: PLC0415
    from auditor.rules import load_rule_pack  # noqa: PLC0415
    from auditor.store import open_store  # noqa: PLC0415

    formats = report_formats(args.format)
    output = Path(args.output)
    pack = load_rule_pack()
    say = functools.partial(print, file=sys.stderr)
    say("demo: starting the Okta emulator and moto's Cognito on loopback...")
    with running_fleet() as fleet, tempfile.TemporaryDirectory(prefix="auditor-demo-") as state, \
            LocalSlack() as slack:
        drift = build_demo_fleet(fleet)
        config = fleet.config(store=f"sqlite:///{state}/state.db", alerts=slack.alerts_config())
        request = AuditRequest(config, config.tenants, pack=pack,
                               output=Destination.parse(str(output)),
                               formats=formats, fail_on=Severity.INFO, trigger="demo",
                               hasher=SecretHasher.ephemeral())
        say("demo: run 1, six tenants exactly as the setup guide says; "
            "their state is accepted as the baseline")
        audit_and_tell(request)
        store = open_store(config.store)
        try:
            for tenant in config.tenants:
                store.accept_baseline(tenant.id, accepted_by="demo", reason="set up by the guide",
                                      now=datetime.now(UTC))
        finally:
            store.close()
        drift()
        say("demo: then the admins changed things:")
        for demo_tenant in fleet.tenants:
            say(f"  {demo_tenant.tenant_id:<9} {demo_tenant.story}")
        say("demo: run 2, the nightly audit:")
        audit_and_tell(request)
        slack.show(say)  # run 2's alerts, posted to a Slack-compatible receiver on loopback
    say(f"demo: done. Open {output / 'report.html'} in a browser to see failures, drift "
        "since the baseline and remediation; `auditor --help` shows the real commands.")
    return EXIT_OK
