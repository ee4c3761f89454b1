"""The auditor: keeps every tenant's Okta -> Rapticore (AWS Cognito) OIDC SSO correct.

A map of the package, one core and its seams (pip-audit's shape)::

    collect/       okta SDK + boto3, paced (pacing.py)  ->  snapshot.TenantSnapshot (redacted)
    rules/         the generic rule engine over the snapshot  <-  rules/*.yaml at the top level
    audit.py       the core: collect, evaluate each tenant as it finishes, hand it to a sink
    history.py     the sink with memory: drift.py, lifecycle and waivers.py, saved by store/
    streamed_report.py  the run's tenants as compressed JSON, read back one at a time
    store/         SQLAlchemy + Alembic: runs, findings, baselines, alert outbox, leases, trends
    report/        JSON, HTML and text renderers; destination.py writes a folder or S3
    alerts/        what each route was last told -> Slack (slack_sdk) and signed webhooks
    application.py the one flow every entry point calls: run, record, write, tell
    cli/           the thin shell: parser.py and one module per command group in commands/
    scheduler.py   the nightly job (APScheduler), one run per slot across replicas (leases)
    service/       the pulse: Prometheus metrics, /healthz, settings of the long-running service
    logs.py        structured logs (structlog) with run and tenant ids, secrets redacted
    shards.py      a stable share of a fleet per process (--shard I/N)
    emulator/      an Okta org emulator, moto's Cognito and a quota proxy: tests, demo, benchmarks

config.py, yamlsource.py (line-accurate YAML errors), urls.py and errors.py (exit codes)
are shared by all of them.
"""

__version__ = "0.1.0"
