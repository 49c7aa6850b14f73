"""Fixtures for integration tests: OTLP receivers and a rotel collector in front of one.

The receivers come from ``tests/otlp_receivers.py``. Every fixture is function-scoped so no
test sees another's requests or scripted replies: a receiver starts in about a millisecond
and rotel in about 10 ms, so sharing them would buy nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from otlp_receivers import GrpcReceiver, HttpReceiver, RotelCollector, free_port


@pytest.fixture
def unused_port() -> int:
    """A TCP port on 127.0.0.1 that was free when the test started."""
    return free_port()


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    """A started OTLP/HTTP receiver, stopped when the test ends."""
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def grpc_receiver() -> Iterator[GrpcReceiver]:
    """A started OTLP/gRPC receiver, stopped when the test ends."""
    with GrpcReceiver() as receiver:
        yield receiver


@pytest.fixture
def collector() -> Iterator[tuple[RotelCollector, GrpcReceiver]]:
    """``(rotel, sink)``: a rotel collector forwarding OTLP/gRPC to a ``GrpcReceiver``."""
    with GrpcReceiver() as sink, RotelCollector(sink.endpoint) as rotel:
        yield rotel, sink
