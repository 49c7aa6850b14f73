"""A fapilog-otel exporter indexing log records in Elasticsearch or OpenSearch.

Load it by name (``OTEL_LOGS_EXPORTER=elasticsearch``) with ``ELASTICSEARCH_URL`` (and
``ELASTICSEARCH_API_KEY``, or ``ELASTICSEARCH_USERNAME`` and ``ELASTICSEARCH_PASSWORD``) set,
or make one: ``ElasticsearchExporter(ElasticsearchConfig(url=...))``.
"""

from __future__ import annotations

from fapilog_elasticsearch.config import DEFAULT_INDEX, ENVIRONMENT_VARIABLES, ElasticsearchConfig
from fapilog_elasticsearch.document import ECS_NAMES, ECS_VERSION, to_document
from fapilog_elasticsearch.exporter import ElasticsearchExporter
from fapilog_elasticsearch.indices import Target

__all__ = [
    "DEFAULT_INDEX",
    "ECS_NAMES",
    "ECS_VERSION",
    "ENVIRONMENT_VARIABLES",
    "ElasticsearchConfig",
    "ElasticsearchExporter",
    "Target",
    "to_document",
]
