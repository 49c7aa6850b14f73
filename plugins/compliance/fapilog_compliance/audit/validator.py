"""The SOX profile's check that each audit event says who did what, and how it ended."""

from __future__ import annotations

import threading
from typing import ClassVar

from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel.record import LogRecord

from fapilog_compliance.audit.events import INVALID, REQUIRED, is_audit_event

__all__ = ["AuditValidator"]


class AuditValidator:
    """Marks audit events missing ``audit.actor``, ``audit.action`` or ``audit.outcome``.

    A redactor (``kind = "redactor"``), so it runs in the last stage, after the redactors
    named before it: what it checks, and what reaches the trail, is already redacted. An
    audit event missing a required attribute (absent, ``None`` or a blank string) is never dropped:
    it gets the attribute ``audit.invalid``, the list of the missing names, is counted in
    :attr:`invalid` and goes on to the trail. The first one is reported on the diagnostics
    channel. Other records go through untouched.

    Args:
        diagnostics: Whether the warning is written to stderr.
    """

    name: ClassVar[str] = "audit_validator"
    kind: ClassVar[str] = "redactor"
    in_place: ClassVar[bool] = True
    fapilog_api_version: ClassVar[int] = 1

    def __init__(self, *, diagnostics: bool = True) -> None:
        self._diagnostics = Diagnostics(enabled=diagnostics)
        self._count_lock = threading.Lock()
        #: Audit events marked invalid so far.
        self.invalid = 0

    def process(self, record: LogRecord) -> LogRecord:
        """Mark ``record`` when it is an audit event missing a required attribute."""
        if not is_audit_event(record):
            return record
        attributes = record.attributes
        missing = tuple(name for name in REQUIRED if _absent(attributes.get(name)))
        if not missing:
            return record
        record.attributes = {**attributes, INVALID: missing}
        with self._count_lock:
            self.invalid += 1
            first = self.invalid == 1
        if first:
            self._diagnostics.warn(
                "audit.invalid",
                f"an audit event ({record.event_name or 'marked audit.event'}) lacks "
                f"{', '.join(missing)}: it is written to the trail marked {INVALID}; later "
                "ones are only counted (stats: exporters.audit_file.outcomes.invalid)",
            )
        return record


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
