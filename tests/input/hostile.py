"""A corpus of hostile YAML documents and files, shared by the loader and fuzz tests.

Each entry is a document an attacker (or an unlucky editor) could put where the auditor
expects its config or waivers file; every one must be refused with a line, quickly.
"""

from __future__ import annotations

import itertools
import os
import textwrap
from pathlib import Path


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": ``width ** levels`` strings from a few hundred bytes."""
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [" + ", ".join(['"lol"'] * width) + "]"]
    for prev, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * width) + "]")
    return "\n".join(lines) + "\n"


# The config's own keys lead, so a loader that checks the schema first still has to
# read the whole document (and the bomb) before it can complain.
VALID_TENANT = textwrap.dedent("""\
    version: 1
    tenants:
      - id: acme
        okta:
          org_url: https://acme.okta.com
          token: secret-token
        cognito:
          region: us-east-1
          user_pool_id: us-east-1_AbCdEf
          provider_name: Okta
    """)

HOSTILE_DOCUMENTS: dict[str, str] = {
    "alias bomb": alias_bomb(),
    "alias bomb in a valid config": VALID_TENANT + "rules:\n" + textwrap.indent(alias_bomb(), "  "),
    "recursive alias": "version: 1\ntenants: &t [*t]\n",
    "recursive mapping alias": "version: 1\nrules: &r {x: *r}\n",
    "50,000 nested flow lists": "version: 1\ntenants: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "100 nested flow lists": "version: 1\ntenants: " + "[" * 100 + "]" * 100 + "\n",
    "deep block mapping": "".join(f"{' ' * i}k{i}:\n" for i in range(200)) + " " * 200 + "v\n",
    "aliases that stack depth": (
        "a: &a " + "[" * 60 + "]" * 60 + "\n" + "b: &b " + "[" * 30 + "*a" + "]" * 30 + "\n"
    ),
    "NUL byte": VALID_TENANT.replace("acme\n", "ac\x00me\n", 1),
    "ESC and BEL bytes": VALID_TENANT + "base_domain: \x1b[2K\rx\x07.io\n",
    "huge integer": VALID_TENANT + "retention_days: " + "9" * 100_000 + "\n",
    "huge float": VALID_TENANT + "concurrency: 1e999999\n",
    "undefined alias": "version: 1\ntenants: *nowhere\n",
    "two documents": VALID_TENANT + "---\n" + VALID_TENANT,
    "python tag": "version: 1\ntenants: !!python/object/apply:os.system ['true']\n",
    "unclosed flow": "version: 1\ntenants: [\n  {id: acme\n",
    "tab indentation": "version: 1\ntenants:\n\t- id: acme\n",
    "a list": "- version: 1\n",
    "a scalar": "just words\n",
    "bad date": VALID_TENANT + "waivers: 2026-02-30\n",
    "non-string key": VALID_TENANT + "? [a, b]\n: c\n",
}

HOSTILE_BYTES: dict[str, bytes] = {
    "Latin-1 text": VALID_TENANT.replace("acme\n", "acm\xe9\n", 1).encode("latin-1"),
    "UTF-16 with BOM": VALID_TENANT.encode("utf-16"),
    "lone surrogate bytes": VALID_TENANT.encode() + b"x: \xed\xa0\x80\n",
}


def hostile_files(folder: Path, max_bytes: int) -> dict[str, Path]:
    """Paths that are not a config at all: devices, a FIFO, a folder, a huge file."""
    fifo = folder / "fifo.yaml"
    if not fifo.exists():
        os.mkfifo(fifo)
    huge = folder / "huge.yaml"
    with huge.open("w", encoding="utf-8") as handle:
        handle.write(VALID_TENANT)
        handle.write("# padding\n" * (max_bytes // 10 + 1))
    (folder / "a-folder.yaml").mkdir(exist_ok=True)
    return {
        "/dev/zero": Path("/dev/zero"),
        "/dev/urandom": Path("/dev/urandom"),
        "a FIFO with no writer": fifo,
        "a directory": folder / "a-folder.yaml",
        "a file over the size limit": huge,
        "a missing file": folder / "missing.yaml",
    }
