"""Log calls never raise, whatever their arguments, and unusual inputs still log."""

from __future__ import annotations

from typing import Any

import fapilog_otel as fo
from fapilog_otel.record import LogRecord


def only(container: fo.Container, exporter: Any) -> LogRecord:
    """Flush and return the single record the exporter received."""
    assert container.flush(5.0)
    [record] = exporter.records
    return record


class TestNeverRaises:
    def test_event_with_unprintable_name_does_not_raise(self, make_container: Any) -> None:
        """event() with a name whose str() raises returns None and is accounted for."""

        class Unprintable:
            def __str__(self) -> str:
                raise RuntimeError("no str")

        c, _ = make_container()
        assert None is c.get_logger("t").event(Unprintable())  # type: ignore[arg-type]
        c.flush(5.0)
        assert 1 == c.stats()["submitted"]

    def test_log_with_unprintable_level_does_not_raise(self, make_container: Any) -> None:
        """log() with a level whose str() raises returns None and the record is still logged."""

        class Unprintable:
            def __str__(self) -> str:
                raise RuntimeError("no str")

        c, mem = make_container()
        assert None is c.get_logger("t").log(Unprintable(), "m")  # type: ignore[arg-type]
        c.flush(5.0)
        assert (1, ["m"]) == (c.stats()["submitted"], [r.body for r in mem.records])

    def test_str_proxy_message_is_frozen_to_plain_str(self, make_container: Any) -> None:
        """A message whose __class__ claims str (a proxy) is frozen to a real str at the call."""
        from unittest import mock

        proxy = mock.Mock(spec=str)
        c, mem = make_container()
        c.get_logger("t").info(proxy, value=proxy)
        record = only(c, mem)
        assert (str, str) == (type(record.body), type(record.attributes["value"]))

    def test_call_with_unprintable_object_does_not_raise(self, make_container: Any) -> None:
        """An attribute whose str() and repr() raise is logged without raising."""

        class Hostile:
            def __str__(self) -> str:
                raise RuntimeError("no str")

            __repr__ = __str__

        c, mem = make_container()
        c.get_logger("t").info("x", h=Hostile())
        record = only(c, mem)
        assert isinstance(record.attributes["h"], str)


class TestIntSubclassLevel:
    def test_int_subclass_level_becomes_a_plain_severity_number(self, make_container: Any) -> None:
        """log() with an int subclass level exports a plain int severity (no subclass leaks)."""

        class Hostile(int):
            def __int__(self) -> int:
                raise RuntimeError("no int")

            def __index__(self) -> int:
                raise RuntimeError("no index")

        c, mem = make_container()
        c.get_logger("t").log(Hostile(13), "m")
        assert c.flush(5.0)
        [record] = mem.records
        assert (int, 13, "WARNING") == (
            type(record.severity_number),
            record.severity_number,
            record.severity_text,
        )
