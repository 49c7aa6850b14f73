"""Records to Splunk's HTTP Event Collector with the ``splunk_hec`` exporter.

Run with a HEC endpoint and token (``make install`` installs the exporter)::

    SPLUNK_HEC_URL=https://splunk.example:8088 SPLUNK_HEC_TOKEN=... \\
        python examples/splunk_hec.py

The tests run it against their fake HEC server (no Splunk installs on the test machine).
"""

from __future__ import annotations

import sys

from opentelemetry.sdk.trace import TracerProvider

import fapilog_otel as fo

tracer = TracerProvider().get_tracer("checkout")
settings = fo.Settings(
    service_name="checkout",
    exporters=["splunk_hec"],
    plugins={"splunk_hec": {"index": "main", "sourcetype": "checkout:log"}},
)
with fo.Container(settings) as container:
    log = container.get_logger("checkout.payments")
    with tracer.start_as_current_span("charge"):
        log.info("payment accepted", order_id=17, amount=42.5)
    log.warning("retrying the card network", attempt=2)
    delivered = container.flush(timeout=10)
    stats = container.stats()
    print(f"delivered: {delivered}; exported: {stats['exported']}; failed: {stats['failed']}")
sys.exit(0 if delivered and stats["exported"] == 2 else 1)
