"""Drift: what changed in a tenant's configuration between two stored snapshots.

Pure functions over the snapshot JSON (:meth:`TenantSnapshot.to_jsonable`), so the store
can diff what it kept without rebuilding models. The rules of the diff:

* **Paths read like the fields.** Section wrappers are elided: the app's redirect URIs
  are ``okta.app.settings.oauthClient.redirect_uris``, not ``okta.app.value...``.
* **Only configuration drifts.** The snapshot's own bookkeeping (``collected_at``,
  ``errors``, ``schema``), a section's ``reason`` text, and fields that change without
  anyone changing anything (``lastUpdated``, ``created``, ``_links``, request ids...) are
  never drift.
* **A failed collection is not a change.** A section that is ``error`` or ``skipped``
  on either side is not compared at all: nobody knows what is there. A section that went
  from ``ok`` to ``absent`` (or back) is one entry at the section's path, its value
  ``"ok"`` or ``"absent: <reason>"``. A first run (no ``before``) has no drift.
* **Order that means nothing is ignored.** Lists of strings (redirect URIs, grant types,
  assignments, Cognito flows, scopes, callback URLs...) are compared as multisets, and
  Cognito's space-separated ``authorize_scopes`` as a set of scopes; the entry carries the
  full sorted lists plus ``added`` and ``removed``. Lists of objects are matched by key:
  grants by ``scopeId``, client secrets by ``id``, app clients by ``ClientId``; a member
  that appeared or disappeared is listed by its key at the list's path, and a member's
  changed field is an entry below it (``okta.grants.okta.userTypes.read.status``).
* **Secrets never show.** A secret whose fingerprint or masked flag changed is
  ``"rotated"`` on both sides; one that appeared or disappeared is ``"(secret)"`` on
  the side that has it. Fingerprints never reach an entry.

Entries come sorted by path, so equal inputs give equal output.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Literal, TypeGuard

from auditor.results import DriftEntry
from auditor.snapshot import SectionStatus

Against = Literal["previous", "baseline"]

ROTATED = "rotated"
SECRET_PRESENT = "(secret)"  # noqa: S105 - a placeholder shown instead of a secret

# The snapshot's bookkeeping: it changes on every run.
_TOP_LEVEL_VOLATILE = frozenset({"collected_at", "errors", "schema"})

# Fields that change without a configuration change, wherever they appear. The snapshot
# models leave most of them out already; this keeps them out should a model grow one.
VOLATILE_FIELDS = frozenset(
    {
        # Okta
        "_links",
        "_embedded",
        "created",
        "lastUpdated",
        "statusChanged",
        "activated",
        "lastMembershipUpdated",
        "requestId",
        "request_id",
        "X-Okta-Request-Id",
        # AWS
        "ResponseMetadata",
        "RequestId",
        "CreationDate",
        "LastModifiedDate",
    }
)

# Lists of objects matched by a key field, by path (section wrappers elided).
KEYED_LISTS: Mapping[str, str] = MappingProxyType(
    {
        "okta.grants": "scopeId",
        "okta.secrets": "id",
        "cognito.app_clients": "ClientId",
    }
)

# Strings that hold a space-separated set (OAuth's scope syntax, RFC 6749 section 3.3).
SPACE_SEPARATED_SETS = frozenset({"cognito.idp.ProviderDetails.authorize_scopes"})

_SECTION_KEYS = frozenset({"status", "value", "reason"})
_SECTION_STATUSES = frozenset(status.value for status in SectionStatus)
_UNKNOWN = frozenset({SectionStatus.ERROR.value, SectionStatus.SKIPPED.value})
# Unknown ProviderDetails keys that hold a secret are kept as "redacted:<fingerprint>".
_REDACTED_PREFIX = "redacted:"


def diff_snapshots(
    before: Mapping[str, object] | None,
    after: Mapping[str, object],
    against: Against,
) -> list[DriftEntry]:
    """The configuration changes from ``before`` to ``after``, sorted by path.

    Both are :meth:`TenantSnapshot.to_jsonable` data; ``before`` is ``None`` on a
    tenant's first run (or before any baseline), which is no drift.
    """
    if before is None:
        return []
    differ = _Differ(against)
    for key in sorted(set(before) | set(after)):
        if key not in _TOP_LEVEL_VOLATILE and key not in VOLATILE_FIELDS:
            differ.value(before.get(key), after.get(key), key)
    return sorted(differ.entries, key=lambda entry: entry.path)


# ------------------------------------------------------------------ recognizing shapes


def _is_section(value: object) -> TypeGuard[Mapping[str, object]]:
    return (
        isinstance(value, Mapping)
        and set(value) == _SECTION_KEYS
        and value["status"] in _SECTION_STATUSES
    )


def _is_secret(value: object) -> bool:
    """A :class:`SecretRef` dump, or a redacted unknown ProviderDetails value."""
    if isinstance(value, str):
        return value.startswith(_REDACTED_PREFIX)
    return isinstance(value, Mapping) and {"fingerprint", "masked"} <= set(value) <= {
        "fingerprint",
        "masked",
        "sha256",
    }


def _secret_token(value: object) -> object:
    """What identifies a secret's value, for comparison only (never output)."""
    if isinstance(value, Mapping):
        return (value.get("fingerprint"), bool(value.get("masked")))
    return value


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _canon(value: object) -> str:
    return json.dumps(_clean(value), sort_keys=True, ensure_ascii=False)


