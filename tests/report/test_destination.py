"""--output destinations: one layout for a folder and S3, safe atomic writes, early checks."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest

from auditor.errors import UsageError
from auditor.report.destination import (
    Destination,
    FolderDestination,
    ReportWriteError,
    S3Destination,
    run_folder_name,
)

if TYPE_CHECKING:
    from auditor.emulator.cognito import MotoCognito

RUN_ID = "0b7e5f0e-2f0a-4c51-9d7c-1c7b7c5f2a10"
STARTED = "2026-11-27T02:00:00Z"
FILES = {"report.json": b'{"run": 1}\n', "report.html": b"<!DOCTYPE html><p>run 1</p>\n"}


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


# --- parsing and naming ------------------------------------------------------------------


def test_run_folder_name_is_the_utc_start_and_run_id_in_a_file_name_safe_form() -> None:
    """started_at becomes 20261127T020000Z in UTC (fractions dropped) and odd id chars become _."""
    assert run_folder_name(RUN_ID, STARTED) == f"20261127T020000Z-{RUN_ID}"
    assert run_folder_name("r1", "2026-11-27T04:00:00.250+02:00") == "20261127T020000Z-r1"
    assert run_folder_name("../a/b c", STARTED) == "20261127T020000Z-_a_b_c"
    with pytest.raises(ValueError, match="no time zone"):
        run_folder_name("r1", "2026-11-27T02:00:00")


def test_parse_tells_a_folder_from_an_s3_url() -> None:
    """s3://bucket/prefix/ is S3 (prefix normalised to end in /); anything else is a folder."""
    assert Destination.parse("s3://audit-reports/nightly") == S3Destination(
        "audit-reports", "nightly/"
    )
    assert Destination.parse("S3://audit-reports/a//b/") == S3Destination("audit-reports", "a/b/")
    assert Destination.parse("s3://audit-reports") == S3Destination("audit-reports", "")
    assert Destination.parse("reports-out") == FolderDestination(Path("reports-out"))
    assert str(Destination.parse("s3://audit-reports/x")) == "s3://audit-reports/x/"


@pytest.mark.parametrize(
    "text", ["s3://", "s3://Upper/x", "s3://ab/x", "s3://a..b/x", "s3://bkt-1/../x", "", "a\0b"]
)
def test_parse_refuses_what_cannot_name_a_destination(text: str) -> None:
    """A malformed bucket, a '..' prefix, an empty value or NUL is a one-line usage error."""
    with pytest.raises(UsageError) as caught:
        Destination.parse(text)
    assert "\n" not in str(caught.value)
    assert "--output" in str(caught.value)


# --- folder: layout ----------------------------------------------------------------------


def test_folder_keeps_every_run_and_puts_the_latest_at_the_top(tmp_path: Path) -> None:
    """Two runs: the top files are the second run, and runs/<start>-<id>/ holds each run."""
    dest = Destination.parse(str(tmp_path / "out" / "nested"))
    dest.check()
    written = dest.write(RUN_ID, STARTED, FILES)
    second = {name: data.replace(b"1", b"2") for name, data in FILES.items()}
    dest.write("run-2", "2026-11-28T02:00:00Z", second)

    root = tmp_path / "out" / "nested"
    first_dir = root / "runs" / f"20261127T020000Z-{RUN_ID}"
    assert written == [
        str(root / "report.json"),
        str(root / "report.html"),
        str(first_dir / "report.json"),
        str(first_dir / "report.html"),
    ]
    assert (root / "report.json").read_bytes() == second["report.json"]
    assert (root / "report.html").read_bytes() == second["report.html"]
    assert (first_dir / "report.json").read_bytes() == FILES["report.json"]
    assert (root / "runs" / "20261128T020000Z-run-2" / "report.html").read_bytes() == second[
        "report.html"
    ]
    leftovers = [p.name for p in root.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_folder_files_are_readable_by_others(tmp_path: Path) -> None:
    """Reports are written 0644 (less the umask), not the 0600 of a bare temporary file."""
    old = os.umask(0o022)
    try:
        FolderDestination(tmp_path).write(RUN_ID, STARTED, FILES)
    finally:
        os.umask(old)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o644


# --- folder: hostile contents ------------------------------------------------------------


def test_a_symlink_planted_at_the_old_temporary_name_is_not_written_through(
    tmp_path: Path,
) -> None:
    """Links at .report.html.partial and at report.json itself leave their targets untouched."""
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (out / ".report.html.partial").symlink_to(victim)
    (out / ".report.json.partial").symlink_to(victim)
    (out / "report.json").symlink_to(victim)

    FolderDestination(out).write(RUN_ID, STARTED, FILES)

    assert victim.read_text() == "precious\n"
    assert not (out / "report.json").is_symlink()
    assert (out / "report.json").read_bytes() == FILES["report.json"]
    assert (out / "report.html").read_bytes() == FILES["report.html"]


def test_a_crashed_writers_old_temporary_files_are_removed_fresh_ones_kept(
    tmp_path: Path,
) -> None:
    """Partials older than an hour go; a fresh one (another writer's) and look-alikes stay."""
    old = tmp_path / ".report.json.0123456789abcdef.partial"
    fresh = tmp_path / ".report.html.fedcba9876543210.partial"
    planted = tmp_path / ".report.html.partial"  # not our name: never touched
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    link = tmp_path / ".report.json.aaaaaaaaaaaaaaaa.partial"
    link.symlink_to(victim)
    for path in (old, fresh, planted):
        path.write_text("half a rep")
    hours_ago = time.time() - 2 * 3600
    for path in (old, planted):
        os.utime(path, (hours_ago, hours_ago))
    os.utime(link, (hours_ago, hours_ago), follow_symlinks=False)

    FolderDestination(tmp_path).write(RUN_ID, STARTED, FILES)

    assert not old.exists()
    assert fresh.exists()
    assert planted.exists()
    assert link.is_symlink()
    assert victim.read_text() == "keep\n"


def test_a_runs_link_out_of_the_folder_is_refused_not_followed(tmp_path: Path) -> None:
    """runs/ as a symlink elsewhere: check() is a usage error and write() writes nothing there."""
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "runs").symlink_to(elsewhere, target_is_directory=True)
    dest = FolderDestination(out)
    with pytest.raises(UsageError, match="runs is not a folder"):
        dest.check()
    with pytest.raises(ReportWriteError) as caught:
        dest.write(RUN_ID, STARTED, FILES)
    assert "\n" not in str(caught.value)
    assert list(elsewhere.iterdir()) == []


