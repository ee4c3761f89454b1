"""The auditor's configuration file (CONTRACT section 2), validated before any API call.

Every model forbids unknown keys, so a typo (``org_ulr``) is an error with its line, not a
silently ignored setting. Secrets are ``SecretStr``: they print as ``**********``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from auditor.alerts.config import AlertsConfig
from auditor.errors import InputError
from auditor.pacing import PacingConfig
from auditor.redact import redact_url
from auditor.service.settings import ServiceSettings
from auditor.yamlsource import LineIndex, load_yaml, read_regular_file

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

DEFAULT_BASE_DOMAIN = "rapticore.io"
DEFAULT_STORE = "sqlite:///.auditor/state.db"
DEFAULT_CRON = "0 2 * * *"
ALLOW_HTTP_LOOPBACK_ENV = "AUDITOR_ALLOW_HTTP_LOOPBACK"

# The admin scopes a private-key (OAuth service app) credential needs (CONTRACT 2).
REQUIRED_OAUTH_SCOPES = (
    "okta.apps.read",
    "okta.appGrants.read",
    "okta.profileMappings.read",
    "okta.userTypes.read",
)

# Used with fullmatch only: ``$`` also matches before a final newline, so with
# ``match`` the tenant id "acme\n" passed (and passed the duplicate check beside "acme").
_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_HOST_PORT = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
_MAX_PORT = 65535
_MAX_KEY_FILE_BYTES = 64 * 1024  # a PEM or JWK private key is a few kilobytes
MAX_RETENTION_DAYS = 36500  # 100 years: a run's start minus this is still a valid date


class _Strict(BaseModel):
    # strict: YAML already gives each value its type, so `concurrency: true` or
    # `retention_days: "30"` is a mistake to report, not a value to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the only hosts plain http may reach."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def http_loopback_allowed() -> bool:
    """Whether this process may talk plain http to loopback (tests and the demo)."""
    return os.environ.get(ALLOW_HTTP_LOOPBACK_ENV) == "1"


def check_url_scheme(url: str, what: str) -> None:
    """Refuse anything but https, except http to loopback when explicitly allowed."""
    shown = redact_url(url)
    parts = urlsplit(url)
    if not _valid_port(url):
        raise ValueError(f"{what} {shown!r} has an invalid port: use a number from 1 to 65535")
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname:
        if is_loopback_host(parts.hostname) and http_loopback_allowed():
            return
        if is_loopback_host(parts.hostname):
            raise ValueError(
                f"{what} {shown!r} uses http://; plain http is only allowed to a loopback "
                f"emulator with {ALLOW_HTTP_LOOPBACK_ENV}=1 in the environment"
            )
        raise ValueError(f"{what} {shown!r} uses http://; use https://")
    raise ValueError(f"{what} {shown!r} is not an https:// URL with a host")


def _valid_port(url: str) -> bool:
    """True when ``url`` has no port or one from 1 to 65535 (urlsplit raises past that)."""
    try:
        port = urlsplit(url).port
    except ValueError:
        return False
    return port is None or 0 < port <= _MAX_PORT


class PrivateKeyCredential(_Strict):
    """An Okta OAuth service app: client id, private key file (PEM or JWK), key id."""

    client_id: str = Field(min_length=1)
    key_file: Path = Field(description="The private key file (PEM or JWK).")
    kid: str | None = None
    scopes: list[str] = Field(default_factory=lambda: list(REQUIRED_OAUTH_SCOPES))

    @field_validator("scopes")
    @classmethod
    def _scopes_cover_the_audit(cls, scopes: list[str]) -> list[str]:
        missing = [s for s in REQUIRED_OAUTH_SCOPES if s not in scopes]
        if missing:
            raise ValueError(
                "the service app needs the scopes " + ", ".join(REQUIRED_OAUTH_SCOPES)
                + "; missing: " + ", ".join(missing)
            )
        return scopes

    def read_key(self) -> SecretStr:
        """The key file's content, kept secret.

        Read as the config is: a regular file of bounded size (the file may have become
        a FIFO or a huge file since the config was loaded). Errors are OSError, as from
        ``read_text``, for the collector to report.
        """
        try:
            data = read_regular_file(self.key_file, _MAX_KEY_FILE_BYTES)
        except InputError as exc:
            raise OSError(f"key_file {str(self.key_file)!r} {exc.message}") from None
        return SecretStr(data.decode("utf-8"))


class OktaConfig(_Strict):
    """How to reach the customer's Okta org and which app to audit."""

    org_url: str
    custom_domain: str | None = None
    app_id: str | None = None
    token: SecretStr | None = None
    private_key: PrivateKeyCredential | None = None
    request_timeout: float = Field(
        default=30.0, gt=0, le=600, description="Seconds one request may take, retries included."
    )
    max_retries: int = Field(default=2, ge=0, le=10)

    @field_validator("org_url")
    @classmethod
    def _org_url(cls, url: str) -> str:
        url = url.strip().rstrip("/")
        check_url_scheme(url, "org_url")
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                f"org_url {redact_url(url)!r} has user info (user:password@): remove it; "
                "the credential has its own keys (token or private_key)"
            )
        if parts.path or parts.query or parts.fragment:
            raise ValueError(
                f"org_url {redact_url(url)!r} must be the org's origin only, like "
                "https://acme.okta.com"
            )
        return url

    @field_validator("custom_domain")
    @classmethod
    def _custom_domain(cls, domain: str | None) -> str | None:
        if domain is None:
            return None
        domain = domain.strip()
        if "://" in domain or "/" in domain or not _HOST_PORT.fullmatch(domain) or not (
            _valid_port(f"https://{domain}")
        ):
            raise ValueError(
                f"custom_domain {redact_url(domain)!r} must be a host[:port] such as "
                "login.acme.com (a port from 1 to 65535)"
            )
        return domain

    @model_validator(mode="after")
    def _one_credential(self) -> OktaConfig:
        if (self.token is None) == (self.private_key is None):
            raise ValueError(
                "give exactly one Okta credential: token (an SSWS API token) "
                "or private_key (an OAuth service app)"
            )
        return self

    @property
    def custom_domain_url(self) -> str | None:
        """The custom domain as an origin: https, or http for an allowed loopback host."""
        if self.custom_domain is None:
            return None
        host = urlsplit(f"//{self.custom_domain}").hostname or ""
        scheme = "http" if is_loopback_host(host) and http_loopback_allowed() else "https"
        return f"{scheme}://{self.custom_domain}"


