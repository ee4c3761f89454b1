"""Metrics (issue 8): a run's figures as Prometheus reads them, from /metrics or a textfile."""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp
import boto3
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from auditor.service.metrics import (
    API_CALLS,
    ApiCallTally,
    Metrics,
    aiohttp_trace_config,
    count_api_call,
    count_botocore_attempts,
    outcome_of,
)

if TYPE_CHECKING:
    from pathlib import Path

    from auditor.results import RunReport

FINISHED = datetime(2026, 11, 28, 2, 3, tzinfo=UTC)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels (Prometheus' parser)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_recorded_run_shows_its_time_duration_tenants_and_results(
    three_tenant_report: RunReport,
) -> None:
    """After one run the exposition carries its finish time, duration and verdict counts."""
    metrics = Metrics(ApiCallTally())
    metrics.record_run(three_tenant_report, 181.5, finished_at=FINISHED)
    got = samples(metrics.render().decode())

    assert got["auditor_last_success_timestamp_seconds", ()] == FINISHED.timestamp()
    assert got["auditor_last_run_duration_seconds", ()] == 181.5
    assert got["auditor_last_run_success", ()] == 1
    assert got["auditor_runs_total", (("outcome", "success"),)] == 1
    for status in ("pass", "fail", "error"):
        assert got["auditor_tenants", (("status", status),)] == 1
    # cognito_idp_exists is critical and fails for beta.
    assert got["auditor_results", (("severity", "critical"), ("status", "fail"))] >= 1
    total = sum(v for (name, _), v in got.items() if name == "auditor_results")
    assert total == sum(len(t.results) for t in three_tenant_report.tenants)
    assert got["auditor_alerts_queued", ()] == 0


def test_api_calls_are_counted_by_source_and_outcome_from_many_threads() -> None:
    """Calls counted concurrently from threads all arrive, with every series present from 0."""
    tally = ApiCallTally()
    metrics = Metrics(tally)

    def hammer() -> None:
        for _ in range(1000):
            tally.count("okta", "ok")
        tally.count("cognito", "throttled")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = samples(metrics.render().decode())
    assert got["auditor_api_calls_total", (("outcome", "ok"), ("source", "okta"))] == 8000
    assert got["auditor_api_calls_total", (("outcome", "throttled"), ("source", "cognito"))] == 8
    assert got["auditor_api_calls_total", (("outcome", "error"), ("source", "discovery"))] == 0
    with pytest.raises(ValueError, match="unknown API call"):
        tally.count("okta", "timeout")  # type: ignore[arg-type]


def test_the_process_wide_counter_feeds_every_metrics_and_never_the_global_registry() -> None:
    """What the collectors count shows in every Metrics; the default registry stays clean."""
    metrics = Metrics()
    before = samples(metrics.render().decode())
    count_api_call("discovery", "error")
    after = samples(metrics.render().decode())
    key = ("auditor_api_calls_total", (("outcome", "error"), ("source", "discovery")))
    assert after[key] == before[key] + 1
    assert not any(name.startswith("auditor_") for name in REGISTRY._names_to_collectors)  # noqa: SLF001


def test_a_failed_run_keeps_the_last_success_and_the_last_findings(
    three_tenant_report: RunReport,
) -> None:
    """A run that raised counts as a failure; the last success and its verdicts stay shown."""
    metrics = Metrics(ApiCallTally())
    metrics.record_run(three_tenant_report, 10, finished_at=FINISHED)
    metrics.record_failure(3, finished_at=FINISHED.replace(day=29))
    got = samples(metrics.render().decode())
    assert got["auditor_last_success_timestamp_seconds", ()] == FINISHED.timestamp()
    assert got["auditor_last_run_timestamp_seconds", ()] == FINISHED.replace(day=29).timestamp()
    assert got["auditor_last_run_success", ()] == 0
    assert got["auditor_runs_total", (("outcome", "failure"),)] == 1
    assert got["auditor_tenants", (("status", "fail"),)] == 1
    assert metrics.last_success == FINISHED
    # Another replica's later success counts; an older one never moves it back.
    metrics.mark_success(FINISHED.replace(day=30))
    metrics.mark_success(FINISHED)
    assert metrics.last_success == FINISHED.replace(day=30)


