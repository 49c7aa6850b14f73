"""The fapilog-otel quickstart: run it with ``make demo``.

It shows structured attributes, bound context, an exception, records inside an OTel span
(each carrying the span's trace and span ids), the stdlib ``logging`` bridge, an isolated
container, and the stats at the end. With no configuration, output goes to the console:
pretty on a terminal, JSON lines otherwise (``FAPILOG_CONSOLE__FORMAT=json`` forces JSON).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

import fapilog_otel as fo
from fapilog_otel import stdlib
from fapilog_otel.testing import InMemoryExporter


def totals(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The accounting part of a ``stats()`` snapshot (it also has per-exporter and
    per-processor counts and histograms)."""
    return {key: stats[key] for key in ("submitted", "exported", "failed", "queued", "dropped")}


def sync_part() -> str:
    """Plain calls, bound context, an event, an exception and a span; returns the span's ids."""
    log = fo.get_logger("checkout")
    log.info("order placed", order_id=123, amount=9.99, vip=True)
    log.bind(request_id="r-1").warning("slow", ms=812)
    log.event("user.login", user_id=7)
    try:
        {}["missing"]
    except KeyError:
        log.exception("payment failed", order_id=123)

    tracer = TracerProvider().get_tracer("quickstart")
    with tracer.start_as_current_span("handle-request") as span:
        with fo.bound_contextvars(request_id="r-2"):
            log.info("inside a span", step="charge")
        ids = span.get_span_context()
    return f"# span trace_id={ids.trace_id:032x} span_id={ids.span_id:016x}"


def stdlib_part() -> None:
    """Records of the standard ``logging`` module flow into the same pipeline."""
    handler = stdlib.install(level=logging.INFO)
    logging.getLogger("third.party").warning("disk %s%% full", 91, extra={"mount": "/var"})
    stdlib.uninstall(handler)


async def async_part() -> None:
    """The async logger awaits only for backpressure, never for I/O."""
    alog = fo.get_async_logger("worker")
    await asyncio.gather(*(alog.info("job done", job=i) for i in range(3)))


def isolated_container() -> str:
    """A container of its own: own resource, exporters, queue, worker and stats."""
    memory = InMemoryExporter()
    with fo.Container(fo.Settings(service_name="billing"), exporters=[memory]) as billing:
        billing.get_logger("invoices").info("invoice sent", invoice_id=42)
    return (
        f"# billing container exported {len(memory.records)} record(s): {totals(billing.stats())}"
    )


def main() -> None:
    """Run every part, flush, then print notes and the default container's stats.

    The notes are printed only after the flush: the console exporter writes from the
    worker's thread, and a line printed meanwhile by the application could land in the
    middle of the log output (as with any logging handler writing from another thread).
    """
    notes = [sync_part()]
    stdlib_part()
    asyncio.run(async_part())
    notes.append(isolated_container())
    delivered = fo.flush(timeout=5.0)
    for note in notes:
        print(note)
    print(f"# flushed: {delivered}")
    print(f"# stats: {totals(fo.stats())}")


if __name__ == "__main__":
    main()
