"""The service's Prometheus figures: when the audit last succeeded, and what it found.

One :class:`Metrics` per process, on its own ``CollectorRegistry`` (never
prometheus-client's global one: importing a library must not add series to our
``/metrics``, and tests get a fresh registry each). The scheduler records every run in it
and ``/metrics`` serves it; ``auditor audit --metrics-file`` writes the same figures for
node-exporter's textfile collector (atomically: a scrape never sees half a file).

API calls are counted where they happen, in the collectors, which have no handle on a
:class:`Metrics`: they call :func:`count_api_call`, which adds to a process-wide,
thread-safe tally that every :class:`Metrics` reads when scraped.

Names follow Prometheus conventions: ``_seconds`` for durations, ``_timestamp_seconds``
for Unix times, ``_total`` for counters; every label combination is always present (0
rather than missing), so an alert on a status never misses a series that vanished.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client import write_to_textfile as _write_to_textfile
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from auditor.results import ResultStatus, RunView, Severity, TenantStatus

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import aiohttp
    from prometheus_client.metrics_core import Metric

ApiSource = Literal["okta", "cognito", "discovery"]
ApiOutcome = Literal["ok", "error", "throttled"]
API_SOURCES: tuple[ApiSource, ...] = get_args(ApiSource)
API_OUTCOMES: tuple[ApiOutcome, ...] = get_args(ApiOutcome)


class ApiCallTally:
    """Calls to the tenants' services, by source and outcome; safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[ApiSource, ApiOutcome]] = Counter()

    def count(self, source: ApiSource, outcome: ApiOutcome, calls: int = 1) -> None:
        """Add ``calls`` calls that ended in ``outcome``."""
        if source not in API_SOURCES or outcome not in API_OUTCOMES:
            # A typo at a call site would otherwise be a series nobody alerts on.
            raise ValueError(f"unknown API call source/outcome {source!r}/{outcome!r}")
        with self._lock:
            self._counts[source, outcome] += calls

    def counts(self) -> dict[tuple[ApiSource, ApiOutcome], int]:
        """Every (source, outcome) pair, 0 for those never counted."""
        with self._lock:
            return {(s, o): self._counts[s, o] for s in API_SOURCES for o in API_OUTCOMES}


API_CALLS = ApiCallTally()


def count_api_call(source: ApiSource, outcome: ApiOutcome = "ok") -> None:
    """Count one attempt at a call to a tenant's service, from any thread or task.

    ``ok``: a 2xx answer; ``throttled``: a 429 / ThrottlingException answer (every one,
    whether or not a retry then worked); ``error``: any other failed attempt (4xx such as
    a deleted app's 404 or an access denied, 5xx, network). So the attempts made are the
    sum over outcomes. :func:`outcome_of` classifies an answer.
    """
    API_CALLS.count(source, outcome)


# botocore's own list of throttling error codes (botocore.retries.standard).
_AWS_THROTTLING = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
})


def outcome_of(status: int | None, error_code: str | None = None) -> ApiOutcome:
    """The outcome of one attempt: its HTTP status (None: no answer) and AWS error code."""
    if status == 429 or error_code in _AWS_THROTTLING:
        return "throttled"
    if status is None or not 200 <= status < 300:
        return "error"
    return "ok"


def count_botocore_attempts(client: Any, source: ApiSource = "cognito") -> None:  # noqa: ANN401 - any boto3 client
    """Count every attempt a boto3 client makes (retries included) under ``source``.

    Hooks botocore's ``needs-retry`` event, which fires once per attempt with its answer
    or exception; the handler returns None, so botocore's retry decisions are unchanged.
    """
    service = client.meta.service_model.service_id.hyphenize()

    def on_attempt(
        response: tuple[Any, dict[str, Any]] | None = None,
        caught_exception: BaseException | None = None,
        **_: object,
    ) -> None:
        if caught_exception is not None or response is None:
            count_api_call(source, "error")
            return
        http, parsed = response
        code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        count_api_call(source, outcome_of(http.status_code, code))

    client.meta.events.register(
        f"needs-retry.{service}", on_attempt, unique_id=f"auditor-api-calls-{source}"
    )


def aiohttp_trace_config(source: ApiSource) -> aiohttp.TraceConfig:
    """An aiohttp ``TraceConfig`` counting every request a session makes under ``source``.

    For the discovery fetch (``ClientSession(trace_configs=[...])``) and the okta SDK
    (a session given to its HTTP client with ``set_session``).
    """
    import aiohttp  # noqa: PLC0415 - only collectors need it; keeps --metrics-file light

    async def on_end(_session: object, _context: object, params: Any) -> None:  # noqa: ANN401 - aiohttp's trace params
        count_api_call(source, outcome_of(params.response.status))

    async def on_exception(_session: object, _context: object, _params: object) -> None:
        count_api_call(source, "error")

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_exception)
    return trace


class _ApiCallCollector(Collector):
    """Exposes a tally as ``auditor_api_calls_total{source, outcome}`` at scrape time."""

    def __init__(self, tally: ApiCallTally) -> None:
        self._tally = tally

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "auditor_api_calls",
            "Calls to tenants' services (okta, cognito, discovery) by outcome "
            "(ok, error, throttled).",
            labels=["source", "outcome"],
        )
        for (source, outcome), calls in self._tally.counts().items():
            family.add_metric([source, outcome], calls)
        yield family


