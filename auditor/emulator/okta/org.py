"""The state of one emulated Okta org, and the faults it can be told to inject.

An :class:`OktaOrg` is plain, mutable data: raw JSON dicts exactly as Okta serves them, so
a test changes one field (or adds a grant type Okta does not know yet) and the next
request sees it. The server reads the org on its own thread; hold ``org.lock`` for a
change that touches more than one field, so no response sees it half done.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import threading
import time
from dataclasses import dataclass, field
from secrets import token_urlsafe
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from auditor.config import is_loopback_host
from auditor.emulator.okta import payloads
from auditor.emulator.okta.payloads import JSON, IdFactory

FaultKind = Literal[
    "latency", "status", "rate_limit", "malformed_json", "drop_connection",
    "redirect", "content_type", "big_body",
]


@dataclass
class Fault:
    """Something wrong the org does to matching requests, ``times`` times (None: always).

    Matching is by HTTP method (``"*"`` for any) and by a glob on the request path
    (:func:`fnmatch.fnmatchcase`, where ``*`` also matches ``/``). The first fault in
    ``org.faults`` that matches and is not used up applies; ``delay`` seconds pass before
    any fault's answer. Build them with the class methods below.
    """

    kind: FaultKind
    path: str = "*"
    method: str = "*"
    times: int | None = None
    delay: float = 0.0
    status: int = 500
    rate_limit_headers: bool = True
    location: str = ""  # redirect: the Location header
    content_type: str = ""  # content_type: what the answer claims to be
    size: int = 0  # big_body: bytes of padding added to the real body
    summary: str = ""  # status: the errorSummary, instead of Okta's usual one
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request (ignoring ``times``)."""
        method_ok = self.method == "*" or self.method.upper() == method.upper()
        return method_ok and fnmatch.fnmatchcase(path, self.path)

    @property
    def used_up(self) -> bool:
        """True once the fault has applied ``times`` times."""
        return self.times is not None and self.hits >= self.times

    @classmethod
    def latency(
        cls, seconds: float, path: str = "*", *, method: str = "*", times: int | None = None
    ) -> Fault:
        """Answer normally, ``seconds`` late."""
        return cls("latency", path, method, times, delay=seconds)

    @classmethod
    def error(
        cls,
        status: int,
        path: str = "*",
        *,
        method: str = "*",
        times: int | None = None,
        summary: str = "",
    ) -> Fault:
        """Answer ``status`` (500, 503, ...) with an Okta error body (its errorSummary)."""
        return cls("status", path, method, times, status=status, summary=summary)

    @classmethod
    def rate_limited(
        cls,
        path: str = "*",
        *,
        method: str = "*",
        times: int | None = 1,
        headers: bool = True,
    ) -> Fault:
        """Answer 429 E0000047, ``times`` times in a row, then normally.

        With ``headers`` (the default) the answer carries Okta's ``X-Rate-Limit-*``
        headers with ``X-Rate-Limit-Reset`` = the current second, so the okta SDK backs
        off about one second and retries. Without, the SDK gives up at once.
        """
        return cls("rate_limit", path, method, times, status=429, rate_limit_headers=headers)

    @classmethod
    def malformed_json(
        cls, path: str = "*", *, method: str = "*", times: int | None = None
    ) -> Fault:
        """Answer 200 ``application/json`` with the real body cut in half."""
        return cls("malformed_json", path, method, times, status=200)

    @classmethod
    def redirect(
        cls, location: str, path: str = "*", *, status: int = 302, times: int | None = None
    ) -> Fault:
        """Answer ``status`` (a 3xx) with ``Location: location`` and an HTML body."""
        return cls("redirect", path, "*", times, status=status, location=location)

    @classmethod
    def wrong_content_type(
        cls, path: str = "*", *, content_type: str = "text/html", times: int | None = None
    ) -> Fault:
        """Answer 200 with an HTML page (a captive portal, a proxy's error page)."""
        return cls("content_type", path, "*", times, status=200, content_type=content_type)

    @classmethod
    def big_body(cls, size: int, path: str = "*", *, times: int | None = None) -> Fault:
        """Answer the real JSON followed by ``size`` bytes of whitespace (still valid JSON)."""
        return cls("big_body", path, "*", times, status=200, size=size)

    @classmethod
    def dropped_connection(
        cls, path: str = "*", *, method: str = "*", times: int | None = None
    ) -> Fault:
        """Close the connection without answering."""
        return cls("drop_connection", path, method, times)


