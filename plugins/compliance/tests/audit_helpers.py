"""Shared pieces of the audit trail tests: keys, records, trails, and ways to tamper."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fapilog_otel import LogRecord, Scope
from opentelemetry.sdk.resources import Resource

from fapilog_compliance.audit import _files
from fapilog_compliance.audit.chain import encode_line
from fapilog_compliance.audit.exporter import AuditFileConfig, AuditFileExporter

KEY = "audit-test-key-0123456789abcdef"
WRONG_KEY = "another-key-that-is-long-enough"
RESOURCE = Resource({"service.name": "ledger"})
SCOPE = Scope("audit-tests")


def config(path: Path, **settings: Any) -> AuditFileConfig:
    """An exporter config for a trail at ``path`` with the test key."""
    return AuditFileConfig(path=path, key=KEY, **settings)


def exporter(path: Path, **settings: Any) -> AuditFileExporter:
    """An exporter of a trail at ``path``, without diagnostics."""
    return AuditFileExporter(config(path, **settings), diagnostics=False)


def audit_record(n: int, **attributes: Any) -> LogRecord:
    """The ``n``-th audit event of a test: alice approves payment ``n``."""
    return LogRecord(
        timestamp=1_700_000_000_000_000_000 + n,
        severity_number=9,
        severity_text="INFO",
        event_name="audit.payment.approve",
        attributes={
            "audit.actor": "alice",
            "audit.action": "payment.approve",
            "audit.outcome": "success",
            "payment": n,
            **attributes,
        },
        scope=SCOPE,
        resource=RESOURCE,
    )


def plain_record(body: str = "not an audit event") -> LogRecord:
    """A record that is not an audit event."""
    return LogRecord(timestamp=1, body=body, scope=SCOPE, resource=RESOURCE)


def write_trail(path: Path, events: int, *, batch: int = 3, **settings: Any) -> Path:
    """Write ``events`` audit events in batches through one exporter and shut it down."""
    trail = exporter(path, **settings)
    for start in range(0, events, batch):
        trail.export([audit_record(n) for n in range(start, min(events, start + batch))])
    trail.shutdown()
    return path


def trail_files(path: Path) -> list[Path]:
    """The trail's files, oldest first, the live file last."""
    rotated = [_files.rotated_path(path, i) for i in _files.rotated_indexes(path)]
    return [*rotated, path] if path.exists() else rotated


def read_lines(path: Path) -> list[bytes]:
    """The file's lines, without newlines."""
    return path.read_bytes().splitlines()


def write_lines(path: Path, lines: Sequence[bytes]) -> None:
    """Replace the file's content with ``lines``."""
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def copy_trail(path: Path, directory: Path) -> Path:
    """Copy the trail's files into ``directory``; return the copy's live path."""
    directory.mkdir(parents=True, exist_ok=True)
    for file in trail_files(path):
        shutil.copy2(file, directory / file.name)
    return directory / path.name


def modified(line: bytes) -> bytes:
    """The line with one character of its time changed (its MAC left as it was)."""
    changed = line.replace(b'"time":"2', b'"time":"1', 1)
    assert changed != line
    return changed


def forged(like: bytes, key: str = WRONG_KEY) -> bytes:
    """A plausible line MACed with ``key``: what someone without the trail's key can make."""
    import orjson

    fields = orjson.loads(like[: like.rfind(b',"mac":"')] + b"}")
    fields["attributes"] = {"audit.actor": "mallory", "audit.action": "payment.approve"}
    return encode_line(key.encode(), fields)[0].rstrip(b"\n")


def clean_env(**variables: str) -> dict[str, str]:
    """The test process's environment without FAPILOG_* and OTEL_* variables, plus ``variables``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("OTEL_", "FAPILOG_"))
    }
    return {**env, **variables}


def console_script() -> Path:
    """The ``fapilog-otel`` console script installed beside this interpreter."""
    return Path(sys.executable).parent / "fapilog-otel"
