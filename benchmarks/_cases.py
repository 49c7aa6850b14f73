"""The call-site cases: the table naming each case and the function that prepares it.

See :mod:`benchmarks.callsite` for what each case measures and how it is timed. The
functions live by library: :mod:`benchmarks._cases_fapilog` (ours),
:mod:`benchmarks._cases_stdlib_otel` (stdlib ``logging`` and the OTel SDK) and
:mod:`benchmarks._cases_others` (structlog, loguru, fapilog 0.18 and the reference
floors); what they are built from is in :mod:`benchmarks._cases_common`.
"""

from __future__ import annotations

from benchmarks._cases_common import CaseResult, CaseSpec, Prepared, Skipped
from benchmarks._cases_fapilog import (
    prepare_fapilog_disabled,
    prepare_fapilog_file,
    prepare_fapilog_in_span,
    prepare_fapilog_info,
)
from benchmarks._cases_others import (
    prepare_fapilog_018,
    prepare_loguru,
    prepare_reference,
    prepare_reference_deque,
    prepare_reference_method,
    prepare_structlog,
    prepare_structlog_disabled,
    prepare_structlog_file,
)
from benchmarks._cases_stdlib_otel import (
    prepare_otel_handler,
    prepare_otel_sdk,
    prepare_stdlib_args,
    prepare_stdlib_disabled,
    prepare_stdlib_extra,
    prepare_stdlib_json_file,
)

__all__ = ["CASES", "CaseResult", "CaseSpec", "Prepared", "Skipped"]

CASES: tuple[CaseSpec, ...] = (
    CaseSpec("a", "fapilog_otel info, 3 attrs", prepare_fapilog_info, 1_000.0),
    CaseSpec("b", "fapilog_otel info, 3 attrs, in span", prepare_fapilog_in_span, 1_500.0),
    CaseSpec("c", "fapilog_otel debug, disabled", prepare_fapilog_disabled, 100.0),
    CaseSpec("a2", "fapilog_otel info, JSON lines to a file", prepare_fapilog_file),
    CaseSpec("d1", "stdlib info %s args, NullHandler", prepare_stdlib_args),
    CaseSpec("d2", "stdlib info extra=, NullHandler", prepare_stdlib_extra),
    CaseSpec("d3", "stdlib debug, disabled", prepare_stdlib_disabled),
    CaseSpec("d4", "stdlib info extra=, json.dumps formatter, file", prepare_stdlib_json_file),
    CaseSpec("e", "OTel SDK emit, BatchLogRecordProcessor", prepare_otel_sdk),
    CaseSpec("e2", "stdlib info -> OTel LoggingHandler, batch", prepare_otel_handler),
    CaseSpec("f1", "structlog info, JSON", prepare_structlog),
    CaseSpec("f2", "structlog debug, disabled", prepare_structlog_disabled),
    CaseSpec("f3", "structlog info, orjson to a file", prepare_structlog_file),
    CaseSpec("g1", "loguru info, serialize=True, file", prepare_loguru),
    CaseSpec("h", "fapilog 0.18 info, defaults, null sink", prepare_fapilog_018, None, 10_000),
    CaseSpec("ref", "empty function, same args", prepare_reference),
    CaseSpec("ref-m", "empty method, same args", prepare_reference_method),
    CaseSpec("ref-q", "deque.append of a 4-tuple", prepare_reference_deque),
)
