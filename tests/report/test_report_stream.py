"""Reports rendered as streams: the same bytes as whole renders, never the whole run at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from jsonschema import Draft202012Validator
from report_builders import failing, memory_run, run_of, small_run, tenant

from auditor.report import ReportFormat, load_schema, render, render_files
from auditor.report.destination import Destination, FolderDestination, ReportWriteError
from auditor.report.json_report import CHUNK_BYTES, json_chunks
from auditor.results import ResultStatus, RunReport, TenantError

if TYPE_CHECKING:
    from collections.abc import Iterator

STARTED = "2026-11-27T02:00:00Z"


def _whole_render(report: RunReport) -> bytes:
    """report.json as it was rendered before streaming: one dump of the whole model."""
    text = json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2,
                      allow_nan=False)
    return (text + "\n").encode("utf-8")


def _hostile_run() -> RunReport:
    """Tenant strings that JSON must escape, and non-ASCII it must keep as is."""
    odd = 'quote " backslash \\ newline \n tab \t LS \u2028 bidi \u202e é 日本 \x00'
    bad = tenant("zeta", failing("okta_app_signin_redirect_uri", message=odd, actual=[odd]))
    return run_of(bad, tenant("alpha", errors=[TenantError(source="okta", message=odd)]))


def _big_run(tenants: int) -> RunReport:
    built = [
        tenant(f"t{i:04d}", failing("okta_app_assigned")) if i % 3 else tenant(f"t{i:04d}")
        for i in range(tenants)
    ]
    return run_of(*built)


@pytest.mark.parametrize(
    "report",
    [small_run(), memory_run(), _hostile_run(), run_of(), _big_run(300)],
    ids=["small", "memory", "hostile", "empty", "300-tenants"],
)
def test_streamed_json_is_the_whole_render_byte_for_byte_and_valid(report: RunReport) -> None:
    """json_chunks joined equals the old one-string dump, and the result validates."""
    streamed = b"".join(json_chunks(report))
    assert streamed == _whole_render(report)
    validator = Draft202012Validator(
        load_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(json.loads(streamed))


def test_a_large_report_comes_in_many_bounded_chunks() -> None:
    """A 300-tenant report is several chunks, none much larger than CHUNK_BYTES."""
    chunks = list(json_chunks(_big_run(300)))
    assert len(chunks) > 3
    one_tenant = len(b"".join(json_chunks(run_of(tenant("x", failing("okta_app_assigned"))))))
    assert max(len(c) for c in chunks) < CHUNK_BYTES + 2 * one_tenant


def test_streamed_html_is_the_whole_render_with_tenants_worst_first() -> None:
    """render_files' HTML stream equals render(); failing and error tenants precede passing."""
    report = _big_run(30)
    files = render_files([ReportFormat.HTML], report)
    html = b"".join(files["report.html"])
    assert html == render(ReportFormat.HTML, report)
    text = html.decode()
    assert text.index('data-tenant="t0001"') < text.index('data-tenant="t0000"')


def _chunks_then_fail(data: bytes) -> Iterator[bytes]:
    yield data[:10]
    raise OSError(28, "No space left on device")


def test_folder_writes_a_stream_to_both_copies(tmp_path: Path) -> None:
    """A streamed report lands whole as the run's copy and as the latest, consumed once."""
    report = _big_run(50)
    expected = render(ReportFormat.JSON, report)
    consumed = []

    def stream() -> Iterator[bytes]:
        consumed.append(1)
        yield from json_chunks(report)

    written = FolderDestination(tmp_path).write("r1", STARTED, {"report.json": stream()})
    assert consumed == [1]
    assert [Path(p).read_bytes() for p in written] == [expected, expected]


def test_a_stream_that_fails_leaves_the_previous_reports_and_no_partial_file(
    tmp_path: Path,
) -> None:
    """A render that dies mid-way is a ReportWriteError; the old latest report stays whole."""
    dest = FolderDestination(tmp_path)
    dest.write("r1", STARTED, {"report.json": b'{"run": 1}\n'})
    with pytest.raises(ReportWriteError, match="No space left"):
        dest.write("r2", "2026-11-28T02:00:00Z",
                   {"report.json": _chunks_then_fail(b'{"run": 2, "padding": 1}\n')})
    assert (tmp_path / "report.json").read_bytes() == b'{"run": 1}\n'
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.endswith(".partial")]
    assert leftovers == []


@pytest.mark.usefixtures("cognito_env")
def test_s3_uploads_a_stream_to_both_keys() -> None:
    """On S3 a streamed report is spooled once and sent as the run's copy and the latest."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="stream-reports")
    report = _big_run(50)
    dest = Destination.parse("s3://stream-reports/nightly/")
    dest.write("r1", STARTED, render_files([ReportFormat.JSON, ReportFormat.HTML], report))
    for key in ("nightly/report.json", "nightly/runs/20261127T020000Z-r1/report.json"):
        body = s3.get_object(Bucket="stream-reports", Key=key)["Body"].read()
        assert body == render(ReportFormat.JSON, report)
    html = s3.get_object(Bucket="stream-reports", Key="nightly/report.html")["Body"].read()
    assert html == render(ReportFormat.HTML, report)


def test_error_tenant_results_stream_like_any_other() -> None:
    """An error tenant's not_evaluated results are in the streamed document, keys and all."""
    doc = json.loads(b"".join(json_chunks(_hostile_run())))
    statuses = {t["tenant_id"]: t["status"] for t in doc["tenants"]}
    assert statuses == {"zeta": "fail", "alpha": "error"}
    assert all(len(t["results"]) == 19 for t in doc["tenants"])
    assert ResultStatus.FAIL.value in {r["status"] for r in doc["tenants"][0]["results"]}
