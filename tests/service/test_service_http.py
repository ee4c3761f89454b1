"""/healthz and /metrics over real HTTP on loopback, with the clock moved, not waited for."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from test_service_metrics import samples

from auditor.config import ScheduleConfig
from auditor.service.health import HealthPolicy
from auditor.service.http import ServiceHTTP, parse_listen
from auditor.service.metrics import ApiCallTally, Metrics
from auditor.service.settings import ServiceSettings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from auditor.results import RunReport

STARTED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # the service starts at noon
SLOT = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # its first nightly slot ("0 2 * * *")
NIGHTLY = HealthPolicy(ScheduleConfig().trigger(), STARTED, timedelta(hours=3))


@pytest.mark.parametrize(
    ("now", "last_success", "healthy", "reason"),
    [
        (SLOT - timedelta(hours=1), None, True, "next scheduled run at 2026-11-28T02:00:00Z"),
        (SLOT + timedelta(hours=2, minutes=59), None, True, "under way or starting"),
        (SLOT + timedelta(hours=3), None, False, "no successful audit since start-up"),
        (SLOT + timedelta(days=1, hours=2), SLOT + timedelta(minutes=40), True, "under way"),
        (SLOT + timedelta(days=1, hours=3, minutes=1), SLOT + timedelta(minutes=40), False,
         ("no successful audit since 2026-11-28T02:40:00Z: the run scheduled at "
         "2026-11-29T02:00:00Z did not succeed within the grace of 180 min")),
    ],
)
def test_health_follows_the_nightly_schedule_and_its_grace(
    now: datetime, last_success: datetime | None, healthy: bool, reason: str  # noqa: FBT001
) -> None:
    """Healthy before the first slot and within each slot's grace; overdue one grace after."""
    health = NIGHTLY.check(last_success, now)
    assert health.healthy is healthy
    assert reason in health.reason


def test_a_frequent_schedule_is_overdue_one_grace_after_the_first_missed_slot() -> None:
    """With runs every 10 minutes, missing the 02:10 one fails at 02:40, not never."""
    policy = HealthPolicy(
        ScheduleConfig(cron="*/10 * * * *").trigger(), STARTED, timedelta(minutes=30)
    )
    last = datetime(2026, 11, 28, 2, 5, tzinfo=UTC)
    assert policy.check(last, datetime(2026, 11, 28, 2, 39, tzinfo=UTC)).healthy
    late = policy.check(last, datetime(2026, 11, 28, 2, 41, tzinfo=UTC))
    assert not late.healthy
    assert late.due_slot == datetime(2026, 11, 28, 2, 10, tzinfo=UTC)


@pytest.fixture
def served() -> Iterator[tuple[str, Metrics]]:
    """A ServiceHTTP on a free loopback port with a fresh Metrics and the nightly policy."""
    metrics = Metrics(ApiCallTally())
    server = ServiceHTTP("127.0.0.1", 0, metrics, lambda: NIGHTLY.check(metrics.last_success))
    with server:
        yield f"http://127.0.0.1:{server.port}", metrics


def get(url: str) -> tuple[int, str, dict[str, str]]:
    """Status, body and headers of a GET (an HTTP error status is an answer here too)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback http
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def body(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def test_healthz_turns_unhealthy_when_the_run_is_overdue_and_recovers_after_one(
    served: tuple[str, Metrics], three_tenant_report: RunReport
) -> None:
    """/healthz answers 200 before the slot, 503 with a reason once overdue, 200 after a run."""
    base, metrics = served
    with time_machine.travel(SLOT - timedelta(minutes=5)):
        code, text, headers = get(f"{base}/healthz")
    assert code == 200
    assert headers["Content-Type"] == "application/json"
    assert body(text)["status"] == "ok"

    with time_machine.travel(SLOT + timedelta(hours=3, seconds=1)):
        code, text, _ = get(f"{base}/healthz")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/healthz", timeout=10)  # noqa: S310 - loopback http
    assert code == 503
    assert refused.value.reason == "Service Unavailable"  # the status line a probe logs
    overdue = body(text)
    assert overdue["status"] == "overdue"
    assert overdue["due_slot"] == "2026-11-28T02:00:00Z"
    assert overdue["deadline"] == "2026-11-28T05:00:00Z"
    assert "no successful audit since start-up" in overdue["reason"]

    metrics.record_run(three_tenant_report, 60, finished_at=SLOT + timedelta(hours=3, minutes=5))
    with time_machine.travel(SLOT + timedelta(hours=3, minutes=6)):
        code, text, _ = get(f"{base}/healthz")
    assert code == 200
    assert body(text)["last_success"] == "2026-11-28T05:05:00Z"


def test_metrics_serves_the_runs_figures_and_nothing_else_is_served(
    served: tuple[str, Metrics], three_tenant_report: RunReport
) -> None:
    """/metrics carries the recorded run; other paths are 404 with the two paths named."""
    base, metrics = served
    metrics.record_run(three_tenant_report, 12.5, finished_at=SLOT)
    code, text, headers = get(f"{base}/metrics")
    assert code == 200
    assert headers["Content-Type"].startswith("text/plain")
    got = samples(text)
    assert got["auditor_last_success_timestamp_seconds", ()] == SLOT.timestamp()
    assert got["auditor_tenants", (("status", "error"),)] == 1
    assert got["auditor_last_run_duration_seconds", ()] == 12.5
    code, text, _ = get(f"{base}/admin")
    assert code == 404
    assert body(text)["paths"] == ["/metrics", "/healthz"]


def test_a_failing_health_check_is_a_500_not_a_dead_server() -> None:
    """A bug in the check answers 500 and the server keeps serving /metrics."""
    metrics = Metrics(ApiCallTally())

    def broken() -> Any:
        raise RuntimeError("bug")

    with ServiceHTTP("127.0.0.1", 0, metrics, broken) as server:
        base = f"http://127.0.0.1:{server.port}"
        assert get(f"{base}/healthz")[0] == 500
        assert get(f"{base}/metrics")[0] == 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:9464", ("127.0.0.1", 9464)), ("[::1]:9464", ("::1", 9464)),
     ("0.0.0.0:80", ("0.0.0.0", 80))],  # noqa: S104 - a parsed string, nothing is bound
)
def test_listen_addresses_parse(text: str, expected: tuple[str, int]) -> None:
    """HOST:PORT and [IPv6]:PORT are understood."""
    assert parse_listen(text) == expected


@pytest.mark.parametrize(
    "text", ["9464", "localhost", "127.0.0.1:http", "127.0.0.1:70000", ":9464"]
)
def test_a_bad_listen_address_is_a_config_error_saying_the_form(text: str) -> None:
    """A listen value that is not HOST:PORT is refused with an example of the right form."""
    with pytest.raises(ValueError, match=r"must be HOST:PORT, e\.g\. 127\.0\.0\.1:9464"):
        ServiceSettings(listen=text)
