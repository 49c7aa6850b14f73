"""Enrichers: resource detectors, call-site capture (thread, code) and per-logger levels."""

from __future__ import annotations

import os
import socket
import sys
import threading
from typing import Any

import pytest

import fapilog_otel as fo
from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.processors.resource import (
    HostDetector,
    KubernetesDetector,
    ProcessDetector,
    RuntimeDetector,
)


class TestResourceDetectors:
    def test_host(self) -> None:
        """host.name is the host name; host.arch and os.type use semconv values."""
        found = HostDetector().resource_attributes()
        assert socket.gethostname() == found["host.name"]
        assert found["host.arch"] in {"amd64", "arm64", "arm32", "x86", "ppc64", "s390x", "ia64"}
        assert sys.platform.startswith(found["os.type"])

    def test_process_never_records_arguments(self) -> None:
        """process.pid is ours; command arguments (secrets live there) are left out."""
        found = ProcessDetector().resource_attributes()
        assert os.getpid() == found["process.pid"]
        assert sys.executable == found["process.executable.path"]
        assert not {"process.command_args", "process.command_line"} & set(found)

    def test_runtime(self) -> None:
        """process.runtime.* describe this interpreter."""
        found = RuntimeDetector().resource_attributes()
        assert sys.implementation.name == found["process.runtime.name"]
        assert found["process.runtime.version"].startswith(f"{sys.version_info[0]}.")

    def test_kubernetes_from_downward_api_variables(self) -> None:
        """Pod, namespace and node come from the variables a pod spec sets."""
        env = {"POD_NAME": "web-1", "POD_NAMESPACE": "shop", "NODE_NAME": "n7"}
        assert {
            "k8s.pod.name": "web-1",
            "k8s.namespace.name": "shop",
            "k8s.node.name": "n7",
        } == KubernetesDetector(env).resource_attributes()

    def test_kubernetes_outside_a_cluster_adds_nothing(self) -> None:
        """No variables and no cluster: no k8s attributes at all."""
        assert {} == KubernetesDetector({}).resource_attributes()

    def test_in_a_cluster_the_pod_name_defaults_to_the_host_name(self) -> None:
        """KUBERNETES_SERVICE_HOST set, no pod variable: the host name is the pod name."""
        found = KubernetesDetector({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}).resource_attributes()
        assert socket.gethostname() == found["k8s.pod.name"]

    def test_detected_attributes_reach_the_resource_under_the_apps(self) -> None:
        """Named detectors fill the resource; the application's own attributes win."""
        settings = fo.Settings(
            processors=["host", "process"],
            resource_attributes={"host.name": "chosen"},
            redactors=[],
            diagnostics=False,
        )
        with fo.Container(settings, exporters=[InMemoryExporter()]) as c:
            attributes = c.resource.attributes
        assert "chosen" == attributes["host.name"]
        assert os.getpid() == attributes["process.pid"]

    def test_a_failing_detector_is_skipped(self) -> None:
        """A resource enricher that raises contributes nothing; the container still starts."""

        class Broken:
            name = "broken"

            def resource_attributes(self) -> dict[str, Any]:
                raise OSError("no /proc")

        settings = fo.Settings(redactors=[], diagnostics=False)
        with fo.Container(settings, exporters=[InMemoryExporter()], processors=[Broken()]) as c:
            assert "service.name" in c.resource.attributes


