"""The tamper-evident audit trail and the SOX profile.

Log audit events with :func:`audit_event`; the ``audit_file`` exporter
(:class:`AuditFileExporter`, also added by ``FAPILOG_COMPLIANCE=sox``) appends them to a
trail of HMAC-chained JSON lines, and :func:`verify_trail` (``fapilog-otel audit verify``)
checks it.
"""

from __future__ import annotations

from fapilog_compliance.audit.events import aaudit_event, audit_event, is_audit_event
from fapilog_compliance.audit.exporter import AuditFileConfig, AuditFileExporter
from fapilog_compliance.audit.validator import AuditValidator
from fapilog_compliance.audit.verify import Problem, VerifyReport, verify_trail

__all__ = [
    "AuditFileConfig",
    "AuditFileExporter",
    "AuditValidator",
    "Problem",
    "VerifyReport",
    "aaudit_event",
    "audit_event",
    "is_audit_event",
    "verify_trail",
]
