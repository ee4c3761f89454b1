"""Sharded fleet runs end to end (CONTRACT section 7): `audit --shard`, `report --run-group`.

Real parts throughout: the CLI in-process, the okta SDK against the Okta emulator, boto3
(with sts:AssumeRole) against moto's server, the store on an SQLite file and, when
``AUDITOR_TEST_POSTGRES_URL`` is set, on PostgreSQL, and a webhook receiver on loopback.
"""

from __future__ import annotations

import http.server
import itertools
import json
import os
import threading
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from cli_helpers import tenant_entry
from sqlalchemy import create_engine, text

from auditor.demo import emulator_environment
from auditor.shards import QuotaGroup, shard_index_of_group
from auditor.store.engine import normalize_url

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from auditor.demo import DemoTenant, Fleet

POSTGRES_ENV = "AUDITOR_TEST_POSTGRES_URL"
REGION = "us-east-1"
_ids = itertools.count()


# moto keeps one account's resources per account id, and ambient credentials are that same
# account: so the fleet's two quota groups are "ambient" and the role in moto's account.
MOTO_ACCOUNT = "123456789012"


def _accounts() -> list[str | None]:
    """The two quota groups, in the order of their shards of 2 (checked, not assumed)."""
    groups = {None: "ambient", MOTO_ACCOUNT: MOTO_ACCOUNT}
    by_shard = {shard_index_of_group(QuotaGroup(g, REGION), 2): a for a, g in groups.items()}
    assert sorted(by_shard) == [0, 1], "both groups landed in one shard"
    return [by_shard[0], by_shard[1]]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store: an SQLite file, or a fresh schema on the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'state.db'}"
        return
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"set {POSTGRES_ENV} to run the shard tests on PostgreSQL")
    admin = create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    schema = f"shards_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield admin.url.update_query_dict(
            {"options": f"-csearch_path={schema}"}
        ).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


class _Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on loopback: its URL and the JSON bodies it was sent."""
    bodies: list[dict[str, Any]] = []
    handler = type("Receiver", (_Receiver,), {"bodies": bodies})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", bodies
    server.shutdown()
    server.server_close()


def _deactivate(org: Any) -> None:
    org.apps[org.app_id]["status"] = "INACTIVE"


class ShardedFleet:
    """Tenants over two AWS accounts (one per shard of 2), a config file, the CLI."""

    def __init__(self, fleet: Fleet, tmp_path: Path, run_auditor: Any, store: str) -> None:
        self.fleet = fleet
        self.tmp_path = tmp_path
        self.run_auditor = run_auditor
        self.store = store
        self.accounts = _accounts()
        self.tenants: list[tuple[DemoTenant, str | None]] = []
        self.alerts = ""

    def add(self, account: str | None, *, failing: bool = False) -> DemoTenant:
        """A compliant tenant (its Okta app deactivated when ``failing``) in ``account``."""
        tenant = self.fleet.add(
            f"shard{next(_ids)}", okta_change=_deactivate if failing else None
        )
        self.tenants.append((tenant, account))
        return tenant

    def config(self) -> tuple[Path, dict[str, str]]:
        """Write the config file; returns it and the token variables it names."""
        env: dict[str, str] = {}
        lines = ["version: 1", "base_domain: rapticore.io", f"store: '{self.store}'",
                 self.alerts, "tenants:"]
        for tenant, account in self.tenants:
            role = None if account is None else f"arn:aws:iam::{account}:role/AuditorReadOnly"
            entry, token = tenant_entry(tenant, role_arn=role)
            lines += entry
            env.update(token)
        path = self.tmp_path / "auditor.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path, env

    def run(self, *args: str, env: dict[str, str] | None = None) -> Any:
        """``auditor ARGS --config <this fleet's config>``, in-process, on the emulators."""
        path, tokens = self.config()
        full_env = {**emulator_environment(self.fleet.cognito), **tokens, **(env or {})}
        return self.run_auditor([*args, "--config", str(path)], full_env)

    def report_json(self, folder: str) -> dict[str, Any]:
        """The report.json written under ``folder``."""
        return json.loads((self.tmp_path / folder / "report.json").read_text("utf-8"))


@pytest.fixture
def sharded(fleet: Fleet, tmp_path: Path, run_auditor: Any, store_url: str) -> ShardedFleet:
    """Four tenants in two accounts (one failing in each), each account in its own shard."""
    fleet_ = ShardedFleet(fleet, tmp_path, run_auditor, store_url)
    first, second = fleet_.accounts
    fleet_.add(first)
    fleet_.add(first, failing=True)
    fleet_.add(second, failing=True)
    fleet_.add(second)
    return fleet_


def _verdicts(report: dict[str, Any]) -> dict[str, Any]:
    return {
        t["tenant_id"]: (
            t["status"],
            [(r["rule_id"], r["status"], r["severity"], r["message"]) for r in t["results"]],
        )
        for t in report["tenants"]
    }


