"""The cognito-idp client: how hard it tries, and whose credentials it uses.

Endpoints, credentials and profiles follow boto3's own settings (``AWS_ENDPOINT_URL``,
``AWS_PROFILE``...); with ``cognito.role_arn`` the collector first assumes that role
through STS and reads Cognito with the role's temporary credentials.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from urllib.parse import urljoin

import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from auditor.collect.cognito.advice import FailureError, NotFoundError, record_http_status
from auditor.collect.shape import ShapeError, Wire, parse
from auditor.pacing import attach_to_botocore
from auditor.service.metrics import count_botocore_attempts
from auditor.shards import account_of
from auditor.urls import origin

if TYPE_CHECKING:
    from collections.abc import Callable

    import boto3.session
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_sts import STSClient

    from auditor.collect.cognito.advice import Advisor
    from auditor.pacing import RunPacing

ROLE_SESSION_NAME = "rapticore-sso-auditor"
# The shortest session STS allows: one tenant's audit takes seconds.
_ROLE_SESSION_SECONDS = 900
# A shared client made with assumed-role credentials is made again after this long, well
# inside the session's 900 s: its credentials are fixed and cannot refresh themselves.
_SHARED_ROLE_CLIENT_SECONDS = 600
# How long one failure to make a shared client stands for the key's other tenants.
_SHARED_FAILURE_SECONDS = 60


@dataclass(frozen=True)
class CognitoClientSettings:
    """How hard the collector tries one AWS call. The defaults suit a nightly audit.

    Retries use botocore's ``standard`` mode, set explicitly: in the ``legacy`` mode
    (still botocore's default) Cognito's ``TooManyRequestsException`` is never retried,
    so a busy account would turn throttling into collection errors.
    """

    max_attempts: int = 5
    """Attempts per call, the first included (``total_max_attempts``)."""
    connect_timeout: float = 5.0
    read_timeout: float = 15.0

    def botocore_config(self) -> Config:
        """The botocore client configuration these settings stand for."""
        return Config(
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            user_agent_extra=ROLE_SESSION_NAME,
        )


class _Credentials(NamedTuple):
    """Temporary credentials from sts:AssumeRole; all None: the session's own chain."""

    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None


class _StsCredentials(Wire):
    AccessKeyId: str
    SecretAccessKey: str
    SessionToken: str


class _AssumeRoleResponse(Wire):
    Credentials: _StsCredentials


@dataclass
class _Shared:
    client: Any
    credentials: _Credentials
    made_at: float


@dataclass
class SharedClients:
    """One paced cognito-idp client per (role, region) for a run, instead of one per tenant.

    Making a client costs 10-100 ms of CPU (1-3.6 s before the first call at 200
    tenants, measured); boto3 clients are thread-safe, so tenants of one account and
    region share one. Each is attached to the run's limiters once (``pacing``). A client
    made from assumed-role credentials is replaced after ten minutes, before they expire.
    A failure to make one (a role that cannot be assumed, an unreachable endpoint) is
    given to the key's other tenants for a minute instead of being retried by each.
    """

    pacing: RunPacing | None = None
    _clients: dict[tuple[str | None, str], _Shared] = field(default_factory=dict)
    _failed: dict[tuple[str | None, str], tuple[str, float]] = field(default_factory=dict)
    _locks: dict[tuple[str | None, str], threading.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    made: int = 0
    """Clients made so far (one per role and region, plus renewals)."""

    def get(self, advisor: Advisor) -> CognitoIdentityProviderClient:
        """The shared client of the advisor's role and region (made on first use).

        The role's temporary credentials are added to every caller's scrubber, so no
        tenant's messages can quote them. Raises :class:`FailureError` (fatal) as
        :func:`connect` does.
        """
        key = (advisor.role_arn, advisor.region)
        with self._lock:
            key_lock = self._locks.setdefault(key, threading.Lock())
        # One lock per key: the key's other tenants wait for its first client, while
        # tenants of other roles (their own sts:AssumeRole round trips) go ahead.
        with key_lock:
            now = time.monotonic()
            failed = self._failed.get(key)
            if failed is not None and now - failed[1] < _SHARED_FAILURE_SECONDS:
                raise FailureError(failed[0], fatal=True)
            shared = self._clients.get(key)
            stale = (
                shared is not None
                and advisor.role_arn is not None
                and now - shared.made_at > _SHARED_ROLE_CLIENT_SECONDS
            )
            if shared is None or stale:
                try:
                    client, credentials = _connect(advisor, None)
                except FailureError as failure:
                    self._failed[key] = (failure.message, time.monotonic())
                    raise
                if self.pacing is not None:
                    attach_to_botocore(
                        client, self.pacing.cognito, self.pacing.loop,
                        account=account_of(advisor.role_arn),
                    )
                shared = _Shared(client, credentials, now)
                self._clients[key] = shared
                self.made += 1
        for value in shared.credentials:
            if value:
                advisor.scrubber.add(value)
        return cast("CognitoIdentityProviderClient", shared.client)


def connect(
    advisor: Advisor, session: boto3.session.Session | None
) -> CognitoIdentityProviderClient:
    """The cognito-idp client, after assuming ``role_arn`` when one is configured.

    Raises :class:`FailureError` (always ``fatal``: nothing can be read without it).
    """
    return _connect(advisor, session)[0]


def _connect(
    advisor: Advisor, session: boto3.session.Session | None
) -> tuple[CognitoIdentityProviderClient, _Credentials]:
    config = advisor.settings.botocore_config()
    role_arn = advisor.role_arn
    credentials = _Credentials()
    if role_arn is not None:
        try:
            sts = cast("STSClient", _client(session, "sts", advisor.region, config))
        except (BotoCoreError, ValueError) as exc:
            raise FailureError(advisor.setup_message(exc), fatal=True) from None
        credentials = _assume_role(advisor, sts, role_arn)
    try:
        client = cast(
            "CognitoIdentityProviderClient",
            _client(session, "cognito-idp", advisor.region, config, credentials),
        )
    except (BotoCoreError, ValueError) as exc:
        raise FailureError(advisor.setup_message(exc), fatal=True) from None
    return client, credentials


def _assume_role(advisor: Advisor, sts: STSClient, role_arn: str) -> _Credentials:
    try:
        response = advisor.call(
            "sts",
            "AssumeRole",
            lambda: sts.assume_role(
                RoleArn=role_arn,
                RoleSessionName=ROLE_SESSION_NAME,
                DurationSeconds=_ROLE_SESSION_SECONDS,
            ),
        )
    except NotFoundError as not_found:
        raise FailureError(
            f"sts:AssumeRole of {role_arn} failed ({not_found.aws_message}): check "
            "cognito.role_arn in the config",
            fatal=True,
        ) from None
    try:
        raw = parse(_AssumeRoleResponse, response, "sts:AssumeRole").Credentials
    except ShapeError:
        raise FailureError(
            f"sts:AssumeRole of {role_arn} returned no usable credentials; check the "
            "STS endpoint (AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL)",
            fatal=True,
        ) from None
    credentials = _Credentials(raw.AccessKeyId, raw.SecretAccessKey, raw.SessionToken)
    for value in credentials:
        if value:
            advisor.scrubber.add(value)
    return credentials


# One AWS answer larger than this is refused unread: Cognito's largest page (60 app
# clients) is a few KiB, and a broken or hostile endpoint must not fill our memory.
MAX_RESPONSE_BYTES = 4 << 20


class ResponseTooLargeError(BotoCoreError):
    """An AWS answer over :data:`MAX_RESPONSE_BYTES`, refused before it was parsed."""

    fmt = "the answer was larger than {limit} MiB; not read"


class RedirectRefusedError(BotoCoreError):
    """A 3xx from an AWS endpoint: never followed (botocore does not), said plainly."""

    fmt = "HTTP {status} redirect to {where}; redirects are not followed"


class UnexpectedContentTypeError(BotoCoreError):
    """A successful answer that is neither JSON nor XML (a captive portal, a proxy page)."""

    fmt = "answered with content type {content_type!r}, not AWS's JSON or XML"


def _refusal(request: Any, response: Any) -> BotoCoreError | None:  # noqa: ANN401 - botocore
    """Why an answer is not AWS's, judged on its status and headers alone."""
    status = int(response.status_code)
    if 300 <= status < 400:
        location = str(response.headers.get("location", ""))
        target = origin(urljoin(str(request.url), location)) if location else None
        where = f"{target[0]}://{target[1]}:{target[2]}" if target else "an unusable URL"
        return RedirectRefusedError(status=status, where=where)
    content_type = str(response.headers.get("content-type", "")).lower()
    if 200 <= status < 300 and "json" not in content_type and "xml" not in content_type:
        return UnexpectedContentTypeError(content_type=content_type[:100])
    return None


def _bounded_responses(client: Any) -> Any:  # noqa: ANN401 - any botocore client
    """Make ``client`` read each answer in chunks and give up past the limit.

    botocore reads a whole body into memory before parsing it, whatever its size. Its
    ``before-send`` event lets a handler send the request itself: this one sends it with
    the client's own HTTP session, reads at most the limit, and hands the body back as
    the response's content (the attribute ``AWSResponse.content`` caches it in).
    """
    endpoint = client._endpoint  # noqa: SLF001 - botocore offers no other way to its sender

    def send(request: Any, **_: Any) -> Any:  # noqa: ANN401 - botocore's request/response
        # Without stream_output the HTTP session reads the whole body before returning.
        streamed, request.stream_output = request.stream_output, True
        try:
            response = endpoint.http_session.send(request)
        finally:
            request.stream_output = streamed
        record_http_status(int(response.status_code))
        refused = _refusal(request, response)
        if refused is not None:
            response.raw.close()
            raise refused
        chunks: list[bytes] = []
        size = 0
        for chunk in response.raw.stream(1 << 16):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                response.raw.close()
                raise ResponseTooLargeError(limit=MAX_RESPONSE_BYTES >> 20)
            chunks.append(chunk)
        response._content = b"".join(chunks)  # noqa: SLF001 - see the docstring
        return response

    client.meta.events.register_first("before-send", send)
    return client


def _client(
    session: boto3.session.Session | None,
    service: str,
    region: str,
    config: Config,
    credentials: _Credentials = _Credentials(),  # noqa: B008 - an immutable NamedTuple
) -> Any:  # noqa: ANN401 - typed by the caller, per service
    """A client on the given session, else on a fresh default one.

    Empty ``credentials`` leave the session's own credential chain in charge.
    """
    make: Callable[..., Any] = (
        session.client if session is not None else _fresh_botocore_session().create_client
    )
    client = _bounded_responses(
        make(
            service,
            region_name=region,
            config=config,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )
    )
    count_botocore_attempts(client, "cognito")  # /metrics: every attempt, retries included
    return client


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    """One botocore data loader for the process.

    A fresh session per tenant keeps tenants apart (sessions are not thread-safe), but
    each new session would parse the service models again (~0.1 s). The loader only
    reads and caches packaged JSON, so sharing it is safe and makes a session ~10 ms.
    """
    return botocore.loaders.create_loader()


def _fresh_botocore_session() -> botocore.session.Session:
    """A new botocore session (boto3's default credential chain) with the shared loader."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _shared_loader())
    return session
