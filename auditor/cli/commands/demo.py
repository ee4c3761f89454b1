"""``auditor demo``: the auditor on built-in emulated tenants, twice, to show drift.

The config and the store stay behind (``--state``, default ``./auditor-demo/``) so that
``history``, ``diff`` and ``baseline show`` work on them afterwards; ``--serve`` keeps
the emulated tenants up until Ctrl-C so that ``auditor audit`` can be run against them.
"""

from __future__ import annotations

import functools
import json
import shlex
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.application import AuditRequest
from auditor.cli.parser import add_report_flags
from auditor.cli.shared import audit_and_tell, report_formats
from auditor.errors import EXIT_OK, UsageError
from auditor.report.destination import Destination
from auditor.results import Severity

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from auditor.cli.parser import Commands
    from auditor.config import AuditorConfig
    from auditor.demo import Fleet

DEFAULT_STATE = "auditor-demo"


def register(commands: Commands) -> None:
    """Add ``demo``."""
    demo = commands.add_parser(
        "demo",
        help="audit built-in emulated tenants (no credentials, nothing leaves the machine)",
        description=(
            "Start a local Okta emulator and moto's Cognito server, build six tenants "
            "(one compliant, five with a typical misconfiguration), audit them and write "
            "both reports. The config and the store stay in --state, for `history`, "
            "`diff` and `baseline show`. Exits 0 when the demo ran."
        ),
    )
    add_report_flags(demo)
    demo.add_argument(
        "--state", metavar="DIR", default=DEFAULT_STATE,
        help=f"where the demo leaves its config and store (default {DEFAULT_STATE}/)",
    )
    demo.add_argument(
        "--serve", action="store_true",
        help="keep the emulated tenants up until Ctrl-C and print how to audit them",
    )
    demo.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    """Audit the demo fleet as set up, accept it as the baseline, change it, audit again."""
    from auditor.alerts.local_receiver import LocalSlack  # noqa: PLC0415 - keep --help fast
    from auditor.collect.secrets import SecretHasher  # noqa: PLC0415
    from auditor.demo import build_demo_fleet, running_fleet  # noqa: PLC0415
    from auditor.rules import load_rule_pack  # noqa: PLC0415
    from auditor.store import open_store  # noqa: PLC0415
    from auditor.store_paths import fingerprint_key_path  # noqa: PLC0415

    formats = report_formats(args.format)
    output = Path(args.output)
    state = Path(args.state)
    config_path = state / "auditor.yaml"
    pack = load_rule_pack()
    say = functools.partial(print, file=sys.stderr, flush=True)
    try:
        state.mkdir(parents=True, exist_ok=True)
        config_path.touch()
    except OSError as exc:
        raise UsageError(
            f"cannot keep the demo's state in {state} ({exc.strerror or type(exc).__name__}): "
            "pass --state with a writable folder"
        ) from None
    say("demo: starting the Okta emulator and moto's Cognito on loopback...")
    with running_fleet() as fleet, LocalSlack() as slack:
        drift = build_demo_fleet(fleet)
        store_url = f"sqlite:///{(state / 'state.db').resolve()}"
        config = fleet.config(store=store_url, alerts=slack.alerts_config())
        # The file left behind has no alerts: its receiver goes away with the demo.
        config_path.write_text(demo_config_yaml(fleet, store_url), encoding="utf-8")
        # The store's own key, as `auditor audit --config` will use: later audits against
        # --serve then compare secret fingerprints with these runs.
        hasher = SecretHasher.for_installation(fingerprint_key_path(store_url))
        request = AuditRequest(config, config.tenants, pack=pack,
                               output=Destination.parse(str(output)),
                               formats=formats, fail_on=Severity.INFO, trigger="demo",
                               hasher=hasher)
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
            "since the baseline and remediation.")
        say(next_steps(config_path, config))
        if args.serve:
            _serve(fleet, config_path, say)
    return EXIT_OK


def demo_config_yaml(fleet: Fleet, store_url: str) -> str:
    """The demo fleet's config as a file a user can pass to every command."""
    lines = [
        "# Written by `auditor demo`: its emulated tenants on loopback. The tokens are the",
        "# emulators' own, not secrets; a real config reads them from ${VARIABLES}.",
        "# Every command on it needs AUDITOR_ALLOW_HTTP_LOOPBACK=1 (the org URLs are http).",
        "version: 1",
        f"base_domain: {fleet.base_domain}",
        f"store: {json.dumps(store_url)}",
        "tenants:",
    ]
    for tenant in fleet.tenants:
        lines += [
            f"  - id: {tenant.tenant_id}",
            "    okta:",
            f"      org_url: {tenant.org.url}",
            f"      token: {json.dumps(tenant.org.token)}",
            "    cognito:",
            f"      region: {tenant.cognito.region}",
            f"      user_pool_id: {tenant.cognito.user_pool_id}",
            f"      provider_name: {json.dumps(tenant.cognito.provider_name)}",
        ]
    return "\n".join(lines) + "\n"


def next_steps(config_path: Path, config: AuditorConfig) -> str:
    """The exact commands that explore what the demo left behind."""
    from auditor.config import ALLOW_HTTP_LOOPBACK_ENV  # noqa: PLC0415 - keep --help fast

    where = shlex.quote(str(config_path))
    some = next((t.id for t in config.tenants if t.id == "umbrella"), config.tenants[0].id)
    return "\n".join([
        (f"demo: the config and the store stay in {shlex.quote(str(config_path.parent))}/; "
         "to explore them:"),
        f"  export {ALLOW_HTTP_LOOPBACK_ENV}=1",
        f"  auditor history --config {where} --tenant {some}",
        f"  auditor diff --config {where} --tenant {some}",
        f"  auditor baseline show --config {where} --all",
        "  auditor demo --serve    # keeps the tenants up, to run `auditor audit` yourself",
    ])


def _serve(fleet: Fleet, config_path: Path, say: Callable[..., None]) -> None:
    """Keep the emulators up until Ctrl-C (or SIGTERM), having said how to audit them."""
    from auditor.demo import emulator_environment  # noqa: PLC0415 - the demo extra

    env = emulator_environment(fleet.cognito)
    exports = " ".join(
        f"{name}={shlex.quote(value)}" for name, value in sorted(env.items()) if value is not None
    )
    unset = sorted(name for name, value in env.items() if value is None)
    say("demo: serving the six emulated tenants until Ctrl-C. In another terminal:")
    say(f"  export {exports}")
    if unset:
        say(f"  unset {' '.join(unset)}")
    say(f"  auditor audit --config {shlex.quote(str(config_path))} --all")

    def stop(signum: int, frame: object) -> None:  # noqa: ARG001 - signal handler's shape
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        say("demo: stopped; the emulated tenants are gone (the state stays).")
    finally:
        signal.signal(signal.SIGTERM, previous)
