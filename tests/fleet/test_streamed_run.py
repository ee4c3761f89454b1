"""A fleet run keeps nothing of a finished tenant but its report (issue 9: flat memory)."""

from __future__ import annotations

import asyncio
import gc
import itertools
import weakref
from datetime import date
from typing import TYPE_CHECKING

import pytest
from builders import HASHER, change, compliant_snapshot

from auditor.audit import AuditRun, TenantOutcome, build_report, stream_audit
from auditor.history import RunRecorder, remember
from auditor.pacing import PacingConfig
from auditor.results import RunInfo, TenantStatus
from auditor.rules import load_rule_pack
from auditor.store import open_store

if TYPE_CHECKING:
    from pathlib import Path

    from auditor.demo import Fleet
    from auditor.results import RuleResult
    from auditor.snapshot import TenantSnapshot

PACK = load_rule_pack()
_ids = itertools.count()


class _Watching:
    """A sink that keeps only weak references, and counts the earlier snapshots still alive."""

    def __init__(self) -> None:
        self.refs: list[weakref.ref[TenantSnapshot]] = []
        self.alive_at_each_add: list[int] = []
        self.statuses: dict[str, bool] = {}

    def add(self, snapshot: TenantSnapshot, results: list[RuleResult]) -> None:
        gc.collect()
        self.alive_at_each_add.append(sum(ref() is not None for ref in self.refs))
        self.refs.append(weakref.ref(snapshot))
        self.statuses[snapshot.tenant_id] = not snapshot.has_errors and all(
            r.status.value == "pass" for r in results
        )


def test_a_finished_tenants_snapshot_is_freed_before_the_next_tenant_is_handed_on(
    fleet: Fleet,
) -> None:
    """With one tenant in flight, no earlier snapshot is alive when the next reaches the sink."""
    tenants = [fleet.add(f"stream{next(_ids)}").config() for _ in range(4)]
    sink = _Watching()
    asyncio.run(stream_audit(
        tenants, fleet.base_domain, PACK, HASHER, sink,
        pacing=PacingConfig(max_tenants_in_flight=1),
    ))
    assert sink.statuses == dict.fromkeys((t.id for t in tenants), True)
    assert sink.alive_at_each_add == [0, 0, 0, 0]
    gc.collect()
    assert [ref() for ref in sink.refs] == [None] * 4


def _outcomes(redirect: str) -> list[TenantOutcome]:
    bad = change(compliant_snapshot("globex"), "okta.app.settings.oauthClient.redirect_uris",
                 [redirect])
    snapshots = [compliant_snapshot("acme"), bad, compliant_snapshot("initech")]
    return [TenantOutcome(s, PACK.evaluate(s)) for s in snapshots]


def test_a_store_that_breaks_mid_run_loses_no_verdict_and_mixes_in_no_memory(
    tmp_path: Path,
) -> None:
    """A store broken after the first tenant: every verdict reported, no memory, nothing kept.

    The store's file is turned to garbage: finish raises, and the report shows no tenant
    with memory from before the break (not some tenants with it and others without).
    """
    db = tmp_path / "state.db"
    store = open_store(f"sqlite:///{db}")
    first = _outcomes("https://a.example/cb")
    remember(AuditRun(build_report("r1", "2026-11-26T02:00:00Z", "2026-11-26T02:00:00Z", first),
                      first), store, today=date(2026, 11, 26))
    store.close()

    store = open_store(f"sqlite:///{db}")
    try:
        second = _outcomes("https://b.example/cb")
        recorder = RunRecorder(store, started_at="2026-11-27T02:00:00Z", today=date(2026, 11, 27),
                               order=["acme", "globex", "initech"])
        recorder.add(second[0].snapshot, second[0].results)
        store.engine.dispose()  # no connection keeps the old pages cached
        db.write_bytes(b"not a database " * 4096)
        for outcome in second[1:]:
            recorder.add(outcome.snapshot, outcome.results)
        assert recorder.failure is not None

        info = RunInfo(id="r2", started_at="2026-11-27T02:00:00Z",
                       finished_at="2026-11-27T02:01:00Z")
        with pytest.raises(type(recorder.failure)):
            recorder.finish(info)
        report = recorder.without_memory(info)
    finally:
        store.close()

    assert [(t.tenant_id, t.status) for t in report.tenants] == [
        ("acme", TenantStatus.PASS), ("globex", TenantStatus.FAIL),
        ("initech", TenantStatus.PASS),
    ]
    assert (report.summary.passed, report.summary.failed) == (2, 1)
    # Memory from before the break is not shown for some tenants and not others.
    assert all(r.lifecycle is None and r.fingerprint is None
               for t in report.tenants for r in t.results)
    assert all(t.drift == [] for t in report.tenants)
