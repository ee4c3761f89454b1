"""Where reports go: ``--output`` as a local folder or ``s3://bucket/prefix/``, one layout.

Both kinds hold the latest run at the top and keep every run under ``runs/``::

    report.json  report.html                   the latest run (CONTRACT section 4)
    runs/20261127T020000Z-<run_id>/report.json  this run, kept
    runs/20261127T020000Z-<run_id>/report.html

The run's own copy is written first and the latest files last, so a reader who follows
the top-level report never finds its run missing.

:meth:`Destination.check` runs before anything is collected: an ``--output`` that cannot
be created or written (a file, ``/proc/...``, no permission, a missing bucket) is a
:class:`~auditor.errors.UsageError` (exit 2) before a single tenant is audited.
:meth:`Destination.write` raises :class:`ReportWriteError` (one line; the CLI exits 3)
when writing fails after the run.

A folder is written without ever following a link inside it: every file is first
written to a fresh, uniquely named temporary file opened with ``O_CREAT | O_EXCL |
O_NOFOLLOW`` relative to the folder's own descriptor, flushed with ``fsync``, then
renamed over its name. A symlink planted in the folder is never written through, two
audits writing to one folder never collide, and a reader sees the old file or the new
one, never half of one.

A file's content is either bytes or an iterable of byte chunks (a report rendered as a
stream, see :func:`auditor.report.formats.render_files`), consumed once: the run's copy
is written from it chunk by chunk and the latest copy is then read back from the run's
copy (a folder) or from a spooled temporary file (S3), so a large report is never
held whole in memory.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import stat
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar, cast

from auditor.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

# Reading a written copy back (to write the latest) in chunks of this size.
COPY_CHUNK = 1 << 20
# S3: a streamed report is spooled in memory up to this size, then to a temporary file.
SPOOL_BYTES = 8 << 20

RUNS_DIR = "runs"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
# Content types for the files we write; anything else is opaque bytes.
CONTENT_TYPES = {
    ".json": "application/json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".prom": "text/plain; version=0.0.4; charset=utf-8",
}
# Reports are for people and the tools that serve them: readable by all, like any file
# the auditor writes with the default umask (the umask still applies).
FILE_MODE = 0o644
DIR_MODE = 0o755


class ReportWriteError(Exception):
    """Writing the reports failed after the run (the CLI exits 3 with this one line)."""


def run_folder_name(run_id: str, started_at: str) -> str:
    """``<started_at>-<run_id>``, file-name safe: ``20261127T020000Z-0b7e...``.

    ``started_at`` is the report's RFC 3339 start (any offset, fractions dropped); the
    run id keeps two runs that started in the same second apart. Characters outside
    ``[A-Za-z0-9._-]`` in the run id become ``_`` (it names a folder and an S3 key).
    """
    try:
        moment = datetime.fromisoformat(started_at)
    except ValueError as exc:
        raise ValueError(f"started_at {started_at!r} is not an RFC 3339 time") from exc
    if moment.tzinfo is None:
        raise ValueError(f"started_at {started_at!r} has no time zone")
    stamp = moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    safe_id = _UNSAFE_CHARS.sub("_", run_id)[:64].lstrip(".") or "run"
    return f"{stamp}-{safe_id}"


def chunks_of(body: bytes | Iterable[bytes]) -> Iterator[bytes]:
    """A file's content as chunks: bytes as one chunk, an iterable as it comes."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        yield bytes(body)
        return
    yield from body


def _check_names(files: Mapping[str, bytes | Iterable[bytes]]) -> None:
    for name in files:
        if not _SAFE_NAME.fullmatch(name):
            raise ValueError(f"report file name {name!r} is not a plain file name")


