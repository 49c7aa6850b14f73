"""Processors across the SDK boundary: SDK processors in a container, ours in an SDK provider."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    SimpleLogRecordProcessor,
)

from fapilog_otel.otel import FapilogProcessor, SdkProcessorAdapter
from fapilog_otel.record import LogRecord


class Upcase(LogRecordProcessor):
    """An SDK processor that changes the body and adds an attribute."""

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        inner = log_record.log_record
        inner.body = str(inner.body).upper()
        inner.attributes["sdk.touched"] = True

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class DropQuiet:
    """Ours: a filter dropping records whose body is 'quiet'."""

    name = "drop-quiet"
    kind = "filter"

    def process(self, record: LogRecord) -> LogRecord | None:
        return None if record.body == "quiet" else record


class MaskSecret:
    """Ours: a redactor masking the attribute 'secret'."""

    name = "mask-secret"
    kind = "redactor"

    def process(self, record: LogRecord) -> LogRecord:
        if "secret" in record.attributes:
            record.attributes["secret"] = "[REDACTED]"
        return record


class Exploding:
    """Ours: a redactor that always raises."""

    name = "exploding"
    kind = "redactor"

    def process(self, record: LogRecord) -> LogRecord:
        raise RuntimeError("bug")


def provider_with(processor: Any) -> tuple[LoggerProvider, InMemoryLogRecordExporter]:
    """An SDK provider whose first processor is ``processor`` feeding an in-memory exporter."""
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(FapilogProcessor(processor, SimpleLogRecordProcessor(memory)))
    return provider, memory


class TestSdkProcessorInAContainer:
    def test_changes_come_back(self, make_container: Any) -> None:
        """An SDK processor passed to a container changes our records."""
        c, exporter = make_container(processors=[Upcase()], redactors=[])
        c.get_logger("t").info("hello", n=1)
        c.flush(5)
        (record,) = exporter.records
        assert "HELLO" == record.body
        assert {"n": 1, "sdk.touched": True} == record.attributes

    def test_is_wrapped_in_the_adapter(self, make_container: Any) -> None:
        """The container wraps it; stats name it after the SDK class."""
        c, _ = make_container(processors=[Upcase()], redactors=[])
        assert "Upcase" in c.stats()["processors"]

    def test_adapter_alone(self) -> None:
        """SdkProcessorAdapter.process hands the record to on_emit and reads it back."""
        from opentelemetry.sdk.resources import Resource

        from fapilog_otel.record import Scope

        record = LogRecord(
            timestamp=1, body="quiet", scope=Scope("s"), resource=Resource.get_empty()
        )
        out = SdkProcessorAdapter(Upcase()).process(record)
        assert ("QUIET", {"sdk.touched": True}) == (out.body, out.attributes)


class TestOursInAnSdkProvider:
    def test_redactor_changes_reach_the_sdk_exporter(self) -> None:
        """Our redactor in an SDK provider: the exporter sees the masked value."""
        provider, memory = provider_with(MaskSecret())
        provider.get_logger("lib").emit(body="login", attributes={"secret": "pw", "user": "ann"})
        provider.shutdown()
        (item,) = memory.get_finished_logs()
        assert {"secret": "[REDACTED]", "user": "ann"} == dict(item.log_record.attributes)

    def test_filter_drops_before_downstream(self) -> None:
        """Our filter with downstream processors: dropped records never reach them."""
        filtering = FapilogProcessor(DropQuiet())
        memory = InMemoryLogRecordExporter()
        filtering.downstream = (SimpleLogRecordProcessor(memory),)
        provider = LoggerProvider()
        provider.add_log_record_processor(filtering)
        logger = provider.get_logger("lib")
        for body in ("loud", "quiet", "louder"):
            logger.emit(body=body)
        provider.shutdown()
        assert ["loud", "louder"] == [i.log_record.body for i in memory.get_finished_logs()]
        assert 1 == filtering.dropped

    def test_failing_redactor_masks_and_never_raises(self) -> None:
        """Our redactor raising inside the SDK: masked downstream, nothing raised to emit()."""
        provider, memory = provider_with(Exploding())
        provider.get_logger("lib").emit(body="token abc", attributes={"password": "pw"})
        provider.shutdown()
        (item,) = memory.get_finished_logs()
        assert "[REDACTION FAILED]" == item.log_record.body
        assert {"password": "[REDACTION FAILED]"} == dict(item.log_record.attributes)
