"""The processor chain: stage order, isolation, fail-closed redactors, the circuit breaker,
batch and async processors, and the accounting of what processors drop and add."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, ClassVar

import pytest

import fapilog_otel as fo
from fapilog_otel._breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from fapilog_otel._chain import REDACTION_FAILED
from fapilog_otel.record import LogRecord


def invariant_holds(stats: Any) -> bool:
    """submitted + added == exported + failed + dropped + queued."""
    total = stats["exported"] + stats["failed"] + sum(stats["dropped"].values()) + stats["queued"]
    return bool(stats["submitted"] + stats["added"] == total)


class Tagging:
    """Appends its tag to the attribute ``order``; of the given kind."""

    def __init__(self, tag: str, kind: str) -> None:
        self.name = tag
        self.kind = kind

    def process(self, record: LogRecord) -> LogRecord:
        record.attributes["order"] = [*record.attributes.get("order", []), self.name]
        return record


class Raising:
    """Raises on every call; of the given kind."""

    def __init__(self, kind: str = "processor", exc: BaseException | None = None) -> None:
        self.kind = kind
        self.name = f"raising-{kind}"
        self.calls = 0
        self.exc = exc or RuntimeError("plugin bug")

    def process(self, record: LogRecord) -> LogRecord:
        self.calls += 1
        record.attributes["touched"] = True
        raise self.exc


class TestNotAProcessor:
    def test_object_without_processor_methods_is_refused(self, make_container: Any) -> None:
        """Something that is no processor fails loudly instead of silently doing nothing."""

        class Typo:
            def proces(self, record: LogRecord) -> LogRecord:
                return record

        with pytest.raises(fo.ConfigurationError) as raised:
            make_container(processors=[Typo()])
        assert "is not a processor" in str(raised.value)


class TestStageOrder:
    def test_filters_then_enrichers_then_redactors(self, make_container: Any) -> None:
        """Whatever order they are given in, kinds run filters, enrichers/processors, redactors."""
        chain = [
            Tagging("r", "redactor"),
            Tagging("e", "enricher"),
            Tagging("p", "processor"),
            Tagging("f", "filter"),
        ]
        c, exporter = make_container(processors=chain, redactors=[])
        c.get_logger("t").info("x")
        c.flush(5)
        assert ["f", "e", "p", "r"] == exporter.records[0].attributes["order"]

    def test_unknown_kind_runs_as_a_processor(self, make_container: Any) -> None:
        """A kind the library does not know is treated as a plain processor."""
        c, exporter = make_container(
            processors=[Tagging("odd", "mystery"), Tagging("f", "filter")], redactors=[]
        )
        c.get_logger("t").info("x")
        c.flush(5)
        assert ["f", "odd"] == exporter.records[0].attributes["order"]


class TestIsolation:
    def test_raising_processor_leaves_the_record_as_it_was(self, make_container: Any) -> None:
        """A processor that raises after changing its copy: the original record goes on."""
        c, exporter = make_container(processors=[Raising()], redactors=[])
        c.get_logger("t").info("kept", a=1)
        c.flush(5)
        assert [{"a": 1}] == [r.attributes for r in exporter.records]
        stats = c.stats()
        assert 1 == stats["processors"]["raising-processor"]["errors"]
        assert {"raising-processor": 1} == stats["processor_errors"]

    def test_raising_redactor_fails_closed(self, make_container: Any) -> None:
        """A redactor that raises: body and every attribute value masked, never in clear."""
        c, exporter = make_container(processors=[Raising("redactor")], redactors=[])
        c.get_logger("t").info("card 4111111111111111", secret="hunter2")
        c.flush(5)
        (record,) = exporter.records
        assert REDACTION_FAILED == record.body
        assert "secret" in record.attributes
        assert {REDACTION_FAILED} == set(record.attributes.values())
        assert 1 == c.stats()["processors"]["raising-redactor"]["masked"]

    def test_system_exit_from_a_processor_is_contained(self, make_container: Any) -> None:
        """Even SystemExit raised by a processor is counted and the worker keeps going."""
        c, exporter = make_container(processors=[Raising(exc=SystemExit(3))], redactors=[])
        c.get_logger("t").info("one")
        c.get_logger("t").info("two")
        assert c.flush(5)
        assert ["one", "two"] == [r.body for r in exporter.records]

    def test_wrong_return_type_is_a_failure(self, make_container: Any) -> None:
        """Returning something that is not a record counts as a failure; the record goes on."""

        class Stringy:
            name = "stringy"

            def process(self, record: LogRecord) -> Any:
                return "not a record"

        c, exporter = make_container(processors=[Stringy()], redactors=[])
        c.get_logger("t").info("x")
        c.flush(5)
        assert ["x"] == [r.body for r in exporter.records]
        assert 1 == c.stats()["processors"]["stringy"]["errors"]

    def test_in_place_processors_get_the_record_itself(self, make_container: Any) -> None:
        """in_place = True skips the defensive copy; others get a copy."""
        seen: list[LogRecord] = []

        class InPlace:
            name = "in-place"
            in_place = True

            def process(self, record: LogRecord) -> LogRecord:
                seen.append(record)
                return record

        class Copying(InPlace):
            name = "copying"
            in_place = False

        c, exporter = make_container(processors=[InPlace(), Copying()], redactors=[])
        c.get_logger("t").info("x")
        c.flush(5)
        in_place_saw, copying_saw = seen
        assert copying_saw is not in_place_saw
        assert exporter.records[0] is copying_saw


class TestFilters:
    def test_drop_reason_is_counted_and_intended(self, make_container: Any) -> None:
        """A filter's drop_reason counts its drops; no drop report is made for them."""

        class EvenOnly:
            name = "even"
            kind = "filter"
            drop_reason = "odd"

            def process(self, record: LogRecord) -> LogRecord | None:
                return record if record.attributes["i"] % 2 == 0 else None

        c, exporter = make_container(processors=[EvenOnly()], redactors=[])
        for i in range(6):
            c.get_logger("t").info("n", i=i)
        c.flush(5)
        stats = c.stats()
        assert [0, 2, 4] == [r.attributes["i"] for r in exporter.records]
        assert {"odd": 3} == stats["dropped"]
        assert invariant_holds(stats)
        assert all(r.scope.name != "fapilog_otel" for r in exporter.records)

    def test_raising_filter_keeps_the_record(self, make_container: Any) -> None:
        """A filter that raises fails open: the record is kept."""
        c, exporter = make_container(processors=[Raising("filter")], redactors=[])
        c.get_logger("t").info("x")
        c.flush(5)
        assert ["x"] == [r.body for r in exporter.records]


