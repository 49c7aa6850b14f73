"""What the conformance kit is made of: sample records, call guards, failing proxies."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource

from fapilog_otel._lanes import exporter_name
from fapilog_otel.logger import Logger
from fapilog_otel.record import LogRecord, Scope, Severity

#: Threads that call a plugin at once in the concurrency checks, and calls per thread.
THREADS = 8
PER_THREAD = 200


class InjectedFailure(RuntimeError):
    """What the kit raises inside a plugin to check the failure is contained."""


def value_kinds() -> dict[str, Any]:
    """One value of every kind a record may carry, keyed by what it is.

    Nested containers, ``None``, integers beyond 64 bits, bytes, non-finite floats,
    unicode (a lone surrogate and a NUL included), empty values and a 1 MB string.
    """
    return {
        "str": "plain text",
        "empty_str": "",
        "unicode": "h\u00e9llo \u2713 \u65e5\u672c \U0001f389 nul:\x00 surrogate:\ud800",
        "huge_str": "x" * 1_000_000,
        "int": 42,
        "big_int": 2**70,
        "big_negative_int": -(2**63) - 1,
        "float": 1.5,
        "nan": float("nan"),
        "infinity": float("-inf"),
        "bool": True,
        "none": None,
        "bytes": b"\x00\xffbinary",
        "empty_bytes": b"",
        "list": [1, "two", None, 3.5, True, b"\x01"],
        "empty_list": [],
        "empty_dict": {},
        "nested": {"level1": {"level2": {"level3": [1, {"level4": None}, [b"\x02", 2**65]]}}},
        "long_list": list(range(10_000)),
    }


def make_record(body: Any = "conformance", attributes: dict[str, Any] | None = None) -> LogRecord:
    """A record as the worker hands it to processors and exporters (INFO, with a trace)."""
    now = time.time_ns()
    return LogRecord(
        timestamp=now,
        severity_number=Severity.INFO,
        severity_text="INFO",
        body=body,
        attributes=dict(attributes or {}),
        scope=Scope("conformance"),
        resource=Resource({"service.name": "conformance"}),
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        trace_flags=1,
    )


def sample_records() -> dict[str, LogRecord]:
    """Fresh records, named for what they hold: each value kind as an attribute and as
    the body, one with every kind at once, an event and one with no body."""
    kinds = value_kinds()
    records = {f"attribute {k}": make_record(f"attribute {k}", {k: v}) for k, v in kinds.items()}
    records.update({f"body {k}": make_record(v) for k, v in kinds.items()})
    records["every kind at once"] = make_record("every kind", kinds)
    records["no body"] = make_record(None)
    event = make_record(None, {"user.id": 7})
    event.event_name = "user.login"
    records["event"] = event
    return records


def log_every_kind(log: Logger) -> int:
    """Log each value kind as an attribute and as the body, and more; return the count."""
    kinds = value_kinds()
    for name, value in kinds.items():
        log.info(f"attribute {name}", **{name: value})
        log.warning(value)
    log.info("every kind", **kinds)
    log.event("user.login", user_id=7)
    try:
        raise InjectedFailure("an exception with a traceback")
    except InjectedFailure:
        log.exception("failed", **{"weird key \u2713": 1, "dotted.key": "v"})
    return 2 * len(kinds) + 3


def describe(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"


def require(condition: object, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def guarded(what: str, call: Callable[..., Any], *args: Any) -> Any:
    """Return ``call(*args)``; what it raises becomes an ``AssertionError`` saying ``what``."""
    try:
        return call(*args)
    except AssertionError:
        raise
    except BaseException as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from exc


def resolve(result: Any) -> Any:
    """The value of ``result``, awaiting it first when it is a coroutine or future."""
    if not inspect.isawaitable(result):
        return result

    async def wait(awaitable: Awaitable[Any]) -> Any:
        return await awaitable

    return asyncio.run(wait(result))


def in_threads(work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in ``THREADS`` threads started together; return what they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def run(index: int) -> None:
        try:
            barrier.wait(10.0)
            work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60.0)
    return errors


class FailingExporter:
    """An exporter whose ``export`` raises while ``failing`` is set, else delegates."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = exporter_name(inner)
        self.failing = True

    @staticmethod
    def wrapping(inner: Any) -> FailingExporter:
        """The failing proxy matching ``inner``: async when its ``export`` is a coroutine."""
        if inspect.iscoroutinefunction(getattr(inner, "export", None)):
            return FailingAsyncExporter(inner)
        return FailingExporter(inner)

    def export(self, batch: Sequence[LogRecord]) -> Any:
        if self.failing:
            raise InjectedFailure("the conformance kit's injected failure")
        return self.inner.export(batch)

    def force_flush(self, timeout_millis: int = 30000) -> Any:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self) -> Any:
        return self.inner.shutdown()


class FailingAsyncExporter(FailingExporter):
    async def export(self, batch: Sequence[LogRecord]) -> Any:
        if self.failing:
            raise InjectedFailure("the conformance kit's injected failure")
        return await self.inner.export(batch)


class FailingProcessor:
    """A processor of ``inner``'s kind whose ``process`` always raises."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = exporter_name(inner)
        self.kind = getattr(inner, "kind", "processor")

    def process(self, record: LogRecord) -> LogRecord | None:
        raise InjectedFailure("the conformance kit's injected failure")

    def shutdown(self) -> None:
        stop = getattr(self.inner, "shutdown", None)
        if callable(stop):
            stop()