class CognitoConfig(_Strict):
    """Where the tenant's user pool and its Okta identity provider live."""

    region: str = Field(min_length=1)
    user_pool_id: str = Field(pattern=r"^[\w-]+_[0-9a-zA-Z]+$")
    provider_name: str = Field(min_length=1)
    role_arn: str | None = Field(default=None, pattern=r"^arn:aws[\w-]*:iam::\d{12}:role/.+$")


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def crontab_trigger(cron: str, zone: ZoneInfo) -> BaseTrigger:
    """A trigger for a standard 5-field crontab line.

    Not ``CronTrigger.from_crontab``: APScheduler 3 numbers weekdays from Monday = 0, so
    it reads crontab's ``1-5`` (Monday to Friday) as Tuesday to Saturday. The weekday
    field is expanded here with crontab's numbering (0 or 7 = Sunday) and passed by name.

    When both day-of-month and weekday are restricted (neither starts with ``*``),
    crontab runs on a day that matches EITHER (``0 2 1 * 1``: the 1st and every Monday),
    where one CronTrigger needs both: so that case is the OR of two triggers.
    """
    minute, hour, day, month, weekday = cron.split()
    days = _weekday_names(weekday)

    def cron_trigger(day: str, day_of_week: str) -> CronTrigger:
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month,
            day_of_week=day_of_week, timezone=zone,
        )

    if day.startswith("*") or weekday.startswith("*"):
        return cron_trigger(day, days)
    return OrTrigger([cron_trigger(day, "*"), cron_trigger("*", days)])


