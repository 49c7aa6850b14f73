"""The conformance kit: the checks every exporter and processor plugin should pass.

Subclass :class:`ExporterConformance` or :class:`ProcessorConformance` in a test module,
under a name pytest collects, and say how to make a fresh plugin::

    from fapilog_otel.testing import ExporterConformance

    class TestMyExporter(ExporterConformance):
        def make_exporter(self):
            return MyExporter()

pytest then runs every inherited ``test_*`` method, each with a plugin of its own. The
methods take no fixtures and raise ``AssertionError`` with a message saying what the plugin
did wrong, so they also run without pytest: :func:`check_exporter` and
:func:`check_processor` run them all and report every failure at once. OTel SDK
``LogRecordExporter`` and ``LogRecordProcessor`` implementations are checked the same way:
through a real :class:`~fapilog_otel.Container` (which adapts them) and by direct calls.

Added in 0.1.0.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from fapilog_otel._chain import REDACTION_FAILED, STAGE_ORDER
from fapilog_otel._plugins import check_api_version
from fapilog_otel._sdk import (
    SdkExporterAdapter,
    SdkProcessorAdapter,
    is_sdk_exporter,
    is_sdk_processor,
    to_sdk_record,
)
from fapilog_otel._stats import SHUTDOWN, StatsSnapshot
from fapilog_otel.container import Container
from fapilog_otel.errors import PluginError
from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.record import LogRecord
from fapilog_otel.settings import Settings
from fapilog_otel.testing._support import (
    PER_THREAD,
    THREADS,
    FailingExporter,
    FailingProcessor,
    describe,
    guarded,
    in_threads,
    log_every_kind,
    make_record,
    require,
    resolve,
    sample_records,
    value_kinds,
)
from fapilog_otel.typing import ExportResult, PartialSuccess

__all__ = [
    "ExporterConformance",
    "ProcessorConformance",
    "check_exporter",
    "check_processor",
    "make_record",
    "value_kinds",
]

#: A key no plugin's settings model should accept.
UNKNOWN_KEY = "conformance_unknown_key"


class _Conformance:
    """What exporters and processors share: declarations, lifecycle, accounting."""

    #: Seconds a flush or shutdown of the kit's containers may take.
    timeout: ClassVar[float] = 10.0
    #: More :class:`~fapilog_otel.Settings` fields for the kit's containers.
    container_settings: ClassVar[dict[str, Any]] = {}

    def _plugin(self) -> Any:
        raise NotImplementedError

    def _container(self, plugin: Any, **settings: Any) -> Container:
        raise NotImplementedError

    def _settings(self, **overrides: Any) -> Settings:
        """Settings that isolate the plugin: no other processor, no redactor."""
        values: dict[str, Any] = {"level": "trace", "processors": [], "redactors": []}
        values.update(self.container_settings)
        values.update(overrides)
        return Settings(**values)

    def _label(self, plugin: Any) -> str:
        return f"{type(plugin).__name__} ({type(self).__name__})"

    def _accounted(self, stats: StatsSnapshot, logged: int, where: str) -> None:
        """Every record logged is counted once and nothing is left in the queue."""
        require(
            logged == stats["submitted"] and stats["queued"] == 0,
            f"{where}: logged {logged} records, but stats() says submitted="
            f"{stats['submitted']} queued={stats['queued']}: {dict(stats)}",
        )

    def _all_through(self, container: Container, logged: int, where: str) -> None:
        """All ``logged`` records went through ``container`` and the plugin never failed."""
        raise NotImplementedError

    def test_every_value_kind_goes_through_and_is_accounted(self) -> None:
        """Records with values of every kind go through a container, each one counted."""
        container = self._container(self._plugin())
        try:
            logged = guarded("logging", lambda: log_every_kind(container.get_logger("kinds")))
            container.flush(self.timeout)
            self._all_through(container, logged, "records of every value kind")
        finally:
            container.shutdown(self.timeout)

    def test_survives_a_flood_from_eight_threads(self) -> None:
        """Records logged from 8 threads at once all go through a container, counted."""
        container = self._container(self._plugin())
        try:

            def flood(index: int) -> None:
                log = container.get_logger(f"thread-{index}")
                for n in range(PER_THREAD):
                    log.info("flood", thread=index, n=n)

            errors = in_threads(flood)
            require(not errors, f"logging from {THREADS} threads raised: {errors[:3]}")
            container.flush(self.timeout)
            self._all_through(container, THREADS * PER_THREAD, f"{THREADS} threads")
        finally:
            container.shutdown(self.timeout)

    def test_flush_delivers_what_was_logged_before_it(self) -> None:
        """Container.flush() returns True once every earlier record went through."""
        container = self._container(self._plugin())
        try:
            log = container.get_logger("flush")
            for n in range(20):
                log.info("before flush", n=n)
            flushed = container.flush(self.timeout)
            require(flushed, f"flush() returned False: {dict(container.stats())}")
            self._all_through(container, 20, "records logged before flush()")
        finally:
            container.shutdown(self.timeout)

    def test_declared_api_version_matches(self) -> None:
        """A declared fapilog_api_version is of this library's major plugin API version."""
        plugin = self._plugin()
        try:
            for target in (type(plugin), plugin):
                try:
                    check_api_version(target, self._label(plugin))
                except PluginError as exc:
                    raise AssertionError(str(exc)) from None
        finally:
            self._stop(plugin)

    def test_config_model_rejects_unknown_keys(self) -> None:
        """A declared config_model is a pydantic model that refuses keys it does not know."""
        plugin = self._plugin()
        try:
            model = getattr(plugin, "config_model", None)
            if model is None:
                return
            require(
                isinstance(model, type) and issubclass(model, BaseModel),
                f"{self._label(plugin)}: config_model must be a pydantic BaseModel subclass, "
                f"not {model!r}",
            )
            try:
                model.model_validate({UNKNOWN_KEY: 1})
            except ValidationError as exc:
                kinds = {error["type"] for error in exc.errors()}
            else:
                kinds = set()
            require(
                "extra_forbidden" in kinds,
                f"{self._label(plugin)}: {model.__name__} accepts the unknown key "
                f"{UNKNOWN_KEY!r}; give it model_config = ConfigDict(extra='forbid')",
            )
        finally:
            self._stop(plugin)

    def test_shutdown_twice_is_fine(self) -> None:
        """shutdown() may be called twice, directly and through a container."""
        plugin = self._plugin()
        stop = getattr(plugin, "shutdown", None)
        if callable(stop):
            guarded(f"{self._label(plugin)}: the first shutdown()", stop)
            guarded(f"{self._label(plugin)}: a second shutdown()", stop)
        container = self._container(self._plugin())
        container.get_logger("conformance").info("one record")
        guarded("Container.shutdown()", lambda: container.shutdown(self.timeout))
        guarded("a second Container.shutdown()", lambda: container.shutdown(self.timeout))

    def test_logging_after_shutdown_is_counted(self) -> None:
        """Records logged after shutdown are counted as dropped, never raised."""
        container = self._container(self._plugin())
        log = container.get_logger("conformance")
        log.info("before shutdown")
        container.shutdown(self.timeout)
        guarded("logging after shutdown", lambda: log.error("after shutdown", n=1))
        stats = container.stats()
        require(
            stats["dropped"].get(SHUTDOWN, 0) >= 1,
            f"a record logged after shutdown was not counted as dropped: {dict(stats)}",
        )
        self._accounted(stats, 2, "logging after shutdown")

    def _stop(self, plugin: Any) -> None:
        """Shut a directly used plugin down, ignoring what it raises (checked elsewhere)."""
        stop = getattr(plugin, "shutdown", None)
        if callable(stop):
            try:
                stop()
            except Exception:
                return


