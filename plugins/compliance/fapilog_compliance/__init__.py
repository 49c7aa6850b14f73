"""Compliance profiles for fapilog-otel: PCI-DSS, HIPAA, GDPR and SOX.

Turn them on by name, ``FAPILOG_COMPLIANCE=pci,hipaa,gdpr,sox`` (or
``Settings(compliance=[...])``); see ``docs/compliance.md``. The processors live in
:mod:`fapilog_compliance.profiles`, the SOX audit trail in :mod:`fapilog_compliance.audit`.
"""

from __future__ import annotations

from fapilog_compliance.profile import Profile

__all__ = ["Profile"]
