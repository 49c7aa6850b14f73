"""What both sides of the delivery benchmark agree on: sizes and the result line.

The parent (:mod:`benchmarks.delivery`) starts one :mod:`benchmarks._delivery_child`
process per case and repeat; the child prints exactly one result line,
``RESULT <json>``, which the parent finds among whatever else the child printed.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "DEFAULT_ENCODE_LOOPS",
    "DEFAULT_RECORDS",
    "ENCODE_BATCH",
    "WARMUP_RECORDS",
    "format_result",
    "parse_result",
]

DEFAULT_RECORDS = 200_000
WARMUP_RECORDS = 1_024
ENCODE_BATCH = 512
DEFAULT_ENCODE_LOOPS = 200
_RESULT_PREFIX = "RESULT "


def format_result(result: dict[str, Any]) -> str:
    """The result line a child prints for ``result``."""
    return _RESULT_PREFIX + json.dumps(result)


def parse_result(stdout: str) -> dict[str, Any] | None:
    """The last result line in a child's ``stdout``, decoded, or ``None`` if there is none."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(_RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(_RESULT_PREFIX) :])
            return result
    return None
