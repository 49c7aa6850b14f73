"""Records as Elasticsearch documents with Elastic Common Schema (ECS) field names.

One record becomes one JSON object, nested as ECS nests it::

    {"@timestamp": "2026-01-01T00:00:00.123456789Z", "message": "order placed",
     "log": {"level": "INFO", "logger": "orders"}, "event": {"severity": 9},
     "trace": {"id": "<32 hex>"}, "span": {"id": "<16 hex>"},
     "service": {"name": "checkout"}, "labels": {"order_id": 7}, "ecs": {"version": "8.11.0"}}

* ``@timestamp``: the record's timestamp (its observed timestamp when it is 0; the export
  time when both are), ISO 8601 in UTC with nine fractional digits, as a string.
* ``message``: the body; a string as it is, any other body as compact JSON. No body, no
  ``message``.
* ``log.level``: the severity text, else the name of the severity number's range (``INFO``
  for 9-12...); ``event.severity``: the severity number (when not 0).
* ``log.logger``: the logger (scope) name, when not empty.
* ``trace.id``, ``span.id``: lower-case hex, when set.
* ``event.dataset``: the ``dataset`` setting (a record's ``event.dataset`` attribute wins);
  ``event.action``: the record's event name.
* Resource and record attributes whose OpenTelemetry name has an ECS counterpart go to it
  (:data:`ECS_NAMES`; ``service.name`` stays ``service.name``, ``deployment.environment``
  becomes ``service.environment``, ``exception.type`` becomes ``error.type``...); a record's
  attribute wins over the resource's.
* Every other attribute goes under the prefix object (``labels`` by default) with its dots
  made underscores (``http.route`` gives ``labels.http_route``), so that ``a`` and ``a.b``
  never collide; its value is kept (maps and lists included) as the core's JSON encoder makes
  it safe (bytes in base64, non-finite floats and huge integers as strings:
  :func:`fapilog_otel._jsonline.sanitize`), except that a list an index cannot map as one
  field type (holding maps or lists, or scalars of mixed types such as ``[1, "two"]``) is
  written as one JSON string.
* ``ecs.version``: the ECS version the names follow.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

import orjson
from fapilog_otel._jsonline import sanitize
from fapilog_otel.record import LogRecord

__all__ = ["ECS_NAMES", "ECS_VERSION", "format_timestamp", "level_name", "to_document"]

#: The ECS version whose field names the documents use.
ECS_VERSION: Final = "8.11.0"

#: OpenTelemetry attribute names (resource or record) and the ECS field each is written to.
ECS_NAMES: Final[Mapping[str, str]] = {
    # service
    "service.name": "service.name",
    "service.version": "service.version",
    "service.instance.id": "service.node.name",
    "deployment.environment": "service.environment",
    "deployment.environment.name": "service.environment",
    # host and process
    "host.name": "host.name",
    "host.id": "host.id",
    "host.arch": "host.architecture",
    "host.ip": "host.ip",
    "os.type": "host.os.platform",
    "os.name": "host.os.name",
    "os.version": "host.os.version",
    "process.pid": "process.pid",
    "process.parent_pid": "process.parent.pid",
    "process.executable.name": "process.name",
    "process.executable.path": "process.executable",
    "process.command_line": "process.command_line",
    "thread.id": "process.thread.id",
    "thread.name": "process.thread.name",
    # containers and clouds
    "container.id": "container.id",
    "container.name": "container.name",
    "container.image.name": "container.image.name",
    "cloud.provider": "cloud.provider",
    "cloud.region": "cloud.region",
    "cloud.availability_zone": "cloud.availability_zone",
    "cloud.account.id": "cloud.account.id",
    # where the record was written
    "code.function": "log.origin.function",
    "code.function.name": "log.origin.function",
    "code.filepath": "log.origin.file.name",
    "code.file.path": "log.origin.file.name",
    "code.lineno": "log.origin.file.line",
    "code.line.number": "log.origin.file.line",
    # exceptions
    "exception.type": "error.type",
    "exception.message": "error.message",
    "exception.stacktrace": "error.stack_trace",
    # HTTP and the network
    "http.request.method": "http.request.method",
    "http.method": "http.request.method",
    "http.response.status_code": "http.response.status_code",
    "http.status_code": "http.response.status_code",
    "url.full": "url.full",
    "http.url": "url.full",
    "url.path": "url.path",
    "url.query": "url.query",
    "url.scheme": "url.scheme",
    "user_agent.original": "user_agent.original",
    "http.user_agent": "user_agent.original",
    "client.address": "client.address",
    "client.port": "client.port",
    "server.address": "server.address",
    "server.port": "server.port",
    "network.protocol.name": "network.protocol",
    # users and events
    "user.id": "user.id",
    "enduser.id": "user.id",
    "user.name": "user.name",
    "user.email": "user.email",
    "event.dataset": "event.dataset",
}

_LEVELS: Final = (
    (21, "FATAL"),
    (17, "ERROR"),
    (13, "WARN"),
    (9, "INFO"),
    (5, "DEBUG"),
    (1, "TRACE"),
)
_NS_PER_S: Final = 1_000_000_000


def level_name(severity_number: int) -> str | None:
    """The OpenTelemetry short name of a severity number's range (``INFO`` for 9-12)."""
    for lowest, name in _LEVELS:
        if severity_number >= lowest:
            return name
    return None


