"""The exporter's settings: a pydantic model, and where unset values come from.

Every setting may be given as a plugin setting (``Settings(plugins={"elasticsearch": {...}})``
or ``FAPILOG_PLUGINS__ELASTICSEARCH__<SETTING>``). The URL and the credentials left unset
there are read from the variables Elasticsearch users already set,
:data:`ENVIRONMENT_VARIABLES` (``ELASTICSEARCH_URL``, ``ELASTICSEARCH_API_KEY``,
``ELASTICSEARCH_USERNAME``, ``ELASTICSEARCH_PASSWORD``).
"""

from __future__ import annotations

import base64
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from fapilog_otel.errors import ConfigurationError
from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["DEFAULT_INDEX", "ENVIRONMENT_VARIABLES", "ElasticsearchConfig", "Resolved", "resolve"]

#: Settings read from the environment when not given as plugin settings.
ENVIRONMENT_VARIABLES: Final[Mapping[str, str]] = {
    "url": "ELASTICSEARCH_URL",
    "api_key": "ELASTICSEARCH_API_KEY",
    "username": "ELASTICSEARCH_USERNAME",
    "password": "ELASTICSEARCH_PASSWORD",
}

#: The index pattern used when neither ``index`` nor ``data_stream`` is set.
DEFAULT_INDEX: Final = "logs-fapilog-%Y.%m.%d"


class ElasticsearchConfig(BaseModel):
    """The ``elasticsearch`` exporter's settings (unknown keys are refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    """The cluster: ``https://host:9200``, or a path under a proxy (``https://host/es``);
    ``/_bulk`` is added. Default: ``$ELASTICSEARCH_URL``."""
    api_key: SecretStr | None = None
    """An API key, sent as ``Authorization: ApiKey <key>``: the base64 "encoded" form, or
    ``id:api_key`` (encoded here). Default: ``$ELASTICSEARCH_API_KEY``. Never shown."""
    username: str | None = None
    """The user of basic authentication. Default: ``$ELASTICSEARCH_USERNAME``."""
    password: SecretStr | None = None
    """The password of basic authentication. Default: ``$ELASTICSEARCH_PASSWORD``. Never
    shown."""
    index: str | None = None
    """The index, a ``strftime`` pattern applied to each record's time in UTC. Default:
    ``logs-fapilog-%Y.%m.%d`` (when ``data_stream`` is unset)."""
    data_stream: str | None = None
    """A data stream to append to instead (``op_type: create``), e.g. ``logs-app-default``."""
    dataset: str | None = None
    """``event.dataset`` of every document (a record's ``event.dataset`` attribute wins)."""
    attributes_prefix: str = Field("labels", min_length=1, pattern=r"^[^.\s]+$")
    """The object that attributes without an ECS name go under."""
    compression: Literal["gzip", "none"] = "gzip"
    """Gzip request bodies."""
    timeout_ms: float = Field(10_000.0, gt=0, le=3_600_000)
    """Longest time one batch may take to be delivered, retries included."""
    certificate: str | None = None
    """A CA bundle file trusted for an ``https`` URL (default: the system's CAs)."""


@dataclass(frozen=True)
class Resolved:
    """The settings with the environment applied, the URL split and the auth header built."""

    scheme: str
    hostname: str
    port: int
    bulk_path: str
    url: str
    authorization: str | None
    secrets: tuple[str, ...]
    config: ElasticsearchConfig


def resolve(config: ElasticsearchConfig, environ: Mapping[str, str] | None = None) -> Resolved:
    """``config`` with unset values taken from ``environ`` (default ``os.environ``).

    Raises:
        ConfigurationError: No URL, a URL that is not ``http(s)`` with a host, both an API
            key and a user, a user without a password, or both ``index`` and ``data_stream``.
    """
    env = os.environ if environ is None else environ

    def pick(key: str, given: str | None) -> str | None:
        return given if given else (env.get(ENVIRONMENT_VARIABLES[key]) or None)

    url = pick("url", config.url)
    api_key = pick("api_key", config.api_key.get_secret_value() if config.api_key else None)
    username = pick("username", config.username)
    password = pick("password", config.password.get_secret_value() if config.password else None)
    if not url:
        raise ConfigurationError(
            "exporter 'elasticsearch' needs a URL: set ELASTICSEARCH_URL or "
            "FAPILOG_PLUGINS__ELASTICSEARCH__URL"
        )
    if config.index and config.data_stream:
        raise ConfigurationError(
            "exporter 'elasticsearch': set either 'index' or 'data_stream', not both"
        )
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    shown = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"exporter 'elasticsearch' needs an http:// or https:// URL, got {shown!r}"
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ConfigurationError(f"exporter 'elasticsearch': invalid port in {shown!r}") from None
    if parts.username and not username:
        username = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
    authorization, secrets = _authorization(api_key, username, password)
    return Resolved(
        scheme=parts.scheme,
        hostname=parts.hostname,
        port=port,
        bulk_path=parts.path.rstrip("/") + "/_bulk",
        url=urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", "")),
        authorization=authorization,
        secrets=secrets,
        config=config,
    )


def _authorization(
    api_key: str | None, username: str | None, password: str | None
) -> tuple[str | None, tuple[str, ...]]:
    """The ``Authorization`` value and every form of the secrets to mask in messages."""
    if api_key and username:
        raise ConfigurationError(
            "exporter 'elasticsearch': give either an API key or a username and password, not both"
        )
    if api_key:
        encoded = base64.b64encode(api_key.encode()).decode() if ":" in api_key else api_key
        value = f"ApiKey {encoded}"
        secrets = {value, encoded, api_key, *api_key.split(":")[1:]}
    elif username:
        if not password:
            raise ConfigurationError(
                "exporter 'elasticsearch' has a username but no password: set "
                "ELASTICSEARCH_PASSWORD or FAPILOG_PLUGINS__ELASTICSEARCH__PASSWORD"
            )
        encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
        value = f"Basic {encoded}"
        secrets = {value, encoded, password}
    else:
        return None, ()
    return value, tuple(sorted((s for s in secrets if s), key=len, reverse=True))
