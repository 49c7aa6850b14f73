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
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from deployment_page import (
    CLUSTER_SCOPED,
    DOCUMENTED,
    DOWNWARD_API,
    ENV_REFERENCE,
    PAGE,
    PLUGIN_VARIABLES,
    ROOT,
    VARIABLE,
    YAML_BLOCKS,
    all_documents,
    blocks,
    collected,
    collector_configs,
    created_by_commands,
    documents,
    env_lists,
    kind_of,
    manifests,
    page_text,
    pod_containers,
    resolved_env,
    use_env,
    workloads,
)

import fapilog_otel as fo
from fapilog_otel.exporters import InMemoryExporter
from fapilog_otel.testing import CodeBlock

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
                for reference in ENV_REFERENCE.findall(entry["value"]):
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
        for found in DOCUMENTED.findall(source.read_text(encoding="utf-8")):
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
    mentioned = set(VARIABLE.findall(page_text()))
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
        if any(VARIABLE.fullmatch(k) for k in env):
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
