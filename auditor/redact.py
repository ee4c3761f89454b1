"""URLs as they may be printed: without the passwords and tokens they can carry.

A store URL holds a database password (``postgresql://auditor:pw@db/audits``), a web
URL may hold user info (``https://user:token@host``) or a token in its query. Every
message, log line or report that names a URL shows :func:`redact_url` of it instead.
"""

from __future__ import annotations

import re

REDACTED = "***"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# Web URLs lose their whole user info: a token often sits where a user name would.
_WEB_SCHEMES = {"http", "https", "ws", "wss"}
_SECRET_PARAM = re.compile(
    r"(?i)([?&;](?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?token|"
    r"client[_-]?secret|sig|signature|sslpassword)=)[^&#;]*"
)


def redact_url(url: str) -> str:
    """``url`` with its password (store URLs) or user info (web URLs) as ``***``.

    ``postgresql://auditor:pw@db/x`` -> ``postgresql://auditor:***@db/x`` (as
    SQLAlchemy's ``hide_password`` shows it); ``https://user:tok@host/`` ->
    ``https://***@host/``; secret-looking query values (``?password=``,
    ``&token=``) -> ``***``. The user info ends at the last ``@`` before the query,
    so a password with an unescaped ``@`` is hidden whole; when in doubt, more is hidden.
    """
    scheme = _SCHEME.match(url)
    if scheme is not None:
        rest = url[scheme.end() :]
        end = min((i for i in (rest.find("?"), rest.find("#")) if i != -1), default=len(rest))
        at = rest.rfind("@", 0, end)
        if at != -1:
            user, colon, _ = rest[:at].partition(":")
            web = scheme.group().removesuffix("://").lower() in _WEB_SCHEMES
            shown = REDACTED if web or not colon else f"{user}:{REDACTED}"
            url = f"{scheme.group()}{shown}@{rest[at + 1 :]}"
    return _SECRET_PARAM.sub(rf"\g<1>{REDACTED}", url)
