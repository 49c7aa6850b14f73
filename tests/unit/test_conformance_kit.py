"""The plugin conformance kit passes good plugins and catches broken ones.

The ``Test*Conformance`` classes run the whole kit (pytest collects the inherited checks)
against the built-in exporters, an OTel SDK exporter and processor, and small processors of
every form. ``TestKitCatchesBrokenPlugins`` calls single checks on broken plugins and
expects them to fail.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from pydantic import BaseModel, ConfigDict

import fapilog_otel.testing
from fapilog_otel import ExportResult, LogRecord
from fapilog_otel.exporters import FileExporter, InMemoryExporter
from fapilog_otel.testing import (
    ExporterConformance,
    ProcessorConformance,
    check_exporter,
    check_processor,
)

# -- plugins that follow the contracts ---------------------------------------------------


class AsyncCollector:
    """An exporter whose export is a coroutine."""

    name = "async_collector"

    def __init__(self) -> None:
        self.records: list[LogRecord] = []

    async def export(self, batch: Sequence[LogRecord]) -> ExportResult:
        await asyncio.sleep(0)
        self.records.extend(batch)
        return ExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        pass


class Tagger:
    """A plain per-record processor that adds an attribute."""

    def process(self, record: LogRecord) -> LogRecord:
        record.attributes["tagged"] = True
        return record


class StaticConfig(BaseModel):
    """The settings of :class:`StaticEnricher`."""

    model_config = ConfigDict(extra="forbid")
    value: str = "static"


class StaticEnricher:
    """An enricher with a config model and an API version."""

    name = "static"
    kind = "enricher"
    fapilog_api_version = 1
    config_model = StaticConfig

    def __init__(self, config: StaticConfig | None = None) -> None:
        self.value = (config or StaticConfig()).value

    def process(self, record: LogRecord) -> LogRecord:
        record.attributes["static"] = self.value
        return record


class EveryOther:
    """A filter dropping every other record, under its own drop reason."""

    kind = "filter"
    drop_reason = "every_other"
    in_place = True

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._n = 0

    def process(self, record: LogRecord) -> LogRecord | None:
        with self._lock:
            self._n += 1
            keep = self._n % 2 == 0
        return record if keep else None


class SummaryBatch:
    """A batch processor that drops repeats of a body within a batch."""

    def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
        seen: set[str] = set()
        out = []
        for record in records:
            key = repr(record.body)
            if key not in seen:
                seen.add(key)
                out.append(record)
        return out


class AsyncLookup:
    """An async enricher (a lookup in a remote service, say)."""

    kind = "enricher"

    async def process(self, record: LogRecord) -> LogRecord:
        await asyncio.sleep(0)
        record.attributes["looked.up"] = 1
        return record


class Masker:
    """A redactor masking an attribute called password."""

    kind = "redactor"

    def process(self, record: LogRecord) -> LogRecord:
        if "password" in record.attributes:
            record.attributes["password"] = "***"
        return record


class SdkAttributeProcessor(LogRecordProcessor):
    """An OTel SDK processor that sets an attribute in on_emit."""

    def on_emit(self, log_record: Any) -> None:
        log_record.log_record.attributes = {
            **dict(log_record.log_record.attributes or {}),
            "sdk": True,
        }

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


# -- the kit against them ------------------------------------------------------------------


class TestInMemoryExporterConformance(ExporterConformance):
    def make_exporter(self) -> Any:
        return InMemoryExporter()


class TestFileExporterConformance(ExporterConformance):
    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path

    def make_exporter(self) -> Any:
        return FileExporter(self.directory / "app.log")


class TestSdkExporterConformance(ExporterConformance):
    def make_exporter(self) -> Any:
        return InMemoryLogRecordExporter()


class TestAsyncExporterConformance(ExporterConformance):
    def make_exporter(self) -> Any:
        return AsyncCollector()


class TestPlainProcessorConformance(ProcessorConformance):
    def make_processor(self) -> Any:
        return Tagger()


class TestEnricherConformance(ProcessorConformance):
    def make_processor(self) -> Any:
        return StaticEnricher(StaticConfig(value="v"))


class TestFilterConformance(ProcessorConformance):
    def make_processor(self) -> Any:
        return EveryOther()


class TestBatchProcessorConformance(ProcessorConformance):
    def make_processor(self) -> Any:
        return SummaryBatch()


class TestAsyncProcessorConformance(ProcessorConformance):
    def make_processor(self) -> Any:
        return AsyncLookup()


class TestRedactorConformance(ProcessorConformance):
    def make_processor(self) -> Any:
        return Masker()


class TestSdkProcessorConformance(ProcessorConformance):
    def make_processor(self) -> Any:
        return SdkAttributeProcessor()


# -- broken plugins ------------------------------------------------------------------------


class ReturnsStr:
    def process(self, record: LogRecord) -> Any:
        return "not a record"


class BatchReturnsTuple:
    def process_batch(self, records: list[LogRecord]) -> Any:
        return tuple(records)


class AsyncReturnsDict:
    async def process(self, record: LogRecord) -> Any:
        return {"body": record.body}


class ChokesOnBytes:
    def process(self, record: LogRecord) -> LogRecord:
        for value in record.attributes.values():
            if isinstance(value, bytes):
                value.decode("ascii")
        return record


class NotThreadSafe:
    """Raises when a second thread enters while one is inside."""

    def __init__(self) -> None:
        self._busy = threading.Lock()

    def process(self, record: LogRecord) -> LogRecord:
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("entered by two threads at once")
        try:
            time.sleep(0.002)
        finally:
            self._busy.release()
        return record


class UnknownKind(Tagger):
    kind = "transformer"


class FutureApi(Tagger):
    fapilog_api_version = 2


class LooseConfig(BaseModel):
    value: str = "x"


class AllowsExtraKeys(Tagger):
    config_model = LooseConfig


class ConfigNotAModel(Tagger):
    config_model = dict


class ShutdownRaisesTwice:
    """An exporter whose second shutdown raises."""

    def __init__(self) -> None:
        self.stopped = False

    def export(self, batch: Sequence[LogRecord]) -> ExportResult:
        return ExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        if self.stopped:
            raise RuntimeError("already shut down")
        self.stopped = True


class FlushReturnsNone(ShutdownRaisesTwice):
    def force_flush(self, timeout_millis: int = 30000) -> Any:
        return None

    def shutdown(self) -> None:
        pass


class ExportReturnsStr(FlushReturnsNone):
    def export(self, batch: Sequence[LogRecord]) -> Any:
        return "ok"


class RefusesHugeStrings(FlushReturnsNone):
    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def export(self, batch: Sequence[LogRecord]) -> ExportResult:
        for record in batch:
            for value in [record.body, *record.attributes.values()]:
                if isinstance(value, str) and len(value) > 100_000:
                    return ExportResult.FAILURE
        return ExportResult.SUCCESS


def processor_suite(factory: Any) -> ProcessorConformance:
    """A kit instance checking processors made by ``factory``."""

    class Suite(ProcessorConformance):
        def make_processor(self) -> Any:
            return factory()

    return Suite()


def exporter_suite(factory: Any) -> ExporterConformance:
    """A kit instance checking exporters made by ``factory``."""

    class Suite(ExporterConformance):
        def make_exporter(self) -> Any:
            return factory()

    return Suite()


class TestKitCatchesBrokenPlugins:
    @pytest.mark.parametrize("factory", [ReturnsStr, BatchReturnsTuple, AsyncReturnsDict])
    def test_wrong_return_types_fail_the_direct_check(self, factory: Any) -> None:
        """A processor returning a str, a tuple or a dict fails test_returns_a_record_or_none."""
        with pytest.raises(AssertionError, match="LogRecord"):
            processor_suite(factory).test_returns_a_record_or_none()

    @pytest.mark.parametrize("factory", [ReturnsStr, BatchReturnsTuple, AsyncReturnsDict])
    def test_wrong_return_types_fail_through_a_container(self, factory: Any) -> None:
        """The same processors fail the container check: their records count as errors."""
        suite = processor_suite(factory)
        with pytest.raises(AssertionError, match="the processor failed"):
            suite.test_every_value_kind_goes_through_and_is_accounted()

    def test_a_processor_choking_on_a_value_kind_fails(self) -> None:
        """A processor raising on bytes values fails both value-kind checks."""
        suite = processor_suite(ChokesOnBytes)
        with pytest.raises(AssertionError, match="bytes"):
            suite.test_returns_a_record_or_none()
        with pytest.raises(AssertionError, match="the processor failed"):
            suite.test_every_value_kind_goes_through_and_is_accounted()

    def test_a_processor_that_is_not_thread_safe_fails(self) -> None:
        """Two threads inside process at once make the concurrency check fail."""
        with pytest.raises(AssertionError, match="8 threads"):
            processor_suite(NotThreadSafe).test_process_from_eight_threads_at_once()

    def test_an_unknown_kind_fails(self) -> None:
        """kind = 'transformer' is not a stage."""
        with pytest.raises(AssertionError, match="transformer"):
            processor_suite(UnknownKind).test_declares_a_known_kind()

    def test_another_api_version_fails(self) -> None:
        """fapilog_api_version = 2 is refused."""
        with pytest.raises(AssertionError, match="plugin API version"):
            processor_suite(FutureApi).test_declared_api_version_matches()

    def test_a_config_model_allowing_extra_keys_fails(self) -> None:
        """A settings model without extra='forbid' fails."""
        with pytest.raises(AssertionError, match="extra='forbid'"):
            processor_suite(AllowsExtraKeys).test_config_model_rejects_unknown_keys()

    def test_a_config_model_that_is_not_a_pydantic_model_fails(self) -> None:
        """config_model = dict fails."""
        with pytest.raises(AssertionError, match="BaseModel"):
            processor_suite(ConfigNotAModel).test_config_model_rejects_unknown_keys()

    def test_an_exporter_whose_second_shutdown_raises_fails(self) -> None:
        """shutdown() twice must not raise."""
        with pytest.raises(AssertionError, match="second shutdown"):
            exporter_suite(ShutdownRaisesTwice).test_shutdown_twice_is_fine()

    def test_force_flush_returning_none_fails(self) -> None:
        """force_flush must return a bool."""
        with pytest.raises(AssertionError, match="not a bool"):
            exporter_suite(FlushReturnsNone).test_force_flush_returns_a_bool()

    def test_export_returning_a_str_fails(self) -> None:
        """export must return an ExportResult, a PartialSuccess or None."""
        with pytest.raises(AssertionError, match="ExportResult"):
            exporter_suite(ExportReturnsStr).test_export_accepts_every_value_kind()

    def test_an_exporter_refusing_huge_strings_fails(self) -> None:
        """An exporter failing records with a 1 MB string fails both value-kind checks."""
        suite = exporter_suite(RefusesHugeStrings)
        with pytest.raises(AssertionError, match="huge_str"):
            suite.test_export_accepts_every_value_kind()
        with pytest.raises(AssertionError, match="exported"):
            suite.test_every_value_kind_goes_through_and_is_accounted()

    def test_check_processor_lists_every_failed_check(self) -> None:
        """check_processor raises one AssertionError naming each failed check."""
        with pytest.raises(AssertionError) as raised:
            check_processor(ReturnsStr)
        message = str(raised.value)
        assert "test_returns_a_record_or_none" in message
        assert "test_every_value_kind_goes_through_and_is_accounted" in message
        assert "test_declares_a_known_kind" not in message

    def test_check_exporter_lists_every_failed_check(self) -> None:
        """check_exporter raises one AssertionError naming each failed check."""
        with pytest.raises(AssertionError) as raised:
            check_exporter(FlushReturnsNone)
        assert "test_force_flush_returns_a_bool" in str(raised.value)


class TestFunctionForms:
    def test_check_exporter_passes_a_good_exporter(self) -> None:
        """check_exporter returns quietly for the in-memory exporter."""
        check_exporter(InMemoryExporter)

    def test_check_processor_passes_a_good_processor(self) -> None:
        """check_processor returns quietly for a small enricher."""
        check_processor(StaticEnricher)


class TestKitShape:
    KITS: ClassVar = [ExporterConformance, ProcessorConformance]

    @pytest.mark.parametrize("kit", KITS)
    def test_base_classes_are_not_collected(self, kit: type) -> None:
        """The kit's classes have no Test prefix and no __init__, so only subclasses run."""
        assert not kit.__name__.startswith("Test")
        assert object.__init__ is kit.__init__

    @pytest.mark.parametrize("kit", KITS)
    def test_every_check_has_a_one_line_docstring(self, kit: type) -> None:
        """Each test_* method says what it proves in its docstring's first line."""
        checks = [getattr(kit, n) for n in dir(kit) if n.startswith("test_")]
        assert 8 <= len(checks)
        docs = {c.__name__: (c.__doc__ or "").strip() for c in checks}
        assert {} == {name: doc for name, doc in docs.items() if not doc or "\n" in doc}

    def test_testing_exports_are_sorted_and_present(self) -> None:
        """fapilog_otel.testing keeps its earlier names and adds the kit's."""
        names = fapilog_otel.testing.__all__
        assert sorted(names) == list(names)
        expected = {"InMemoryExporter", "capture_logs", "make_container", "ExporterConformance"}
        assert set() == expected - set(names)
        assert [] == [n for n in names if not hasattr(fapilog_otel.testing, n)]