@dataclass
class ServiceApp:
    """An OAuth service app for the private-key (``private_key_jwt``) credential mode."""

    client_id: str
    public_key_pem: str
    kid: str
    scopes: set[str]
    status: str = "ACTIVE"


@dataclass(frozen=True)
class IssuedToken:
    """An access token the org's authorization server issued."""

    client_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass(frozen=True)
class RequestRecord:
    """One request the org received. Never holds a credential value."""

    method: str
    path: str
    query: dict[str, str]
    authorized: bool | None
    """True/False for endpoints that need a credential; None for public ones."""
    auth_scheme: str | None
    """The Authorization header's scheme word (``SSWS``, ``Bearer``), never its value."""
    status: int | None
    """The HTTP status answered; None when the connection was dropped."""
    fault: FaultKind | None
    custom_domain: bool
    at: float


def _base_url(host: str) -> str:
    # Loopback hosts get http:// (the emulator), anything else https:// (a real domain).
    scheme = "http" if is_loopback_host(urlsplit(f"//{host}").hostname or "") else "https"
    return f"{scheme}://{host}"


def moved(value: str, old: str, new: str) -> str:
    """``value`` with the origin ``old`` replaced by ``new`` if it is a URL on ``old``.

    ``https://acme.okta.com.evil.example`` is not on ``https://acme.okta.com``.
    """
    if value == old or value.startswith((old + "/", old + "?")):
        return new + value[len(old) :]
    return value


def _rebase(node: Any, old: str, new: str) -> Any:  # noqa: ANN401 - walks raw JSON
    """``node`` with every URL on ``old`` moved to ``new``."""
    if isinstance(node, dict):
        return {key: _rebase(value, old, new) for key, value in node.items()}
    if isinstance(node, list):
        return [_rebase(value, old, new) for value in node]
    if isinstance(node, str):
        return moved(node, old, new)
    return node


