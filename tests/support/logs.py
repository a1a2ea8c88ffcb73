"""The app's log lines, as a test captured them from standard output."""

from __future__ import annotations

import json
from typing import Any

import pytest


def json_lines(output: str) -> list[dict[str, Any]]:
    """Every line of `output`, each of which must be a JSON object."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines, "nothing was logged"
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a log line is not JSON: {line!r}")
    return parsed
