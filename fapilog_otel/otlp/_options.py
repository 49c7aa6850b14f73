"""Resolving the OTLP exporter's options: arguments over ``Settings`` over the environment.

Endpoints follow the specification: the per-signal endpoint is used verbatim; the base
endpoint gets ``/v1/logs`` appended to its path over HTTP; with neither, the defaults are
``http://localhost:4318/v1/logs`` (HTTP) and ``localhost:4317`` (gRPC).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from pydantic import ValidationError

from fapilog_otel.errors import ConfigurationError
from fapilog_otel.settings import OTLPSettings, Settings

DEFAULT_HTTP_ENDPOINT = "http://localhost:4318"
DEFAULT_GRPC_ENDPOINT = "http://localhost:4317"


def resolve_options(given: dict[str, Any], settings: OTLPSettings | None) -> OTLPSettings:
    """Merge constructor arguments (``None`` means not given) over ``settings``.

    Without ``settings``, the environment's (``Settings().otlp``) are the base.

    Raises:
        ConfigurationError: An argument is invalid.
    """
    base = settings if settings is not None else Settings().otlp
    chosen = {key: value for key, value in given.items() if value is not None}
    if not chosen:
        return base
    try:
        return OTLPSettings.model_validate({**base.model_dump(), **chosen})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg')}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid OTLP exporter option: {problems}") from None


def http_url(options: OTLPSettings) -> str:
    """The URL requests are POSTed to."""
    if options.endpoint:
        parts = urllib.parse.urlsplit(options.endpoint)
        if not parts.path:
            return urllib.parse.urlunsplit(parts._replace(path="/"))
        return options.endpoint
    base = urllib.parse.urlsplit(options.base_endpoint or DEFAULT_HTTP_ENDPOINT)
    path = base.path.rstrip("/") + "/v1/logs"
    return urllib.parse.urlunsplit(base._replace(path=path))


def grpc_target(options: OTLPSettings) -> tuple[str, bool]:
    """The ``host:port`` to call and whether to use TLS.

    An ``http://`` endpoint means plain text, ``https://`` TLS; without a scheme,
    ``insecure=true`` means plain text and anything else TLS (the specification's default).

    Raises:
        ConfigurationError: The endpoint has no host or an unknown scheme.
    """
    raw = options.endpoint or options.base_endpoint or DEFAULT_GRPC_ENDPOINT
    if "://" in raw:
        parts = urllib.parse.urlsplit(raw)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ConfigurationError(
                f"OTLP/gRPC endpoint {raw!r}: the scheme must be http or https"
            )
        secure = scheme == "https"
        netloc = parts.netloc.rpartition("@")[2]
    else:
        secure = options.insecure is not True
        netloc = raw.split("/", 1)[0]
    if not netloc:
        raise ConfigurationError(f"OTLP/gRPC endpoint {raw!r} has no host")
    host, sep, port = netloc.rpartition(":")
    if not sep or not port.isdigit() or (host.startswith("[") != host.endswith("]")):
        netloc = f"{netloc}:4317"
    return netloc, secure
