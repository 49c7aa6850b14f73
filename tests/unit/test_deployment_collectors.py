"""docs/deployment.md's collector configurations and Prometheus snippets stay true.

The configurations are for the OpenTelemetry Collector (contrib), which is not available on
the test machines, so they are checked structurally: every pipeline refers only to
components its configuration defines (by full id, ``otlp/gateway`` included), every
component defined is used, component types and the options of the commonest components
are among those the contrib components' READMEs document (to catch typos), and secrets
come through ``${env:NAME}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from deployment_page import (
    COUNT_METRIC_OPTIONS,
    KNOWN_OPTIONS,
    KNOWN_TYPES,
    PIPELINE_TYPES,
    PROTOCOL_OPTIONS,
    SECTIONS,
    TLS_CLIENT_OPTIONS,
    TLS_SERVER_OPTIONS,
    all_documents,
    collected,
    collector_configs,
    kind_of,
    manifests,
    page_text,
    pod_containers,
    workloads,
)

import fapilog_otel as fo
from fapilog_otel.exporters import InMemoryExporter

# -- collector configurations --------------------------------------------------------------


CONFIGS = collected(collector_configs)


def _ids(config: dict[str, Any], section: str) -> set[str]:
    return set(config.get(section) or {})


def _type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize(("where", "config"), CONFIGS, ids=[w for w, _ in CONFIGS])
def test_collector_pipelines_use_defined_components(where: str, config: dict[str, Any]) -> None:
    """Pipelines name only components defined in the same configuration (full ids), every
    receiver, processor and exporter defined is used, every connector joins two pipelines,
    and every extension is enabled."""
    assert set(config) <= SECTIONS, set(config) - SECTIONS
    assert config.get("receivers") and config.get("exporters"), where
    pipelines = config["service"]["pipelines"]
    assert pipelines, where
    receivers, processors = _ids(config, "receivers"), _ids(config, "processors")
    exporters, connectors = _ids(config, "exporters"), _ids(config, "connectors")
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
    for pipeline_id, pipeline in pipelines.items():
        assert _type(pipeline_id) in PIPELINE_TYPES, pipeline_id
        assert set(pipeline) <= {"receivers", "processors", "exporters"}, pipeline_id
        assert pipeline.get("receivers") and pipeline.get("exporters"), pipeline_id
        assert set(pipeline["receivers"]) <= receivers | connectors, pipeline_id
        assert set(pipeline.get("processors", [])) <= processors, pipeline_id
        assert set(pipeline["exporters"]) <= exporters | connectors, pipeline_id
        for key in used:
            used[key].update(pipeline.get(key, []))
    assert receivers == used["receivers"] - connectors, f"{where}: receivers never used"
    assert processors == used["processors"], f"{where}: processors never used"
    assert exporters == used["exporters"] - connectors, f"{where}: exporters never used"
    for connector in connectors:
        assert connector in used["exporters"] and connector in used["receivers"], connector
    enabled = set(config["service"].get("extensions", []))
    assert enabled == _ids(config, "extensions"), f"{where}: extensions defined and enabled"


@pytest.mark.parametrize(("where", "config"), CONFIGS, ids=[w for w, _ in CONFIGS])
def test_collector_components_are_known(where: str, config: dict[str, Any]) -> None:
    """Component types are contrib components, and the options of the commonest ones are
    options their READMEs document (a misspelt key would stop the collector)."""
    for section, types in KNOWN_TYPES.items():
        for component_id, options in (config.get(section) or {}).items():
            kind = _type(component_id)
            assert kind in types, f"{where}: unknown {section} type {kind!r}"
            known = KNOWN_OPTIONS.get((section, kind))
            if known is not None and options:
                assert set(options) <= known, f"{where}: {component_id}: {set(options) - known}"
            tls = (options or {}).get("tls") if section == "exporters" else None
            if tls:
                assert set(tls) <= TLS_CLIENT_OPTIONS, (where, component_id)
    for protocol, settings in config["receivers"].get("otlp", {}).get("protocols", {}).items():
        assert protocol in {"grpc", "http"}, (where, protocol)
        assert set(settings or {}) <= PROTOCOL_OPTIONS, (where, protocol)
        assert set((settings or {}).get("tls", {})) <= TLS_SERVER_OPTIONS, (where, protocol)
    for metrics in (config.get("connectors") or {}).get("count", {}).values():
        for definition in metrics.values():
            assert set(definition) <= COUNT_METRIC_OPTIONS, (where, definition)


@pytest.mark.parametrize(("where", "config"), CONFIGS, ids=[w for w, _ in CONFIGS])
def test_collector_pipelines_follow_the_usual_order(where: str, config: dict[str, Any]) -> None:
    """``memory_limiter`` comes first; ``k8sattributes`` comes before ``batch`` (batching
    loses the connection it may need); the count connector feeds a metrics pipeline whose
    Prometheus exporter gets cumulative sums."""
    for pipeline_id, pipeline in config["service"]["pipelines"].items():
        kinds = [_type(p) for p in pipeline.get("processors", [])]
        if "memory_limiter" in kinds:
            assert kinds[0] == "memory_limiter", (where, pipeline_id)
        if "k8sattributes" in kinds and "batch" in kinds:
            assert kinds.index("k8sattributes") < kinds.index("batch"), (where, pipeline_id)
        if "count" in pipeline["receivers"]:
            assert _type(pipeline_id) == "metrics", (where, pipeline_id)
            if {"prometheus", "prometheusremotewrite"} & {_type(e) for e in pipeline["exporters"]}:
                assert "deltatocumulative" in kinds, (where, pipeline_id)


@pytest.mark.parametrize(("where", "config"), CONFIGS, ids=[w for w, _ in CONFIGS])
def test_collector_secrets_come_from_the_environment(where: str, config: dict[str, Any]) -> None:
    """Every substitution is ``${env:NAME}``; tokens, keys and passwords are substitutions,
    never literals; persistent queues use an enabled storage extension."""
    for text in _strings(config):
        for match in re.finditer(r"\$\{[^}]*\}", text):
            assert re.fullmatch(r"\$\{env:[A-Z_][A-Z0-9_]*\}", match.group(0)), (where, text)
    for component_id, options in (config.get("exporters") or {}).items():
        for key in ("token", "api_key", "password"):
            if options and key in options:
                assert str(options[key]).startswith("${env:"), (where, component_id, key)
        storage = ((options or {}).get("sending_queue") or {}).get("storage")
        if storage:
            assert storage in config["service"].get("extensions", []), (where, component_id)


# -- Prometheus configuration and rules ----------------------------------------------------


def _port_names() -> set[str]:
    return {
        p.get("name") for w in workloads() for c in pod_containers(w) for p in c.get("ports", [])
    }


def test_scrape_configuration_finds_the_metrics_port() -> None:
    """The scrape job keeps the container port the sidecar example declares, and the
    PodMonitor scrapes that port of pods that exist on the page."""
    scrapes = [d for _, d in all_documents() if kind_of(d) == "scrape"]
    assert scrapes
    for scrape in scrapes:
        for job in scrape["scrape_configs"]:
            assert job["job_name"]
            for rule in job.get("relabel_configs", []):
                if rule.get("action") == "keep" and "port_name" in str(rule["source_labels"]):
                    assert rule["regex"] in _port_names(), rule
    for monitor in (m for m in manifests() if m["kind"] == "PodMonitor"):
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            assert endpoint["port"] in _port_names(), endpoint
        wanted = monitor["spec"]["selector"]["matchLabels"].items()
        assert any(
            wanted <= w["spec"]["template"]["metadata"]["labels"].items() for w in workloads()
        )


def test_alert_rules_are_complete() -> None:
    """Every rule has a name and an expression."""
    groups = [g for _, d in all_documents() if kind_of(d) == "rules" for g in d["groups"]]
    assert groups
    for group in groups:
        assert group["name"] and group["rules"]
        for rule in group["rules"]:
            assert rule.get("alert") and rule.get("expr"), rule


class _WithOutcomes(InMemoryExporter):
    """An in-memory exporter that reports outcomes, as the OTLP exporter does."""

    def outcomes(self) -> dict[str, int]:
        return {"retries": 0}


def test_metric_names_are_the_plugins() -> None:
    """Every ``fapilog_otel_*`` name on the page is one the Prometheus plugin serves."""
    plugin = pytest.importorskip("fapilog_prometheus", reason="fapilog-otel-prometheus")
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    settings = fo.Settings(
        processors=["sample"], plugins={"sample": {"ratio": 0.0}}, diagnostics=False
    )
    with fo.Container(settings, exporters=[_WithOutcomes()]) as container:
        plugin.instrument(container, registry=registry)
        container.get_logger("app").info("sampled out")
        container.get_logger("app").warning("kept")
        assert container.flush(5)
        served = {s.name for family in registry.collect() for s in family.samples}
    named = set(re.findall(r"\bfapilog_otel_[a-z_]+[a-z]\b", page_text()))
    assert named
    assert set() == named - served
