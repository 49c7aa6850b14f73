"""What a compliance profile hands the container: its processors and its exporters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Profile"]


@dataclass(frozen=True)
class Profile:
    """One compliance profile, as a ``fapilog_otel.compliance`` entry point's factory
    returns it for a container's settings.

    Attributes:
        name: The profile's name (``pci``, ``hipaa``, ``gdpr``, ``sox``).
        processors: Run in the container's redactor stage, after its redactors
            (``redact_keys``, ``redact_values``), in this order.
        exporters: Added to the container's exporters.
    """

    name: str
    processors: tuple[Any, ...] = ()
    exporters: tuple[Any, ...] = ()
