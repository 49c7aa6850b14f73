"""Records to Elasticsearch or OpenSearch with the ``elasticsearch`` exporter: one
``_bulk`` request per batch, Elastic Common Schema documents in dated indices.

Run with a cluster's URL (and ``ELASTICSEARCH_API_KEY`` or ``ELASTICSEARCH_USERNAME`` /
``ELASTICSEARCH_PASSWORD`` when it needs them)::

    ELASTICSEARCH_URL=https://es.example:9200 python examples/elasticsearch.py

The tests run it against ``osmem-server``, an OpenSearch-compatible emulator.
"""

from __future__ import annotations

import sys

import fapilog_otel as fo

settings = fo.Settings(
    service_name="inventory",
    exporters=["elasticsearch"],
    plugins={"elasticsearch": {"index": "logs-inventory-%Y.%m.%d"}},
)
with fo.Container(settings) as container:
    log = container.get_logger("inventory.stock")
    log.info("stock counted", sku="A-100", count=12)
    log.error("stock negative", sku="B-7", count=-1)
    delivered = container.flush(timeout=10)
    stats = container.stats()
    print(f"delivered: {delivered}; exported: {stats['exported']}; failed: {stats['failed']}")
sys.exit(0 if delivered and stats["exported"] == 2 else 1)