def test_the_textfile_is_written_whole_with_the_same_figures(
    three_tenant_report: RunReport, tmp_path: Path
) -> None:
    """write_textfile leaves one parseable .prom file (no temporary left) with the run's figures."""
    metrics = Metrics(ApiCallTally())
    metrics.record_run(three_tenant_report, 42, finished_at=FINISHED)
    metrics.set_alerts_queued(3)
    path = tmp_path / "auditor.prom"
    path.write_text("stale", encoding="utf-8")
    metrics.write_textfile(path)
    assert [p.name for p in tmp_path.iterdir()] == ["auditor.prom"]
    got = samples(path.read_text(encoding="utf-8"))
    assert got["auditor_last_run_duration_seconds", ()] == 42
    assert got["auditor_alerts_queued", ()] == 3
    assert got["auditor_tenants", (("status", "error"),)] == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [("auditor.txt", r"reads only \*\.prom files; name it e\.g\. auditor\.prom"),
     ("missing/auditor.prom", "does not exist")],
)
def test_a_textfile_path_the_collector_would_ignore_is_refused(
    tmp_path: Path, name: str, message: str
) -> None:
    """A non-.prom name or a missing folder is refused with the fix, before any run."""
    with pytest.raises(ValueError, match=message):
        Metrics(ApiCallTally()).write_textfile(tmp_path / name)


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [(200, None, "ok"), (204, None, "ok"), (429, None, "throttled"),
     (400, "ThrottlingException", "throttled"), (400, "TooManyRequestsException", "throttled"),
     (400, "ResourceNotFoundException", "error"), (404, None, "error"), (503, None, "error"),
     (None, None, "error")],
)
def test_an_attempts_outcome_follows_its_status_and_aws_code(
    status: int | None, code: str | None, outcome: str
) -> None:
    """2xx is ok, 429 or an AWS throttling code is throttled, anything else (or no answer) error."""
    assert outcome_of(status, code) == outcome


@pytest.mark.usefixtures("cognito_env")
def test_a_boto3_client_against_moto_counts_each_attempt() -> None:
    """Every call of a hooked boto3 client (real botocore, moto's server) is counted once."""
    before = API_CALLS.counts()
    client = boto3.client("cognito-idp", region_name="us-east-1")
    count_botocore_attempts(client)
    client.list_user_pools(MaxResults=1)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_user_pool(UserPoolId="us-east-1_missing0")
    after = API_CALLS.counts()
    assert after["cognito", "ok"] - before["cognito", "ok"] == 1
    assert after["cognito", "error"] - before["cognito", "error"] == 1


def test_an_aiohttp_session_counts_answers_throttles_and_dead_servers() -> None:
    """A session with the trace config counts a 200, a 429, a 500 and a refused connection."""
    answers = iter([200, 429, 500])

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(status=next(answers), text="{}")

    async def scenario() -> None:
        app = web.Application()
        app.router.add_get("/x", handler)
        async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession(
            trace_configs=[aiohttp_trace_config("discovery")]
        ) as session:
            for _ in range(3):
                async with session.get(server.make_url("/x")) as response:
                    await response.read()
            with socket.socket() as probe:  # a port nobody listens on
                probe.bind(("127.0.0.1", 0))
                dead = probe.getsockname()[1]
            with pytest.raises(aiohttp.ClientConnectionError):
                await session.get(f"http://127.0.0.1:{dead}/x")

    before = API_CALLS.counts()
    asyncio.run(scenario())
    after = API_CALLS.counts()
    outcomes = ("ok", "throttled", "error")
    delta = {o: after["discovery", o] - before["discovery", o] for o in outcomes}
    assert delta == {"ok": 1, "throttled": 1, "error": 2}