class ExporterConformance(_Conformance):
    """The checks for an exporter plugin: ours (``export(batch)`` of our records) or an
    OTel SDK ``LogRecordExporter``.

    Subclass it as ``Test<Something>`` and override :meth:`make_exporter`. Set
    ``container_settings`` for :class:`~fapilog_otel.Settings` fields the containers need
    and ``timeout`` for slow exporters; override a ``test_*`` method to skip or adapt it.
    """

    def make_exporter(self) -> Any:
        """Return a new exporter to check (called once or more by each test)."""
        raise NotImplementedError(f"{type(self).__name__} must define make_exporter()")

    def _plugin(self) -> Any:
        return self.make_exporter()

    def _container(self, plugin: Any, **settings: Any) -> Container:
        return Container(self._settings(**settings), exporters=[plugin])

    def _export(self, exporter: Any, records: Sequence[LogRecord], what: str) -> bool:
        """Export ``records`` directly; check the result's type; return whether it succeeded."""
        if is_sdk_exporter(exporter):
            sdk_batch = [to_sdk_record(record) for record in records]
            result = guarded(what, lambda: exporter.export(sdk_batch))
            name = getattr(result, "name", None)
            require(
                name in ("SUCCESS", "FAILURE"),
                f"{what} returned {describe(result)}, not a LogRecordExportResult",
            )
            return bool(name == "SUCCESS")
        result = guarded(what, lambda: resolve(exporter.export(records)))
        require(
            result is None or isinstance(result, (bool, ExportResult, PartialSuccess)),
            f"{what} returned {describe(result)}; return an ExportResult, a PartialSuccess or None",
        )
        if isinstance(result, PartialSuccess):
            return result.rejected == 0
        return result in (None, True, ExportResult.SUCCESS)

    def _lane(self, stats: StatsSnapshot) -> dict[str, Any]:
        (lane,) = stats["exporters"].values()
        return dict(lane)

    def _all_through(self, container: Container, logged: int, where: str) -> None:
        self._delivered(container.stats(), logged, where)

    def _delivered(self, stats: StatsSnapshot, logged: int, where: str) -> None:
        """All ``logged`` records were exported, none failed, the exporter never raised."""
        self._accounted(stats, logged, where)
        lane = self._lane(stats)
        require(
            logged == stats["exported"] and lane["errors"] == 0 and lane["timeouts"] == 0,
            f"{where}: {logged} records logged, {stats['exported']} exported; exporter "
            f"{lane}; see the diagnostics on stderr for what it raised",
        )

    def test_export_accepts_every_value_kind(self) -> None:
        """A direct export() of each kind of record succeeds and returns a valid result."""
        exporter = self.make_exporter()
        try:
            for name, record in sample_records().items():
                what = f"{self._label(exporter)}: export() of a record with {name}"
                require(self._export(exporter, [record], what), f"{what} reported failure")
            whole = list(sample_records().values())
            require(
                self._export(exporter, whole, "export() of a batch of every kind"),
                f"{self._label(exporter)}: export() of a batch of every kind reported failure",
            )
        finally:
            self._stop(exporter)

    def test_a_failure_inside_export_never_reaches_the_caller(self) -> None:
        """An exception raised in export() is counted as failed, and the exporter recovers."""
        exporter = self.make_exporter()
        inner = SdkExporterAdapter(exporter) if is_sdk_exporter(exporter) else exporter
        failing = FailingExporter.wrapping(inner)
        container = self._container(failing, diagnostics=False)
        try:
            log = container.get_logger("failures")
            guarded("logging", lambda: [log.info("fails", n=i) for i in range(5)])
            guarded("Container.flush()", lambda: container.flush(self.timeout))
            stats = container.stats()
            self._accounted(stats, 5, "records whose export raised")
            require(
                stats["failed"] == 5,
                f"records whose export raised were not counted failed: {dict(stats)}",
            )
            failing.failing = False
            guarded("logging", lambda: [log.info("recovers", n=i) for i in range(5)])
            container.flush(self.timeout)
            stats = container.stats()
            require(
                stats["exported"] == 5,
                f"{self._label(exporter)} did not export again after a failed export: "
                f"{dict(stats)}",
            )
        finally:
            guarded("Container.shutdown()", lambda: container.shutdown(self.timeout))

    def test_force_flush_returns_a_bool(self) -> None:
        """force_flush() returns a bool, with or without timeout_millis, before and after export."""
        exporter = self.make_exporter()
        label = self._label(exporter)
        try:
            calls = [
                ("force_flush()", lambda: exporter.force_flush()),
                ("force_flush(1000) after an export", lambda: exporter.force_flush(1000)),
            ]
            for index, (what, call) in enumerate(calls):
                if index:
                    self._export(exporter, [make_record()], f"{label}: export()")
                result = guarded(f"{label}: {what}", call)
                require(
                    isinstance(result, bool),
                    f"{label}: {what} returned {describe(result)}, not a bool",
                )
        finally:
            self._stop(exporter)