def test_two_shards_together_equal_one_unsharded_run_and_report_writes_one_report(
    sharded: ShardedFleet,
) -> None:
    """Shards 0/2 and 1/2 give the unsharded run's per-tenant results, in one report."""
    whole = sharded.run("audit", "--all", "--output", "whole")
    assert whole.returncode == 1, whole.stderr
    shard0 = sharded.run("audit", "--all", "--shard", "0/2", "--run-group", "night-1",
                         "--output", "s0")
    shard1 = sharded.run("audit", "--all", "--output", "s1",
                         env={"AUDITOR_SHARD": "1/2", "AUDITOR_RUN_GROUP": "night-1"})
    assert (shard0.returncode, shard1.returncode) == (1, 1), shard0.stderr + shard1.stderr
    ids0 = {t["tenant_id"] for t in sharded.report_json("s0")["tenants"]}
    ids1 = {t["tenant_id"] for t in sharded.report_json("s1")["tenants"]}
    assert len(ids0) == len(ids1) == 2
    assert not ids0 & ids1  # each account's tenants in exactly one shard

    done = sharded.run("report", "--run-group", "night-1", "--output", "group")
    assert done.returncode == whole.returncode, done.stderr
    combined = sharded.report_json("group")
    unsharded = sharded.report_json("whole")
    assert [t["tenant_id"] for t in combined["tenants"]] == [
        t["tenant_id"] for t in unsharded["tenants"]
    ]
    assert _verdicts(combined) == _verdicts(unsharded)
    assert combined["summary"] == unsharded["summary"] == {
        "tenants": 4, "passed": 2, "failed": 2, "errored": 0, "waived": 0,
    }
    assert (sharded.tmp_path / "group" / "report.html").is_file()
    assert "missing" not in done.stderr


def test_a_shard_run_again_replaces_its_earlier_result(sharded: ShardedFleet) -> None:
    """Shard 0 run twice counts once: the report has each tenant once, from the rerun."""
    for shard in ("0/2", "1/2", "0/2"):
        ran = sharded.run("audit", "--all", "--shard", shard, "--run-group", "again",
                          "--output", "s")
        assert ran.returncode == 1, ran.stderr
    rerun_id = sharded.report_json("s")["run"]["id"]
    done = sharded.run("report", "--run-group", "again", "--output", "group")
    assert done.returncode == 1, done.stderr
    combined = sharded.report_json("group")
    assert sorted(t["tenant_id"] for t in combined["tenants"]) == sorted(
        t.tenant_id for t, _ in sharded.tenants
    )
    assert combined["run"]["id"] == rerun_id  # the shard recorded last names the run


def test_missing_shards_exit_3_and_name_them_unless_partial(sharded: ShardedFleet) -> None:
    """With shard 1/2 missing: exit 3 naming it, nothing written; --partial writes shard 0."""
    ran = sharded.run("audit", "--all", "--shard", "0/2", "--run-group", "half",
                      "--output", "s0")
    assert ran.returncode == 1, ran.stderr

    waiting = sharded.run("report", "--run-group", "half", "--output", "group",
                          "--wait", "0.2")
    assert waiting.returncode == 3
    assert "shard 1/2 missing" in waiting.stderr
    assert not (sharded.tmp_path / "group" / "report.json").exists()

    partial = sharded.run("report", "--run-group", "half", "--output", "group", "--partial")
    assert partial.returncode == 3
    assert "shard 1/2 missing" in partial.stderr
    reported = {t["tenant_id"] for t in sharded.report_json("group")["tenants"]}
    assert reported == {t["tenant_id"] for t in sharded.report_json("s0")["tenants"]}

    both = sharded.run("report", "--run-group", "half", "--output", "group2", "--partial",
                       "--wait", "0.1")
    assert both.returncode == 3
    assert "shard 1/2 missing" in both.stderr
    assert (sharded.tmp_path / "group2" / "report.json").is_file()

    unknown = sharded.run("report", "--run-group", "never-ran", "--output", "none")
    assert unknown.returncode == 3
    assert "no recorded shard" in unknown.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--all", "--shard", "2/2", "--run-group", "g"], "must be below 2"),
        (["--all", "--shard", "one-of-two", "--run-group", "g"], "is not I/N"),
        (["--all", "--shard", "0/2"], "--shard needs --run-group"),
        (["--all", "--shard", "0/2", "--run-group", "bad group"], "must be 1 to 64"),
    ],
)
def test_bad_shard_flags_exit_2_before_auditing(
    sharded: ShardedFleet, args: list[str], says: str
) -> None:
    """A malformed --shard or --run-group, or --shard alone, is a usage error (exit 2)."""
    ran = sharded.run("audit", *args, "--output", "out")
    assert ran.returncode == 2
    assert says in ran.stderr
    assert not (sharded.tmp_path / "out" / "report.json").exists()


