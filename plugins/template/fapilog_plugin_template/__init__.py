"""A template fapilog-otel plugin distribution.

* :class:`~fapilog_plugin_template.enricher.StaticAttributesEnricher`, entry point
  ``template_enricher`` in ``fapilog_otel.processors``: written against fapilog-otel's
  processor protocol; adds ``deployment.region`` and static attributes from its settings.
* :class:`~fapilog_plugin_template.exporter.JsonLinesExporter`, entry point
  ``template_jsonl`` in ``fapilog_otel.exporters``: written only against the OpenTelemetry
  SDK's ``LogRecordExporter``; appends each record to a file as one JSON line.
"""

from __future__ import annotations

from fapilog_plugin_template.enricher import StaticAttributesEnricher, TemplateEnricherConfig
from fapilog_plugin_template.exporter import JsonLinesExporter

__all__ = ["JsonLinesExporter", "StaticAttributesEnricher", "TemplateEnricherConfig"]
