"""An enricher written against fapilog-otel's own processor protocol.

Settings (``Settings(plugins={"template_enricher": {...}})`` or
``FAPILOG_PLUGINS__TEMPLATE_ENRICHER__<KEY>``) are validated by :class:`TemplateEnricherConfig`;
unknown keys are refused when the container is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from fapilog_otel import LogRecord
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["StaticAttributesEnricher", "TemplateEnricherConfig"]


class TemplateEnricherConfig(BaseModel):
    """The enricher's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str | None = Field(None, min_length=1)
    """Set as ``deployment.region`` on every record (``...__REGION=eu-west-1``)."""

    attributes: dict[str, str] = Field(default_factory=dict)
    """More attributes to set on every record."""

    overwrite: bool = False
    """Whether these values replace attributes of the same name given at the log call."""


def _under(added: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda attributes: {**added, **attributes}


def _over(added: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda attributes: {**attributes, **added}


class StaticAttributesEnricher:
    """Adds ``deployment.region`` and the configured attributes to every record.

    Args:
        config: The settings; the defaults (nothing to add) when omitted.
    """

    name: ClassVar[str] = "template_enricher"
    #: Runs with the enrichers, after filters and before redactors.
    kind: ClassVar[str] = "enricher"
    #: The plugin API major version this was written for.
    fapilog_api_version: ClassVar[int] = 1
    #: Validates ``Settings.plugins["template_enricher"]``; the loader passes the instance.
    config_model: ClassVar[type[BaseModel]] = TemplateEnricherConfig
    #: ``process`` changes a record with one assignment, so a failure cannot leave it half
    #: changed: the chain may skip copying the record first.
    in_place: ClassVar[bool] = True

    def __init__(self, config: TemplateEnricherConfig | None = None) -> None:
        config = config if config is not None else TemplateEnricherConfig()
        added: dict[str, Any] = dict(config.attributes)
        if config.region is not None:
            added["deployment.region"] = config.region
        self.added = added
        # Decided once here, so process() has no branch on the settings.
        self._merge = _over(added) if config.overwrite else _under(added)

    def process(self, record: LogRecord) -> LogRecord:
        """Return ``record`` with the configured attributes added."""
        record.attributes = self._merge(record.attributes)
        return record
