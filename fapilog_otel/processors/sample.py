"""The ``sample`` filter: keep a share of the records, whole traces at a time.

A record with a trace id is kept by the same rule as the OpenTelemetry SDK's
``TraceIdRatioBased`` sampler: the trace id's low 64 bits, read as an unsigned integer,
must be below ``round(ratio * 2**64)``. Every record of a trace therefore gets the same
decision, and with the same ratio a trace whose spans were sampled has its logs kept too.
A record without a trace is kept by an independent random draw. Records at or above
``keep_at_or_above`` (``warning`` by default) are always kept.
"""

from __future__ import annotations

import random
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from fapilog_otel.processors._common import LevelName, severity_of
from fapilog_otel.record import LogRecord

__all__ = ["Sampler", "SamplerConfig", "bound_for_ratio"]

#: The low 64 bits of a trace id: what ``TraceIdRatioBased`` compares with its bound.
TRACE_ID_LOW_BITS = (1 << 64) - 1


def bound_for_ratio(ratio: float) -> int:
    """Return the bound a trace id's low 64 bits must be below for ``ratio`` to keep it.

    Computed exactly as ``TraceIdRatioBased.get_bound_for_rate`` computes it, so the two
    agree on every trace id.
    """
    return round(ratio * (TRACE_ID_LOW_BITS + 1))


class SamplerConfig(BaseModel):
    """Settings of the ``sample`` filter (``FAPILOG_PLUGINS__SAMPLE__<SETTING>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ratio: float = Field(1.0, ge=0.0, le=1.0, allow_inf_nan=False)
    """Share of the records (and of the traces) to keep: 1 keeps all, 0 keeps none below
    ``keep_at_or_above``."""

    keep_at_or_above: LevelName = "warning"
    """Records at or above this level are always kept."""

    seed: int | None = None
    """Seed of the random draw for records without a trace (for reproducible tests);
    ``None`` seeds from the operating system."""


class Sampler:
    """Keeps ``ratio`` of the records below a level, deciding per trace where there is one.

    Args:
        config: The settings; the defaults (``ratio=1``) keep everything.

    Attributes:
        config: The settings the filter was made with.
    """

    name: ClassVar[str] = "sample"
    kind: ClassVar[str] = "filter"
    drop_reason: ClassVar[str] = "sampled"
    fapilog_api_version: ClassVar[int] = 1
    in_place: ClassVar[bool] = True
    config_model: ClassVar[type[BaseModel]] = SamplerConfig

    def __init__(self, config: SamplerConfig | None = None) -> None:
        self.config = config = config if config is not None else SamplerConfig()
        self._ratio = config.ratio
        self._bound = bound_for_ratio(config.ratio)
        self._keep_level = severity_of(config.keep_at_or_above)
        self._keep_all = config.ratio >= 1.0
        self._draw = random.Random(config.seed).random

    def _keeps(self, record: LogRecord) -> bool:
        """Whether ``record`` is kept (the draw is consumed only for records without a trace)."""
        if record.severity_number >= self._keep_level:
            return True
        trace_id = record.trace_id
        if trace_id:
            return (trace_id & TRACE_ID_LOW_BITS) < self._bound
        return self._draw() < self._ratio

    def process(self, record: LogRecord) -> LogRecord | None:
        """Return ``record`` when it is kept, else ``None``.

        Args:
            record: The record to decide on; it is never changed.

        Returns:
            The same record, or ``None`` to drop it (counted as ``sampled``).
        """
        if self._keep_all or self._keeps(record):
            return record
        return None

    def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
        """Return the kept records of a batch, in order (the same decisions as :meth:`process`).

        Args:
            records: The batch; no record is changed.

        Returns:
            The kept records.
        """
        if self._keep_all:
            return records
        keeps = self._keeps
        return [record for record in records if keeps(record)]

    def __repr__(self) -> str:
        config = self.config
        return f"Sampler(ratio={config.ratio!r}, keep_at_or_above={config.keep_at_or_above!r})"
