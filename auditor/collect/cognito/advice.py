"""What went wrong with an AWS call, in words that say what to fix.

Every botocore exception an audit can meet becomes one of two outcomes:
:class:`NotFoundError` (ResourceNotFoundException, a finding the caller interprets) or
:class:`FailureError`, whose message names the call, the cause and the fix (the IAM
action to grant, the setting to check), and says whether every later call would fail
the same way (``fatal``). Text quoted from AWS is shortened and scrubbed of every secret
value seen so far.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError

from auditor.pacing import THROTTLING_CODES

if TYPE_CHECKING:
    from collections.abc import Callable

    from auditor.collect.cognito.session import CognitoClientSettings

R = TypeVar("R")

# How much of an AWS error message is quoted back (they can be long XML-ish blobs).
_MAX_AWS_MESSAGE = 300
# Shorter "secrets" would redact ordinary words from messages.
_MIN_SCRUB_LENGTH = 4

_ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})
# The credentials themselves were refused: every later call would fail the same way.
_BAD_CREDENTIALS_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
    }
)


class NotFoundError(Exception):
    """Cognito answered ResourceNotFoundException: a finding, not an error."""

    def __init__(self, aws_message: str) -> None:
        super().__init__(aws_message)
        self.aws_message = aws_message


class FailureError(Exception):
    """A call that finally failed: ``message`` is for people (no secrets).

    ``fatal`` means every later call would fail the same way (unreachable endpoint,
    refused credentials): the remaining sections are then not attempted.
    """

    def __init__(self, message: str, *, fatal: bool = False, hint: str = "") -> None:
        full = f"{message}: {hint}" if hint else message
        super().__init__(full)
        self.message = full
        self.cause = message  # without the hint: for the log once the hint was given
        self.hint = hint
        self.fatal = fatal


# The long "how to give the auditor credentials" hints already logged by this process:
# a fleet without credentials fails every tenant the same way, and one hint is enough.
_HINTS_LOGGED: set[str] = set()
_HINTS_LOCK = threading.Lock()


def first_time(hint: str) -> bool:
    """True the first time this process asks about ``hint`` (then False)."""
    with _HINTS_LOCK:
        if hint in _HINTS_LOGGED:
            return False
        _HINTS_LOGGED.add(hint)
        return True


# The HTTP status of the last AWS answer read on this thread (each tenant's AWS calls
# run on one thread): botocore's parse errors do not say what the status was.
_LAST_STATUS = threading.local()


def record_http_status(status: int) -> None:
    """Remember the status of the answer this thread just received."""
    _LAST_STATUS.value = status


def last_http_status() -> int | None:
    """The status of the last answer this thread received, if any."""
    value = getattr(_LAST_STATUS, "value", None)
    return value if isinstance(value, int) else None


class _ThrottledError(Exception):
    """A throttled call that :meth:`Advisor.call` sends again."""


@dataclass
class Scrubber:
    """Raw secret values seen so far, kept only to scrub them from AWS-provided text."""

    _seen: set[str] = field(default_factory=set, repr=False)

    def add(self, value: str) -> None:
        """Remember ``value`` as a secret."""
        self._seen.add(value)

    def scrub(self, text: str) -> str:
        """``text`` with every remembered secret replaced by ``[redacted]``."""
        for secret in self._seen:
            if len(secret) >= _MIN_SCRUB_LENGTH:
                text = text.replace(secret, "[redacted]")
        return text


@dataclass(frozen=True)
class Advisor:
    """Runs AWS calls for one tenant and explains their failures."""

    region: str
    pool_id: str
    role_arn: str | None
    settings: CognitoClientSettings
    scrubber: Scrubber
    # Paced runs: a call still throttled after botocore's attempts goes again this many
    # times (its limiter has slowed down meanwhile), so throttling never costs a tenant.
    throttled_retries: int = 0

    def call(self, service: str, operation: str, call: Callable[[], R]) -> R:
        """Run one AWS call; turn whatever goes wrong into NotFoundError or FailureError."""
        for _ in range(self.throttled_retries):
            try:
                return self._call(service, operation, call)
            except _ThrottledError:
                continue
        return self._call(service, operation, call, last=True)

    def _call(
        self, service: str, operation: str, call: Callable[[], R], *, last: bool = False
    ) -> R:
        try:
            return call()
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code") or "")
            if not last and code in THROTTLING_CODES:
                raise _ThrottledError from None
            raise self._client_failure(service, operation, exc) from None
        except (ResponseParserError, AttributeError, KeyError, TypeError) as exc:
            # botocore's parser meeting a body that breaks the service model: it raises
            # ResponseParserError, or trips over a list where the model says map.
            status = last_http_status()
            answered = f"answered HTTP {status} with" if status else "returned"
            raise FailureError(
                f"{service}:{operation} {answered} a response of an unexpected shape "
                f"({type(exc).__name__} while botocore parsed it): check that the endpoint "
                "is really AWS (AWS_ENDPOINT_URL), or update the auditor for this API change",
            ) from None
        except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError) as exc:
            raise FailureError(
                f"no usable AWS credentials for {service}:{operation} ({type(exc).__name__})",
                hint="give the auditor credentials through boto3's usual chain (AWS_PROFILE, "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, an instance or task role)",
                fatal=True,
            ) from None
        except ProfileNotFound as exc:
            raise FailureError(self.setup_message(exc), fatal=True) from None
        except ReadTimeoutError as exc:
            raise FailureError(
                f"{service}:{operation} got no answer from {_endpoint(exc)} within "
                f"{self.settings.read_timeout:g} s, {self.settings.max_attempts} attempt(s): "
                "AWS or the network is slow; re-run the audit, or raise the read timeout",
            ) from None
        except (EndpointConnectionError, ConnectTimeoutError, BotoConnectionError) as exc:
            raise FailureError(
                f"could not connect to the {service} endpoint {_endpoint(exc)} "
                f"({type(exc).__name__}, {self.settings.max_attempts} attempt(s)): check "
                f"network access to it, cognito.region ({self.region}) and "
                "AWS_ENDPOINT_URL if it is set",
                fatal=True,
            ) from None
        except ConnectionClosedError as exc:
            raise FailureError(
                f"{service}:{operation}: {_endpoint(exc)} closed the connection before "
                f"answering ({self.settings.max_attempts} attempt(s)): re-run the audit",
            ) from None
        except BotoCoreError as exc:
            raise FailureError(
                f"{service}:{operation} failed ({type(exc).__name__}: "
                f"{self.scrubber.scrub(_quote(str(exc)))})",
            ) from None

    def setup_message(self, exc: Exception) -> str:
        """Why a client could not even be built (a bad profile, region or setting)."""
        if isinstance(exc, ProfileNotFound):
            return (
                f"the AWS profile named in AWS_PROFILE does not exist ({exc}): fix AWS_PROFILE "
                "or the AWS config file"
            )
        return (
            f"could not set up the AWS client for {self.region} ({type(exc).__name__}: "
            f"{_quote(str(exc))}): check cognito.region and the AWS settings"
        )

    def _client_failure(
        self, service: str, operation: str, exc: ClientError
    ) -> NotFoundError | FailureError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        aws_message = self.scrubber.scrub(_quote(str(error.get("Message") or "")))
        attempts = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
        action = f"{service}:{operation}"
        if code == "ResourceNotFoundException":
            return NotFoundError(aws_message)
        if code in _ACCESS_DENIED_CODES:
            return FailureError(self._access_denied_message(action, aws_message))
        if code in THROTTLING_CODES:
            return FailureError(
                f"{action} was still throttled by AWS ({code}) after {attempts} attempt(s): "
                "the auditor slows down on throttling, so something else is using this "
                "account's Cognito quota: lower pacing.headroom (or the account's "
                "pacing.accounts quotas) in the config, then re-run the audit"
            )
        if code in _BAD_CREDENTIALS_CODES:
            return FailureError(
                f"AWS refused the auditor's credentials on {action} ({code}: {aws_message})",
                hint="refresh them (AWS_PROFILE, SSO login, access keys) and check that they "
                "belong to the account and partition of the user pool",
                fatal=True,
            )
        if code == "InvalidParameterException":
            return FailureError(
                f"{action} rejected its parameters ({code}: {aws_message}): check "
                "cognito.user_pool_id, cognito.provider_name and base_domain in the config"
            )
        return FailureError(
            f"{action} failed with {code} after {attempts} attempt(s): {aws_message}"
        )

    def _access_denied_message(self, action: str, aws_message: str) -> str:
        who = (
            f"the role {self.role_arn}"
            if self.role_arn and not action.startswith("sts:")
            else "the auditor's AWS identity"
        )
        if action == "sts:AssumeRole":
            return (
                f"access denied to sts:AssumeRole on {self.role_arn} "
                f"({aws_message}): allow sts:AssumeRole on that role for the auditor's "
                "identity, and trust the auditor's identity in the role's trust policy"
            )
        resource = (
            'Resource "*" (it is not scoped to a pool)'
            if action == "cognito-idp:DescribeUserPoolDomain"
            else f"the user pool arn:aws:cognito-idp:{self.region}:<account>:userpool/"
            f"{self.pool_id}"
        )
        return (
            f"access denied to {action} ({aws_message}): grant {who} the IAM action "
            f"{action} on {resource}"
        )


def _endpoint(exc: BotoCoreError) -> str:
    url = getattr(exc, "kwargs", {}).get("endpoint_url")
    return str(url) if url else "(unknown endpoint)"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _MAX_AWS_MESSAGE:
        return text[:_MAX_AWS_MESSAGE] + "..."
    return text
