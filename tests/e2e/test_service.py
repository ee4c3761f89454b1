"""`auditor schedule` as a service and `audit --metrics-file`, as real processes (issue 8).

The clock is controlled, not waited for: ``tests/service/clock_child.py`` runs the CLI
with time_machine starting the wall clock a few seconds before the cron time (the job
then fires for real) or jumping it past the time (the scheduler then misses it).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cli_helpers import cli_env, new_id, write_config
from prometheus_client.parser import text_string_to_metric_families

from auditor.demo import emulator_environment
from auditor.emulator.okta.org import Fault

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from auditor.store import Store

CLOCK_CHILD = Path(__file__).parents[1] / "service" / "clock_child.py"
POSTGRES_ENV = "AUDITOR_TEST_POSTGRES_URL"
CRON_TIME = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
# The child's clock starts this long before the cron time: room for its start-up.
LEAD_SECONDS = 8


# ------------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback http
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait_for(what: str, check: Callable[[], bool], proc: subprocess.Popen[str],
              timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc.poll() is not None:
            pytest.fail(f"the process exited ({proc.returncode}) before {what}")
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text as {(sample name, sorted labels): value}."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


class Service:
    """One `auditor ...` child process; stderr goes to a file (debug logs fill pipes)."""

    def __init__(self, workdir: Path, args: list[str], env: dict[str, str], *,
                 clock: datetime | None = None, name: str = "svc") -> None:
        self.stderr_path = workdir / f"{name}.stderr"
        self.jump_file = workdir / f"{name}.jump"
        command = [sys.executable, "-m", "auditor", *args]
        if clock is not None:
            command = [sys.executable, str(CLOCK_CHILD), clock.isoformat(),
                       str(self.jump_file), "--", *args]
        self._err = self.stderr_path.open("w")
        self.proc = subprocess.Popen(  # noqa: S603 - our own CLI
            command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=self._err,
            text=True,
        )

    @property
    def stderr(self) -> str:
        """Everything the child wrote on stderr so far."""
        return self.stderr_path.read_text()

    def jump(self, to: datetime) -> None:
        """Move the child's wall clock to ``to`` (it ticks on from there)."""
        temp = self.jump_file.with_suffix(".tmp")
        temp.write_text(to.isoformat())
        temp.rename(self.jump_file)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.close()

    def close(self) -> None:
        """Kill the child if it still runs; close its stderr file."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._err.close()


@pytest.fixture
def services() -> Iterator[list[Service]]:
    """Every Service a test starts is killed at the end, whatever happened."""
    started: list[Service] = []
    yield started
    for service in started:
        service.close()


@pytest.fixture
def service_env(fleet, moto_cognito, tmp_path) -> Callable[..., tuple[Path, dict[str, str]]]:
    """Write a config for the fleet (``extra`` YAML added); its path and the child env."""

    def make(extra: str = "") -> tuple[Path, dict[str, str]]:
        config = tmp_path / "auditor.yaml"
        tokens = write_config(fleet, config, extra=extra)
        env = cli_env({
            **emulator_environment(moto_cognito), **tokens,
            "PYTHONPATH": os.pathsep.join(p for p in (str(Path.cwd()), os.environ.get(
                "PYTHONPATH", "")) if p),
        })
        return config, env

    return make


def _runs(db: Path) -> list[tuple[str, str]]:
    """(run id, trigger) of every run recorded in the SQLite store."""
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT id, trigger FROM runs ORDER BY started_at"))


# --------------------------------------------------------------------------- tests


def test_the_job_fires_at_the_cron_time(fleet, service_env, tmp_path, services):
    """With the clock a few seconds before 02:00, `schedule` audits at 02:00 by itself."""
    fleet.add(new_id("cron"))
    config, env = service_env(
        f"schedule: {{cron: '0 2 * * *'}}\nstore: sqlite:///{tmp_path / 'state.db'}"
    )
    svc = Service(tmp_path, ["--log-format", "json", "schedule", "--config", str(config)], env,
                  clock=CRON_TIME - timedelta(seconds=LEAD_SECONDS))
    services.append(svc)
    report = tmp_path / "reports-out" / "report.json"
    _wait_for("the 02:00 run's report", report.exists, svc.proc)
    _wait_for("the run's end", lambda: "audit run finished" in svc.stderr, svc.proc)
    assert svc.stop() == 0, svc.stderr
    data = json.loads(report.read_text())
    assert data["run"]["trigger"] == "schedule"
    started = datetime.fromisoformat(data["run"]["started_at"])
    assert CRON_TIME <= started < CRON_TIME + timedelta(seconds=60)
    lines = [json.loads(line) for line in svc.stderr.splitlines() if line.startswith("{")]
    assert any(
        "scheduled audit starting" in line["event"] and line.get("slot") == "2026-11-28T02:00:00Z"
        for line in lines
    ), svc.stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_schedulers_on_one_store_audit_the_slot_once(
    fleet, service_env, tmp_path, services, backend,
):
    """Two `auditor schedule` processes firing for the same 02:00 slot record one run."""
    if backend == "postgresql" and not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"set {POSTGRES_ENV} to run this on PostgreSQL")
    fleet.add(new_id("twice"))
    with _store_url(backend, tmp_path) as (store_url, count_runs):
        # A short ttl: the standby polls the slot's lease every ttl/4 (5 s here).
        config, env = service_env(
            f"schedule: {{cron: '0 2 * * *', lease_ttl_seconds: 20}}\nstore: '{store_url}'"
        )
        clock = CRON_TIME - timedelta(seconds=LEAD_SECONDS)
        for name in ("a", "b"):
            services.append(Service(
                tmp_path, ["schedule", "--config", str(config)], env, clock=clock, name=name,
            ))
        a, b = services
        both = lambda: all(  # noqa: E731 - a condition read twice
            "audit run finished" in s.stderr or "was audited by" in s.stderr for s in (a, b)
        )
        _wait_for("both replicas to settle the 02:00 slot", both, a.proc)
        assert a.stop() == 0, a.stderr
        assert b.stop() == 0, b.stderr
        ran = [s for s in (a, b) if "audit run finished" in s.stderr]
        skipped = [s for s in (a, b) if "was audited by" in s.stderr]
        assert (len(ran), len(skipped)) == (1, 1), a.stderr + b.stderr
        assert count_runs() == 1


def test_sigterm_mid_run_exits_0_with_finished_tenants_recorded(
    fleet, service_env, tmp_path, services,
):
    """SIGTERM during a run: exit 0, finished tenants recorded, the rest `error` interrupted."""
    first, slow, *rest = [fleet.add(new_id("term")) for _ in range(4)]
    slow.org.faults.append(Fault.latency(3, times=1))
    db = tmp_path / "state.db"
    config, env = service_env(
        f"schedule: {{cron: '0 3 1 1 *'}}\nconcurrency: 1\nstore: sqlite:///{db}"
    )
    svc = Service(tmp_path, ["schedule", "--now", "--config", str(config)], env)
    services.append(svc)
    # concurrency 1: the slow tenant's first (delayed) request means the first one is done.
    _wait_for("the second tenant's collection", lambda: slow.org.faults[-1].hits > 0, svc.proc)
    assert svc.stop() == 0, svc.stderr
    assert not (tmp_path / "reports-out" / "report.json.tmp").exists()
    data = json.loads((tmp_path / "reports-out" / "report.json").read_text())
    html = (tmp_path / "reports-out" / "report.html").read_text()
    assert html.rstrip().endswith("</html>")
    status = {t["tenant_id"]: t["status"] for t in data["tenants"]}
    assert status[first.tenant_id] == "pass"
    assert status[slow.tenant_id] == "pass"  # under way at SIGTERM: finished
    for tenant in rest:
        assert status[tenant.tenant_id] == "error"
        (tenant_report,) = [t for t in data["tenants"] if t["tenant_id"] == tenant.tenant_id]
        assert "interrupted" in tenant_report["errors"][0]["message"]
    assert _runs(db) == [(data["run"]["id"], "schedule")]
    run_dirs = list((tmp_path / "reports-out" / "runs").iterdir())
    assert len(run_dirs) == 1
    assert json.loads((run_dirs[0] / "report.json").read_text()) == data


def test_metrics_and_healthz_carry_the_runs_figures(fleet, service_env, tmp_path, services):
    """/metrics shows tenants by status, results by severity and API calls; /healthz 200."""
    fleet.add(new_id("met"))
    fleet.add(new_id("met"), okta_change=lambda org: org.faults.append(Fault.error(500)))
    port = _free_port()
    config, env = service_env(f"schedule: {{cron: '0 3 1 1 *'}}\nstore: sqlite:///{tmp_path}/s.db")
    svc = Service(tmp_path, ["schedule", "--now", "--listen", f"127.0.0.1:{port}",
                             "--config", str(config)], env)
    services.append(svc)
    _wait_for("the start-up run's end", lambda: "audit run finished" in svc.stderr, svc.proc)
    _wait_for("the run's figures", lambda: _samples(_get(
        f"http://127.0.0.1:{port}/metrics")[1]).get(("auditor_last_success_timestamp_seconds",
                                                       ())), svc.proc)
    status, body = _get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    figures = _samples(body)
    assert figures["auditor_tenants", (("status", "pass"),)] == 1
    assert figures["auditor_tenants", (("status", "error"),)] == 1
    assert figures["auditor_tenants", (("status", "fail"),)] == 0
    assert figures["auditor_results", (("severity", "critical"), ("status", "pass"))] > 0
    assert figures["auditor_api_calls_total", (("outcome", "ok"), ("source", "okta"))] > 0
    assert figures["auditor_api_calls_total", (("outcome", "error"), ("source", "okta"))] > 0
    assert figures["auditor_api_calls_total", (("outcome", "ok"), ("source", "cognito"))] > 0
    assert figures["auditor_runs_total", (("outcome", "success"),)] == 1
    health, text = _get(f"http://127.0.0.1:{port}/healthz")
    assert (health, json.loads(text)["status"]) == (200, "ok")
    assert svc.stop() == 0, svc.stderr


def test_healthz_turns_unhealthy_when_the_run_is_overdue(fleet, service_env, tmp_path, services):
    """/healthz is 200 before 02:00 and 503 once 02:00 plus the grace passed without a run."""
    fleet.add(new_id("late"))
    port = _free_port()
    config, env = service_env(
        "schedule: {cron: '0 2 * * *', grace_minutes: 30}\n"
        f"store: sqlite:///{tmp_path}/s.db"
    )
    svc = Service(tmp_path, ["schedule", "--listen", f"127.0.0.1:{port}", "--config",
                             str(config)], env, clock=datetime(2026, 11, 28, 1, 0, tzinfo=UTC))
    services.append(svc)
    _wait_for("the ready line", lambda: "serving /metrics" in svc.stderr, svc.proc)
    code, body = _get(f"http://127.0.0.1:{port}/healthz")
    assert (code, json.loads(body)["due_slot"]) == (200, "2026-11-28T02:00:00Z")
    svc.jump(datetime(2026, 11, 28, 2, 31, tzinfo=UTC))  # past 02:00 + 30 min, no run
    _wait_for("/healthz to fail", lambda: _get(f"http://127.0.0.1:{port}/healthz")[0] == 503,
              svc.proc, timeout=20)
    assert json.loads(_get(f"http://127.0.0.1:{port}/healthz")[1])["status"] == "overdue"
    assert svc.stop() == 0, svc.stderr


def test_metrics_file_carries_the_runs_figures(fleet, service_env, tmp_path):
    """`audit --metrics-file` writes a textfile with tenants by status and results by severity."""
    fleet.add(new_id("txt"))
    config, env = service_env(f"store: sqlite:///{tmp_path}/s.db")
    textfile = tmp_path / "auditor.prom"
    done = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "auditor", "audit", "--all", "--config", str(config),
         "--metrics-file", str(textfile)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    figures = _samples(textfile.read_text())
    assert figures["auditor_tenants", (("status", "pass"),)] == 1
    assert figures["auditor_results", (("severity", "high"), ("status", "pass"))] > 0
    assert figures["auditor_api_calls_total", (("outcome", "ok"), ("source", "cognito"))] > 0
    assert figures["auditor_last_success_timestamp_seconds", ()] > 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("auditor.prom.")]


@pytest.mark.parametrize(
    ("path", "fragment"),
    [("auditor.txt", "only *.prom"), ("missing/auditor.prom", "does not exist")],
)
def test_an_unusable_metrics_file_is_exit_2_before_the_run(
    fleet, cli, tmp_path, path, fragment,
):
    """A --metrics-file node-exporter would never read is refused before anything is audited."""
    fleet.add(new_id("bad"))
    ran = cli(["audit"], "--all", "--metrics-file", str(tmp_path / path))
    assert ran.returncode == 2
    assert fragment in ran.stderr
    assert not (tmp_path / "reports-out").exists()


def test_json_logs_carry_run_and_tenant_ids_and_no_secret(fleet, service_env, tmp_path):
    """At debug, every line is JSON, run lines carry run_id, tenant lines tenant_id, no secret."""
    tenant = fleet.add(new_id("logs"))
    tenant.org.faults.append(Fault.error(500, "*/grants*", times=1))  # a retried call: logged
    marker_secret = f"MARKER-hmac-{uuid.uuid4().hex}"
    marker_url = f"https://siem.example.com/hook/MARKER{uuid.uuid4().hex}"
    config, env = service_env(
        f"store: sqlite:///{tmp_path}/s.db\n"
        "alerts:\n  routes:\n    - name: siem\n      webhook:\n"
        f"        url: '{marker_url}'\n        secret: '{marker_secret}'\n"
    )
    done = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "auditor", "--log-level", "debug", "--log-format", "json",
         "audit", "--all", "--config", str(config)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode in (0, 1, 3), done.stderr
    for secret in (tenant.org.token, marker_secret, marker_url):
        assert secret not in done.stderr
    report = json.loads((tmp_path / "reports-out" / "report.json").read_text())
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    run_lines = [line for line in lines if line.get("run_id") == report["run"]["id"]]
    events = [line["event"] for line in run_lines]
    assert any(e.startswith("audit run starting") for e in events), events
    assert any(e.startswith("audit run finished") for e in events), events
    tenant_lines = [line for line in lines if line.get("tenant_id") == tenant.tenant_id]
    assert tenant_lines, "no line of the tenant's collection carries its tenant_id"
    assert all(line.get("run_id") == report["run"]["id"] for line in tenant_lines)


# ------------------------------------------------------------------------- stores


class _store_url:  # noqa: N801 - used as a context manager, reads as one
    """An empty store's URL and a function counting its runs (SQLite file or PG schema)."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.schema = f"svc_test_{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> tuple[str, Callable[[], int]]:
        if self.backend == "sqlite":
            db = self.tmp_path / "state.db"
            return f"sqlite:///{db}", lambda: len(_runs(db))
        from sqlalchemy import create_engine, text  # noqa: PLC0415

        from auditor.store.engine import normalize_url  # noqa: PLC0415

        self.admin = create_engine(
            normalize_url(os.environ[POSTGRES_ENV]), isolation_level="AUTOCOMMIT"
        )
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
        url = self.admin.url.update_query_dict({"options": f"-csearch_path={self.schema}"})

        def count() -> int:
            with self.admin.connect() as conn:
                return int(conn.execute(text(f'SELECT count(*) FROM "{self.schema}".runs'))  # noqa: S608 - our schema name
                           .scalar_one())

        return url.render_as_string(hide_password=False), count

    def __exit__(self, *_: object) -> None:
        if self.backend == "postgresql":
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{self.schema}" CASCADE')
            self.admin.dispose()