class TestCallSiteCapture:
    def test_thread(self) -> None:
        """'thread' adds thread.id and thread.name of the calling thread."""
        exporter = InMemoryExporter()
        settings = fo.Settings(processors=["thread"], redactors=[], diagnostics=False)
        with fo.Container(settings, exporters=[exporter]) as c:
            log = c.get_logger("t")
            worker = threading.Thread(target=lambda: log.info("from a thread"), name="helper")
            worker.start()
            worker.join()
            log.info("from main")
            c.flush(5)
        by_body = {r.body: r.attributes for r in exporter.records}
        assert "helper" == by_body["from a thread"]["thread.name"]
        assert threading.get_ident() == by_body["from main"]["thread.id"]

    def test_code_location_of_every_method(self) -> None:
        """'code' records the caller's function, file and line for each kind of call."""
        exporter = InMemoryExporter()
        settings = fo.Settings(processors=["code"], redactors=[], diagnostics=False)
        with fo.Container(settings, exporters=[exporter]) as c:
            log = c.get_logger("t").bind(b=1)
            line = sys._getframe().f_lineno + 1
            log.info("info")
            log.event("ev")
            log.log("warning", "log")
            try:
                raise ValueError("x")
            except ValueError:
                log.exception("exc")
            c.flush(5)
        records = {r.body or r.event_name: r.attributes for r in exporter.records}
        assert line == records["info"]["code.line.number"]
        assert [line, line + 1, line + 2, line + 6] == [
            records[name]["code.line.number"] for name in ("info", "ev", "log", "exc")
        ]
        for attributes in records.values():
            assert __file__ == attributes["code.file.path"]
            assert attributes["code.function.name"].endswith(
                "TestCallSiteCapture.test_code_location_of_every_method"
            )
            assert 1 == attributes["b"]

    def test_async_logger_code_location(self) -> None:
        """The async logger records the awaiting coroutine's location."""
        import asyncio

        exporter = InMemoryExporter()
        settings = fo.Settings(processors=["code"], redactors=[], diagnostics=False)

        async def main(c: fo.Container) -> int:
            line = sys._getframe().f_lineno + 1
            await c.get_async_logger("t").info("async")
            return line

        with fo.Container(settings, exporters=[exporter]) as c:
            line = asyncio.run(main(c))
            c.flush(5)
        (record,) = exporter.records
        assert line == record.attributes["code.line.number"]
        assert record.attributes["code.function.name"].endswith("main")

    def test_keywords_win_over_captured(self) -> None:
        """A call's own thread.name keyword is kept over the captured one."""
        exporter = InMemoryExporter()
        settings = fo.Settings(processors=["thread"], redactors=[], diagnostics=False)
        with fo.Container(settings, exporters=[exporter]) as c:
            c.get_logger("t").info("x", **{"thread.name": "mine"})
            c.flush(5)
        assert "mine" == exporter.records[0].attributes["thread.name"]

    def test_off_by_default(self, make_container: Any) -> None:
        """Without the enrichers nothing about the call site is added."""
        c, exporter = make_container(redactors=[])
        c.get_logger("t").info("x")
        c.flush(5)
        assert {} == exporter.records[0].attributes


class TestPerLoggerLevels:
    @pytest.mark.parametrize(
        ("name", "debug_passes", "info_passes"),
        [
            ("app.db", True, True),
            ("app.db.pool", True, True),
            ("app", False, True),
            ("app.dbx", False, True),
            ("urllib3.connectionpool", False, False),
        ],
    )
    def test_longest_prefix_wins(self, name: str, debug_passes: bool, info_passes: bool) -> None:
        """levels={'app.db': debug, 'urllib3': warning}: children inherit, siblings do not."""
        settings = fo.Settings(levels={"app.db": "debug", "urllib3": "warning"}, redactors=[])
        with fo.Container(settings, exporters=[InMemoryExporter()]) as c:
            log = c.get_logger(name)
            assert (debug_passes, info_passes) == (
                log.is_enabled_for("debug"),
                log.is_enabled_for("info"),
            )

    def test_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """FAPILOG_LEVELS=app.db=DEBUG sets one logger's level."""
        monkeypatch.setenv("FAPILOG_LEVELS", "app.db=DEBUG,noisy=error")
        assert {"app.db": "debug", "noisy": "error"} == fo.Settings().levels

    def test_invalid_level_is_a_configuration_error(self) -> None:
        """An unknown level name is refused, naming FAPILOG_LEVELS."""
        with pytest.raises(fo.ConfigurationError) as raised:
            fo.Settings(levels="app=loud")
        assert "FAPILOG_LEVELS" in str(raised.value)
