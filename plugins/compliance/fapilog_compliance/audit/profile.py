"""The SOX compliance profile: the audit trail and the check of its events.

``FAPILOG_COMPLIANCE=sox`` (or ``Settings(compliance=["sox"])``) adds, to the container:

* :class:`~fapilog_compliance.audit.validator.AuditValidator`, in the redactor stage after
  the container's redactors, so audit events are redacted before they are checked and
  written;
* :class:`~fapilog_compliance.audit.exporter.AuditFileExporter`, configured from
  ``Settings.plugins["audit_file"]`` over ``FAPILOG_AUDIT_PATH`` and ``FAPILOG_AUDIT_KEY``
  (unless the settings already name the ``audit_file`` exporter, which is then the trail).
"""

from __future__ import annotations

from typing import Any

from fapilog_otel.errors import ConfigurationError
from fapilog_otel.settings import Settings
from pydantic import ValidationError

from fapilog_compliance.audit.exporter import AuditFileConfig, AuditFileExporter
from fapilog_compliance.audit.validator import AuditValidator
from fapilog_compliance.profile import Profile

__all__ = ["audit_file_config", "sox"]


def audit_file_config(settings: Settings) -> AuditFileConfig:
    """The audit trail's settings: ``settings.plugins["audit_file"]``, then the variables.

    Raises:
        ConfigurationError: Unknown or invalid settings.
    """
    given: dict[str, Any] = settings.plugins.get(AuditFileExporter.name) or {}
    try:
        return AuditFileConfig.model_validate(given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigurationError(
            f"invalid settings of the audit trail (FAPILOG_PLUGINS__AUDIT_FILE__*): {problems}"
        ) from None


def sox(settings: Settings) -> Profile:
    """The ``sox`` profile for a container with ``settings``.

    Raises:
        ConfigurationError: The audit trail has no path or key, or invalid settings.
    """
    validator = AuditValidator(diagnostics=settings.diagnostics)
    if AuditFileExporter.name in settings.exporter_names:
        return Profile(name="sox", processors=(validator,))
    exporter = AuditFileExporter(audit_file_config(settings), diagnostics=settings.diagnostics)
    return Profile(name="sox", processors=(validator,), exporters=(exporter,))