class TestBatchProcessors:
    def test_batch_method_is_preferred_and_may_add_records(self, make_container: Any) -> None:
        """process_batch is used over process; added records are counted in 'added'."""

        class Summarising:
            name = "summary"
            kind = "filter"
            drop_reason = "folded"

            def process(self, record: LogRecord) -> LogRecord:
                raise AssertionError("process_batch should be used")

            def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
                summary = records[0].copy()
                summary.body = f"{len(records)} records folded"
                return [summary]

        c, exporter = make_container(processors=[Summarising()], redactors=[])
        log = c.get_logger("t")
        with c.get_logger("t")._worker.queue.lock:  # one batch: hold the worker off
            for i in range(4):
                log.info("r", i=i)
        c.flush(5)
        stats = c.stats()
        assert 4 == stats["submitted"]
        assert invariant_holds(stats)
        assert stats["added"] == len(exporter.records)
        assert stats["dropped"]["folded"] == 4

    def test_record_swapped_within_the_same_list_is_counted(self, make_container: Any) -> None:
        """Same list, same length, one record replaced in place: one added, one dropped.

        Regression guard for the chain's fast check (same records back -> nothing to
        count), which must compare the records, not just the list and its length.
        """

        class Swapping:
            name = "swap"
            kind = "filter"
            drop_reason = "swapped"

            def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
                replacement = records[0].copy()
                replacement.body = "replacement"
                records[0] = replacement
                return records

        c, exporter = make_container(processors=[Swapping()], redactors=[])
        log = c.get_logger("t")
        with log._worker.queue.lock:  # one batch: hold the worker off
            for i in range(3):
                log.info("r", i=i)
        c.flush(5)
        stats = c.stats()
        assert stats["added"] == 1
        assert stats["dropped"]["swapped"] == 1
        assert sorted(r.body for r in exporter.records) == ["r", "r", "replacement"]
        assert invariant_holds(stats)

    def test_raising_batch_processor_passes_the_batch(self, make_container: Any) -> None:
        """A process_batch that raises leaves the whole batch as it was."""

        class Broken:
            name = "broken-batch"

            def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
                raise ValueError("no")

        c, exporter = make_container(processors=[Broken()], redactors=[])
        c.get_logger("t").info("x")
        c.flush(5)
        assert ["x"] == [r.body for r in exporter.records]


