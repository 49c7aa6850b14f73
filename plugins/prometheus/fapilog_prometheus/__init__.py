"""Prometheus metrics of fapilog-otel containers, and the same figures as OTel metrics.

* :func:`instrument` shows a container's figures in a Prometheus registry and, given a
  port, serves ``/metrics``; ``FAPILOG_PROMETHEUS_PORT=9464`` does it without code.
* :func:`instrument_meter_provider` reports them through an OpenTelemetry ``MeterProvider``.

Every metric's name starts with ``fapilog_otel_``; see ``docs/integrations.md``.
"""

from __future__ import annotations

from fapilog_prometheus.collector import PREFIX, ContainerCollector, collector_for
from fapilog_prometheus.extension import (
    Instrumentation,
    PrometheusConfig,
    PrometheusExtension,
    instrument,
)
from fapilog_prometheus.otel import OtelInstrumentation, instrument_meter_provider

__all__ = [
    "PREFIX",
    "ContainerCollector",
    "Instrumentation",
    "OtelInstrumentation",
    "PrometheusConfig",
    "PrometheusExtension",
    "collector_for",
    "instrument",
    "instrument_meter_provider",
]
