"""docs/deployment.md stays true: its YAML parses and hangs together, its variables exist,
its settings are valid, and its sidecar setup delivers records through a real collector.

The page's collector configurations are for the OpenTelemetry Collector (contrib), which
is not available on the test machines, so they are checked structurally here: every
pipeline refers only to components its configuration defines (by full id, ``otlp/gateway``
included), every component defined is used, component types and the options of the
commonest components are among those the contrib components' READMEs document (to catch
typos), and secrets come through ``${env:NAME}``. The sidecar's receiver settings are
exercised with rotel (a real OTLP collector from PyPI) instead.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

import fapilog_otel as fo
from fapilog_otel.exporters import InMemoryExporter
from fapilog_otel.testing import CodeBlock, code_blocks

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "deployment.md"

_VARIABLE = re.compile(r"\b(?:FAPILOG|OTEL)_[A-Z0-9_]*[A-Z0-9]\b")
_DOCUMENTED = re.compile(r"\b(?:FAPILOG|OTEL)_[A-Za-z0-9_<>\[\]]*[A-Za-z0-9>\]]")
_ENV_REFERENCE = re.compile(r"\$\((\w+)\)")

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
            value = _ENV_REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), value)
        elif "fieldRef" in entry.get("valueFrom", {}):
            value = DOWNWARD_API[entry["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            value = "secret-value"
        env[entry["name"]] = value
    env.update(overrides)
    return env


# -- the YAML parses and is of a known kind ------------------------------------------------


def test_the_page_has_every_kind_of_yaml() -> None:
    """The page shows manifests, collector configurations, a scrape configuration, rules
    and an env fragment (so the checks below have something to check)."""
    kinds = {kind_of(d) for _, d in all_documents()}
    assert {"manifest", "collector", "scrape", "rules", "env"} <= kinds
    assert len(collector_configs()) >= 6


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=[f"line {b.line}" for b in YAML_BLOCKS])
def test_yaml_block_parses_into_known_documents(block: CodeBlock) -> None:
    """Each ```yaml block parses, and every document in it is of a kind this file checks."""
    parsed = documents(block)
    assert parsed, f"empty YAML block at line {block.line}"
    unknown = [d for d in parsed if kind_of(d) is None]
    assert [] == unknown, f"YAML at line {block.line} is none of the known kinds"


# -- Kubernetes manifests ------------------------------------------------------------------


def test_manifests_have_their_identity() -> None:
    """apiVersion, kind and metadata.name everywhere; a namespace on namespaced objects."""
    for manifest in manifests():
        assert isinstance(manifest.get("apiVersion"), str), manifest
        assert isinstance(manifest.get("kind"), str), manifest
        metadata = manifest.get("metadata")
        assert isinstance(metadata, dict) and isinstance(metadata.get("name"), str), manifest
        if manifest["kind"] not in CLUSTER_SCOPED:
            assert metadata.get("namespace"), f"{manifest['kind']} {metadata['name']}"


def test_workloads_hang_together() -> None:
    """Selectors match the pod labels; containers have a name and an image; mounts use
    defined volumes and every volume is mounted; named probe ports exist; native sidecars
    are init containers."""
    assert workloads()
    for workload in workloads():
        name = workload["metadata"]["name"]
        spec = workload["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items(), name
        pod = spec["template"]["spec"]
        volumes = {v["name"] for v in pod.get("volumes", [])}
        mounted: set[str] = set()
        for container in pod_containers(workload):
            assert container.get("name") and container.get("image"), name
            ports = {p.get("name") for p in container.get("ports", [])}
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes, (name, mount)
                mounted.add(mount["name"])
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                port = container.get(probe, {}).get("httpGet", {}).get("port")
                if isinstance(port, str):
                    assert port in ports, (name, container["name"], probe)
        assert volumes == mounted, f"{name}: volumes never mounted: {volumes - mounted}"
        for container in pod.get("containers", []):
            assert "restartPolicy" not in container, "restartPolicy belongs to init containers"


def test_container_variables_are_well_formed() -> None:
    """Each variable has a value or a valueFrom (not both), and each ``$(NAME)`` refers to
    a variable defined earlier in the same list (Kubernetes expands only those)."""
    for where, entries in env_lists():
        seen: set[str] = set()
        for entry in entries:
            assert ("value" in entry) != ("valueFrom" in entry), (where, entry)
            if "value" in entry:
                assert isinstance(entry["value"], str), f"{where}: quote {entry['name']}"
                for reference in _ENV_REFERENCE.findall(entry["value"]):
                    assert reference in seen, (where, entry["name"], reference)
            seen.add(entry["name"])


def test_referenced_objects_exist() -> None:
    """ConfigMaps, Secrets and service accounts the manifests use are defined on the page
    (a manifest, a cert-manager Certificate, or a ``kubectl create`` command)."""
    all_manifests = manifests()
    config_maps = {m["metadata"]["name"] for m in all_manifests if m["kind"] == "ConfigMap"}
    config_maps |= created_by_commands("configmap")
    secrets = {m["metadata"]["name"] for m in all_manifests if m["kind"] == "Secret"}
    secrets |= {m["spec"]["secretName"] for m in all_manifests if m["kind"] == "Certificate"}
    secrets |= created_by_commands("secret")
    accounts = {m["metadata"]["name"] for m in all_manifests if m["kind"] == "ServiceAccount"}
    for workload in workloads():
        pod = workload["spec"]["template"]["spec"]
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps, volume
            if "secret" in volume:
                assert volume["secret"]["secretName"] in secrets, volume
        for container in pod_containers(workload):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] in secrets, entry
        if "serviceAccountName" in pod:
            assert pod["serviceAccountName"] in accounts, workload["metadata"]["name"]
    roles = {m["metadata"]["name"] for m in all_manifests if m["kind"] == "ClusterRole"}
    for binding in (m for m in all_manifests if m["kind"] == "ClusterRoleBinding"):
        assert binding["roleRef"]["name"] in roles
        for subject in binding["subjects"]:
            assert subject["name"] in accounts


def test_services_target_declared_ports() -> None:
    """A Service selects a workload of the page, and its named target ports are ports that
    workload's containers declare."""
    for service in (m for m in manifests() if m["kind"] == "Service"):
        selector = service["spec"]["selector"].items()
        targets = [
            w
            for w in workloads()
            if selector <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert targets, service["metadata"]["name"]
        declared = {
            p.get("name") for w in targets for c in pod_containers(w) for p in c.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            if isinstance(port.get("targetPort"), str):
                assert port["targetPort"] in declared, (service["metadata"]["name"], port)


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


# -- variables and settings ----------------------------------------------------------------


@functools.cache
def documented_variables() -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """The FAPILOG_* and OTEL_* variables the other documents name: exact names (with
    ``[LOGS_]`` expanded) and templates with ``__<NAME>`` parts, as patterns."""
    sources = [
        ROOT / "README.md",
        *(p for p in sorted((ROOT / "docs").glob("*.md")) if p != PAGE),
        *sorted(ROOT.glob("plugins/*/README.md")),
        *sorted(ROOT.glob("exporters/*/README.md")),
    ]
    names: set[str] = set()
    templates: list[re.Pattern[str]] = []
    for source in sources:
        for found in _DOCUMENTED.findall(source.read_text(encoding="utf-8")):
            variants = [found.replace("[LOGS_]", ""), found.replace("[LOGS_]", "LOGS_")]
            for variant in variants:
                if "__<" in variant:
                    parts = re.split(r"<[A-Za-z_]+>", variant)
                    pattern = "[A-Z0-9_]+".join(re.escape(p) for p in parts)
                    templates.append(re.compile(pattern))
                elif re.fullmatch(r"[A-Z0-9_]+", variant):
                    names.add(variant)
    return frozenset(names), tuple(templates)


def test_every_variable_on_the_page_is_documented() -> None:
    """Each FAPILOG_* and OTEL_* variable the page mentions is documented elsewhere (the
    configuration reference, OTLP, the plugins' pages) or is a plugin variable being
    documented alongside."""
    names, templates = documented_variables()
    assert "OTEL_EXPORTER_OTLP_CERTIFICATE" in names
    mentioned = set(_VARIABLE.findall(page_text()))
    assert "FAPILOG_SPOOL_DIR" in mentioned
    unknown = sorted(
        v
        for v in mentioned - names - PLUGIN_VARIABLES
        if not any(t.fullmatch(v) for t in templates)
    )
    assert [] == unknown


def settings_sources() -> list[tuple[str, dict[str, str]]]:
    """Every set of variables the page gives an application: container env lists, systemd
    ``Environment=`` lines, and ``NAME=value`` lines of shell blocks."""
    found = []
    for where, entries in env_lists():
        env = resolved_env(entries, {})
        if any(_VARIABLE.fullmatch(k) for k in env):
            found.append((where, env))
    for block in blocks("ini"):
        pairs = re.findall(r"^Environment=(\w+)=(.*)$", block.code, re.MULTILINE)
        if pairs:
            found.append((f"systemd unit at line {block.line}", dict(pairs)))
    for block in blocks("sh"):
        pairs = re.findall(r"^(?:export )?((?:FAPILOG|OTEL)_\w+)=(\S+)$", block.code, re.MULTILINE)
        if pairs:
            found.append((f"shell block at line {block.line}", dict(pairs)))
    return found


SETTINGS_SOURCES = collected(settings_sources)


@pytest.mark.parametrize(("where", "env"), SETTINGS_SOURCES, ids=[w for w, _ in SETTINGS_SOURCES])
def test_page_settings_are_valid(
    where: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The variables make valid settings, and a container with them (processors and their
    plugin settings included) can be made. The Prometheus endpoint is left out: it would
    open a port."""
    use_env(monkeypatch, env)
    monkeypatch.setenv("FAPILOG_DIAGNOSTICS", "false")
    settings = fo.Settings()
    assert [] == settings.extension_names
    fo.Container(settings, exporters=[InMemoryExporter()]).shutdown(1)


# -- the sidecar example, for real ----------------------------------------------------------


def sidecar_example() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(workload, application container, collector config)`` of the native-sidecar
    example: the workload with an init container that has ``restartPolicy: Always``."""
    for workload in workloads():
        pod = workload["spec"]["template"]["spec"]
        sidecars = [c for c in pod.get("initContainers", []) if c.get("restartPolicy") == "Always"]
        if not sidecars:
            continue
        (sidecar,) = sidecars
        (app,) = pod["containers"]
        mounted = {m["name"] for m in sidecar["volumeMounts"]}
        (config_map,) = [
            v["configMap"]["name"]
            for v in pod["volumes"]
            if v["name"] in mounted
            and "configMap" in v
            and any(m["metadata"]["name"] == v["configMap"]["name"] for m in manifests())
        ]
        (manifest,) = [
            m
            for m in manifests()
            if m["kind"] == "ConfigMap" and m["metadata"]["name"] == config_map
        ]
        config = yaml.safe_load(manifest["data"]["config.yaml"])
        return workload, app, config
    raise AssertionError("no native-sidecar example on the page")


def test_sidecar_application_sends_where_its_collector_listens() -> None:
    """The application's OTLP endpoint and protocol are the sidecar receiver's: same port,
    loopback on both sides, HTTP to an HTTP receiver."""
    _, app, config = sidecar_example()
    env = resolved_env(app["env"], {})
    assert "otlp" == env["OTEL_LOGS_EXPORTER"]
    assert "http/protobuf" == env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    endpoint = urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    listen = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    host, _, port = listen.rpartition(":")
    assert endpoint.scheme == "http"
    assert endpoint.hostname in {"localhost", "127.0.0.1"}
    assert host in {"localhost", "127.0.0.1"}
    assert endpoint.port == int(port)
    assert env["FAPILOG_SPOOL_DIR"].startswith(
        next(m["mountPath"] for m in app["volumeMounts"] if m["name"] == "spool") + "/"
    )


@pytest.mark.integration
def test_sidecar_example_delivers_through_a_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sidecar example's application variables, as Kubernetes would set them, deliver
    records through a real collector (rotel on a free port standing in for the sidecar's
    OTLP/HTTP receiver on loopback), with the resource the page promises and the spool on.
    """
    from otlp_receivers import GrpcReceiver, RotelCollector, attributes

    _, app, config = sidecar_example()
    assert "http" in config["receivers"]["otlp"]["protocols"]
    with GrpcReceiver() as sink, RotelCollector(sink.endpoint) as rotel:
        page_endpoint = urlsplit(resolved_env(app["env"], {})["OTEL_EXPORTER_OTLP_ENDPOINT"])
        endpoint = f"{page_endpoint.scheme}://{page_endpoint.hostname}:{rotel.http_port}"
        env = resolved_env(
            app["env"],
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "FAPILOG_SPOOL_DIR": str(tmp_path / "spool" / "checkout"),
            },
        )
        use_env(monkeypatch, env)
        with fo.Container(fo.Settings()) as container:
            log = container.get_logger("checkout.orders")
            log.info("order placed", order_id=7)
            log.error("payment failed", order_id=8)
            assert container.flush(15)
            outcomes = container.stats()["exporters"]["otlp"]["outcomes"]
        received = sink.wait_for_records(2, timeout=15)
    assert 2 == outcomes["spooled"] == outcomes["spool_delivered"]
    assert {"order placed", "payment failed"} == {r.body.string_value for _, _, r in received}
    resource = attributes(received[0][0])
    assert env["OTEL_SERVICE_NAME"] == resource["service.name"]
    assert DOWNWARD_API["metadata.name"] == resource["k8s.pod.name"]
    assert DOWNWARD_API["metadata.uid"] == resource["k8s.pod.uid"]
    assert "production" == resource["deployment.environment.name"]
