"""The ``pci``, ``hipaa`` and ``gdpr`` profiles: the factories their entry points name.

The container calls each with its settings (``FAPILOG_COMPLIANCE=pci,hipaa,gdpr``) and
runs the processors of the :class:`~fapilog_compliance.profile.Profile` it gets in its
redactor stage, after ``redact_keys`` and ``redact_values``. A profile's settings are
``Settings.plugins[<profile name>]`` (``FAPILOG_PLUGINS__GDPR__KEYS=user_id``).
"""

from __future__ import annotations

from fapilog_otel.processors.redact import DEFAULT_MASK
from fapilog_otel.settings import Settings

from fapilog_compliance._config import profile_config
from fapilog_compliance.gdpr import GdprConfig, Pseudonymiser
from fapilog_compliance.hipaa import HipaaConfig, HipaaRedactor
from fapilog_compliance.pci import PciConfig, PciRedactor
from fapilog_compliance.profile import Profile

__all__ = ["gdpr", "hipaa", "pci"]


def pci(settings: Settings) -> Profile:
    """The PCI-DSS profile: a :class:`~fapilog_compliance.pci.PciRedactor`.

    Raises:
        ConfigurationError: Unknown or invalid settings under ``plugins["pci"]``.
    """
    config = profile_config(PciConfig, "pci", settings)
    earlier = settings.plugins.get("redact_values") or {}
    mask = earlier.get("mask", DEFAULT_MASK)
    masks = (mask,) if isinstance(mask, str) and mask else (DEFAULT_MASK,)
    return Profile(name="pci", processors=(PciRedactor(config, earlier_masks=masks),))


def hipaa(settings: Settings) -> Profile:
    """The HIPAA profile: a :class:`~fapilog_compliance.hipaa.HipaaRedactor`.

    Raises:
        ConfigurationError: Unknown or invalid settings under ``plugins["hipaa"]``.
    """
    config = profile_config(HipaaConfig, "hipaa", settings)
    return Profile(name="hipaa", processors=(HipaaRedactor(config),))


def gdpr(settings: Settings) -> Profile:
    """The GDPR profile: a :class:`~fapilog_compliance.gdpr.Pseudonymiser`.

    Raises:
        ConfigurationError: No pseudonymisation key (``FAPILOG_PSEUDONYM_KEY``), a key
            shorter than 16 bytes, or unknown or invalid settings under ``plugins["gdpr"]``.
    """
    config = profile_config(GdprConfig, "gdpr", settings)
    return Profile(name="gdpr", processors=(Pseudonymiser(config),))
