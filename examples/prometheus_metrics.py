"""Prometheus metrics of a container, served on a port and read back like a scraper.

Run: ``python examples/prometheus_metrics.py`` (needs ``fapilog-otel-prometheus``; ``make
install`` installs it). The same without code: ``FAPILOG_PROMETHEUS_PORT=9464``.
"""

from __future__ import annotations

import urllib.request

from fapilog_prometheus import instrument
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import fapilog_otel as fo

registry = CollectorRegistry()
settings = fo.Settings(service_name="checkout", exporters=["none"], diagnostics=False)
with fo.Container(settings) as container:
    # port=0 picks a free port; a service would use a fixed one, such as 9464.
    metrics = instrument(container, registry=registry, port=0, addr="127.0.0.1")
    log = container.get_logger("checkout.payments")
    for order in range(3):
        log.info("payment accepted", order_id=order)
    log.error("payment declined", order_id=4)
    container.flush()

    url = f"http://127.0.0.1:{metrics.port}/metrics"
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (
                "fapilog_otel_records_submitted_total",
                "fapilog_otel_log_records_total",
            ):
                print(sample.name, sample.labels, sample.value)
    metrics.close()
