"""Text output for a terminal: drift lines and the one truncation rule."""

from __future__ import annotations

from auditor.report.text import format_drift, truncate
from auditor.results import DriftEntry


def test_truncate_keeps_short_text_and_marks_a_cut():
    """Text within the limit is untouched; longer text is cut to the limit, ending in '…'."""
    assert truncate("abc", 3) == "abc"
    assert truncate("abcd", 3) == "ab…"
    assert len(truncate("x" * 500, 120)) == 120


def test_drift_line_shows_added_and_removed_members():
    """A list change reads `path: + new, - old`."""
    entry = DriftEntry(path="a.b", against="previous", added=["x"], removed=["y"])
    assert format_drift(entry) == "a.b: + x, - y"


def test_drift_line_shows_before_and_after_as_short_json():
    """A value change reads `path: before -> after`, non-strings as JSON, long ones cut."""
    entry = DriftEntry(path="s", against="baseline", before={"b": 1, "a": True}, after="z" * 200)
    line = format_drift(entry)
    assert line.startswith('s: {"a": true, "b": 1} -> zzz')
    assert line.endswith("…")
    assert len(line) == len('s: {"a": true, "b": 1} -> ') + 120
