"""The audit as a service (issue 8): metrics, health, and the service's settings.

:mod:`auditor.service.metrics` holds the Prometheus figures of the runs (served by
``auditor schedule --listen``, written by ``auditor audit --metrics-file``);
:mod:`auditor.service.http` serves them with ``/healthz``;
:mod:`auditor.service.settings` is the config model of these knobs.
"""
