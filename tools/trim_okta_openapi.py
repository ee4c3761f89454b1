
"""Cut Okta's Management API spec down to what the Okta emulator serves.

Okta publishes one OpenAPI document of about 3.4 MB. The emulator's contract tests only
need the GET operations the auditor reads, the schemas those operations reference (their
``$ref`` closure), and a few schemas the emulator serves outside those operations (the
discovery document's ``OAuthMetadata``, the concrete ``OpenIdConnectApplication`` that
``Application``'s discriminator points to). This script writes that subset, with a header
naming the source file and its SHA-256, so a reviewer can see exactly where it came from.

Usage::

    python tools/trim_okta_openapi.py [--source SPEC.yaml] [--output OUT.yaml] [--check]

``--check`` regenerates in memory and exits 1 when the committed file differs.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

import yaml

# shared/ lies beside the checkout (read-only), here and in CI.
DEFAULT_SOURCE = (
    Path(__file__).resolve().parents[2] / "shared/okta-openapi/management-2026.06.3.yaml"
)
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "tests/contract/okta-openapi-trimmed.yaml"

# The operations the emulator serves (GET only), in the order the collector reads them.
PATHS = (
    "/api/v1/apps/{appId}",
    "/api/v1/apps/{appId}/grants",
    "/api/v1/apps/{appId}/credentials/secrets",
    "/api/v1/apps/{appId}/groups",
    "/api/v1/apps/{appId}/users",
    "/api/v1/meta/types/user",
    "/api/v1/mappings",
    "/api/v1/mappings/{mappingId}",
)
METHODS = ("get",)

# Served by the emulator but not reachable by $ref from the operations above:
# OpenIdConnectApplication is the discriminator target of Application for OPENID_CONNECT,
# OAuthMetadata describes the discovery document (its paths live in Okta's OAuth spec),
# Error is every error body.
EXTRA_SCHEMAS = ("OpenIdConnectApplication", "OAuthMetadata", "Error")

REF_PREFIX = "#/components/"


def _refs(node: Any) -> set[str]:  # noqa: ANN401 - walks arbitrary YAML
    """Every ``$ref`` string under ``node``."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _split_ref(ref: str) -> tuple[str, str]:
    """``#/components/schemas/Foo`` -> (``schemas``, ``Foo``)."""
    if not ref.startswith(REF_PREFIX):
        raise ValueError(f"unsupported $ref {ref!r}: only local component refs are expected")
    kind, _, name = ref.removeprefix(REF_PREFIX).partition("/")
    return kind, name


def _without_examples(node: Any) -> Any:  # noqa: ANN401 - walks arbitrary YAML
    """Drop media-type and parameter ``examples`` (they point into components/examples).

    Only used on path items and on components other than schemas, where ``examples`` is
    always the OpenAPI keyword and never a property name.
    """
    if isinstance(node, dict):
        return {k: _without_examples(v) for k, v in node.items() if k != "examples"}
    if isinstance(node, list):
        return [_without_examples(v) for v in node]
    return node


def trim(spec: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``spec`` described in the module docstring."""
    paths: dict[str, Any] = {}
    for path in PATHS:
        item = spec["paths"][path]
        kept = {k: v for k, v in item.items() if k in METHODS or k == "parameters"}
        paths[path] = _without_examples(kept)

    components = spec["components"]
    wanted: dict[str, set[str]] = {}
    pending = _refs(paths) | {f"{REF_PREFIX}schemas/{name}" for name in EXTRA_SCHEMAS}
    while pending:
        ref = pending.pop()
        kind, name = _split_ref(ref)
        if kind == "examples" or name in wanted.get(kind, set()):
            continue
        wanted.setdefault(kind, set()).add(name)
        node = components[kind][name]
        pending |= _refs(node if kind == "schemas" else _without_examples(node))

    out_components: dict[str, Any] = {}
    for kind in sorted(wanted):
        section = {}
        for name in sorted(wanted[kind]):
            node = components[kind][name]
            section[name] = node if kind == "schemas" else _without_examples(node)
        out_components[kind] = section
    out_components["securitySchemes"] = components["securitySchemes"]

    # A discriminator may map to schemas we do not carry (SAML apps, ...): keep only the
    # entries whose target is in the subset, so every reference in the file resolves.
    for schema in out_components.get("schemas", {}).values():
        mapping = schema.get("discriminator", {}).get("mapping")
        if mapping:
            schema["discriminator"]["mapping"] = {
                key: target
                for key, target in mapping.items()
                if _split_ref(target)[1] in out_components["schemas"]
            }

    return {
        "openapi": spec["openapi"],
        "info": {
            "title": spec["info"]["title"] + " (trimmed for the auditor's Okta emulator)",
            "version": spec["info"]["version"],
        },
        "servers": spec.get("servers", []),
        "paths": paths,
        "components": out_components,
    }


def render(source: Path) -> str:
    """The trimmed document for ``source`` as YAML text, with a provenance header."""
    raw = source.read_bytes()
    spec = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    digest = hashlib.sha256(raw).hexdigest()
    header = (
        "# Generated by tools/trim_okta_openapi.py. Do not edit by hand.\n"
        f"# source: {source.name}\n"
        f"# source-sha256: {digest}\n"
        f"# paths: {', '.join(PATHS)} (GET)\n"
        f"# extra schemas: {', '.join(EXTRA_SCHEMAS)}\n"
    )
    body = yaml.safe_dump(trim(spec), sort_keys=False, allow_unicode=True, width=100)
    return header + body


def main(argv: list[str] | None = None) -> int:
    """Write (or ``--check``) the trimmed spec."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if --output is stale")
    args = parser.parse_args(argv)

    text = render(args.source)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            sys.stderr.write(f"{args.output} is stale: run tools/trim_okta_openapi.py\n")
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {args.output} ({len(text):,} bytes)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
