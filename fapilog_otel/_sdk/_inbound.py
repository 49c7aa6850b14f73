"""Records arriving from an SDK pipeline, for our exporters used as SDK exporters.

An SDK ``BatchLogRecordProcessor`` hands its exporter ``ReadableLogRecord`` objects; our
exporters (the OTLP one, for instance) want :class:`~fapilog_otel.record.LogRecord`. This
turns one into the other, and our success or failure into the SDK's result enum.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from fapilog_otel._raw import to_record
from fapilog_otel._sdk._bridge import raw_from_sdk
from fapilog_otel.record import LogRecord, Scope

_EMPTY_RESOURCE = Resource.get_empty()


def records_from_sdk(
    batch: Sequence[Any], scope_cache: MutableMapping[InstrumentationScope, Scope]
) -> list[LogRecord]:
    """Our records for a batch of SDK ``ReadableLogRecord`` (ours pass through unchanged)."""
    out: list[LogRecord] = []
    for item in batch:
        if type(item) is LogRecord:
            out.append(item)
            continue
        record = to_record(raw_from_sdk(item, scope_cache=scope_cache), _EMPTY_RESOURCE)
        dropped = getattr(item, "dropped_attributes", 0)
        record.dropped_attributes_count = dropped if type(dropped) is int else 0
        out.append(record)
    return out


def sdk_export_result(ok: bool) -> LogRecordExportResult:
    """The SDK's export result for success or failure."""
    return LogRecordExportResult.SUCCESS if ok else LogRecordExportResult.FAILURE