@dataclass(eq=False)
class OktaOrg:
    """One Okta org: its objects as raw JSON, its credentials, faults and request log.

    ``url`` is where the org is served; until :meth:`OktaEmulator.add_org` binds a port
    it is ``https://<name>.okta.com`` and every link in the state uses it (add_org
    rewrites them).
    """

    name: str
    base_domain: str = "rapticore.io"
    seed: str = ""
    """Seeds the org's ids (default: name and base domain); same seed, same ids."""
    url: str = ""
    custom_domain: str | None = None
    org_id: str = ""
    api_tokens: set[str] = field(default_factory=set)
    service_apps: dict[str, ServiceApp] = field(default_factory=dict)
    apps: dict[str, JSON] = field(default_factory=dict)
    grants: dict[str, list[JSON]] = field(default_factory=dict)
    user_types: list[JSON] = field(default_factory=list)
    mappings: list[JSON] = field(default_factory=list)
    secrets: dict[str, list[JSON]] = field(default_factory=dict)
    app_groups: dict[str, list[JSON]] = field(default_factory=dict)
    app_users: dict[str, list[JSON]] = field(default_factory=dict)
    authorization_servers: dict[str, JSON] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    page_size: int | None = None
    """At most this many items per page on every list endpoint (forces pagination)."""
    rate_limit: int | None = 600
    """Requests per minute before a real 429 (None: never). Headers always show it."""
    requests: list[RequestRecord] = field(default_factory=list)
    app_id: str = ""
    client_id: str = ""
    client_secret: str = ""
    token: str = ""
    admin_user_id: str = ""
    access_tokens: dict[str, IssuedToken] = field(default_factory=dict, repr=False)
    used_assertion_ids: set[str] = field(default_factory=set, repr=False)
    ids: IdFactory = field(init=False, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _window_start: int = field(default=0, init=False, repr=False)
    _window_count: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.ids = IdFactory(self.seed or f"okta:{self.name}.{self.base_domain}")
        if not self.url:
            self.url = f"https://{self.name}.okta.com"
        if not self.org_id:
            self.org_id = self.ids.new(payloads.PREFIX_ORG)
        if not self.admin_user_id:
            self.admin_user_id = self.ids.new(payloads.PREFIX_USER)

    # ------------------------------------------------------------------ conveniences

    @property
    def issuer(self) -> str:
        """The org authorization server's issuer (what an ORG_URL app's tokens carry)."""
        return self.url

    @property
    def custom_domain_url(self) -> str | None:
        """``custom_domain`` as a URL (http for a loopback host), or None."""
        return _base_url(self.custom_domain) if self.custom_domain else None

    @property
    def app(self) -> JSON:
        """The audited app's raw JSON (``apps[app_id]``); KeyError once deleted."""
        return self.apps[self.app_id]

    @property
    def oauth_client(self) -> JSON:
        """The audited app's ``settings.oauthClient``."""
        settings: JSON = self.app["settings"]["oauthClient"]
        return settings

    @property
    def default_user_type(self) -> JSON | None:
        """The user type with ``default: true``, if any."""
        return next((t for t in self.user_types if t.get("default") is True), None)

    @property
    def mapping(self) -> JSON | None:
        """The mapping from the default user type to the audited app, if any."""
        source = self.default_user_type
        for mapping in self.mappings:
            if (
                source is not None
                and mapping.get("source", {}).get("id") == source.get("id")
                and mapping.get("target", {}).get("id") == self.app_id
            ):
                return mapping
        return None

    def rebase(self, new_url: str) -> None:
        """Move the org to ``new_url``: every link and issuer that used ``url`` follows."""
        new_url = new_url.rstrip("/")
        with self.lock:
            old = self.url
            for name in (
                "apps",
                "grants",
                "user_types",
                "mappings",
                "secrets",
                "app_groups",
                "app_users",
                "authorization_servers",
            ):
                setattr(self, name, _rebase(getattr(self, name), old, new_url))
            self.url = new_url

    # ------------------------------------------------------------ state mutations

    def add_grant(
        self, scope_id: str, *, status: str = "ACTIVE", app_id: str | None = None
    ) -> JSON:
        """Grant the app an Okta API scope (as an admin does on "Okta API Scopes")."""
        app_id = app_id or self.app_id
        with self.lock:
            grant = payloads.scope_grant(
                self.url,
                grant_id=self.ids.new(payloads.PREFIX_GRANT),
                app_id=app_id,
                scope_id=scope_id,
                issuer=self.issuer,
                admin_user_id=self.admin_user_id,
                created=self.ids.timestamp(),
                status=status,
            )
            self.grants.setdefault(app_id, []).append(grant)
        return grant

    def add_secret(
        self, *, status: str = "ACTIVE", value: str | None = None, app_id: str | None = None
    ) -> JSON:
        """Add a client secret to the app (a random one unless ``value`` is given)."""
        app_id = app_id or self.app_id
        with self.lock:
            secret = payloads.client_secret(
                self.url,
                secret_id=self.ids.new(payloads.PREFIX_SECRET),
                app_id=app_id,
                value=value or self.ids.client_secret(),
                created=self.ids.timestamp(),
                status=status,
            )
            self.secrets.setdefault(app_id, []).append(secret)
        return secret

    def mask_secrets(self, style: Literal["stars", "dots"] = "stars") -> None:
        """Make Okta return masked client secrets (``abc*****`` or ``DRUF......Fs5B``)."""
        with self.lock:
            for secrets in self.secrets.values():
                for secret in secrets:
                    value = str(secret.get("client_secret", ""))
                    secret["client_secret"] = (
                        value[:3] + "*****"
                        if style == "stars"
                        else f"{value[:12]}......{value[-8:]}"
                    )

    def add_app_group(self, *, app_id: str | None = None) -> JSON:
        """Assign the app to one more (new) group."""
        app_id = app_id or self.app_id
        with self.lock:
            groups = self.app_groups.setdefault(app_id, [])
            group = payloads.group_assignment(
                self.url,
                app_id=app_id,
                group_id=self.ids.new(payloads.PREFIX_GROUP),
                priority=len(groups),
                last_updated=self.ids.timestamp(),
            )
            groups.append(group)
        return group

    def add_app_user(self, *, app_id: str | None = None) -> JSON:
        """Assign the app to one more (new) user."""
        app_id = app_id or self.app_id
        with self.lock:
            users = self.app_users.setdefault(app_id, [])
            number = len(users) + 1
            user = payloads.app_user(
                self.url,
                app_id=app_id,
                user_id=self.ids.new(payloads.PREFIX_USER),
                email=f"user{number}@{self.name}.example.com",
                first_name="User",
                last_name=f"Number{number}",
                created=self.ids.timestamp(),
            )
            users.append(user)
        return user

    def add_authorization_server(self, name: str, *, issuer_mode: str = "ORG_URL") -> JSON:
        """Add a custom authorization server (``aus...`` id), served at ``/oauth2/{id}``."""
        with self.lock:
            server = payloads.authorization_server(
                self.url,
                server_id=self.ids.new(payloads.PREFIX_AUTH_SERVER),
                name=name,
                created=self.ids.timestamp(),
                issuer_mode=issuer_mode,
            )
            self.authorization_servers[server["id"]] = server
        return server

    def delete_app(self, app_id: str | None = None) -> None:
        """Delete the app: it and everything hanging off it answer 404."""
        app_id = app_id or self.app_id
        with self.lock:
            self.apps.pop(app_id, None)
            for table in (self.grants, self.secrets, self.app_groups, self.app_users):
                table.pop(app_id, None)
            self.mappings = [m for m in self.mappings if m.get("target", {}).get("id") != app_id]

    def add_service_app(
        self,
        scopes: list[str] | set[str] | tuple[str, ...],
        *,
        kid: str | None = None,
        private_key_pem: str | None = None,
    ) -> tuple[str, str, str]:
        """Create an OAuth service app with an RSA key pair and these admin scopes.

        Returns ``(client_id, private_key_pem, kid)``: what the private-key credential
        mode of the okta SDK needs. A new 2048-bit key is generated unless
        ``private_key_pem`` (PKCS#8 or PKCS#1) is given, which saves ~0.1 s per app.
        """
        if private_key_pem is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            loaded = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise TypeError("a service app key must be an RSA private key")
            key = loaded
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public_pem = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        if kid is None:
            der = key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
        with self.lock:
            client_id = self.ids.new(payloads.PREFIX_APP)
            self.service_apps[client_id] = ServiceApp(client_id, public_pem, kid, set(scopes))
        return client_id, private_pem, kid

    # ------------------------------------------------------- used by the server

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first matching fault not used up, counted as used once more."""
        with self.lock:
            for fault in self.faults:
                if not fault.used_up and fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None

    def consume_rate_limit(self, now: float) -> tuple[int, int, int, bool]:
        """Count one request in the current minute: (limit, remaining, reset, exceeded)."""
        limit = self.rate_limit if self.rate_limit is not None else 600
        window = int(now) // 60 * 60
        with self.lock:
            if window != self._window_start:
                self._window_start, self._window_count = window, 0
            self._window_count += 1
            count = self._window_count
        exceeded = self.rate_limit is not None and count > limit
        return limit, max(limit - count, 0), window + 60, exceeded

    def record(self, entry: RequestRecord) -> None:
        """Append to the request log."""
        with self.lock:
            self.requests.append(entry)

    def issue_token(self, client_id: str, scopes: frozenset[str], lifetime: int) -> str:
        """Mint an opaque access token (Okta mints JWTs; no client here reads them)."""
        token = token_urlsafe(48)
        with self.lock:
            self.access_tokens[token] = IssuedToken(client_id, scopes, time.time() + lifetime)
        return token
