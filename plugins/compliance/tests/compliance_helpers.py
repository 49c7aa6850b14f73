"""Shared pieces of the compliance profile tests: keys, records, containers, and the search
for data that reached an exporter in clear."""

from __future__ import annotations

import importlib
import json
import logging
import string
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import fapilog_otel as fo
from fapilog_otel import stdlib
from fapilog_otel.exporters import InMemoryExporter
from fapilog_otel.record import LogRecord, Scope
from opentelemetry.sdk.resources import Resource

#: The repository's root (``plugins/compliance/tests/`` is three levels down).
ROOT = Path(__file__).resolve().parents[3]

KEY = "compliance-test-key-0123456789"
OTHER_KEY = "another-compliance-key-987654321"

#: Every road a value can take into a record, as :func:`send` names them.
ROADS = (
    "message",
    "message_in_text",
    "keyword",
    "nested",
    "bound",
    "context",
    "exception",
    "stdlib_message",
    "stdlib_extra",
    "sdk_provider",
)

#: What :func:`leaks` removes before comparing: the separators written inside numbers.
_SEPARATORS = str.maketrans("", "", " .-()")

#: Words around a value in text: no digit, no ``@``, nothing that joins a number.
PROSE = string.ascii_letters + " ,;!?'\""


def record(body: Any = "event", **attributes: Any) -> LogRecord:
    """A record as the worker hands it to processors."""
    return LogRecord(
        timestamp=1_700_000_000_000_000_000,
        severity_number=9,
        severity_text="INFO",
        body=body,
        attributes=attributes,
        scope=Scope("compliance-tests"),
        resource=Resource({"service.name": "compliance-tests"}),
    )


def strings(value: Any) -> Iterator[str]:
    """Every scalar nested in ``value`` as text (numbers as their digits)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
    elif value is not None:
        yield str(value)


def serialized(records: list[LogRecord]) -> str:
    """The bodies and attributes of ``records`` as one JSON text (numbers as digits)."""
    return json.dumps([{"body": r.body, "attributes": r.attributes} for r in records], default=str)


def leaks(content: str, probes: list[str]) -> list[str]:
    """The probes found in ``content``, as written or with separators removed from both
    (in any case)."""
    lowered = content.lower()
    squeezed = lowered.translate(_SEPARATORS)
    found = []
    for probe in probes:
        bare = probe.lower().translate(_SEPARATORS)
        if probe.lower() in lowered or (len(bare) >= 7 and bare in squeezed):
            found.append(probe)
    return found


def send(road: str, value: Any, container: fo.Container, bridged: logging.Logger) -> None:
    """Log ``value`` through ``road`` (see :data:`ROADS`)."""
    log = container.get_logger("compliance")
    if road == "message":
        log.info(value)
    elif road == "message_in_text":
        log.info(f"while charging it we saw {value}, then stopped")
    elif road == "keyword":
        log.info("event", detail=value)
    elif road == "nested":
        log.info("event", payload={"items": [{"note": value}, (value,)]})
    elif road == "bound":
        log.bind(note=value).info("event")
    elif road == "context":
        with fo.bound_contextvars(note=value):
            log.info("event")
    elif road == "exception":
        try:
            raise RuntimeError(f"failed on {value}")
        except RuntimeError:
            log.exception("failed")
    elif road == "stdlib_message":
        bridged.warning("saw %s", value)
    elif road == "stdlib_extra":
        bridged.warning("saw", extra={"note": value})
    else:
        container.logger_provider.get_logger("sdk").emit(body=value, attributes={"n": value})


def pipeline(
    settings: fo.Settings, *, in_memory: bool = True
) -> tuple[fo.Container, InMemoryExporter, logging.Logger]:
    """A container with ``settings``, exporting into memory (also to the exporters the
    settings name, unless ``in_memory``), and a stdlib logger feeding it (undo with
    :func:`close`)."""
    exporter = InMemoryExporter()
    container = fo.Container(settings, exporters=[exporter] if in_memory else None)
    bridged = logging.getLogger(f"compliance.{id(container)}")
    bridged.propagate = False
    bridged.setLevel(logging.INFO)
    bridged.addHandler(stdlib.FapilogHandler(container=container))
    return container, exporter, bridged


def close(container: fo.Container, bridged: logging.Logger) -> None:
    """Shut ``container`` down and detach the stdlib logger."""
    for handler in list(bridged.handlers):
        bridged.removeHandler(handler)
    container.shutdown(5)


def exported(settings: fo.Settings, log: Callable[[fo.Logger], None]) -> list[LogRecord]:
    """The records a container with ``settings`` exports when ``log`` logs through it."""
    exporter = InMemoryExporter()
    with fo.Container(settings, exporters=[exporter]) as container:
        log(container.get_logger("compliance"))
    return list(exporter.records)


def otlp_receivers() -> ModuleType:
    """The repository's OTLP test receivers (``tests/otlp_receivers.py``)."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    return importlib.import_module("otlp_receivers")
