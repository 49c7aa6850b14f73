"""The Container's processor chain: order, filtering, failures that leave the record as it
was, replacement records, and processors scoped to their own container."""

# The project writes asserts as `expected == actual` (STYLE.md), which SIM300 calls Yoda.

from __future__ import annotations

from typing import Any

from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.record import LogRecord


class Tagger:
    """A processor that appends its tag to the 'path' attribute."""

    def __init__(self, tag: str) -> None:
        self.name = f"tag-{tag}"
        self.tag = tag

    def process(self, record: LogRecord) -> LogRecord:
        record.attributes["path"] = record.attributes.get("path", "") + self.tag
        return record


class DropIf:
    """A processor that drops records whose body is in ``bodies``."""

    name = "drop-if"

    def __init__(self, *bodies: str) -> None:
        self.bodies = set(bodies)
        self.seen: list[Any] = []

    def process(self, record: LogRecord) -> LogRecord | None:
        self.seen.append(record.body)
        return None if record.body in self.bodies else record


class Breaker:
    """A processor that changes the record in place and then raises."""

    name = "breaker"

    def process(self, record: LogRecord) -> LogRecord:
        record.attributes["broken"] = True
        record.attributes["path"] = "clobbered"
        record.body = "clobbered"
        raise RuntimeError("processor failed")


class Replacer:
    """A processor that returns a new record instead of changing the given one."""

    name = "replacer"

    def process(self, record: LogRecord) -> LogRecord:
        new = record.copy()
        new.body = f"replaced:{record.body}"
        return new


class TestProcessors:
    def test_processors_run_in_order_each_seeing_the_previous_change(
        self, make_container: Any
    ) -> None:
        """Processors run in the given order and each sees what the one before changed."""
        c, mem = make_container(processors=[Tagger("a"), Tagger("b"), Tagger("c")])
        c.get_logger("x").info("m")
        assert c.flush(5.0)
        assert "abc" == mem.records[0].attributes["path"]

    def test_returning_none_filters(self, make_container: Any) -> None:
        """A processor returning None drops the record (counted filtered); later ones skip it."""
        drop = DropIf("secret")
        after = DropIf()
        c, mem = make_container(processors=[drop, after])
        log = c.get_logger("x")
        log.info("public")
        log.info("secret")
        log.info("public2")
        c.flush(5.0)
        stats = c.stats()
        assert ["public", "public2"] == [r.body for r in mem.records]
        assert ["public", "public2"] == after.seen
        assert (3, 2, {"filtered": 1}) == (
            stats["submitted"],
            stats["exported"],
            {k: v for k, v in stats["dropped"].items() if v},
        )

    def test_filtering_is_not_reported_as_loss(self, make_container: Any) -> None:
        """Filtered records neither fail flush nor trigger a drop-report record."""
        c, mem = make_container(processors=[DropIf("m")], drop_report_interval=0.01)
        c.get_logger("x").info("m")
        assert True is c.flush(5.0)
        c.get_logger("x").info("other")
        assert True is c.flush(5.0)
        assert ["other"] == [r.body for r in mem.records]

    def test_raising_processor_leaves_the_record_as_it_was(self, make_container: Any) -> None:
        """A processor that changes the record and raises has its changes discarded."""
        c, mem = make_container(processors=[Tagger("a"), Breaker(), Tagger("b")])
        c.get_logger("x").info("m", k=1)
        assert c.flush(5.0)
        record = mem.records[0]
        assert ("m", {"k": 1, "path": "ab"}) == (record.body, record.attributes)

    def test_raising_processor_is_counted(self, make_container: Any) -> None:
        """Each failure of a processor is counted in processor_errors under its name."""
        c, mem = make_container(processors=[Breaker()])
        for _ in range(3):
            c.get_logger("x").info("m")
        c.flush(5.0)
        stats = c.stats()
        assert ({"breaker": 3}, 3, 3) == (
            stats["processor_errors"],
            stats["exported"],
            len(mem.records),
        )

    def test_processor_may_return_a_new_record(self, make_container: Any) -> None:
        """A processor may replace the record; the next one and the exporter see the new one."""
        c, mem = make_container(processors=[Replacer(), Tagger("z")])
        c.get_logger("x").info("m")
        assert c.flush(5.0)
        assert ("replaced:m", "z") == (mem.records[0].body, mem.records[0].attributes["path"])

    def test_processor_does_not_see_records_of_other_containers(self, make_container: Any) -> None:
        """A processor of one container sees only that container's records."""
        drop = DropIf()
        c1, _ = make_container(processors=[drop])
        c2, _ = make_container()
        c1.get_logger("x").info("one")
        c2.get_logger("x").info("two")
        assert c1.flush(5.0) and c2.flush(5.0)
        assert ["one"] == drop.seen

    def test_processor_runs_before_every_exporter(self, make_container: Any) -> None:
        """Both exporters receive the processed record."""
        m1, m2 = InMemoryExporter(), InMemoryExporter()
        c, _ = make_container(exporters=[m1, m2], processors=[Tagger("p")])
        c.get_logger("x").info("m")
        assert c.flush(5.0)
        assert ["p", "p"] == [m1.records[0].attributes["path"], m2.records[0].attributes["path"]]


class TestProcessorBaseException:
    def test_processor_raising_base_exception_does_not_stop_the_pipeline(
        self, make_container: Any
    ) -> None:
        """A processor raising SystemExit is treated like any failure; the worker survives."""

        class Exiting:
            name = "exiting"
            first = True

            def process(self, record: LogRecord) -> LogRecord:
                if self.first:
                    self.first = False
                    raise SystemExit(3)
                return record

        c, mem = make_container(processors=[Exiting()])
        c.get_logger("x").info("first")
        c.flush(2.0)
        c.get_logger("x").info("second")
        assert True is c.flush(2.0)
        assert ["first", "second"] == [r.body for r in mem.records]
        assert {"exiting": 1} == c.stats()["processor_errors"]
