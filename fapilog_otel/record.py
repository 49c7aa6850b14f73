"""The record that processors and exporters see.

The call site never builds one of these: it queues a flat tuple (see ``_raw``) and the
container worker turns each tuple into a :class:`LogRecord` once, off the caller's thread.
Field names follow the OpenTelemetry log data model so an OTel user recognises each one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.resources import Resource

__all__ = ["LogRecord", "Scope", "Severity"]


class Severity:
    """Severity numbers of the OpenTelemetry log data model for the library's levels."""

    TRACE = 1
    DEBUG = 5
    INFO = 9
    WARNING = 13
    ERROR = 17
    CRITICAL = 21

    #: Level names as users spell them, mapped to severity numbers.
    BY_NAME: Mapping[str, int] = {
        "trace": TRACE,
        "debug": DEBUG,
        "info": INFO,
        "warning": WARNING,
        "error": ERROR,
        "critical": CRITICAL,
    }


class Scope:
    """An instrumentation scope: the logger name, plus optional version and schema URL.

    Scopes are immutable and compared by value, so records of the same logger group together
    in an export request.
    """

    __slots__ = ("_key", "attributes", "name", "schema_url", "version")

    _key: tuple[str, str | None, str | None, str]

    name: str
    version: str | None
    schema_url: str | None
    attributes: Mapping[str, Any] | None

    def __init__(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "version", version)
        object.__setattr__(self, "schema_url", schema_url)
        object.__setattr__(self, "attributes", dict(attributes) if attributes else None)
        frozen_attrs = tuple(sorted((attributes or {}).items(), key=lambda kv: kv[0]))
        object.__setattr__(self, "_key", (name, version, schema_url, repr(frozen_attrs)))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Scope is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scope) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"Scope({self.name!r}, version={self.version!r})"


class LogRecord:
    """One log record as processors and exporters see it (mutable, slotted).

    Attributes:
        timestamp: When the event happened, in nanoseconds since the epoch.
        observed_timestamp: When the library observed it (the same as ``timestamp`` for
            records made by our loggers; later for records bridged from elsewhere).
        severity_number: The OTel severity number (1-24), or 0 when unknown.
        severity_text: The level name as logged (``"INFO"``, or the stdlib level name).
        body: The message; usually a string, any OTel AnyValue allowed.
        attributes: Keyword arguments, bound context and exception attributes merged.
        scope: The instrumentation scope (logger name).
        resource: The container's (or provider's) resource.
        trace_id: The trace id of the span current at the call, or 0.
        span_id: The span id of the span current at the call, or 0.
        trace_flags: The trace flags of that span, or 0.
        event_name: The event name for ``log.event(...)``, else ``None``.
        dropped_attributes_count: Attributes dropped because of the attribute limits.
    """

    __slots__ = (
        "attributes",
        "body",
        "dropped_attributes_count",
        "event_name",
        "observed_timestamp",
        "resource",
        "scope",
        "severity_number",
        "severity_text",
        "span_id",
        "timestamp",
        "trace_flags",
        "trace_id",
    )

    timestamp: int
    observed_timestamp: int
    severity_number: int
    severity_text: str | None
    body: Any
    attributes: dict[str, Any]
    scope: Scope
    resource: Resource
    trace_id: int
    span_id: int
    trace_flags: int
    event_name: str | None
    dropped_attributes_count: int

    def __init__(
        self,
        *,
        timestamp: int,
        observed_timestamp: int | None = None,
        severity_number: int = 0,
        severity_text: str | None = None,
        body: Any = None,
        attributes: dict[str, Any] | None = None,
        scope: Scope,
        resource: Resource,
        trace_id: int = 0,
        span_id: int = 0,
        trace_flags: int = 0,
        event_name: str | None = None,
        dropped_attributes_count: int = 0,
    ) -> None:
        self.timestamp = timestamp
        self.observed_timestamp = timestamp if observed_timestamp is None else observed_timestamp
        self.severity_number = severity_number
        self.severity_text = severity_text
        self.body = body
        self.attributes = {} if attributes is None else attributes
        self.scope = scope
        self.resource = resource
        self.trace_id = trace_id
        self.span_id = span_id
        self.trace_flags = trace_flags
        self.event_name = event_name
        self.dropped_attributes_count = dropped_attributes_count

    def copy(self) -> LogRecord:
        """Return a copy whose attribute dict can be changed without touching this one."""
        new = LogRecord.__new__(LogRecord)
        for name in LogRecord.__slots__:
            setattr(new, name, getattr(self, name))
        new.attributes = dict(self.attributes)
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LogRecord):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in LogRecord.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"LogRecord(severity_text={self.severity_text!r}, body={self.body!r}, "
            f"scope={self.scope.name!r}, attributes={self.attributes!r})"
        )