def _sort_key(value: object) -> tuple[str, str]:
    """Orders mixed JSON scalars without comparing across types."""
    return (type(value).__name__, value if isinstance(value, str) else _canon(value))


def _clean(value: object) -> object:
    """``value`` fit for an entry: volatile fields dropped, secrets replaced."""
    if _is_secret(value):
        return SECRET_PRESENT
    if _is_section(value):
        return _clean(value["value"]) if value["status"] == "ok" else _section_text(value)
    if isinstance(value, Mapping):
        return {str(key): _clean(item) for key, item in value.items() if key not in VOLATILE_FIELDS}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def _section_text(section: Mapping[str, object]) -> str:
    status = str(section["status"])
    reason = section.get("reason")
    if status == "ok" or not reason:
        return status
    return f"{status}: {reason}"


# ------------------------------------------------------------------------- the differ


class _Differ:
    """Walks two JSON values side by side and collects entries."""

    def __init__(self, against: Against) -> None:
        self.against: Against = against
        self.entries: list[DriftEntry] = []

    def add(
        self,
        path: str,
        before: object,
        after: object,
        *,
        added: list[object] | None = None,
        removed: list[object] | None = None,
    ) -> None:
        self.entries.append(
            DriftEntry(
                path=path,
                before=before,
                after=after,
                against=self.against,
                added=added,
                removed=removed,
            )
        )

    def value(self, before: object, after: object, path: str) -> None:
        if _is_section(before) or _is_section(after):
            self.section(before, after, path)
            return
        if _is_secret(before) or _is_secret(after):
            self.secret(before, after, path)
            return
        if (
            path in SPACE_SEPARATED_SETS
            and isinstance(before, str | None)
            and isinstance(after, str | None)
        ):
            self.scalar_set(_split(before), _split(after), path)
            return
        if isinstance(before, Mapping) and isinstance(after, Mapping):
            for key in sorted(set(before) | set(after)):
                if key not in VOLATILE_FIELDS:
                    self.value(before.get(key), after.get(key), f"{path}.{key}")
            return
        if _is_list_or_none(before) and _is_list_or_none(after):
            # A list the source left out (None) and an empty one say the same thing.
            self.sequence(_as_list(before), _as_list(after), path)
            return
        if _canon(before) != _canon(after):
            self.add(path, _clean(before), _clean(after))

    def section(self, before: object, after: object, path: str) -> None:
        if _is_section(before) and _is_section(after):
            self.sections(before, after, path)
        else:
            # A shape change between snapshot schema versions: compare what is there.
            self.value(_unwrap(before), _unwrap(after), path)

    def sections(
        self, before: Mapping[str, object], after: Mapping[str, object], path: str
    ) -> None:
        statuses = {before["status"], after["status"]}
        if statuses & _UNKNOWN:
            return  # not collected on one side: no one knows whether anything changed
        if before["status"] != after["status"]:
            self.add(path, _section_text(before), _section_text(after))
        elif before["status"] == SectionStatus.OK.value:
            self.value(before["value"], after["value"], path)

    def secret(self, before: object, after: object, path: str) -> None:
        if _is_secret(before) and _is_secret(after):
            if _secret_token(before) != _secret_token(after):
                self.add(path, ROTATED, ROTATED)
            return
        # Appeared or disappeared: say so without showing the value on either side.
        self.add(path, _clean(before), _clean(after))

    def sequence(self, before: list[object], after: list[object], path: str) -> None:
        key_field = KEYED_LISTS.get(path)
        if key_field is None and all(_is_scalar(item) for item in [*before, *after]):
            self.scalar_set(before, after, path)
            return
        if key_field is None:
            key_field = "id"  # any other list of objects: by id when they all have one
        keyed_before = _index(before, key_field)
        keyed_after = _index(after, key_field)
        if keyed_before is None or keyed_after is None:
            self.object_set(before, after, path)
            return
        self.keyed(keyed_before, keyed_after, path)

    def scalar_set(self, before: Sequence[object], after: Sequence[object], path: str) -> None:
        old = Counter(_canon(item) for item in before)
        new = Counter(_canon(item) for item in after)
        if old == new:
            return
        added = [json.loads(item) for item in (new - old).elements()]
        removed = [json.loads(item) for item in (old - new).elements()]
        self.add(
            path,
            sorted((_clean(item) for item in before), key=_sort_key),
            sorted((_clean(item) for item in after), key=_sort_key),
            added=sorted(added, key=_sort_key),
            removed=sorted(removed, key=_sort_key),
        )

    def object_set(self, before: list[object], after: list[object], path: str) -> None:
        """Objects without a usable key: compared whole, as a multiset."""
        old = Counter(_canon(item) for item in before)
        new = Counter(_canon(item) for item in after)
        if old == new:
            return
        self.add(
            path,
            [json.loads(item) for item in sorted(old.elements())],
            [json.loads(item) for item in sorted(new.elements())],
            added=[json.loads(item) for item in sorted((new - old).elements())],
            removed=[json.loads(item) for item in sorted((old - new).elements())],
        )

    def keyed(self, before: Mapping[str, object], after: Mapping[str, object], path: str) -> None:
        added = sorted(set(after) - set(before))
        removed = sorted(set(before) - set(after))
        if added or removed:
            self.add(
                path,
                sorted(before),
                sorted(after),
                added=list(added),
                removed=list(removed),
            )
        for key in sorted(set(before) & set(after)):
            self.value(before[key], after[key], f"{path}.{key}")


# ------------------------------------------------------------------------- helpers


def _split(text: str | None) -> list[object]:
    return list(text.split()) if text else []


def _unwrap(value: object) -> object:
    if _is_section(value):
        return value["value"]
    return value


def _is_list_or_none(value: object) -> bool:
    return value is None or isinstance(value, list | tuple)


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def _index(items: list[object], key_field: str) -> dict[str, object] | None:
    """Items by their key; ``None`` when an item is not an object or has no key.

    Two items with the same key (a scope granted twice, by two issuers) are told apart
    by their ``id``: ``okta.users.read#oag1...``.
    """
    keys: list[str] = []
    objects: list[Mapping[str, object]] = []
    for item in items:
        if not isinstance(item, Mapping):
            return None
        objects.append(item)
        key = item.get(key_field)
        if key is None:
            key = item.get("id")
        if not isinstance(key, str | int) or isinstance(key, bool):
            return None
        keys.append(str(key))
    counts = Counter(keys)
    indexed: dict[str, object] = {}
    for key, item in zip(keys, objects, strict=True):
        name = key if counts[key] == 1 else f"{key}#{item.get('id')}"
        if name in indexed:
            return None  # no way to tell them apart: compare the list whole
        indexed[name] = item
    return indexed