class Destination(ABC):
    """Where one command's reports go. :meth:`parse` picks the kind from ``--output``."""

    @staticmethod
    def parse(text: str) -> Destination:
        """The destination named by ``--output``: ``s3://bucket/prefix/`` or a folder path.

        Raises :class:`~auditor.errors.UsageError` for an empty value or a malformed S3 URL.
        """
        if not text.strip():
            raise UsageError("--output is empty: give a folder or s3://bucket/prefix/")
        if text[:5].lower() == "s3://":
            return S3Destination.parse_url(text)
        if "\0" in text:
            raise UsageError("--output contains a NUL byte: give a folder or s3://bucket/prefix/")
        return FolderDestination(Path(text))

    @abstractmethod
    def check(self) -> None:
        """Make sure reports can be written here, before anything is audited.

        Raises :class:`~auditor.errors.UsageError` with one line saying what to fix.
        """

    @abstractmethod
    def write(
        self, run_id: str, started_at: str, files: Mapping[str, bytes | Iterable[bytes]]
    ) -> list[str]:
        """Write ``files`` (name -> bytes or byte chunks) as this run's copy, then the latest.

        Returns where each file went, the latest first (``.../report.json``), then the
        run's copies. Raises :class:`ReportWriteError` with one line when writing fails.
        """

    @abstractmethod
    def __str__(self) -> str:
        """The destination as the user wrote it (for messages)."""


# --- a local folder ----------------------------------------------------------------------


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = os.O_NOFOLLOW


def _open_subdir(parent_fd: int, name: str) -> int:
    """``name`` inside ``parent_fd`` as a directory descriptor, created if missing.

    A symlink (or anything but a real directory) at ``name`` is refused: ``O_NOFOLLOW``
    makes opening it fail instead of following it out of the folder.
    """
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, DIR_MODE, dir_fd=parent_fd)
    return os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=parent_fd)


def _write_atomically(dir_fd: int, name: str, data: bytes | Iterable[bytes]) -> None:
    """Replace ``name`` in the directory with ``data``: unique temp file, fsync, rename.

    ``data`` may be a stream of chunks: each is written as it comes, and a stream that
    raises leaves the old file in place (the temporary one is removed).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    while True:
        # Random, never reused: no other writer and no planted link can hold this name.
        temp = f".{name}.{secrets.token_hex(8)}.partial"
        try:
            fd = os.open(temp, flags, FILE_MODE, dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
    try:
        try:
            for chunk in chunks_of(data):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        # rename(2) replaces the name itself: a symlink at `name` is replaced, not followed.
        os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=dir_fd)
        raise


def _read_back(dir_fd: int, name: str) -> Iterator[bytes]:
    """The file we just wrote, in chunks (never through a link: it is our own file)."""
    fd = os.open(name, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=dir_fd)
    try:
        while chunk := os.read(fd, COPY_CHUNK):
            yield chunk
    finally:
        os.close(fd)


# What _write_atomically names its temporary files, and how old one must be before it
# counts as left behind by a writer that died (kill -9, power loss) rather than in use.
_PARTIAL = re.compile(r"\.[A-Za-z0-9][A-Za-z0-9._-]*\.[0-9a-f]{16}\.partial")
STALE_PARTIAL_SECONDS = 3600


def _remove_stale_partials(dir_fd: int, *, now: float) -> None:
    """Delete our own temporary files older than an hour: a crashed writer's leftovers.

    Only names of the form ``_write_atomically`` makes, only regular files (a link or
    folder of that name is left alone), and any error is ignored: this is tidying up.
    """
    with contextlib.suppress(OSError), os.scandir(dir_fd) as entries:
        for entry in entries:
            if not _PARTIAL.fullmatch(entry.name):
                continue
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_PARTIAL_SECONDS:
                    os.unlink(entry.name, dir_fd=dir_fd)


def _fsync_dir(dir_fd: int) -> None:
    # The renames are durable once the directory itself is flushed; some file systems
    # refuse fsync on a directory, which only costs durability, never correctness.
    with contextlib.suppress(OSError):
        os.fsync(dir_fd)


@dataclass(frozen=True)
class FolderDestination(Destination):
    """A local folder (created with its parents when missing)."""

    path: Path

    def __str__(self) -> str:
        return str(self.path)

    def _open_root(self) -> int:
        # The folder the user named may itself be a symlink (their choice); links *inside*
        # it are never followed.
        self.path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        return os.open(self.path, _DIR_FLAGS)

    def check(self) -> None:
        """Create the folder if needed and prove a file can be created in it."""
        where = f"--output {self.path}"
        if self.path.exists() and not self.path.is_dir():
            raise UsageError(f"{where}: is a file, not a folder; name a folder for reports")
        runs = self.path / RUNS_DIR
        if runs.is_symlink() or (runs.exists() and not runs.is_dir()):
            raise UsageError(
                f"{where}: {RUNS_DIR} is not a folder (a file or a link); "
                "remove it, the auditor keeps each run there"
            )
        try:
            root = self._open_root()
        except OSError as exc:
            raise UsageError(
                f"{where}: cannot create the folder ({_reason(exc)}); "
                "name a folder you can write to"
            ) from None
        try:
            probe = f".auditor-write-check.{secrets.token_hex(8)}"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
            os.close(os.open(probe, flags, FILE_MODE, dir_fd=root))
            os.unlink(probe, dir_fd=root)
        except OSError as exc:
            raise UsageError(
                f"{where}: cannot write in the folder ({_reason(exc)}); "
                "name a folder you can write to"
            ) from None
        finally:
            os.close(root)

    def write(
        self, run_id: str, started_at: str, files: Mapping[str, bytes | Iterable[bytes]]
    ) -> list[str]:
        """Write the run's copy under ``runs/``, then the latest at the top, atomically.

        The latest copy is read back from the run's copy, so a streamed file is consumed
        once and never held whole.
        """
        _check_names(files)
        folder = run_folder_name(run_id, started_at)
        try:
            root = self._open_root()
            try:
                runs = _open_subdir(root, RUNS_DIR)
                try:
                    run_dir = _open_subdir(runs, folder)
                    try:
                        for name, data in files.items():
                            _write_atomically(run_dir, name, data)
                        _fsync_dir(run_dir)
                        for name in files:
                            _write_atomically(root, name, _read_back(run_dir, name))
                    finally:
                        os.close(run_dir)
                    _fsync_dir(runs)
                finally:
                    os.close(runs)
                _fsync_dir(root)
                _remove_stale_partials(root, now=time.time())
            finally:
                os.close(root)
        except OSError as exc:
            name = f" ({exc.filename})" if exc.filename else ""
            raise ReportWriteError(
                f"could not write the reports to {self.path}{name}: {_reason(exc)}"
            ) from None
        latest = [str(self.path / name) for name in files]
        kept = [str(self.path / RUNS_DIR / folder / name) for name in files]
        return latest + kept


# --- an S3 bucket ------------------------------------------------------------------------

# Bucket naming rules (general purpose buckets): 3-63 of [a-z0-9.-], starting and ending
# with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class S3Destination(Destination):
    """``s3://bucket/prefix/``: objects written with ``put_object`` through boto3.

    boto3 finds credentials, region and endpoint as it always does (``AWS_PROFILE``,
    ``AWS_REGION``, ``AWS_ENDPOINT_URL``...). ``prefix`` is empty or ends with ``/``.
    """

    bucket: str
    prefix: str

    SCHEME: ClassVar[str] = "s3://"

    @classmethod
    def parse_url(cls, text: str) -> S3Destination:
        """``s3://bucket/prefix/`` (the trailing slash is optional; so is the prefix)."""
        rest = text[len(cls.SCHEME) :]
        bucket, _, prefix = rest.partition("/")
        if not _BUCKET.fullmatch(bucket) or ".." in bucket:
            raise UsageError(
                f"--output {text}: {bucket!r} is not an S3 bucket name "
                "(3-63 lower-case letters, digits, dots, hyphens); use s3://bucket/prefix/"
            )
        parts = [p for p in prefix.split("/") if p]
        if any(p in {".", ".."} for p in parts) or any(
            ord(c) < 0x20 or c == "\x7f" for c in prefix
        ):
            raise UsageError(
                f"--output {text!r}: the prefix may not hold '.', '..' or control characters"
            )
        return cls(bucket=bucket, prefix="".join(f"{p}/" for p in parts))

    def __str__(self) -> str:
        return f"{self.SCHEME}{self.bucket}/{self.prefix}"

    def _client(self) -> Any:  # noqa: ANN401 - boto3's S3 client (no stubs installed for it)
        import boto3  # noqa: PLC0415 - only needed for an s3:// destination
        from botocore.config import Config  # noqa: PLC0415

        config = Config(
            connect_timeout=10,
            read_timeout=60,
            retries={"max_attempts": 5, "mode": "standard"},
        )
        return boto3.client("s3", config=config)

    def _fail(self, exc: Exception, *, for_check: bool) -> Exception:
        from botocore.exceptions import ClientError, NoCredentialsError  # noqa: PLC0415

        where = f"--output {self}"
        if isinstance(exc, NoCredentialsError):
            reason = "no AWS credentials found (set AWS_PROFILE or the AWS_* variables)"
        elif isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code in {"404", "NoSuchBucket"}:
                reason = f"bucket {self.bucket} does not exist; create it or fix the name"
            elif code in {"403", "AccessDenied"}:
                reason = (
                    f"access to bucket {self.bucket} is denied; grant s3:PutObject "
                    f"on {self.bucket}/{self.prefix}*"
                )
            else:
                reason = f"{code or 'error'}: {error.get('Message') or exc}"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        reason = " ".join(reason.split())  # always one line
        if for_check:
            return UsageError(f"{where}: {reason}")
        return ReportWriteError(f"could not write the reports to {self}: {reason}")

    def check(self) -> None:
        """The bucket exists and answers (``HeadBucket``) before anything is audited."""
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            self._client().head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, for_check=True) from None

    def write(
        self, run_id: str, started_at: str, files: Mapping[str, bytes | Iterable[bytes]]
    ) -> list[str]:
        """``put_object`` the run's copy under ``runs/``, then the latest at the prefix.

        A streamed file is spooled first (in memory up to ``SPOOL_BYTES``, then in a
        temporary file) so that both objects are sent from one consumption of it, with
        a known length, and never from a whole copy in memory.
        """
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        _check_names(files)
        run_prefix = f"{self.prefix}{RUNS_DIR}/{run_folder_name(run_id, started_at)}/"
        kept = [f"{run_prefix}{name}" for name in files]
        latest = [f"{self.prefix}{name}" for name in files]
        try:
            client = self._client()
            for (name, data), run_key, latest_key in zip(
                files.items(), kept, latest, strict=True
            ):
                with _spooled(data) as body:
                    client.put_object(
                        Bucket=self.bucket, Key=run_key, Body=body,
                        ContentType=_content_type(name),
                    )
                    body.seek(0)
                    client.put_object(
                        Bucket=self.bucket,
                        Key=latest_key,
                        Body=body,
                        ContentType=_content_type(name),
                        # The latest report changes every run: caches must ask again.
                        CacheControl="no-cache",
                    )
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, for_check=False) from None
        except OSError as exc:  # the spool's temporary file (a full disk)
            raise ReportWriteError(
                f"could not write the reports to {self}: {_reason(exc)}"
            ) from None
        return [f"{self.SCHEME}{self.bucket}/{key}" for key in (*latest, *kept)]


@contextlib.contextmanager
def _spooled(data: bytes | Iterable[bytes]) -> Iterator[IO[bytes]]:
    """``data`` as a seekable file at offset 0: in memory when small, else on disk."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        yield io.BytesIO(bytes(data))
        return
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        for chunk in data:
            spool.write(chunk)
        spool.seek(0)
        yield cast("IO[bytes]", spool)


def _content_type(name: str) -> str:
    return CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream")
