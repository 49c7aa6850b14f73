"""What both sides of the delivery benchmark agree on: the sizes, and "cannot run here".

The parent (:mod:`benchmarks.delivery`) starts one :mod:`benchmarks._delivery_child`
process per case and repeat (:mod:`benchmarks._children`), which logs and encodes
batches of these sizes.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_ENCODE_LOOPS",
    "DEFAULT_RECORDS",
    "ENCODE_BATCH",
    "WARMUP_RECORDS",
    "Unavailable",
]

DEFAULT_RECORDS = 200_000
WARMUP_RECORDS = 1_024
ENCODE_BATCH = 512
DEFAULT_ENCODE_LOOPS = 200


class Unavailable(Exception):
    """A case cannot run here (its library or one of its parts is missing).

    The child reports it as ``"status": "unavailable"`` and why, which is no failure.
    """