def test_another_shard_count_in_the_same_group_exits_2(sharded: ShardedFleet) -> None:
    """A group recorded as 2 shards refuses a shard of 3 before auditing (exit 2)."""
    first = sharded.run("audit", "--all", "--shard", "0/2", "--run-group", "g2",
                        "--output", "a")
    assert first.returncode == 1, first.stderr
    second = sharded.run("audit", "--all", "--shard", "1/3", "--run-group", "g2",
                         "--output", "b")
    assert second.returncode == 2
    assert "recorded with 2 shards, not 3" in second.stderr


def test_shards_send_no_alerts_and_the_report_sends_them_once(
    sharded: ShardedFleet, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    """Shards announce nothing; `report --run-group` posts the run's events; again: nothing."""
    url, bodies = webhook
    sharded.alerts = (
        "alerts:\n  routes:\n    - name: siem\n      webhook:\n"
        f"        url: {url}\n        secret: ${{HOOK_SECRET}}"
    )
    env = {"HOOK_SECRET": "s" * 32}
    for shard in ("0/2", "1/2"):
        ran = sharded.run("audit", "--all", "--shard", shard, "--run-group", "alerting",
                          "--output", "s", env=env)
        assert ran.returncode == 1, ran.stderr
        assert "--no-alerts" not in ran.stderr  # it was not asked for: the report tells them
    assert bodies == []

    done = sharded.run("report", "--run-group", "alerting", "--output", "group", env=env)
    assert done.returncode == 1, done.stderr
    events = [e for body in bodies for e in body["events"]]
    failing = {t.tenant_id for t, _ in sharded.tenants if t.org.apps[t.org.app_id]["status"]
               == "INACTIVE"}
    assert {e["tenant_id"] for e in events if e["kind"] == "new"} == failing
    posted = len(bodies)

    again = sharded.run("report", "--run-group", "alerting", "--output", "group", env=env)
    assert again.returncode == 1, again.stderr
    assert len(bodies) == posted


def test_a_shard_that_owns_no_tenant_still_completes_the_run(sharded: ShardedFleet) -> None:
    """Of 3 shards the fleet's two accounts fill two; the empty third records, and counts."""
    counts = []
    for index in range(3):
        ran = sharded.run("audit", "--all", "--shard", f"{index}/3", "--run-group", "three",
                          "--output", f"s{index}")
        counts.append(len(sharded.report_json(f"s{index}")["tenants"]))
        # A shard holds whole accounts, and each account has one failing tenant.
        assert ran.returncode == (1 if counts[-1] else 0), ran.stderr
    assert min(counts) == 0  # the fleet's two quota groups cannot fill three shards
    assert sum(counts) == 4
    done = sharded.run("report", "--run-group", "three", "--output", "group")
    assert done.returncode == 1, done.stderr
    assert sharded.report_json("group")["summary"]["tenants"] == 4


def test_a_damaged_shard_report_exits_3_naming_the_shard_and_writes_nothing(
    sharded: ShardedFleet,
) -> None:
    """A shard's stored report cut short: one line naming the shard and the fix, no report."""
    for shard in ("0/2", "1/2"):
        ran = sharded.run("audit", "--all", "--shard", shard, "--run-group", "cut",
                          "--output", "s")
        assert ran.returncode == 1, ran.stderr
    engine = create_engine(normalize_url(sharded.store))
    try:
        with engine.begin() as conn:
            blob = conn.exec_driver_sql(
                "SELECT report FROM run_group_shards WHERE group_id = 'cut' AND shard_index = 1"
            ).scalar_one()
            conn.execute(
                text("UPDATE run_group_shards SET report = :cut "
                     "WHERE group_id = 'cut' AND shard_index = 1"),
                {"cut": bytes(blob)[: len(blob) // 2]},
            )
    finally:
        engine.dispose()

    done = sharded.run("report", "--run-group", "cut", "--output", "group")
    assert done.returncode == 3
    assert "shard 1/2" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (sharded.tmp_path / "group" / "report.json").exists()


def test_report_without_a_writable_temporary_folder_exits_3_and_writes_nothing(
    sharded: ShardedFleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The combined run is spooled as an audit's is: no temporary folder, exit 3 naming TMPDIR."""
    import tempfile  # noqa: PLC0415

    for shard in ("0/2", "1/2"):
        ran = sharded.run("audit", "--all", "--shard", shard, "--run-group", "notmp",
                          "--output", "s")
        assert ran.returncode == 1, ran.stderr
    blocker = sharded.tmp_path / "not-a-folder"
    blocker.write_text("a file where the temporary folder should be")
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))
    done = sharded.run("report", "--run-group", "notmp", "--output", "group")
    assert done.returncode == 3, done.stderr
    assert "set TMPDIR to a writable folder" in done.stderr
    assert not (sharded.tmp_path / "group" / "report.json").exists()
