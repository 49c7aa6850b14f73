"""Reading docs/deployment.md for its tests (``test_deployment_doc.py``,
``test_deployment_collectors.py``): its blocks, the YAML documents in them by kind, and
what the checks compare them with."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fapilog_otel.testing import CodeBlock, code_blocks

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "deployment.md"

VARIABLE = re.compile(r"\b(?:FAPILOG|OTEL)_[A-Z0-9_]*[A-Z0-9]\b")
DOCUMENTED = re.compile(r"\b(?:FAPILOG|OTEL)_[A-Za-z0-9_<>\[\]]*[A-Za-z0-9>\]]")
ENV_REFERENCE = re.compile(r"\$\((\w+)\)")

#: Variables of plugins whose documentation is being written alongside this page.
PLUGIN_VARIABLES = {
    "FAPILOG_PROMETHEUS_PORT",
    "FAPILOG_PROMETHEUS_ADDR",
    "FAPILOG_COMPLIANCE",
    "FAPILOG_AUDIT_PATH",
    "FAPILOG_AUDIT_KEY",
    "FAPILOG_PSEUDONYM_KEY",
    "FAPILOG_EXTENSIONS",
}

#: Kubernetes kinds that are not namespaced (the others must name their namespace).
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "ClusterIssuer", "Namespace"}
WORKLOADS = {"Deployment", "DaemonSet", "StatefulSet"}

#: The collector configuration's sections, and the component types the page may use in
#: each (contrib distribution names, old and new spellings).
SECTIONS = {"receivers", "processors", "exporters", "connectors", "extensions", "service"}
KNOWN_TYPES = {
    "receivers": {"otlp", "prometheus", "filelog"},
    "processors": {
        "batch",
        "memory_limiter",
        "k8sattributes",
        "k8s_attributes",
        "resourcedetection",
        "resource_detection",
        "deltatocumulative",
        "filter",
        "transform",
        "resource",
        "attributes",
    },
    "exporters": {
        "otlp",
        "otlp_grpc",
        "otlphttp",
        "otlp_http",
        "debug",
        "splunk_hec",
        "elasticsearch",
        "prometheus",
        "prometheusremotewrite",
        "prometheus_remote_write",
    },
    "connectors": {"count", "forward", "routing"},
    "extensions": {"health_check", "file_storage", "basicauth", "bearertokenauth"},
}
PIPELINE_TYPES = {"logs", "metrics", "traces"}

#: Options of the components the page uses most, from their READMEs (common exporter
#: settings such as ``tls``, ``sending_queue`` and ``retry_on_failure`` included).
_EXPORTER_COMMON = {"sending_queue", "retry_on_failure", "timeout", "tls", "headers"}
KNOWN_OPTIONS: dict[tuple[str, str], set[str]] = {
    ("receivers", "otlp"): {"protocols"},
    ("processors", "memory_limiter"): {
        "check_interval",
        "limit_mib",
        "spike_limit_mib",
        "limit_percentage",
        "spike_limit_percentage",
    },
    ("processors", "batch"): {
        "send_batch_size",
        "send_batch_max_size",
        "timeout",
        "metadata_keys",
        "metadata_cardinality_limit",
    },
    ("processors", "k8sattributes"): {
        "auth_type",
        "passthrough",
        "extract",
        "pod_association",
        "filter",
        "exclude",
        "wait_for_metadata",
        "wait_for_metadata_timeout",
    },
    ("processors", "resourcedetection"): {"detectors", "timeout", "override"},
    ("processors", "deltatocumulative"): {"max_stale", "max_streams"},
    ("connectors", "count"): {"logs", "spans", "spanevents", "metrics", "datapoints"},
    ("exporters", "otlp"): _EXPORTER_COMMON | {"endpoint", "compression", "balancer_name"},
    ("exporters", "otlphttp"): _EXPORTER_COMMON | {"endpoint", "logs_endpoint", "encoding"},
    ("exporters", "splunk_hec"): _EXPORTER_COMMON
    | {"endpoint", "token", "index", "source", "sourcetype"},
    ("exporters", "elasticsearch"): _EXPORTER_COMMON
    | {"endpoint", "endpoints", "api_key", "user", "password", "logs_index", "mapping"},
    ("exporters", "prometheus"): {"endpoint", "namespace", "const_labels", "metric_expiration"},
    ("exporters", "prometheusremotewrite"): _EXPORTER_COMMON | {"endpoint", "namespace"},
    ("extensions", "health_check"): {"endpoint", "path"},
    ("extensions", "file_storage"): {"directory", "timeout", "create_directory"},
}
PROTOCOL_OPTIONS = {"endpoint", "tls", "keepalive", "max_recv_msg_size_mib", "cors"}
TLS_SERVER_OPTIONS = {"cert_file", "key_file", "client_ca_file", "ca_file"}
TLS_CLIENT_OPTIONS = {"ca_file", "cert_file", "key_file", "insecure", "server_name_override"}
COUNT_METRIC_OPTIONS = {"description", "conditions", "attributes"}

#: What the downward API would give the page's ``fieldRef``s, for the delivery test.
DOWNWARD_API = {
    "metadata.name": "checkout-7d9f8-x2k4p",
    "metadata.uid": "4f1c2a9e-0d6b-4e57-9b1a-3c2d1e0f9a88",
    "metadata.namespace": "shop",
    "spec.nodeName": "node-1",
    "status.hostIP": "10.0.0.7",
}


# -- reading the page ---------------------------------------------------------------------


@functools.cache
def page_text() -> str:
    return PAGE.read_text(encoding="utf-8")


@functools.cache
def blocks(language: str) -> list[CodeBlock]:
    """The page's blocks of ``language``; ``.code`` is the text, ``.line`` its first line."""
    return code_blocks(PAGE, language)