def _weekday_names(field: str) -> str:
    """Crontab's weekday field (numbers or names, ranges, lists, steps) as day names."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            low, high = base.split("-", 1)
            first, last = _weekday_number(low), _weekday_number(high)
        else:
            first = _weekday_number(base)
            last = 6 if step_text else first
        if step < 1 or first > last:
            raise ValueError(f"weekday part {part!r} is not a valid range")
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_WEEKDAYS[d] for d in sorted(days))


def _weekday_number(token: str) -> int:
    if token in _WEEKDAYS:
        return _WEEKDAYS.index(token)
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)  # 7 is Sunday too: `% 7` above folds it onto 0
    raise ValueError(f"{token!r} is not a weekday (0-7 or sun..sat)")


class ScheduleConfig(ServiceSettings):
    """The config's ``schedule:`` section: when ``auditor schedule`` audits every tenant.

    The service's keys (``listen``, ``grace_minutes``, ``lease_ttl_seconds``,
    ``tenant_wait_seconds``, issue 8) come from :class:`ServiceSettings`: one definition.
    """

    model_config = _Strict.model_config

    cron: str = DEFAULT_CRON
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {zone!r}: use an IANA name such as UTC or Europe/Berlin"
            ) from None
        return zone

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, cron: str) -> str:
        if len(cron.split()) != 5:
            raise ValueError(
                f"cron {cron!r} must have 5 fields: minute hour day month weekday "
                "(e.g. '0 2 * * *' for 02:00 every day)"
            )
        try:
            trigger = crontab_trigger(cron, ZoneInfo("UTC"))
        except ValueError as exc:
            raise ValueError(f"cron {cron!r}: {exc}") from None
        # A day that no month has (30 February) is valid syntax that never fires: the
        # scheduler would wait forever. APScheduler answers None for it (in well under
        # a second: it gives up after the last year it can represent).
        if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
            raise ValueError(
                f"cron {cron!r} never fires (no month has that day): pick a day that exists"
            )
        return cron

    def trigger(self) -> BaseTrigger:
        """The APScheduler trigger for this schedule."""
        return crontab_trigger(self.cron, ZoneInfo(self.timezone))

    def next_run(self, after: datetime) -> datetime | None:
        """When the audit runs next after ``after`` (aware datetime)."""
        fire: datetime | None = self.trigger().get_next_fire_time(None, after)
        return fire


TenantId = Annotated[str, Field(description="RapticoreTenantId: a DNS label.")]


class TenantConfig(_Strict):
    """One Rapticore customer."""

    id: TenantId
    okta: OktaConfig
    cognito: CognitoConfig

    @field_validator("id")
    @classmethod
    def _dns_label(cls, tenant_id: str) -> str:
        if not _DNS_LABEL.fullmatch(tenant_id):
            raise ValueError(
                f"tenant id {tenant_id!r} must be a DNS label: lower-case letters, digits "
                "and inner hyphens, at most 63 characters"
            )
        return tenant_id


class AuditorConfig(_Strict):
    """The whole file."""

    version: Literal[1]
    base_domain: str = DEFAULT_BASE_DOMAIN
    store: str = DEFAULT_STORE
    concurrency: int = Field(default=8, ge=1, le=64, description="Tenants audited at once.")
    retention_days: int = Field(
        default=90,
        ge=1,
        le=MAX_RETENTION_DAYS,
        description="Runs older than this are pruned after each run.",
    )
    tenants: list[TenantConfig] = Field(min_length=1)
    # Sections owned by later features; their keys are documented in the README.
    alerts: AlertsConfig | None = None
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    waivers: Path | None = Field(
        default=None, description="A waivers YAML file, relative to this config file."
    )
    rules: dict[str, Any] | None = None
    # Cognito quotas and Okta pacing (auditor.pacing); `concurrency:`, when set, caps it.
    pacing: PacingConfig = Field(default_factory=PacingConfig)

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_a_number(cls, version: object) -> object:
        # YAML's true equals 1 to Python, and a Literal[1] accepts it even in strict mode.
        if isinstance(version, bool):
            raise ValueError("'version' must be the number 1")  # noqa: TRY004 - pydantic wants ValueError
        return version

    @field_validator("store")
    @classmethod
    def _store_url(cls, url: str) -> str:
        from sqlalchemy.engine import make_url  # noqa: PLC0415 - only to check the URL
        from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError:
            backend = None
        if backend not in {"sqlite", "postgresql"}:
            raise ValueError(
                f"store {redact_url(url)!r} must be an SQLAlchemy URL for SQLite or "
                "PostgreSQL, e.g. sqlite:///.auditor/state.db or "
                "postgresql+psycopg://user:pw@host/db"
            )
        return url

    @field_validator("base_domain")
    @classmethod
    def _base_domain(cls, domain: str) -> str:
        labels = domain.lower().split(".")
        if len(labels) < 2 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
            raise ValueError(f"base_domain {domain!r} must be a DNS name like rapticore.io")
        return domain.lower()

    @model_validator(mode="after")
    def _unique_tenants(self) -> AuditorConfig:
        seen: set[str] = set()
        for tenant in self.tenants:
            if tenant.id in seen:
                raise ValueError(f"tenant id {tenant.id!r} appears twice")
            seen.add(tenant.id)
        return self

    def tenant(self, tenant_id: str) -> TenantConfig | None:
        """The tenant with this id, if configured."""
        return next((t for t in self.tenants if t.id == tenant_id), None)


def load_config(path: Path) -> AuditorConfig:
    """Read, substitute ``${VAR}``, validate. Raises :class:`InputError` (exit 2)."""
    return load_config_with_lines(path)[0]


def load_config_with_lines(path: Path) -> tuple[AuditorConfig, LineIndex]:
    """:func:`load_config`, and the lines of its values (to point at later problems)."""
    data, index = load_yaml(path, substitute_env=True)
    if not isinstance(data, dict):
        raise InputError(path, 1, "the config must be a mapping with version: 1 and tenants:")
    _resolve_paths(data, path.parent)
    try:
        config = AuditorConfig.model_validate(data)
    except ValidationError as exc:
        raise index.invalid(exc, AuditorConfig) from None
    for i, tenant in enumerate(config.tenants):
        key = tenant.okta.private_key
        problem = None if key is None else file_problem(key.key_file, "key_file")
        if problem is not None:
            raise index.error(("tenants", i, "okta", "private_key", "key_file"), problem)
    problem = None if config.waivers is None else file_problem(config.waivers, "waivers file")
    if problem is not None:
        raise index.error(("waivers",), problem)
    problem = store_location_problem(config.store)
    if problem is not None:
        raise index.error(("store",), problem)
    return config, index


def file_problem(path: Path, what: str) -> str | None:  # noqa: PLR0911 - a return per problem
    """Why the file a config names cannot be read, in words with the fix; None if it can."""
    shown = repr(str(path))
    if "\0" in str(path):
        return f"{what} {shown} contains a NUL byte: write the file's path"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return f"{what} {shown} does not exist (paths are relative to the config file)"
    except OSError as exc:
        return f"{what} {shown} cannot be read: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return f"{what} {shown} is a directory: name the file in it"
    if not stat.S_ISREG(mode):
        # A FIFO would block the reader for ever, a device never ends.
        return f"{what} {shown} is not a regular file: name a file"
    if not os.access(path, os.R_OK):
        return f"{what} {shown} cannot be read (permission denied): check its permissions"
    return None


def store_location_problem(url: str) -> str | None:  # noqa: PLR0911 - a return per problem
    """Why an SQLite store file cannot be made where ``url`` says; None if it can.

    Checked with the config so that the mistake is exit 2 at the ``store:`` line before
    any tenant is audited, not an error after the run when its results cannot be kept.
    (The store checks again when it opens: permissions can change in between.)
    """
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - the validator checked it parses

    parsed = make_url(url)
    database = parsed.database or ""
    shown = f"store {redact_url(url)!r}"
    if parsed.get_backend_name() != "sqlite" or database in {"", ":memory:"}:
        return None
    if "\0" in database:
        return f"{shown} contains a NUL byte: write the database's path"
    if database.startswith("file:"):
        return None  # an SQLite URI: its options decide, SQLite checks it
    target = Path(database)
    if target.is_dir():
        return f"{shown} is a directory: name a database file in it, like {database}/state.db"
    folder = next((p for p in (target.parent, *target.parent.parents) if p.exists()), Path())
    if not folder.is_dir():
        return f"{shown}: {str(folder)!r} is a file, not a folder: put the store elsewhere"
    existing = target if target.exists() else folder
    if not os.access(existing, os.W_OK):
        return (
            f"{shown}: {str(existing)!r} is not writable: fix its permissions or put the "
            "store elsewhere"
        )
    return None


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Make ``key_file`` and ``waivers`` paths relative to the config file."""
    if isinstance(data.get("waivers"), str):
        data["waivers"] = _resolve(base, data["waivers"])
    tenants = data.get("tenants")
    if not isinstance(tenants, list):
        return
    for tenant in tenants:
        okta = tenant.get("okta") if isinstance(tenant, dict) else None
        key = okta.get("private_key") if isinstance(okta, dict) else None
        if isinstance(key, dict) and isinstance(key.get("key_file"), str):
            key["key_file"] = _resolve(base, key["key_file"])


def _resolve(base: Path, name: str) -> Path:
    # Not resolve() on a path with a NUL byte: it raises; file_problem names it instead.
    return base / name if "\0" in name else (base / name).resolve()
