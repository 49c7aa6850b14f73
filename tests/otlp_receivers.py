"""OTLP log receivers for tests: real decoding, scripted misbehaviour, and a real collector.

``HttpReceiver`` and ``GrpcReceiver`` decode every request with the official
``opentelemetry-proto`` classes, record it, and answer from a script of replies so a test
can make the server fail on purpose (error statuses, Retry-After, RetryInfo, partial
success, delays, dropped connections, being down). ``RotelCollector`` runs the rotel
collector binary in front of a ``GrpcReceiver`` sink.

This module gathers the public names of ``otlp_http_receiver``, ``otlp_grpc_receiver``,
``rotel_collector`` and their shared core ``_otlp_receiver_base``. Tests import it as
``import otlp_receivers``: pytest puts ``tests/`` on ``sys.path`` because
``tests/conftest.py`` lives in a folder without ``__init__.py``.
"""

from __future__ import annotations

from _otlp_receiver_base import (
    JSON,
    PROTOBUF,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
    FlatRecord,
    ReceivedT,
    ReplyT,
    attributes,
    decode_otlp_json,
    flatten,
    free_port,
    python_value,
)
from otlp_grpc_receiver import (
    STATUS_DETAILS_KEY,
    GrpcReceived,
    GrpcReceiver,
    GrpcReply,
    rich_status,
)
from otlp_http_receiver import HttpReceiver, Received, Reply
from rotel_collector import RotelCollector, rotel_binary

__all__ = [
    "JSON",
    "PROTOBUF",
    "STATUS_DETAILS_KEY",
    "ExportLogsServiceRequest",
    "ExportLogsServiceResponse",
    "FlatRecord",
    "GrpcReceived",
    "GrpcReceiver",
    "GrpcReply",
    "HttpReceiver",
    "Received",
    "ReceivedT",
    "Reply",
    "ReplyT",
    "RotelCollector",
    "attributes",
    "decode_otlp_json",
    "flatten",
    "free_port",
    "python_value",
    "rich_status",
    "rotel_binary",
]