YAML_BLOCKS = blocks("yaml")


def collected(function: Callable[[], list[Any]]) -> list[Any]:
    """``function()`` for a parametrization, or nothing when the page's YAML is broken (then
    ``test_yaml_block_parses_into_known_documents`` names the block, instead of every test
    of this file failing to collect)."""
    try:
        return function()
    except Exception:
        return []


@functools.cache
def documents(block: CodeBlock) -> tuple[Any, ...]:
    """The YAML documents of ``block`` (empty ones left out)."""
    return tuple(d for d in yaml.safe_load_all(block.code) if d is not None)


def kind_of(document: Any) -> str | None:
    """What a YAML document of the page is, or None when it is none of the known kinds."""
    if isinstance(document, dict):
        if "apiVersion" in document or "kind" in document:
            return "manifest"
        if {"receivers", "exporters", "service"} & set(document):
            return "collector"
        if "scrape_configs" in document:
            return "scrape"
        if "groups" in document:
            return "rules"
    if (
        isinstance(document, list)
        and document
        and all(isinstance(e, dict) and "name" in e for e in document)
    ):
        return "env"
    return None


def all_documents() -> Iterator[tuple[CodeBlock, Any]]:
    for block in YAML_BLOCKS:
        for document in documents(block):
            yield block, document


def manifests() -> list[dict[str, Any]]:
    return [d for _, d in all_documents() if kind_of(d) == "manifest"]


def collector_configs() -> list[tuple[str, dict[str, Any]]]:
    """Every collector configuration: the page's own blocks and those inside ConfigMaps."""
    found = [(f"line {block.line}", d) for block, d in all_documents() if kind_of(d) == "collector"]
    for manifest in manifests():
        if manifest["kind"] != "ConfigMap":
            continue
        for key, text in (manifest.get("data") or {}).items():
            if key.endswith((".yaml", ".yml")):
                found.append(
                    (f"ConfigMap {manifest['metadata']['name']}/{key}", yaml.safe_load(text))
                )
    return found


def workloads() -> list[dict[str, Any]]:
    return [m for m in manifests() if m["kind"] in WORKLOADS]


def pod_containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def env_lists() -> list[tuple[str, list[dict[str, Any]]]]:
    """Every list of container variables on the page: containers' ``env`` and fragments."""
    found = []
    for workload in workloads():
        for container in pod_containers(workload):
            if container.get("env"):
                name = f"{workload['metadata']['name']}/{container['name']}"
                found.append((name, container["env"]))
    for block, document in all_documents():
        if kind_of(document) == "env":
            found.append((f"env fragment at line {block.line}", document))
    return found


def created_by_commands(what: str) -> set[str]:
    """Names the page's shell blocks create with ``kubectl ... create <what> [type] NAME``."""
    names = set()
    for block in blocks("sh"):
        text = block.code.replace("\\\n", " ")
        pattern = rf"kubectl\b[^\n]*?\bcreate {what}(?: generic| tls)? ([\w.-]+)"
        names.update(re.findall(pattern, text))
    return names


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Replace every FAPILOG_* and OTEL_* variable with those of ``env``, except the
    Prometheus plugin's (its endpoint would open a port, and the plugin is optional)."""
    for name in list(os.environ):
        if name.upper().startswith(("FAPILOG_", "OTEL_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if not name.startswith(("FAPILOG_PROMETHEUS_", "FAPILOG_EXTENSIONS")):
            monkeypatch.setenv(name, value)


def resolved_env(entries: list[dict[str, Any]], overrides: dict[str, str]) -> dict[str, str]:
    """A container's variables as Kubernetes would set them: downward-API values from
    :data:`DOWNWARD_API`, ``$(NAME)`` expanded from earlier entries; ``overrides`` win."""
    env: dict[str, str] = {}
    for entry in entries:
        if "value" in entry:
            value = str(entry["value"])
            value = ENV_REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), value)
        elif "fieldRef" in entry.get("valueFrom", {}):
            value = DOWNWARD_API[entry["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            value = "secret-value"
        env[entry["name"]] = value
    env.update(overrides)
    return env
