"""structlog events and loguru messages handed to one fapilog-otel container, with their
levels, bound values and exceptions. Run: ``python examples/structlog_and_loguru.py``
(needs ``pip install 'fapilog-otel[structlog,loguru]'``).
"""

from __future__ import annotations

import structlog
from loguru import logger

import fapilog_otel as fo
from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.integrations.loguru import add_sink
from fapilog_otel.integrations.structlog import FapilogForwarder

memory = InMemoryExporter()
container = fo.Container(fo.Settings(), exporters=[memory])

structlog.configure(
    processors=[structlog.contextvars.merge_contextvars, FapilogForwarder(container)]
)
structlog.get_logger("payments").bind(user_id=7).info("charge accepted", amount=12.5)

logger.remove()  # no stderr sink for this example
add_sink(container, level="INFO")
try:
    ratio = 1 / 0
except ZeroDivisionError:
    logger.bind(job="nightly").exception("report failed")

container.flush(5)
container.shutdown(5)
for record in memory.records:
    print(record.scope.name, record.severity_text, record.body, sorted(record.attributes))
structlog_record, loguru_record = memory.records
assert structlog_record.attributes["user_id"] == 7
assert loguru_record.attributes["exception.type"] == "ZeroDivisionError"