class ProcessorConformance(_Conformance):
    """The checks for a processor plugin: ours (a filter, enricher, redactor or plain
    processor; per record, batch or async) or an OTel SDK ``LogRecordProcessor``.

    Subclass it as ``Test<Something>`` and override :meth:`make_processor`. Set
    ``container_settings`` for :class:`~fapilog_otel.Settings` fields the containers need.
    """

    def make_processor(self) -> Any:
        """Return a new processor to check (called once or more by each test)."""
        raise NotImplementedError(f"{type(self).__name__} must define make_processor()")

    def _plugin(self) -> Any:
        return self.make_processor()

    def _container(self, plugin: Any, **settings: Any) -> Container:
        return Container(
            self._settings(**settings), exporters=[InMemoryExporter()], processors=[plugin]
        )

    def _process(self, processor: Any, records: list[LogRecord], what: str) -> list[LogRecord]:
        """Run ``processor`` directly on ``records``; check what each call returns."""
        if is_sdk_processor(processor):
            adapter = SdkProcessorAdapter(processor)
            return [guarded(what, adapter.process, record) for record in records]
        single = getattr(processor, "process", None)
        batch = getattr(processor, "process_batch", None)
        if callable(batch) and not inspect.iscoroutinefunction(single):
            result = guarded(what, lambda: batch(records))
            require(
                isinstance(result, list) and all(type(r) is LogRecord for r in result),
                f"{what}: process_batch returned {describe(result)}; it must return a "
                f"list of LogRecord",
            )
            return list(result)
        if not callable(single):
            return records
        out: list[LogRecord] = []
        for record in records:
            result = guarded(what, lambda: resolve(single(record)))  # noqa: B023
            require(
                result is None or type(result) is LogRecord,
                f"{what}: process returned {describe(result)}; it must return the "
                f"LogRecord or None",
            )
            if result is not None:
                out.append(result)
        return out

    def _chain_stats(self, stats: StatsSnapshot) -> dict[str, int]:
        totals = {"errors": 0, "timeouts": 0, "skipped": 0}
        for values in stats["processors"].values():
            for key in totals:
                totals[key] += values[key]
        return totals

    def _all_through(self, container: Container, logged: int, where: str) -> None:
        self._passed(container, logged, where)

    def _passed(self, container: Container, logged: int, where: str) -> None:
        """All ``logged`` records were exported or dropped, and the processor never failed."""
        stats = container.stats()
        self._accounted(stats, logged, where)
        chain = self._chain_stats(stats)
        require(
            stats["failed"] == 0 and chain["errors"] == 0 and chain["timeouts"] == 0,
            f"{where}: the processor failed (errors are records it raised on or returned "
            f"something else than a LogRecord or None for): {dict(stats)}",
        )
        (memory,) = container.exporters
        require(
            stats["exported"] == len(memory.records),
            f"{where}: {stats['exported']} exported but {len(memory.records)} received",
        )

    def test_returns_a_record_or_none(self) -> None:
        """Direct calls return a LogRecord or None (a list of them from process_batch)."""
        processor = self.make_processor()
        label = self._label(processor)
        try:
            for name, record in sample_records().items():
                self._process(processor, [record], f"{label} on a record with {name}")
            whole = list(sample_records().values())
            self._process(processor, whole, f"{label} on a batch of every kind")
            method = getattr(processor, "resource_attributes", None)
            if callable(method):
                found = guarded(f"{label}: resource_attributes()", method)
                require(
                    isinstance(found, dict) and all(isinstance(k, str) for k in found),
                    f"{label}: resource_attributes() returned {describe(found)}, not a "
                    f"dict with str keys",
                )
        finally:
            self._stop(processor)

    def test_declares_a_known_kind(self) -> None:
        """kind, drop_reason, in_place and name, when declared, have valid values."""
        processor = self.make_processor()
        label = self._label(processor)
        try:
            kind = getattr(processor, "kind", "processor")
            require(
                kind in STAGE_ORDER,
                f"{label}: kind {kind!r} is not one of {sorted(STAGE_ORDER)}",
            )
            reason = getattr(processor, "drop_reason", "filtered")
            require(
                isinstance(reason, str) and reason,
                f"{label}: drop_reason must be a non-empty str, not {reason!r}",
            )
            in_place = getattr(processor, "in_place", False)
            require(
                isinstance(in_place, bool), f"{label}: in_place must be a bool, not {in_place!r}"
            )
            name = getattr(processor, "name", "?")
            require(isinstance(name, str) and name, f"{label}: name must be a non-empty str")
        finally:
            self._stop(processor)

    def test_a_failure_inside_process_never_reaches_the_caller(self) -> None:
        """An exception in the processor is counted, records go on, the caller never sees it."""
        processor = self.make_processor()
        inner = SdkProcessorAdapter(processor) if is_sdk_processor(processor) else processor
        container = self._container(FailingProcessor(inner), diagnostics=False)
        try:
            log = container.get_logger("failures")
            guarded("logging", lambda: [log.info("fails", n=i) for i in range(5)])
            guarded("Container.flush()", lambda: container.flush(self.timeout))
            stats = container.stats()
            self._accounted(stats, 5, "records whose processor raised")
            require(
                sum(self._chain_stats(stats).values()) == 5,
                f"the processor's failures were not counted: {dict(stats)}",
            )
            (memory,) = container.exporters
            require(len(memory.records) == 5, f"records were lost: {dict(stats)}")
            if getattr(processor, "kind", None) == "redactor":
                require(
                    all(r.body == REDACTION_FAILED for r in memory.records),
                    "a failing redactor's records were not masked",
                )
        finally:
            guarded("Container.shutdown()", lambda: container.shutdown(self.timeout))

    def test_force_flush_returns_a_bool(self) -> None:
        """force_flush(), when the processor has one, returns a bool."""
        processor = self.make_processor()
        label = self._label(processor)
        try:
            flush = getattr(processor, "force_flush", None)
            if not callable(flush):
                return
            self._process(processor, [make_record()], f"{label} on a record")
            for what, call in [
                ("force_flush()", flush),
                ("force_flush(1000)", lambda: flush(1000)),
            ]:
                result = guarded(f"{label}: {what}", call)
                require(
                    isinstance(result, bool),
                    f"{label}: {what} returned {describe(result)}, not a bool",
                )
        finally:
            self._stop(processor)

    def test_process_from_eight_threads_at_once(self) -> None:
        """Direct calls from 8 threads at once neither raise nor return wrong types."""
        processor = self.make_processor()
        try:

            def call(index: int) -> None:
                for n in range(PER_THREAD // 10):
                    records = [make_record("concurrent", {"thread": index, "n": n}), make_record()]
                    self._process(processor, records, "a concurrent call")

            errors = in_threads(call)
            require(not errors, f"{self._label(processor)} from {THREADS} threads: {errors[:3]}")
        finally:
            self._stop(processor)


def _run_all(suite: _Conformance) -> None:
    failures = []
    for name in sorted(dir(suite)):
        if name.startswith("test_"):
            try:
                getattr(suite, name)()
            except AssertionError as exc:
                failures.append(f"{name}: {exc}")
    if failures:
        raise AssertionError(
            f"{len(failures)} conformance check(s) failed:\n" + "\n".join(failures)
        )


def check_exporter(factory: Callable[[], Any]) -> None:
    """Run every :class:`ExporterConformance` check on exporters made by ``factory``.

    Raises:
        AssertionError: One or more checks failed; the message lists each.
    """

    class Suite(ExporterConformance):
        def make_exporter(self) -> Any:
            return factory()

    _run_all(Suite())


def check_processor(factory: Callable[[], Any]) -> None:
    """Run every :class:`ProcessorConformance` check on processors made by ``factory``.

    Raises:
        AssertionError: One or more checks failed; the message lists each.
    """

    class Suite(ProcessorConformance):
        def make_processor(self) -> Any:
            return factory()

    _run_all(Suite())
