"""What the worker does to a batch before the exporters see it, in this order:

1. convert the queued tuples into :class:`LogRecord` objects;
2. run the processor chain (filters, enrichers and processors, redactors; see ``_chain``);
3. apply the attribute limits of the OTel spec.

Every record a stage drops is counted in the ``dropped`` dict passed along, by reason.
"""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource

from fapilog_otel import _stats
from fapilog_otel._chain import Chain
from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel._raw import RawRecord, to_records
from fapilog_otel.record import LogRecord, Scope


def _count(dropped: dict[str, int], reason: str, n: int = 1) -> None:
    dropped[reason] = dropped.get(reason, 0) + n


class Stages:
    """The worker's record stages, configured once.

    Args:
        resource: The resource of records that carry none of their own.
        chain: The processors, in their stages.
        count_limit: Most attributes per record, or ``None``.
        length_limit: Longest string attribute value, or ``None``.
        diagnostics: Where failures are reported.
    """

    def __init__(
        self,
        *,
        resource: Resource,
        chain: Chain,
        count_limit: int | None,
        length_limit: int | None,
        diagnostics: Diagnostics,
    ) -> None:
        self.resource = resource
        self.chain = chain
        self.count_limit = count_limit
        self.length_limit = length_limit
        self.diagnostics = diagnostics
        self._scopes: dict[str, Scope] = {}

    def run(
        self, raws: list[RawRecord], dropped: dict[str, int], *, internal: bool = False
    ) -> tuple[list[LogRecord], int]:
        """Run every stage over ``raws`` (``internal``: the library's own records, which
        filters do not see).

        Returns:
            The records that go on to the exporters, and how many of them processors added.
        """
        records = self.convert(raws, dropped)
        added = 0
        if self.chain:
            records, added = self.chain.run(records, dropped, internal=internal)
        count_limit = self.count_limit
        if self.length_limit is not None:
            for record in records:
                self.limit(record)
        elif count_limit is not None:
            for record in records:
                if len(record.attributes) > count_limit:
                    self.limit(record)
        return records, added

    def convert(self, raws: list[RawRecord], dropped: dict[str, int]) -> list[LogRecord]:
        """Turn queued tuples into records; a tuple that fails is counted, not raised."""

        def failed(exc: Exception) -> None:
            _count(dropped, _stats.INTERNAL_ERROR)
            self.diagnostics.warn("convert", f"could not convert a record: {exc!r}")

        return to_records(raws, self.resource, self._scopes, failed)

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
