"""Small things a newcomer trips over: flag order, exit-code docs, diff of an unknown run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import new_id

from auditor.cli.parser import EPILOG, build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize(
    "argv",
    [
        ["--log-level", "info", "audit", "--all"],
        ["audit", "--all", "--log-level", "info"],
        ["audit", "--log-level", "INFO", "--all"],
        ["baseline", "show", "--all", "--log-level", "info"],
    ],
)
def test_log_level_is_accepted_before_or_after_the_command(argv):
    """`--log-level` means the same before the command or after it (any case)."""
    assert build_parser().parse_args(argv).log_level == "info"


def test_log_level_after_the_command_beats_the_one_before():
    """The flag nearest the command's own flags wins; absent, the default stays."""
    parser = build_parser()
    assert parser.parse_args(["--log-level", "error", "diff", "--tenant", "a",
                              "--log-level", "debug"]).log_level == "debug"
    assert parser.parse_args(["diff", "--tenant", "a"]).log_level == "warning"


def test_log_level_after_the_command_rejects_an_unknown_level(run_auditor):
    """A bad level after the command is a usage error (exit 2), as before it."""
    ran = run_auditor(["rules", "list", "--log-level", "loud"])
    assert ran.returncode == 2
    assert "invalid choice: 'loud'" in ran.stderr


def _readme_exit_codes() -> dict[str, str]:
    section = README.read_text(encoding="utf-8").split("## Exit codes", 1)[1]
    rows = re.findall(r"^\| (\d) \| (.+?) \|$", section, re.MULTILINE)
    return {code: text.replace("`", "") for code, text in rows}


def _help_exit_codes() -> dict[str, str]:
    block = EPILOG.split("exit codes:\n", 1)[1].split("\n\n", 1)[0]
    codes: dict[str, str] = {}
    for line in block.splitlines():
        match = re.match(r"^  (\d)  (.*)$", line)
        if match:
            codes[match.group(1)] = match.group(2)
            last = match.group(1)
        else:
            codes[last] += " " + line.strip()
    return codes


def test_help_and_readme_agree_on_every_exit_code(run_auditor):
    """`auditor --help` prints the README's exit-code table, word for word."""
    readme = _readme_exit_codes()
    assert set(readme) == {"0", "1", "2", "3"}
    assert _help_exit_codes() == readme
    assert "waiver file" in readme["2"]
    assert "could not be recorded" in readme["3"]
    ran = run_auditor(["--help"])
    assert ran.returncode == 0
    assert "could not be recorded" in ran.stdout


def test_readme_gives_baseline_show_its_tenant_flags():
    """The README's `baseline show` line shows the --tenant/--all it requires."""
    text = README.read_text(encoding="utf-8")
    assert "`auditor baseline show --tenant ID | --all`" in text


def test_diff_from_an_unknown_run_exits_2(fleet, audit, cli):
    """`diff --from <a run that does not exist>` is a usage error naming the run."""
    tenant = fleet.add(new_id("dfu"))
    audit("--all")
    proc = cli(["diff"], "--tenant", tenant.tenant_id, "--from", "r-does-not-exist")
    assert proc.returncode == 2, proc.stdout
    assert "r-does-not-exist" in proc.stderr
    assert "auditor history" in proc.stderr
    proc = cli(["diff"], "--tenant", tenant.tenant_id, "--to", "r-does-not-exist")
    assert proc.returncode == 2
