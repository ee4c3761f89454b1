"""Metrics (issue 8): a run's figures as Prometheus reads them, from /metrics or a textfile."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from auditor.service.metrics import ApiCallTally, Metrics, count_api_call

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