def test_two_writers_never_collide_and_a_reader_never_sees_a_torn_report(tmp_path: Path) -> None:
    """Two threads write 100 runs each to one folder while a reader parses every read."""
    dest = FolderDestination(tmp_path)
    dest.write("seed", STARTED, {"report.json": b"{}"})
    errors: list[BaseException] = []
    reads = {"ok": 0, "torn": 0}
    done = threading.Event()
    # Big enough that a write takes several syscalls: a torn file would be caught.
    pad = "x" * 200_000

    def writer(name: str) -> None:
        try:
            for i in range(100):
                doc = json.dumps({"writer": name, "i": i, "pad": pad}).encode()
                dest.write(f"{name}-{i}", STARTED, {"report.json": doc})
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def reader() -> None:
        while not done.is_set():
            try:
                json.loads((tmp_path / "report.json").read_bytes())
                reads["ok"] += 1
            except ValueError:
                reads["torn"] += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("a", "b")]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()

    assert errors == []
    assert reads["torn"] == 0
    assert reads["ok"] > 0
    assert len(list((tmp_path / "runs").iterdir())) == 201
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


# --- folder: checked before the run ------------------------------------------------------


def test_check_creates_a_missing_folder(tmp_path: Path) -> None:
    """A missing --output (with missing parents) is created by check(), before the run."""
    target = tmp_path / "a" / "b"
    FolderDestination(target).check()
    assert target.is_dir()
    assert list(target.iterdir()) == []


def test_check_refuses_a_file(tmp_path: Path) -> None:
    """--output naming a file is a one-line usage error that says so."""
    file = tmp_path / "report.json"
    file.write_text("{}")
    with pytest.raises(UsageError, match=r"is a file, not a folder"):
        FolderDestination(file).check()
    with pytest.raises(UsageError, match=r"cannot create the folder"):
        FolderDestination(file / "sub").check()


def test_check_refuses_a_folder_that_cannot_be_created() -> None:
    """/proc/... cannot hold a folder: a usage error naming the reason, not a traceback."""
    with pytest.raises(UsageError) as caught:
        FolderDestination(Path("/proc/auditor-reports")).check()
    message = str(caught.value)
    assert message.startswith("--output /proc/auditor-reports: cannot create the folder")
    assert "\n" not in message


