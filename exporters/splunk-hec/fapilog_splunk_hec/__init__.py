"""A fapilog-otel exporter for Splunk's HTTP Event Collector (HEC).

Load it by name (``OTEL_LOGS_EXPORTER=splunk_hec``) with ``SPLUNK_HEC_URL`` and
``SPLUNK_HEC_TOKEN`` set, or make one: ``SplunkHecExporter(SplunkHecConfig(url=..., token=...))``.
"""

from __future__ import annotations

from fapilog_splunk_hec.config import ENVIRONMENT_VARIABLES, SplunkHecConfig
from fapilog_splunk_hec.envelope import EMPTY_EVENT, Metadata, to_event
from fapilog_splunk_hec.exporter import CHANNEL_HEADER, SplunkHecExporter

__all__ = [
    "CHANNEL_HEADER",
    "EMPTY_EVENT",
    "ENVIRONMENT_VARIABLES",
    "Metadata",
    "SplunkHecConfig",
    "SplunkHecExporter",
    "to_event",
]
