"""Fixtures shared by every test kind (unit, integration, property)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from fapilog_otel.container import Container
from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.settings import Settings

#: What the ``make_container`` fixture returns: the container and its first exporter.
ContainerFactory = Callable[..., tuple[Container, Any]]


@pytest.fixture
def make_container() -> Iterator[ContainerFactory]:
    """A factory of containers that are all shut down (briefly) when the test ends.

    ``make_container(exporters=None, processors=None, **settings)`` returns
    ``(container, first_exporter)``; without ``exporters`` a fresh ``InMemoryExporter`` is
    used. ``diagnostics`` defaults to False so expected failures do not write to stderr.
    """
    made: list[Container] = []

    def factory(
        *,
        exporters: Sequence[Any] | None = None,
        processors: Sequence[Any] | None = None,
        **settings: Any,
    ) -> tuple[Container, Any]:
        settings.setdefault("diagnostics", False)
        if exporters is None:
            exporters = [InMemoryExporter()]
        container = Container(Settings(**settings), exporters=exporters, processors=processors)
        made.append(container)
        return container, (exporters[0] if exporters else None)

    yield factory
    for container in made:
        container.shutdown(timeout=0.5)