class Metrics:
    """The figures of one process's audit runs, on a registry of their own."""

    def __init__(self, tally: ApiCallTally = API_CALLS) -> None:
        self.registry = CollectorRegistry()
        self._lock = threading.Lock()
        self._last_success: datetime | None = None
        self._last_success_gauge = Gauge(
            "auditor_last_success_timestamp_seconds",
            "When the last successful audit run finished (Unix time); 0 before the first.",
            registry=self.registry,
        )
        self._last_run = Gauge(
            "auditor_last_run_timestamp_seconds",
            "When the last audit run finished, successful or not (Unix time).",
            registry=self.registry,
        )
        self._last_run_success = Gauge(
            "auditor_last_run_success",
            "1 when the last audit run succeeded (audited and recorded), else 0.",
            registry=self.registry,
        )
        self._duration = Gauge(
            "auditor_last_run_duration_seconds",
            "How long the last audit run took, start to reports written.",
            registry=self.registry,
        )
        self._runs = PromCounter(
            "auditor_runs",
            "Audit runs this process finished, by outcome (success, failure).",
            ["outcome"],
            registry=self.registry,
        )
        self._tenants = Gauge(
            "auditor_tenants",
            "Tenants in the last successful run, by status (pass, fail, error).",
            ["status"],
            registry=self.registry,
        )
        self._results = Gauge(
            "auditor_results",
            "Rule results in the last successful run, by severity and status.",
            ["severity", "status"],
            registry=self.registry,
        )
        self._waived = Gauge(
            "auditor_results_waived",
            "Failing results covered by a waiver in the last successful run.",
            registry=self.registry,
        )
        self._alerts_queued = Gauge(
            "auditor_alerts_queued",
            "Alerts waiting in the store's outbox (not yet delivered to their route).",
            registry=self.registry,
        )
        for outcome in ("success", "failure"):
            self._runs.labels(outcome=outcome)
        self.registry.register(_ApiCallCollector(tally))
        self._set_findings({}, Counter(), 0)

    # --------------------------------------------------------------------- recording

    def record_run(
        self,
        report: RunView,
        duration: float,
        *,
        succeeded: bool = True,
        finished_at: datetime | None = None,
    ) -> None:
        """A finished run: its time, its duration and what it found.

        ``succeeded=False`` when the run's verdicts could not be recorded (store down):
        its figures are still shown, but the last success stays where it was, so
        ``/healthz`` goes unhealthy if that lasts.
        """
        at = finished_at or datetime.now(UTC)
        tenants = Counter(t.status for t in report.tenants)
        results = Counter((r.severity, r.status) for t in report.tenants for r in t.results)
        with self._lock:
            self._set_findings(tenants, results, report.summary.waived)
            self._finish(at, duration, succeeded=succeeded)

    def record_failure(self, duration: float, *, finished_at: datetime | None = None) -> None:
        """A run that did not produce a report (it raised): the last findings stay shown."""
        with self._lock:
            self._finish(finished_at or datetime.now(UTC), duration, succeeded=False)

    def mark_success(self, at: datetime) -> None:
        """A successful run this process did not do itself (another replica ran the slot).

        Keeps a standby replica healthy: the service audited, just not in this process.
        Never moves the last success back in time.
        """
        with self._lock:
            self._success(at)

    def set_alerts_queued(self, queued: int) -> None:
        """How many alerts wait in the outbox now."""
        self._alerts_queued.set(queued)

    @property
    def last_success(self) -> datetime | None:
        """When the last successful run finished (None before the first)."""
        with self._lock:
            return self._last_success

    def _finish(self, at: datetime, duration: float, *, succeeded: bool) -> None:
        self._last_run.set(at.timestamp())
        self._duration.set(duration)
        self._last_run_success.set(1 if succeeded else 0)
        self._runs.labels(outcome="success" if succeeded else "failure").inc()
        if succeeded:
            self._success(at)

    def _success(self, at: datetime) -> None:
        if self._last_success is None or at > self._last_success:
            self._last_success = at
            self._last_success_gauge.set(at.timestamp())

    def _set_findings(
        self,
        tenants: Counter[TenantStatus] | dict[TenantStatus, int],
        results: Counter[tuple[Severity, ResultStatus]],
        waived: int,
    ) -> None:
        for status in TenantStatus:
            self._tenants.labels(status=status.value).set(tenants.get(status, 0))
        for severity in Severity:
            for result in ResultStatus:
                self._results.labels(severity=severity.value, status=result.value).set(
                    results[severity, result]
                )
        self._waived.set(waived)

    # ----------------------------------------------------------------------- output

    def render(self) -> bytes:
        """The figures in Prometheus' text format."""
        return generate_latest(self.registry)

    def write_textfile(self, path: Path) -> None:
        """Write the figures for node-exporter's textfile collector, atomically.

        The file is written beside ``path`` and renamed over it, so a scrape never reads
        half of it. :class:`ValueError` for a name the collector would ignore.
        """
        check_textfile_path(path)
        _write_to_textfile(str(path), self.registry)


def check_textfile_path(path: Path) -> None:
    """Refuse a path node-exporter's textfile collector would never read (for exit 2)."""
    if path.suffix != ".prom":
        raise ValueError(
            f"--metrics-file {path}: node-exporter's textfile collector reads only *.prom "
            f"files; name it e.g. {path.with_suffix('.prom').name}"
        )
    if not path.parent.is_dir():
        raise ValueError(
            f"--metrics-file {path}: folder {path.parent} does not exist; point it at the "
            "textfile collector's folder (node-exporter --collector.textfile.directory)"
        )