@pytest.mark.skipif(_is_root(), reason="root may write anywhere")
def test_check_refuses_a_folder_without_write_permission(tmp_path: Path) -> None:
    """A read-only folder is refused by check() (exit 2 before the run), not after it."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(UsageError, match=r"cannot write in the folder \(Permission denied\)"):
            FolderDestination(locked).check()
        with pytest.raises(UsageError, match=r"cannot create the folder \(Permission denied\)"):
            FolderDestination(locked / "sub").check()
    finally:
        locked.chmod(0o700)


def test_a_failure_while_writing_is_one_line_report_write_error(tmp_path: Path) -> None:
    """A folder planted where report.html goes makes write() fail with ReportWriteError."""
    (tmp_path / "report.html").mkdir()
    with pytest.raises(ReportWriteError) as caught:
        FolderDestination(tmp_path).write(RUN_ID, STARTED, FILES)
    message = str(caught.value)
    assert message.startswith(f"could not write the reports to {tmp_path}")
    assert "\n" not in message
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_file_names_must_be_plain(tmp_path: Path) -> None:
    """A file name with a path in it is refused before anything is written."""
    with pytest.raises(ValueError, match="plain file name"):
        FolderDestination(tmp_path).write(RUN_ID, STARTED, {"../x.json": b"{}"})
    assert list(tmp_path.iterdir()) == []


# --- S3 on moto's server -----------------------------------------------------------------


@pytest.fixture
def bucket(cognito_env: MotoCognito) -> str:
    """A fresh bucket on moto's server (boto3 pointed at it through the environment)."""
    name = f"reports-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=cognito_env.endpoint_url).create_bucket(Bucket=name)
    return name


def test_s3_has_the_same_layout_with_content_types(bucket: str) -> None:
    """Two runs on S3: latest at the prefix, each run under runs/, JSON and HTML typed."""
    dest = Destination.parse(f"s3://{bucket}/nightly/")
    dest.check()
    written = dest.write(RUN_ID, STARTED, FILES)
    dest.write("run-2", "2026-11-28T02:00:00Z", {"report.json": b'{"run": 2}\n'})

    run_key = f"nightly/runs/20261127T020000Z-{RUN_ID}/"
    assert written == [
        f"s3://{bucket}/nightly/report.json",
        f"s3://{bucket}/nightly/report.html",
        f"s3://{bucket}/{run_key}report.json",
        f"s3://{bucket}/{run_key}report.html",
    ]
    s3 = boto3.client("s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == [
        "nightly/report.html",
        "nightly/report.json",
        f"{run_key}report.html",
        f"{run_key}report.json",
        "nightly/runs/20261128T020000Z-run-2/report.json",
    ]
    latest = s3.get_object(Bucket=bucket, Key="nightly/report.json")
    assert latest["Body"].read() == b'{"run": 2}\n'
    assert latest["ContentType"] == "application/json; charset=utf-8"
    html = s3.get_object(Bucket=bucket, Key=f"{run_key}report.html")
    assert html["Body"].read() == FILES["report.html"]
    assert html["ContentType"] == "text/html; charset=utf-8"


@pytest.mark.usefixtures("cognito_env")
def test_s3_missing_bucket_is_a_clear_error_before_and_after_the_run() -> None:
    """check() says the bucket does not exist (usage, exit 2); write() raises ReportWriteError."""
    dest = Destination.parse(f"s3://missing-{uuid.uuid4().hex[:12]}/x/")
    with pytest.raises(UsageError, match=r"^--output s3://missing-\w+/x/: bucket .* not exist"):
        dest.check()
    with pytest.raises(ReportWriteError, match=r"does not exist") as caught:
        dest.write(RUN_ID, STARTED, FILES)
    assert "\n" not in str(caught.value)


def _write_many(folder: str, name: str, count: int) -> None:
    # Runs in a child process: its own interpreter, so writes really overlap.
    dest = FolderDestination(Path(folder))
    pad = "y" * 300_000
    for i in range(count):
        doc = json.dumps({"writer": name, "i": i, "pad": pad}).encode()
        dest.write(f"{name}-{i}", STARTED, {"report.json": doc, "report.html": doc})


def test_two_writer_processes_never_tear_a_report(tmp_path: Path) -> None:
    """Two processes write 60 runs each to one folder; every read of report.json parses."""
    context = multiprocessing.get_context("spawn")
    FolderDestination(tmp_path).write("seed", STARTED, {"report.json": b"{}"})
    writers = [
        context.Process(target=_write_many, args=(str(tmp_path), name, 60)) for name in "ab"
    ]
    for process in writers:
        process.start()
    reads = torn = 0
    while any(p.is_alive() for p in writers):
        try:
            json.loads((tmp_path / "report.json").read_bytes())
            reads += 1
        except ValueError:
            torn += 1
    for process in writers:
        process.join()
    assert [p.exitcode for p in writers] == [0, 0]
    assert torn == 0
    assert reads > 0
    assert len(list((tmp_path / "runs").iterdir())) == 121
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []
