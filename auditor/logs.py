"""Logging: one JSON object a line for machines, readable lines for people, no secrets.

structlog renders every record, including those of the ``logging.getLogger(...)`` calls
all over the code base and of the SDKs (through the standard library's root handler, so
nothing needs to change where things are logged). :func:`setup_logging` is called once
by the CLI.

* Format: JSON lines when stderr is not a terminal (a container, a pipe, a file: what a
  log shipper reads), human lines on a terminal; ``fmt`` forces either.
* Context: :func:`bind_run` and :func:`bind_tenant` put ``run_id`` / ``tenant_id`` in a
  context variable, so every line logged inside (any logger, any task created inside,
  any ``asyncio.to_thread`` worker) carries them.
* Levels: the run's start and end go to the ``auditor.run`` logger, kept at INFO at the
  default ``warning`` level, so the service's pulse shows without turning on every
  module's info lines (see :func:`setup_logging`). The SDKs' loggers (botocore, okta,
  aiohttp, urllib3...) never go below WARNING: at debug they log request headers.
* Redaction, last line of defence: secrets must not be logged in the first place, but a
  processor still scrubs what looks like one from every string of every line (SSWS and
  Bearer tokens, ``client_secret=``-style pairs, private keys, Slack webhook URLs, AWS
  signatures) plus exact values registered with :func:`register_secret`.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, TextIO

import structlog
from structlog.contextvars import bound_contextvars

if TYPE_CHECKING:
    from collections.abc import Iterator, MutableMapping

LogFormat = Literal["auto", "json", "console"]
LOG_FORMATS: tuple[LogFormat, ...] = ("auto", "json", "console")

RUN_LOGGER = "auditor.run"
# Loggers that log request headers or bodies below WARNING (tokens, signatures).
SDK_LOGGERS = (
    "botocore", "boto3", "s3transfer", "urllib3", "aiohttp", "okta-sdk-python", "okta",
    "werkzeug", "moto",
)

REDACTED = "[REDACTED]"
_MIN_SECRET_LENGTH = 8  # shorter registered values would scrub ordinary words
_SECRET_KEY = r"[\w-]*(?:secret|password|passwd|token|api[_-]?key|private[_-]?key|assertion)"  # noqa: S105 - names of secrets, not one

# (pattern, replacement): applied in order to every string of every line.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private keys, whole or cut off.
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
        "[REDACTED PRIVATE KEY]",
    ),
    (re.compile(r"\bSSWS\s+[^\s'\",;]+", re.IGNORECASE), f"SSWS {REDACTED}"),
    (re.compile(r"\bBearer\s+[^\s'\",;]+", re.IGNORECASE), f"Bearer {REDACTED}"),
    # Slack incoming webhooks: the path is the credential.
    (re.compile(r"https://hooks\.slack\.com/[^\s'\"<>]*", re.IGNORECASE),
     f"https://hooks.slack.com/{REDACTED}"),
    # AWS SigV4 in headers and presigned URLs.
    (re.compile(r"(\b(?:Signature|Credential|X-Amz-Security-Token|X-Amz-Signature|"
                r"X-Amz-Credential)=)[^\s&,'\"]+", re.IGNORECASE), rf"\1{REDACTED}"),
    # key=value, key: value, "key": "value" for secret-looking keys.
    (re.compile(rf"(\b{_SECRET_KEY}\b['\"]?\s*[=:]\s*['\"]?)[^\s'\"&,;}}]+", re.IGNORECASE),
     rf"\1{REDACTED}"),
    (re.compile(r"(\bAuthorization['\"]?\s*[=:]\s*['\"]?)[^'\"\n]+", re.IGNORECASE),
     rf"\1{REDACTED}"),
)
_SECRET_KEY_NAME = re.compile(rf"^(?:{_SECRET_KEY}|authorization|webhook_url|dsn)$", re.IGNORECASE)

_secrets_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()


def register_secret(value: str | None) -> None:
    """Scrub this exact value from every later line (a token from the config, a webhook).

    Values shorter than 8 characters are ignored: they would scrub ordinary words.
    """
    global _secrets  # noqa: PLW0603 - one process-wide set, replaced whole under a lock
    if value is None or len(value) < _MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        _secrets = _secrets | {value}


def register_config_secrets(config: object) -> None:
    """Register every secret a loaded config holds, so no log line can show one.

    Each ``SecretStr`` in it (Okta tokens, alert webhook URLs and HMAC keys), the content
    of each private key file it names (whole, and line by line: a line may quote one line
    of it), and the store URL's password. Walks the config's models, so a secret field
    added to the config later is covered without a change here.
    """
    _walk_secrets(config, set())
    store = getattr(config, "store", None)
    if isinstance(store, str):
        register_secret(_url_password(store))


def _walk_secrets(value: object, seen: set[int]) -> None:
    from pydantic import BaseModel, SecretStr  # noqa: PLC0415 - only once a config is loaded

    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, SecretStr):
        register_secret(value.get_secret_value())
    elif isinstance(value, BaseModel):
        read_key = getattr(value, "read_key", None)
        if callable(read_key):
            _register_key_file(read_key)
        for name in type(value).model_fields:
            _walk_secrets(getattr(value, name, None), seen)
    elif isinstance(value, list | tuple | dict):
        for item in value.values() if isinstance(value, dict) else value:
            _walk_secrets(item, seen)


def _register_key_file(read_key: Any) -> None:  # noqa: ANN401 - a config model's read_key
    try:
        content = read_key().get_secret_value()
    except (OSError, UnicodeDecodeError):
        return  # unreadable now: the collector reports it, with the path, not the content
    register_secret(content.strip())
    for line in content.splitlines():
        if "-----" not in line:  # the PEM armour lines are public
            register_secret(line.strip())


def _url_password(url: str) -> str | None:
    from urllib.parse import unquote, urlsplit  # noqa: PLC0415

    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def redact_text(text: str) -> str:
    """``text`` with every secret-looking part and every registered secret replaced."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: object) -> object:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: REDACTED if _secret_key(k) else _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else is rendered through str() by the renderers: scrub that text.
    return redact_text(str(value))


def _secret_key(key: object) -> bool:
    return isinstance(key, str) and bool(_SECRET_KEY_NAME.match(key))


def redact(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The structlog processor that scrubs every value (a key named like a secret: whole)."""
    for key, value in list(event_dict.items()):
        event_dict[key] = REDACTED if _secret_key(key) else _redact_value(value)
    return event_dict


def terminal_safe_values(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Escape control and bidi characters in human lines (JSON escapes its own).

    Messages quote tenant data (an AWS error text, an Okta error summary): on a terminal,
    ESC or CR in them could rewrite earlier lines. Tracebacks are ours and keep their
    line breaks.
    """
    from auditor.report.text import terminal_safe  # noqa: PLC0415 - only when logging

    for key, value in list(event_dict.items()):
        if isinstance(value, str) and key not in {"exception", "stack"}:
            event_dict[key] = terminal_safe(value)
    return event_dict


@contextmanager
def bind_run(run_id: str) -> Iterator[None]:
    """Every line logged inside carries ``run_id``."""
    with bound_contextvars(run_id=run_id):
        yield


@contextmanager
def bind_tenant(tenant_id: str) -> Iterator[None]:
    """Every line logged inside carries ``tenant_id`` (use inside the tenant's own task)."""
    with bound_contextvars(tenant_id=tenant_id):
        yield


def run_log() -> logging.Logger:
    """The logger of runs' start and end, shown at the default level (fields: ``extra=``).

    A standard-library logger, so it works (unformatted) before :func:`setup_logging` too.
    """
    return logging.getLogger(RUN_LOGGER)


def teardown_logging() -> None:
    """Undo :func:`setup_logging`'s handler (tests, or a program embedding the auditor)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()


class _Handler(logging.StreamHandler[TextIO]):
    """Our root handler (so a second setup replaces it instead of adding another)."""


class _StderrHandler(_Handler):
    """Writes to ``sys.stderr`` as it is at each line, not as it was at set-up.

    So a redirected stderr (pytest's capture, ``contextlib.redirect_stderr``) gets the
    lines, and a stream replaced since set-up is never written to after it was closed.
    """

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass  # always the current sys.stderr


def setup_logging(
    level: str = "warning", fmt: LogFormat = "auto", stream: TextIO | None = None
) -> None:
    """Route every logger through structlog to ``stream`` (stderr) at ``level``.

    ``auditor.run`` logs at INFO whenever ``level`` is ``warning`` or lower, so a run's
    start and end always show in a service's log; at ``error`` only errors show, as asked.
    Safe to call again (tests, a re-configured CLI): it replaces its own handler.
    """
    out = stream if stream is not None else sys.stderr
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}: use debug, info, warning or error")
    if fmt not in LOG_FORMATS:
        raise ValueError(f"unknown log format {fmt!r}: use {', '.join(LOG_FORMATS)}")
    as_json = fmt == "json" or (fmt == "auto" and not _is_terminal(out))

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(default=str)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=_is_terminal(out))
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # tracebacks become text, then scrubbed
            structlog.processors.StackInfoRenderer(),
            redact,  # last before rendering: nothing reaches the stream unscrubbed
            *([] if as_json else [terminal_safe_values]),
            renderer,
        ],
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )

    handler = _Handler(out) if stream is not None else _StderrHandler()
    handler.setFormatter(formatter)
    teardown_logging()
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(numeric)
    logging.getLogger(RUN_LOGGER).setLevel(
        min(numeric, logging.INFO) if numeric <= logging.WARNING else numeric
    )
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric))
    logging.captureWarnings(capture=True)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
