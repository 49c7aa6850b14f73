"""The library's OTLP/protobuf encoder as the benchmarks make it: compiled or pure Python."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["protobuf_encoder"]


def protobuf_encoder(*, pure_python: bool) -> Any:
    """A ``ProtobufEncoder``: with the compiled record encoder when it was built, unless
    ``pure_python`` (then made with ``FAPILOG_PURE_PYTHON=1``)."""
    from fapilog_otel.otlp._compiled import PURE_PYTHON_VARIABLE
    from fapilog_otel.otlp._protobuf import ProtobufEncoder

    before = os.environ.pop(PURE_PYTHON_VARIABLE, None)
    try:
        if pure_python:
            os.environ[PURE_PYTHON_VARIABLE] = "1"
        return ProtobufEncoder()
    finally:
        os.environ.pop(PURE_PYTHON_VARIABLE, None)
        if before is not None:
            os.environ[PURE_PYTHON_VARIABLE] = before
