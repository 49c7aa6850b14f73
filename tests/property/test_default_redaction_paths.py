"""With default settings no generated secret reaches an exporter, whatever road it takes.

The same secrets as ``test_redaction`` go in through every entry of a container with
default settings: keyword attributes, nested values, the message, logger-bound and
context-bound attributes, an exception's message, the stdlib ``logging`` bridge and the
container's OTel SDK ``LoggerProvider``. The exporter must never see the secret part.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_redaction import secrets_in_context, strings

import fapilog_otel as fo
from fapilog_otel import stdlib
from fapilog_otel.exporters import InMemoryExporter

pytestmark = pytest.mark.property

ROADS = [
    "keyword",
    "nested",
    "message",
    "bound",
    "context",
    "exception",
    "stdlib_message",
    "stdlib_extra",
    "sdk_provider",
]


@pytest.fixture(scope="module")
def pipeline() -> Iterator[tuple[fo.Container, InMemoryExporter, logging.Logger]]:
    """One container with default settings (redaction on) and its in-memory exporter."""
    exporter = InMemoryExporter()
    container = fo.Container(fo.Settings(diagnostics=False), exporters=[exporter])
    bridged = logging.getLogger("redaction.paths")
    bridged.propagate = False
    bridged.setLevel(logging.INFO)
    handler = stdlib.FapilogHandler(container=container)
    bridged.addHandler(handler)
    yield container, exporter, bridged
    bridged.removeHandler(handler)
    container.shutdown(5)


def send(road: str, value: str, container: fo.Container, bridged: logging.Logger) -> None:
    """Log ``value`` through ``road``."""
    log = container.get_logger("paths")
    if road == "keyword":
        log.info("event", detail=value)
    elif road == "nested":
        log.info("event", payload={"items": [{"note": value}]})
    elif road == "message":
        log.info(value)
    elif road == "bound":
        log.bind(note=value).info("event")
    elif road == "context":
        with fo.bound_contextvars(note=value):
            log.info("event")
    elif road == "exception":
        try:
            raise RuntimeError(value)
        except RuntimeError:
            log.exception("failed")
    elif road == "stdlib_message":
        bridged.warning("saw %s", value)
    elif road == "stdlib_extra":
        bridged.warning("saw", extra={"note": value})
    else:
        container.logger_provider.get_logger("sdk").emit(body=value, attributes={"n": value})


class TestEveryRoad:
    @settings(
        deadline=None,
        max_examples=150,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(secrets_in_context(), st.sampled_from(ROADS))
    def test_secret_never_reaches_the_exporter(
        self,
        pipeline: tuple[fo.Container, InMemoryExporter, logging.Logger],
        case: tuple[str, str, str, str],
        road: str,
    ) -> None:
        """The secret part is in no string of any exported record."""
        container, exporter, bridged = pipeline
        kind, _secret, probe, in_text = case
        exporter.clear()
        send(road, in_text, container, bridged)
        assert container.flush(5)
        records = list(exporter.records)
        assert records, "the record was exported"
        leaked: list[Any] = [
            s
            for record in records
            for s in (*strings(record.body), *strings(record.attributes))
            if probe in s
        ]
        assert [] == leaked, f"{kind} reached the exporter through {road}"