# ------------------------------------------------------------------ tenant leases


def _hold_tenant(store_url: str, tenant_id: str, release_after: float | None) -> Store:
    """Take the tenant's lease as another process would; release it after a while."""
    import threading  # noqa: PLC0415

    from auditor.store import open_store  # noqa: PLC0415
    from auditor.store.lease import acquire, release, tenant_lease_name  # noqa: PLC0415

    store = open_store(store_url)
    held = acquire(store, tenant_lease_name(tenant_id), "other-host:4242:feedbeef",
                   ttl=timedelta(seconds=60))
    assert held is not None
    if release_after is not None:
        threading.Timer(release_after, lambda: release(store, held)).start()
    return store


def test_a_tenant_another_process_audits_is_an_error_not_a_pass(fleet, audit, tmp_path):
    """A tenant whose lease another process keeps past tenant_wait_seconds is `error`."""
    busy, free = fleet.add(new_id("busy")), fleet.add(new_id("free"))
    url = f"sqlite:///{tmp_path}/s.db"
    store = _hold_tenant(url, busy.tenant_id, release_after=None)
    try:
        ran, out = audit("--all", extra_config=(
            f"store: {url}\nschedule: {{tenant_wait_seconds: 1}}"
        ))
    finally:
        store.close()
    assert ran.returncode == 3, ran.stderr
    tenants = {t["tenant_id"]: t for t in json.loads((out / "report.json").read_text())["tenants"]}
    assert tenants[free.tenant_id]["status"] == "pass"
    assert tenants[busy.tenant_id]["status"] == "error"
    assert "still held by other-host:4242" in tenants[busy.tenant_id]["errors"][0]["message"]


