"""What the worker does to a batch before the exporters see it, in this order:

1. convert the queued tuples into :class:`LogRecord` objects;
2. run the processors, each on a copy, so one that raises leaves the record as it was;
3. apply the attribute limits of the OTel spec.

Every record a stage drops is counted in the ``dropped`` dict passed along, by reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource

from fapilog_otel import _stats
from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel._raw import RawRecord, to_record
from fapilog_otel._stats import Counters
from fapilog_otel.record import LogRecord, Scope


def _count(dropped: dict[str, int], reason: str, n: int = 1) -> None:
    dropped[reason] = dropped.get(reason, 0) + n


class Stages:
    """The worker's record stages, configured once.

    Args:
        resource: The resource of records that carry none of their own.
        processors: ``(name, processor)`` pairs, run in order.
        count_limit: Most attributes per record, or ``None``.
        length_limit: Longest string attribute value, or ``None``.
        counters: The pipeline's counters (processor failures go to ``processor_errors``).
        diagnostics: Where failures are reported.
    """

    def __init__(
        self,
        *,
        resource: Resource,
        processors: Sequence[tuple[str, Any]],
        count_limit: int | None,
        length_limit: int | None,
        counters: Counters,
        diagnostics: Diagnostics,
    ) -> None:
        self.resource = resource
        self.processors = tuple(processors)
        self.count_limit = count_limit
        self.length_limit = length_limit
        self.counters = counters
        self.diagnostics = diagnostics
        self._scopes: dict[str, Scope] = {}

    def run(self, raws: list[RawRecord], dropped: dict[str, int]) -> list[LogRecord]:
        """Run every stage over ``raws``; return the records that go on to the exporters."""
        records = self.convert(raws, dropped)
        if self.processors:
            records = self.process(records, dropped)
        count_limit = self.count_limit
        if self.length_limit is not None:
            for record in records:
                self.limit(record)
        elif count_limit is not None:
            for record in records:
                if len(record.attributes) > count_limit:
                    self.limit(record)
        return records

    def convert(self, raws: list[RawRecord], dropped: dict[str, int]) -> list[LogRecord]:
        """Turn queued tuples into records; a tuple that fails is counted, not raised."""
        records: list[LogRecord] = []
        resource = self.resource
        scopes = self._scopes
        for raw in raws:
            try:
                records.append(to_record(raw, resource, scopes))
            except Exception as exc:
                _count(dropped, _stats.INTERNAL_ERROR)
                self.diagnostics.warn("convert", f"could not convert a record: {exc!r}")
        return records

    def process(self, records: list[LogRecord], dropped: dict[str, int]) -> list[LogRecord]:
        """Run the processors; ``None`` from one drops the record (``filtered``)."""
        out: list[LogRecord] = []
        errors = self.counters.processor_errors
        for record in records:
            current: LogRecord | None = record
            for name, processor in self.processors:
                try:
                    result = processor.process(current.copy())  # type: ignore[union-attr]
                except BaseException as exc:
                    # On the worker thread even SystemExit can only be a plugin's bug.
                    errors[name] += 1
                    self.diagnostics.warn(
                        f"processor:{name}", f"processor {name!r} raised {exc!r}; record kept"
                    )
                    continue
                if result is None:
                    current = None
                    break
                current = result
            if current is None:
                _count(dropped, _stats.FILTERED)
            else:
                out.append(current)
        return out

    def limit(self, record: LogRecord) -> None:
        """Apply the attribute limits to one record."""
        attrs = record.attributes
        count_limit = self.count_limit
        if count_limit is not None and len(attrs) > count_limit:
            # Like the OTel SDK, the most recently set attributes win: the call's keywords
            # over logger-bound ones over context-bound ones.
            excess = len(attrs) - count_limit
            kept = dict(list(attrs.items())[excess:])
            record.dropped_attributes_count += excess
            record.attributes = attrs = kept
        length = self.length_limit
        if length is not None:
            for key, value in attrs.items():
                if isinstance(value, str) and len(value) > length:
                    attrs[key] = value[:length]