def format_timestamp(ns: int) -> str:
    """Nanoseconds since the epoch as ISO 8601 in UTC with nine fractional digits."""
    seconds, rest = divmod(ns, _NS_PER_S)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest:09d}Z"


def record_time(record: LogRecord) -> int:
    """The nanoseconds a record is filed under: its time, else its observed time, else now."""
    return record.timestamp or record.observed_timestamp or time.time_ns()


def to_document(
    record: LogRecord, ns: int, prefix: str = "labels", dataset: str | None = None
) -> dict[str, Any]:
    """The ECS document of ``record`` filed at ``ns`` (see the module docstring).

    Args:
        record: The record.
        ns: Its time (:func:`record_time`), computed once by the caller for the index too.
        prefix: The object attributes without an ECS name go under.
        dataset: ``event.dataset`` when the record has no such attribute.
    """
    document: dict[str, Any] = {"@timestamp": format_timestamp(ns)}
    if record.body is not None:
        body = record.body
        document["message"] = (
            body if isinstance(body, str) else orjson.dumps(sanitize(body)).decode()
        )
    level = record.severity_text or level_name(record.severity_number or 0)
    log: dict[str, Any] = {}
    if level:
        log["level"] = level
    if record.scope.name:
        log["logger"] = record.scope.name
    if log:
        document["log"] = log
    if record.severity_number:
        _put(document, "event.severity", record.severity_number)
    if record.event_name:
        _put(document, "event.action", record.event_name)
    if dataset:
        _put(document, "event.dataset", dataset)
    if record.trace_id:
        document["trace"] = {"id": f"{record.trace_id:032x}"}
    if record.span_id:
        document["span"] = {"id": f"{record.span_id:016x}"}
    labels: dict[str, Any] = {}
    resource = record.resource.attributes if record.resource is not None else {}
    for attributes in (resource, record.attributes):
        for key, value in attributes.items():
            target = ECS_NAMES.get(key)
            if target is None:
                labels[key.replace(".", "_")] = value
            else:
                _put(document, target, value)
    if labels:
        document[prefix] = labels
    document["ecs"] = {"version": ECS_VERSION}
    made_safe: dict[str, Any] = _indexable(sanitize(document))
    return made_safe


def _put(document: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` (dotted) in ``document``, making the objects on the way."""
    *parents, leaf = path.split(".")
    node = document
    for name in parents:
        child = node.get(name)
        if not isinstance(child, dict):
            child = node[name] = {}
        node = child
    node[leaf] = value


def _kind(value: Any) -> type:
    """The JSON type of a scalar, numbers (not booleans) counting as one."""
    return float if isinstance(value, int) and not isinstance(value, bool) else type(value)


def _indexable(value: Any) -> Any:
    """``value`` (JSON-safe) with every list an index can map as one field type: a list of
    maps, of lists or of mixed scalar types (``[1, "two"]``) becomes one JSON string."""
    if isinstance(value, dict):
        return {key: _indexable(item) for key, item in value.items()}
    if isinstance(value, list):
        kinds = {_kind(item) for item in value if item is not None}
        if len(kinds) > 1 or kinds & {dict, list}:
            return orjson.dumps(value).decode()
    return value