def test_a_run_waits_for_a_tenant_another_process_is_auditing(fleet, audit, tmp_path):
    """An audit waits while another process holds the tenant, then audits it once it is free."""
    tenant = fleet.add(new_id("wait"))
    url = f"sqlite:///{tmp_path}/s.db"
    store = _hold_tenant(url, tenant.tenant_id, release_after=1.5)
    started = time.monotonic()
    try:
        ran, out = audit("--all", extra_config=f"store: {url}")
    finally:
        store.close()
    assert ran.returncode == 0, ran.stderr
    assert time.monotonic() - started >= 1.5
    (only,) = json.loads((out / "report.json").read_text())["tenants"]
    assert only["status"] == "pass"


def test_sigterm_stops_an_audit_with_a_complete_report(fleet, service_env, tmp_path, services):
    """`audit` receiving SIGTERM mid-run writes a whole report: unstarted tenants interrupted."""
    first, slow, last = (fleet.add(new_id("aterm")) for _ in range(3))
    slow.org.faults.append(Fault.latency(3, times=1))
    config, env = service_env(f"concurrency: 1\nstore: sqlite:///{tmp_path}/s.db")
    svc = Service(tmp_path, ["audit", "--all", "--config", str(config)], env)
    services.append(svc)
    _wait_for("the second tenant's collection", lambda: slow.org.faults[-1].hits > 0, svc.proc)
    assert svc.stop() == 3, svc.stderr  # an interrupted tenant is an error: exit 3
    data = json.loads((tmp_path / "reports-out" / "report.json").read_text())
    status = {t["tenant_id"]: t["status"] for t in data["tenants"]}
    assert status == {first.tenant_id: "pass", slow.tenant_id: "pass", last.tenant_id: "error"}
    assert "SIGTERM" in svc.stderr


def test_sigterm_while_waiting_for_a_busy_tenant_stops_promptly(
    fleet, service_env, tmp_path, services,
):
    """A run waiting (up to an hour) for a tenant another process holds stops on SIGTERM."""
    tenant = fleet.add(new_id("held"))
    url = f"sqlite:///{tmp_path}/s.db"
    config, env = service_env(f"store: {url}")
    store = _hold_tenant(url, tenant.tenant_id, release_after=None)
    try:
        svc = Service(tmp_path, ["--log-format", "json", "audit", "--all", "--config",
                                 str(config)], env)
        services.append(svc)
        _wait_for("the run's start", lambda: "audit run starting" in svc.stderr, svc.proc)
        time.sleep(0.5)  # inside the lease wait (the run's only step after its start)
        stopped_at = time.monotonic()
        assert svc.stop(timeout=30) == 3, svc.stderr
        assert time.monotonic() - stopped_at < 15
    finally:
        store.close()
    (only,) = json.loads((tmp_path / "reports-out" / "report.json").read_text())["tenants"]
    assert only["status"] == "error"
    assert "interrupted" in only["errors"][0]["message"]
