"""The exporter's settings: a pydantic model, and where unset values come from.

Every setting may be given as a plugin setting (``Settings(plugins={"splunk_hec": {...}})``
or ``FAPILOG_PLUGINS__SPLUNK_HEC__<SETTING>``). The connection and metadata settings left
unset there are read from the variables Splunk's own OpenTelemetry distribution uses,
:data:`ENVIRONMENT_VARIABLES` (``SPLUNK_HEC_URL``, ``SPLUNK_HEC_TOKEN``...).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from fapilog_otel.errors import ConfigurationError
from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["ENVIRONMENT_VARIABLES", "ResolvedOptions", "SplunkHecConfig", "resolve"]

#: Settings read from the environment when not given as plugin settings.
ENVIRONMENT_VARIABLES: Final[Mapping[str, str]] = {
    "url": "SPLUNK_HEC_URL",
    "token": "SPLUNK_HEC_TOKEN",
    "index": "SPLUNK_HEC_INDEX",
    "source": "SPLUNK_HEC_SOURCE",
    "sourcetype": "SPLUNK_HEC_SOURCETYPE",
    "host": "SPLUNK_HEC_HOST",
}

EVENT_PATH: Final = "/services/collector/event"
_COLLECTOR_PATH: Final = "/services/collector"


class SplunkHecConfig(BaseModel):
    """The ``splunk_hec`` exporter's settings (unknown keys are refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    """The HEC endpoint: ``https://splunk:8088`` (the event path is added), or a full
    ``.../services/collector/event`` URL. Default: ``$SPLUNK_HEC_URL``."""
    token: SecretStr | None = None
    """The HEC token, sent as ``Authorization: Splunk <token>``. Default:
    ``$SPLUNK_HEC_TOKEN``. Never shown in reprs or diagnostics."""
    index: str | None = None
    """The index of events without a ``com.splunk.index`` attribute. Default:
    ``$SPLUNK_HEC_INDEX``, else none (the token's default index)."""
    source: str | None = None
    """The source of events without ``com.splunk.source``. Default: ``$SPLUNK_HEC_SOURCE``."""
    sourcetype: str | None = None
    """The sourcetype of events without ``com.splunk.sourcetype``. Default:
    ``$SPLUNK_HEC_SOURCETYPE``."""
    host: str | None = None
    """The host of events without a ``host.name`` attribute (record or resource). Default:
    ``$SPLUNK_HEC_HOST``, else none (Splunk then records the sender's host)."""
    compression: Literal["gzip", "none"] = "gzip"
    """Gzip request bodies."""
    timeout_ms: float = Field(10_000.0, gt=0, le=3_600_000)
    """Longest time one batch may take to be delivered, retries included."""
    ack: bool = False
    """Indexer acknowledgment: wait until Splunk says each batch was indexed (the token must
    have acknowledgment turned on)."""
    ack_timeout_ms: float = Field(15_000.0, gt=0, le=3_600_000)
    """With ``ack``: longest wait for a batch's acknowledgment; unacknowledged batches
    count as failed (``unacknowledged``)."""
    ack_poll_interval_ms: float = Field(1_000.0, gt=0, le=600_000)
    """With ``ack``: the wait between two queries of ``/services/collector/ack``."""
    certificate: str | None = None
    """A CA bundle file trusted for an ``https`` URL (default: the system's CAs)."""


@dataclass(frozen=True)
class ResolvedOptions:
    """The settings with the environment applied and the URL split into its parts."""

    scheme: str
    hostname: str
    port: int
    event_path: str
    ack_path: str
    url: str
    token: str
    index: str | None
    source: str | None
    sourcetype: str | None
    host: str | None
    config: SplunkHecConfig


def resolve(config: SplunkHecConfig, environ: Mapping[str, str] | None = None) -> ResolvedOptions:
    """``config`` with unset values taken from ``environ`` (default ``os.environ``).

    Raises:
        ConfigurationError: No URL or no token, or a URL that is not ``http(s)`` with a host.
    """
    env = os.environ if environ is None else environ
    given = {
        "url": config.url,
        "token": config.token.get_secret_value() if config.token is not None else None,
        "index": config.index,
        "source": config.source,
        "sourcetype": config.sourcetype,
        "host": config.host,
    }
    values = {
        key: value if value else (env.get(variable) or None)
        for key, variable in ENVIRONMENT_VARIABLES.items()
        for value in (given[key],)
    }
    url, token = values["url"], values["token"]
    if not url:
        raise ConfigurationError(
            "exporter 'splunk_hec' needs a URL: set SPLUNK_HEC_URL or "
            "FAPILOG_PLUGINS__SPLUNK_HEC__URL"
        )
    if not token:
        raise ConfigurationError(
            "exporter 'splunk_hec' needs a token: set SPLUNK_HEC_TOKEN or "
            "FAPILOG_PLUGINS__SPLUNK_HEC__TOKEN"
        )
    parts = urllib.parse.urlsplit(url)
    shown = urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", "")
    )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"exporter 'splunk_hec' needs an http:// or https:// URL, got {shown!r}"
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ConfigurationError(f"exporter 'splunk_hec': invalid port in {shown!r}") from None
    event_path, ack_path = endpoint_paths(parts.path)
    return ResolvedOptions(
        scheme=parts.scheme,
        hostname=parts.hostname,
        port=port,
        event_path=event_path,
        ack_path=ack_path,
        url=urllib.parse.urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], "", "", "")),
        token=token,
        index=values["index"],
        source=values["source"],
        sourcetype=values["sourcetype"],
        host=values["host"],
        config=config,
    )


def endpoint_paths(path: str) -> tuple[str, str]:
    """The event and acknowledgment paths for the path of a configured URL.

    ``""`` and ``/`` mean Splunk's own paths; a path ending in ``/services/collector`` gets
    ``/event`` added; any other path is the event path as given, and the acknowledgment path
    is its sibling ``ack``.
    """
    trimmed = path.rstrip("/")
    if not trimmed:
        return EVENT_PATH, _COLLECTOR_PATH + "/ack"
    if trimmed.endswith(_COLLECTOR_PATH):
        return trimmed + "/event", trimmed + "/ack"
    parent = trimmed.rpartition("/")[0]
    return trimmed, parent + "/ack"