class TestAsyncProcessors:
    def test_async_process_runs(self, make_container: Any) -> None:
        """An async def process runs on its own loop and its changes arrive."""

        class Lookup:
            name = "lookup"

            async def process(self, record: LogRecord) -> LogRecord:
                await asyncio.sleep(0)
                record.attributes["looked_up"] = True
                return record

        c, exporter = make_container(processors=[Lookup()], redactors=[])
        c.get_logger("t").info("x")
        c.flush(5)
        assert {"looked_up": True} == exporter.records[0].attributes

    def test_async_timeout_passes_records_unchanged(self, make_container: Any) -> None:
        """An async processor slower than plugin_timeout_ms: records go on, timeout counted."""

        class Slow:
            name = "slow"

            async def process(self, record: LogRecord) -> LogRecord:
                await asyncio.sleep(5)
                record.attributes["late"] = True
                return record

        c, exporter = make_container(processors=[Slow()], redactors=[], plugin_timeout_ms=100)
        c.get_logger("t").info("x")
        c.flush(5)
        assert [{}] == [r.attributes for r in exporter.records]
        assert 1 == c.stats()["processors"]["slow"]["timeouts"]

    def test_async_redactor_timeout_masks(self, make_container: Any) -> None:
        """An async redactor that times out fails closed."""

        class SlowRedactor:
            name = "slow-redactor"
            kind = "redactor"

            async def process(self, record: LogRecord) -> LogRecord:
                await asyncio.sleep(5)
                return record

        c, exporter = make_container(
            processors=[SlowRedactor()], redactors=[], plugin_timeout_ms=100
        )
        c.get_logger("t").info("secret", token="abc")
        c.flush(5)
        assert {"token": REDACTION_FAILED} == exporter.records[0].attributes


class TestCircuitBreaker:
    def test_opens_after_threshold_and_probes(self) -> None:
        """Five failures open it; after the cooldown one probe; failure doubles the cooldown."""
        now = [0.0]
        breaker = CircuitBreaker(threshold=5, cooldown=1.0, clock=lambda: now[0])
        for _ in range(4):
            breaker.failure()
        assert CLOSED == breaker.state
        breaker.failure()
        assert (OPEN, False) == (breaker.state, breaker.allows())
        now[0] = 1.0
        assert (True, HALF_OPEN) == (breaker.allows(), breaker.state)
        breaker.failure()
        now[0] = 2.5
        assert not breaker.allows()
        now[0] = 3.0
        assert breaker.allows()
        breaker.success()
        assert CLOSED == breaker.state

    def test_open_processor_is_skipped(self, make_container: Any) -> None:
        """After five failing batches the processor is no longer called; skips are counted."""
        broken = Raising()
        c, exporter = make_container(processors=[broken], redactors=[])
        log = c.get_logger("t")
        for i in range(8):
            log.info("x", i=i)
            c.flush(5)
        stats = c.stats()["processors"]["raising-processor"]
        assert 5 == broken.calls
        assert (3, "open") == (stats["skipped"], stats["circuit"])
        assert 8 == len(exporter.records)

    def test_open_redactor_masks(self, make_container: Any) -> None:
        """While a redactor's circuit is open its records are masked, not passed in clear."""
        c, exporter = make_container(processors=[Raising("redactor")], redactors=[])
        log = c.get_logger("t")
        for _ in range(7):
            log.info("x", password="pw")
            c.flush(5)
        assert 7 == len(exporter.records)
        for record in exporter.records:
            assert {REDACTION_FAILED} == set(record.attributes.values())
        assert 2 == c.stats()["processors"]["raising-redactor"]["skipped"]


class TestProcessorShutdown:
    def test_shutdown_is_called_once_and_failures_contained(self, make_container: Any) -> None:
        """Container shutdown calls each processor's shutdown; one raising is reported."""
        calls: list[str] = []

        class Stoppable:
            name = "stoppable"

            def process(self, record: LogRecord) -> LogRecord:
                return record

            def shutdown(self) -> None:
                calls.append("stopped")
                raise RuntimeError("boom")

        c, _ = make_container(processors=[Stoppable()], redactors=[])
        assert c.shutdown(5)
        assert ["stopped"] == calls


class TestConcurrency:
    def test_many_threads_every_record_accounted(self, make_container: Any) -> None:
        """8 threads logging through a filter and an enricher: exact accounting."""

        class Odd:
            name = "drop-odd"
            kind = "filter"
            in_place = True

            def process(self, record: LogRecord) -> LogRecord | None:
                return None if record.attributes["i"] % 2 else record

        c, exporter = make_container(processors=[Odd(), Tagging("e", "enricher")], redactors=[])

        def produce() -> None:
            log = c.get_logger("t")
            for i in range(500):
                log.info("x", i=i)

        threads = [threading.Thread(target=produce) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        c.flush(10)
        stats = c.stats()
        assert (4000, 2000, 2000) == (
            stats["submitted"],
            stats["exported"],
            stats["dropped"]["filtered"],
        )
        assert invariant_holds(stats)
        assert 2000 == len(exporter.records)


@pytest.mark.parametrize("kind", ["filter", "enricher", "processor", "redactor"])
def test_kind_protocols_are_runtime_checkable(kind: str) -> None:
    """A class with kind and process satisfies the matching typing protocol."""
    from fapilog_otel import typing as t

    class Plugin:
        kind: ClassVar[str]

        def process(self, record: LogRecord) -> LogRecord:
            return record

    Plugin.kind = kind
    protocol = {"filter": t.Filter, "enricher": t.Enricher, "redactor": t.Redactor}.get(
        kind, t.Processor
    )
    assert isinstance(Plugin(), protocol)
