"""Records as HEC events, shaped as the OpenTelemetry Collector's ``splunk_hec`` exporter
shapes log records.

One record becomes one JSON object::

    {"time": 1767225600.123, "host": "web-1", "source": "checkout", "sourcetype": "_json",
     "index": "main", "event": "order placed",
     "fields": {"service.name": "checkout", "order_id": 7,
                "otel.log.severity.text": "INFO", "otel.log.severity.number": 9,
                "trace_id": "<32 hex>", "span_id": "<16 hex>"}}

* ``event``: the body (strings as they are, maps and lists as JSON); a record without a
  body (``None`` or ``""``) sends :data:`EMPTY_EVENT`, since HEC refuses a whole request
  when one event is missing or blank (codes 12 and 13).
* ``time``: the timestamp (the observed timestamp when it is 0) in epoch seconds, rounded to
  milliseconds as the collector rounds it; left out when both are 0 (Splunk then uses the
  time it received the event).
* ``host``: the ``host.name`` attribute (the record's, else the resource's), else the
  configured host; ``source``, ``sourcetype``, ``index``: the ``com.splunk.source``,
  ``com.splunk.sourcetype`` and ``com.splunk.index`` attributes, else the configured values.
  Keys with no value are left out (Splunk applies the token's defaults). The attributes so
  used, and ``com.splunk.hec.access_token``, are not repeated in ``fields``.
* ``fields``: the resource's attributes, then the record's (which win), then
  ``otel.log.severity.text`` / ``otel.log.severity.number`` (when set), ``trace_id`` and
  ``span_id`` (lower-case hex, when set). Two additions of ours, not made by the collector:
  ``otel.scope.name`` (the logger name, when not empty) and ``event.name`` (when set).
  Indexed fields are flat, so a map value is flattened into dotted keys (``{"http":
  {"method": "GET"}}`` gives ``http.method``) and a list holding maps or lists is written as
  one JSON string.

Values JSON cannot hold are made safe as the core's JSON encoder makes them (bytes in base64,
non-finite floats and huge integers as strings...: :func:`fapilog_otel._jsonline.sanitize`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
from fapilog_otel._jsonline import sanitize
from fapilog_otel.record import LogRecord

__all__ = [
    "EMPTY_EVENT",
    "HOST_ATTRIBUTE",
    "INDEX_ATTRIBUTE",
    "SOURCETYPE_ATTRIBUTE",
    "SOURCE_ATTRIBUTE",
    "Metadata",
    "encode_events",
    "to_event",
]

HOST_ATTRIBUTE: Final = "host.name"
SOURCE_ATTRIBUTE: Final = "com.splunk.source"
SOURCETYPE_ATTRIBUTE: Final = "com.splunk.sourcetype"
INDEX_ATTRIBUTE: Final = "com.splunk.index"
TOKEN_ATTRIBUTE: Final = "com.splunk.hec.access_token"

#: The ``event`` of a record without a body.
EMPTY_EVENT: Final = "(empty)"

_METADATA_ATTRIBUTES: Final[Mapping[str, str]] = {
    HOST_ATTRIBUTE: "host",
    SOURCE_ATTRIBUTE: "source",
    SOURCETYPE_ATTRIBUTE: "sourcetype",
    INDEX_ATTRIBUTE: "index",
}
_NOT_FIELDS: Final = frozenset({*_METADATA_ATTRIBUTES, TOKEN_ATTRIBUTE})
_SCALARS: Final = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Metadata:
    """The configured top-level keys, used when a record's attributes give none."""

    host: str | None = None
    source: str | None = None
    sourcetype: str | None = None
    index: str | None = None


def encode_events(records: Sequence[LogRecord], metadata: Metadata) -> bytes:
    """The request body for ``records``: one JSON object per record, each ending a line."""
    return b"".join(
        orjson.dumps(to_event(r, metadata), option=orjson.OPT_APPEND_NEWLINE) for r in records
    )


def to_event(record: LogRecord, metadata: Metadata) -> dict[str, Any]:
    """One record as a HEC event object (JSON-safe values only)."""
    top: dict[str, str | None] = {
        "host": metadata.host,
        "source": metadata.source,
        "sourcetype": metadata.sourcetype,
        "index": metadata.index,
    }
    fields: dict[str, Any] = {}
    for attributes in (record.resource.attributes, record.attributes):
        for key, value in attributes.items():
            name = str(key)
            if name in _METADATA_ATTRIBUTES:
                if value is not None and str(value):
                    top[_METADATA_ATTRIBUTES[name]] = str(value)
            elif name not in _NOT_FIELDS:
                _merge(fields, _clean_key(name), sanitize(value))
    if record.severity_text:
        fields["otel.log.severity.text"] = record.severity_text
    if record.severity_number:
        fields["otel.log.severity.number"] = record.severity_number
    if record.trace_id:
        fields["trace_id"] = f"{record.trace_id:032x}"
    if record.span_id:
        fields["span_id"] = f"{record.span_id:016x}"
    if record.scope.name:
        fields["otel.scope.name"] = record.scope.name
    if record.event_name:
        fields["event.name"] = record.event_name
    event: dict[str, Any] = {}
    nanoseconds = record.timestamp or record.observed_timestamp
    if nanoseconds:
        event["time"] = ((nanoseconds + 500_000) // 1_000_000) / 1000
    for key, value in top.items():
        if value:
            event[key] = value
    body = sanitize(record.body)
    event["event"] = EMPTY_EVENT if body is None or body == "" else body
    event["fields"] = fields
    return event


def _clean_key(key: str) -> str:
    """``key`` as a JSON string can hold it (lone surrogates escaped)."""
    cleaned = sanitize(key)
    return cleaned if isinstance(cleaned, str) else str(cleaned)


def _merge(fields: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` in ``fields``, maps flattened into dotted keys (the last value wins)."""
    if isinstance(value, dict):
        for inner, item in value.items():
            _merge(fields, f"{key}.{inner}", item)
    elif isinstance(value, list) and not all(isinstance(item, _SCALARS) for item in value):
        fields[key] = orjson.dumps(value).decode("utf-8")
    else:
        fields[key] = value
